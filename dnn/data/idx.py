"""IDX files (MNIST's format), gzipped or raw: a header of magic number and dimensions, then
the values, big-endian. Raw files are memory-mapped (random access); gzipped ones streamed."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError
from .rows import ArraySplit, RowStream, SplitSource, StreamSplit, read_exact, reading

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return (lambda: gzip.open(path, "rb")) if gz else (lambda: open(path, "rb")), gz


def idx_header(path: Path):
    """(opener, gzipped, dtype, shape, header_len) of an IDX file; DataError if it is not one."""
    where = str(path)
    with reading(where):
        opener, gz = _open_maybe_gzip(path)
        with opener() as f:
            magic = read_exact(f, 4, where, "header")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES or magic[3] == 0:
                raise DataError(f"{where}: not an IDX file (magic number {magic.hex(' ')}; expected "
                                "00 00, a type code 08/09/0b/0c/0d/0e, and the number of dimensions)")
            ndim = magic[3]
            shape = struct.unpack(f">{ndim}i", read_exact(f, 4 * ndim, where, "header"))
    if any(d <= 0 for d in shape):
        raise DataError(f"{where}: dimensions {shape} in the header must all be positive")
    return opener, gz, np.dtype(_IDX_TYPES[magic[2]]), tuple(shape), 4 + 4 * ndim


def idx_array(path: Path, role: str):
    """A raw IDX file as a read-only memory map, or a RowStream if it is gzipped.

    role is "images" (2 or more dimensions) or "labels" (exactly 1)."""
    opener, gz, dtype, shape, hlen = idx_header(path)
    if role == "labels" and len(shape) != 1:
        raise DataError(f"{path}: a labels file has 1 dimension, this one has {len(shape)} {shape}")
    if role == "images" and len(shape) < 2:
        raise DataError(f"{path}: an images file has 2 or more dimensions, this one has 1 {shape}")
    if gz:
        return RowStream(opener, str(path), hlen, dtype, shape)
    expect = hlen + int(np.prod(shape, dtype=object)) * dtype.itemsize
    size = path.stat().st_size
    if size != expect:
        raise DataError(f"{path}: {size:,} bytes, but its header {shape} of {dtype.name} says {expect:,}")
    return np.memmap(path, dtype=dtype, mode="r", offset=hlen, shape=shape)


def idx_split(images: Path, labels: Path, where: str) -> SplitSource:
    x, y = idx_array(images, "images"), idx_array(labels, "labels")
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return ArraySplit(x, y, where)
    return StreamSplit(*(_as_stream(a, p) for a, p in ((x, images), (y, labels))), where)


def _as_stream(a, path: Path) -> RowStream:
    """A memory-mapped IDX array seen as a stream (when its partner file is gzipped)."""
    if isinstance(a, RowStream):
        return a
    return RowStream(lambda: open(path, "rb"), str(path), a.offset, a.dtype, a.shape)


def idx_folder(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Find train/test image and label files in a folder (MNIST-style names)."""
    found: dict[tuple[str, str], list[Path]] = {}
    for p in sorted(folder.iterdir()):
        name = p.name.lower()
        if not p.is_file() or "idx" not in name:
            continue
        split = "train" if "train" in name else "test" if ("t10k" in name or "test" in name) else None
        role = "images" if "images" in name else "labels" if "labels" in name else None
        if split and role:
            found.setdefault((split, role), []).append(p)
    splits = {}
    for split in ("train", "test"):
        pair = []
        for role in ("images", "labels"):
            cands = found.get((split, role), [])
            # A raw and a gzipped copy of the same file: the raw one can be read at random.
            raw = [c for c in cands if not c.name.endswith(".gz")]
            cands = raw if len(raw) == 1 else cands
            if len(cands) > 1:
                raise DataError(f"{folder}: several {split} {role} files: {', '.join(c.name for c in cands)}")
            pair.append(cands[0] if cands else None)
        if all(pair):
            splits[split] = tuple(pair)
        elif any(pair):
            missing = "labels" if pair[0] else "images"
            raise DataError(f"{folder}: {split} {'images' if pair[0] else 'labels'} but no {split} {missing} file")
    if "train" not in splits:
        raise DataError(f"{folder}: no IDX files named like train-images-idx3-ubyte[.gz] and "
                        "train-labels-idx1-ubyte[.gz]")
    return splits


def idx_folder_splits(folder: Path) -> dict[str, SplitSource]:
    """The train and test splits of a folder of IDX files."""
    return {split: idx_split(imgs, labs, f"{imgs}") for split, (imgs, labs) in idx_folder(folder).items()}


def idx_pair(a: Path, b: Path) -> SplitSource:
    """Two IDX files in either order: the one with 1 dimension holds the labels."""
    if len(idx_header(a)[3]) == 1:
        a, b = b, a
    return idx_split(a, b, str(a))
