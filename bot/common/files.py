"""Files the bot keeps private: who linked what, and its Halo tokens."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: Folders the bot creates (the database's, the token cache's): owner only.
FOLDER_MODE = 0o700


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents owner-only (0700, whatever the umask);
    folders that exist are kept as they are."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=FOLDER_MODE)
            os.chmod(part, FOLDER_MODE)  # mkdir's mode is filtered by the umask
