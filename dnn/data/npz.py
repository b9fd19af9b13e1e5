"""NumPy .npz files: x_train, y_train (and x_test, y_test), or x, y. Members stored
uncompressed are memory-mapped (random access); compressed ones streamed."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .rows import ArraySplit, RowStream, SplitSource, StreamSplit, reading

def _npz_member(path: Path, zf: zipfile.ZipFile, key: str):
    """One array of an .npz: memory-mapped if stored uncompressed, else a RowStream."""
    where = f"{path}[{key}]"
    info = zf.getinfo(key + ".npy")
    with reading(where), zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise DataError(f"{where}: .npy format version {version} is not supported (1.0 and 2.0 are)")
        shape, fortran, dtype = read_header(f)
        hlen = f.tell()
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects ({dtype}), not numbers")
    if not shape:
        raise DataError(f"{where}: a scalar, not an array of rows")
    if fortran:  # rare: no row-by-row layout to stream, so load it whole
        return np.ascontiguousarray(np.load(path)[key])
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as f:
            f.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", f.read(4))
        offset = info.header_offset + 30 + name_len + extra_len + hlen
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)

    def opener():
        z = zipfile.ZipFile(path)
        member = z.open(info)
        z.close()  # the member keeps the file open until it is closed itself
        return member
    return RowStream(opener, where, hlen, dtype, shape)


def npz_splits(path: Path) -> dict[str, SplitSource]:
    with reading(str(path)):
        zf = zipfile.ZipFile(path)
    with zf:
        keys = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}
        if {"x_train", "y_train"} <= keys:
            pairs = {"train": ("x_train", "y_train")}
            if {"x_test", "y_test"} <= keys:
                pairs["test"] = ("x_test", "y_test")
        elif {"x", "y"} <= keys:
            pairs = {"all": ("x", "y")}
        else:
            raise DataError(f"{path}: needs arrays x_train, y_train (and x_test, y_test) or x, y; it has "
                            f"{', '.join(sorted(keys)) or 'none'}")
        splits = {}
        for split, (kx, ky) in pairs.items():
            x, y = _npz_member(path, zf, kx), _npz_member(path, zf, ky)
            where = f"{path}[{kx}]"
            if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
                splits[split] = ArraySplit(x, y, where)
            else:
                splits[split] = StreamSplit(_npz_stream(x, path, kx), _npz_stream(y, path, ky), where)
        return splits


def _npz_stream(a, path: Path, key: str) -> RowStream:
    if isinstance(a, RowStream):
        return a
    # The partner array is compressed: wrap this in-memory or mapped one as a stream too.
    data = np.ascontiguousarray(a)
    return RowStream(lambda: io.BytesIO(data.tobytes()), f"{path}[{key}]", 0, data.dtype, data.shape)
