"""The serialized MSAL token cache file, shared by ``halo-bot login`` and running bots.

Every reader and writer holds an exclusive ``fcntl.flock`` on a lock file beside the
cache (``<cache>.lock``) while it reads, uses and writes the file, so a login and a
running bot (or two bots) never write over each other: the last one to take the lock
sees what the others saved. A running bot re-reads the file whenever it changed on
disk (inode, mtime or size), so a fresh ``halo-bot login`` is picked up at once.
All of this blocks: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import msal

from bot.common.files import make_private_folder

log = logging.getLogger(__name__)

FileSignature = tuple[int, int, int]


def write_private_file(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by the owner only (0600).

    The data goes to a temporary file created with mode 0600 in the same folder,
    is flushed to disk, then renamed over ``path``: a crash leaves either the old
    or the new file, never half of one, and never a world-readable copy. Missing
    folders are created 0700.
    """
    make_private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def file_signature(path: Path) -> FileSignature | None:
    """What changes whenever the file is replaced or rewritten; None when it is missing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def lock_path_for(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the cache file ``path`` (blocks until it is free)."""
    lock = lock_path_for(path)
    make_private_folder(lock.parent)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def replace_cache_file(path: Path, text: str) -> None:
    """Save a whole new cache (``halo-bot login``), under the lock."""
    with locked(path):
        write_private_file(path, text)


class TokenCacheFile:
    """One process's view of the cache file: an MSAL cache kept in step with the disk.

    Call :meth:`reload_if_changed` and :meth:`save_if_changed` inside :func:`locked`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.cache = msal.SerializableTokenCache()
        self._signature: FileSignature | None = None
        self._loaded = False

    def signature(self) -> FileSignature | None:
        return file_signature(self.path)

    def reload_if_changed(self) -> bool:
        """Re-read the file if it changed since this process last read or wrote it."""
        signature = file_signature(self.path)
        if self._loaded and signature == self._signature:
            return False
        self._loaded = True
        self._signature = signature
        if signature is None:
            self.cache.deserialize(None)
            return True
        try:
            self.cache.deserialize(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.cache.deserialize(None)
            log.error("Cannot read the Halo token cache %s (%s)", self.path, exc.__class__.__name__)
        self.cache.has_state_changed = False
        return True

    def save_if_changed(self) -> None:
        """Write what MSAL changed (a rotated refresh token), unless the file was replaced
        meanwhile by a writer that ignored the lock: the newer file wins, it is re-read."""
        if not self.cache.has_state_changed:
            return
        if file_signature(self.path) != self._signature:
            log.warning(
                "The Halo token cache %s changed while the bot was using it; keeping the file",
                self.path,
            )
            self._loaded = False
            self.reload_if_changed()
            return
        try:
            write_private_file(self.path, self.cache.serialize())
        except OSError as exc:
            log.error(
                "Cannot save the Halo token cache to %s: %s", self.path, exc.__class__.__name__
            )
            return
        self.cache.has_state_changed = False
        self._signature = file_signature(self.path)
