"""`halo-bot login` writes the token cache with write_private_file: the folders it has to
create are owner-only (0700) whatever the umask; folders that exist are kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.halo.auth.msal_cache import replace_cache_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_folders_are_created_0700_and_existing_ones_kept(tmp_path: Path) -> None:
    kept = tmp_path / "app"
    kept.mkdir()
    os.chmod(kept, 0o755)
    path = kept / "data" / "tokens" / "halo_token_cache.json"
    old = os.umask(0o022)  # a typical umask: mkdir would make 0755 folders
    try:
        replace_cache_file(path, "{}")
    finally:
        os.umask(old)
    assert path.read_text() == "{}"
    assert mode(path) == 0o600
    assert mode(kept / "data") == mode(kept / "data" / "tokens") == 0o700
    assert mode(kept) == 0o755
