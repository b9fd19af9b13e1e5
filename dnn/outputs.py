"""Every file dnn writes (checkpoints, chunked datasets, metrics JSON, plots, exported models):
checked before any work starts, then written to a temporary file in the target's own folder,
fsynced and renamed into place.

Why the same folder: a rename is atomic only within one filesystem, so the previous file stays
whole until the new one is complete, and a full disk or a read-only filesystem fails the
temporary file, never the target. Temporaries are named `.NAME.tmp-PID-RANDOM`; a writer killed
with SIGKILL cannot remove its own, so every later write to the same target sweeps those whose
process is gone.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import uuid
from contextlib import contextmanager
from pathlib import Path

from .errors import DnnError, DnnValueError

TMP_TAG = ".tmp-"


class OutputError(DnnValueError, OSError):
    """An output file cannot be written where it was asked for."""


def temporary_for(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _owner_pid(tmp: Path) -> int | None:
    tail = tmp.name.rsplit(TMP_TAG, 1)[-1]
    pid = tail.split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def sweep_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of writers of `path` that died mid-write (their process is gone)."""
    path = Path(path)
    removed = []
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}{TMP_TAG}")]
    except OSError:
        return removed
    for tmp in candidates:
        pid = _owner_pid(tmp)
        if pid is None or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except OSError:
            pass  # alive under another user: not ours to judge
    return removed


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Both names lead to one file (by device and inode, so links and ./x vs x are caught)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_output(path: str | os.PathLike, option: str, *, inputs=(), suffix: str | None = None,
                 kind: str | None = None) -> Path:
    """`path` can be written by this run, or OutputError (exit 2, one line) before any work:
    a missing or unwritable folder, a directory, a non-regular file, the same file as an input."""
    raw = str(path)
    path = Path(path)
    if raw.endswith(os.sep) or path.is_dir():
        raise OutputError(f"{option} {raw}: is a folder; give a file name inside it")
    if suffix is not None and path.suffix.lower() != suffix:
        raise OutputError(f"{option} {path}: the output is {kind}, give a name ending in {suffix}, "
                          f"e.g. {option} {path.with_suffix(suffix).name}")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{option} {path}: folder {folder} does not exist; create it first "
                          f"(mkdir -p {folder}) or write to another folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: folder {folder} is not writable; choose another place")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{option} {path}: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{option} {path}: exists and is not a regular file; choose another name")
    for given in inputs:
        if given is not None and same_file(path, given):
            raise OutputError(f"{option} {path} is the same file as the input {given}; an output never "
                              "replaces an input, choose another name")
    return path


SPACE_RESERVE = 256 << 10   # left free for HDF5's metadata and the filesystem's own


def ensure_space(path: str | os.PathLike, nbytes: int, what: str) -> None:
    """Refuse, before writing, what the disk holding `path` cannot take."""
    folder = Path(path).parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if nbytes + SPACE_RESERVE > free:
        raise OutputError(f"cannot write {Path(path).name.split(TMP_TAG)[0].lstrip('.')} in {folder}: "
                          f"{what} needs {_mb(nbytes)} and the disk has {_mb(free)} free; free some space or "
                          "choose another place")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} kB"


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe_os_error(path, exc: OSError, what: str = "file") -> str:
    why = exc.strerror or str(exc)
    advice = {errno.ENOSPC: "free some space or choose another place",
              errno.EDQUOT: "free some space or choose another place",
              errno.EROFS: "the filesystem is read-only; choose another place",
              errno.EACCES: "choose a folder you can write to"}.get(exc.errno, "choose another place")
    return f"cannot write {what} {path}: {why}; the previous {what}, if any, is unchanged; {advice}"


@contextmanager
def atomic_path(path: str | os.PathLike, what: str = "file"):
    """Yields a temporary path next to `path`; when the block ends without error the temporary is
    fsynced and renamed onto `path`. On any error it is removed and `path` is untouched; an
    OSError becomes one OutputError line."""
    path = Path(path)
    sweep_stale(path)
    tmp = temporary_for(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_folder(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, DnnError):
            raise
        raise OutputError(describe_os_error(path, exc, what)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data, what: str = "file") -> Path:
    with atomic_path(path, what) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def write_json(path: str | os.PathLike, obj, what: str = "JSON file") -> Path:
    return write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode(), what)
