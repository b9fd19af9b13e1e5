"""An exclusive lock on an output path, so that two runs never write one checkpoint (the last
writer would silently win). The lock is a `.NAME.lock` file next to the target, holding the
holder's pid, locked with flock: the kernel releases it when the holder dies, however it dies.
The file itself is removed by the holder when it ends; one left by a killed holder is reused.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from .errors import DnnValueError


class LockedError(DnnValueError):
    """Another process holds the output's lock."""


def lock_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text().strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


@contextmanager
def exclusive(path: str | os.PathLike, option: str):
    """Hold the lock of `path` for the block, or LockedError naming the path and the holder's pid."""
    lock = lock_path(path)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise DnnValueError(f"{option} {path}: cannot create its lock file {lock}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"{option} {path} is being written by another run (pid {_holder(lock)}); wait "
                              "for it to end or choose another file") from None
        # The holder before us may have removed the file between our open and our lock: then our
        # lock is on a name nobody else sees, and we start again.
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
