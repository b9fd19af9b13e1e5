"""Checkpoints: HDF5 files holding weights, momentum, architecture and where training stood.

Written atomically (temporary file in the same folder, fsync, rename, fsync of the folder), so a
crash at any moment leaves the previous checkpoint readable. A CRC of the arrays catches files
that were truncated or corrupted after the fact.
"""

from __future__ import annotations

import glob
import io
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .errors import DnnError, no_such_file

FORMAT = "dnn-checkpoint/1"
USERBLOCK = 512
FILE_MARK = b"dnn-checkpoint/1 file crc32 "


class CheckpointError(DnnError, ValueError):
    """A checkpoint cannot be read, or does not fit the network being trained."""


@dataclass
class Checkpoint:
    arch: str
    activation: str
    bunch: int
    params: np.ndarray
    moment: np.ndarray
    epoch: int = 0          # epochs completed
    chunk: int = 0          # chunks completed in the epoch under way
    seed: int = 0
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    def crc(self) -> int:
        return zlib.crc32(self.moment.tobytes(), zlib.crc32(self.params.tobytes()))


def save(path: str | os.PathLike, ck: Checkpoint) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise CheckpointError(f"cannot write checkpoint {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _remove_stale_temporaries(path)
    # The HDF5 image is built in memory and written with plain writes: HDF5 writing straight to
    # a full disk leaves its file objects broken (noise on stderr, a crash at exit), while a
    # plain write fails cleanly with ENOSPC.
    image = io.BytesIO()
    with h5py.File(image, "w", userblock_size=USERBLOCK) as f:
        f.attrs["format"] = FORMAT
        for key in ("arch", "activation", "bunch", "epoch", "chunk", "seed"):
            f.attrs[key] = getattr(ck, key)
        f.attrs["config"] = json.dumps(ck.config)
        f.attrs["metrics"] = json.dumps(ck.metrics)
        f.attrs["crc32"] = ck.crc()
        f.create_dataset("params", data=ck.params)
        f.create_dataset("moment", data=ck.moment)
    data = bytearray(image.getbuffer())
    del image
    # The user block (which HDF5 skips) carries a CRC of the whole HDF5 image after it, checked
    # before HDF5 parses anything: a damaged file can make HDF5 loop forever.
    mark = FILE_MARK + b"%08x\n" % zlib.crc32(memoryview(data)[USERBLOCK:])
    data[:len(mark)] = mark
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        del data
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}; the previous "
                              "checkpoint, if any, is unchanged; free some space or choose another place") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of writers that were killed mid-save (their process is gone)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # alive, or not ours to judge


def load(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(no_such_file(path, "checkpoint", f"python -m dnn.train --checkpoint {path}"))
    _check_file_crc(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a dnn checkpoint (no '{FORMAT}' format mark)")
            ck = Checkpoint(arch=str(f.attrs["arch"]), activation=str(f.attrs["activation"]),
                            bunch=int(f.attrs["bunch"]), params=f["params"][...], moment=f["moment"][...],
                            epoch=int(f.attrs["epoch"]), chunk=int(f.attrs["chunk"]), seed=int(f.attrs["seed"]),
                            config=json.loads(f.attrs["config"]), metrics=json.loads(f.attrs["metrics"]))
            stored = int(f.attrs["crc32"])
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted ({exc}); use an earlier one "
                              "or start again without --resume") from None
    if ck.crc() != stored:
        raise CheckpointError(f"checkpoint {path} is corrupted (its arrays fail their CRC check); use an "
                              "earlier one or start again without --resume")
    return ck


def _check_file_crc(path: Path) -> None:
    """The CRC in the user block against the bytes after it (files written before it: no check)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(USERBLOCK)
            if not head.startswith(FILE_MARK):
                return
            crc = 0
            while block := fh.read(1 << 20):
                crc = zlib.crc32(block, crc)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    try:
        stored = int(head[len(FILE_MARK):len(FILE_MARK) + 8], 16)
    except ValueError:
        stored = None
    if len(head) < USERBLOCK or stored != crc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted (the file fails its CRC check); "
                              "use an earlier one or start again without --resume")


def check_fits(ck: Checkpoint, arch: str, activation: str, bunch: int, path) -> None:
    """Refuse a checkpoint made for another network, saying what differs."""
    diffs = []
    if ck.arch != arch:
        diffs.append(f"arch {ck.arch} (checkpoint) vs {arch} (now)")
    if ck.activation != activation:
        diffs.append(f"activation {ck.activation} vs {activation}")
    if ck.bunch != bunch:
        diffs.append(f"bunch {ck.bunch} vs {bunch}")
    if diffs:
        raise CheckpointError(f"checkpoint {path} does not fit this run: " + "; ".join(diffs))
