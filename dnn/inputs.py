"""Input files are regular files: a FIFO would block the reader forever, a device (/dev/zero)
never ends, a socket cannot be read at all. Every command refuses those at once, by name."""

from __future__ import annotations

import os
import stat

KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(path: str | os.PathLike) -> str | None:
    """What `path` is when it exists and is neither a regular file nor a folder, else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, kind in KINDS:
        if test(mode):
            return kind
    return None


def refuse_special(path: str | os.PathLike, error, what: str = "input") -> None:
    """Raise error(...) if `path` is a FIFO, device or socket."""
    kind = not_regular(path)
    if kind:
        raise error(f"{path}: is {kind}, not a regular file; an {what} must be a file")
