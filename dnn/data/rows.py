"""Rows of a dataset split, as every reader (IDX, CSV, NPZ, named) hands them to the writer.

A source hands out its splits ("train" and "test", or one "all" split that the writer divides)
as `SplitSource`s. Each gives its rows in blocks, never all at once, so memory stays bounded
whatever the size of the input:

* `blocks(start, stop, n)` streams rows in file order (gzip, CSV text, compressed npz members);
* `take(rows)` reads arbitrary rows, only where the format allows random access
  (`random_access`: raw IDX files and uncompressed npz members, which are memory-mapped).

Blocks come out normalized: x is 2-D and C-contiguous, uint8 when the split holds 8-bit pixels
(`pixels`) else float32 and finite; y is int64, whole and non-negative. Anything malformed
raises DataError naming the file and the place (row or line).
"""

from __future__ import annotations

import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from ..errors import DataError

# Read errors that mean "this file is damaged" rather than "this code is wrong".
IO_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError, ValueError)
# One read call asks for at most this much: a damaged header may promise terabytes.
READ_PIECE = 16 << 20
# No real dataset has rows this large; a header that says so is damaged.
MAX_ROW_BYTES = 1 << 31


@contextmanager
def reading(where: str):
    """Turn the errors of reading a damaged file into one DataError naming it."""
    try:
        yield
    except DataError:
        raise
    except IO_ERRORS as exc:
        raise DataError(f"{where}: cannot read: {exc}") from None


# ---- normalization shared by every format ---------------------------------------------------


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask.reshape(len(mask), -1).any(axis=1))[0])


def as_labels(y: np.ndarray, locate) -> np.ndarray:
    """int64 labels; DataError (naming the row through `locate(i)`) unless whole and >= 0."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.floor(y))
        if bad.any():
            i = _first(bad)
            raise DataError(f"{locate(i)}: label {y[i].item()!r} is not a whole number")
    elif y.dtype.kind not in "iub":
        raise DataError(f"{locate(0)}: labels of type {y.dtype} are not numbers")
    y = y.astype(np.int64)
    if (y < 0).any():
        i = _first(y < 0)
        raise DataError(f"{locate(i)}: label {y[i]} is negative")
    return y


def as_inputs(x: np.ndarray, pixels: bool, locate) -> np.ndarray:
    """2-D C-contiguous inputs: uint8 pixels (checked 0-255 and whole) or finite float32."""
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    if pixels:
        if x.dtype == np.uint8:
            return np.ascontiguousarray(x)
        bad = (x < 0) | (x > 255) | (x != np.floor(x)) if x.dtype.kind == "f" else (x < 0) | (x > 255)
        if bad.any():
            i = _first(bad)
            v = x[i][bad[i]][0].item()
            raise DataError(f"{locate(i)}: value {v!r} is not a pixel value (a whole number 0-255), "
                            "which uint8 storage needs")
        return x.astype(np.uint8)
    if x.dtype.kind not in "iufb":
        raise DataError(f"{locate(0)}: inputs of type {x.dtype} are not numbers")
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.ascontiguousarray(x, dtype=np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataError(f"{locate(_first(bad))}: NaN or infinite input value (or too large for float32)")
    return x


class SplitSource:
    """Rows of one split. Subclasses implement blocks() and, if random_access, take()."""

    random_access = False

    def __init__(self, where: str, rows: int, input_shape: tuple, pixels: bool):
        if rows <= 0:
            raise DataError(f"{where}: holds no rows")
        self.where, self.rows, self.input_shape, self.pixels = where, rows, tuple(input_shape), pixels

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape))

    def blocks(self, start: int, stop: int, block_rows: int):
        """Yield (x, y) blocks of rows start..stop-1, in order, block_rows at a time."""
        raise NotImplementedError

    def take(self, rows: np.ndarray):
        """(x, y) of the given rows (ascending indices), in that order."""
        raise NotImplementedError(f"{self.where} cannot be read at random")

    def _locate(self, first_row: int):
        return lambda i: f"{self.where} row {first_row + i}"


class ArraySplit(SplitSource):
    """Arrays with random access: memory maps of raw files, or arrays already in memory."""

    random_access = True

    def __init__(self, x: np.ndarray, y: np.ndarray, where: str, pixels: bool | None = None):
        if len(x) != len(y):
            raise DataError(f"{where}: {len(x)} inputs but {len(y)} labels")
        if x.ndim < 2 or y.ndim != 1:
            raise DataError(f"{where}: inputs need shape (rows, features...) and labels (rows,), "
                            f"got {x.shape} and {y.shape}")
        super().__init__(where, len(x), x.shape[1:], x.dtype == np.uint8 if pixels is None else pixels)
        self.x, self.y = x, y

    def _rows(self, sel, first: int):
        loc = self._locate(first)
        return as_inputs(self.x[sel], self.pixels, loc), as_labels(self.y[sel], loc)

    def blocks(self, start, stop, block_rows):
        for a in range(start, stop, block_rows):
            yield self._rows(slice(a, min(a + block_rows, stop)), a)

    def take(self, rows):
        try:
            return self._rows(rows, 0)
        except DataError:
            # Name the row in the file, not its place in this request.
            for r in rows:
                self._rows(slice(r, r + 1), int(r))
            raise


# ---- binary rows read from a stream (gzip IDX, npz members) ---------------------------------


class RowStream:
    """Fixed-size rows of one array stored after a header in a binary stream."""

    def __init__(self, opener, where: str, header_len: int, dtype: np.dtype, shape: tuple):
        self.opener, self.where, self.header_len = opener, where, header_len
        self.dtype, self.shape = np.dtype(dtype), tuple(shape)
        self.row_bytes = int(np.prod(shape[1:], dtype=object)) * self.dtype.itemsize
        if self.row_bytes > MAX_ROW_BYTES:
            raise DataError(f"{where}: a row of {self.row_bytes:,} bytes is implausible (damaged header?)")

    def open(self):
        with reading(self.where):
            f = self.opener()
            read_exact(f, self.header_len, self.where, "header")
        return f

    def read(self, f, n: int) -> np.ndarray:
        data = read_exact(f, n * self.row_bytes, self.where,
                           f"data: the header says {self.shape[0]:,} rows")
        return np.frombuffer(data, self.dtype).reshape((n,) + self.shape[1:])

    def skip(self, f, n: int) -> None:
        left = n * self.row_bytes
        while left:
            left -= len(read_exact(f, min(left, READ_PIECE), self.where, "data"))

    def check_end(self, f) -> None:
        with reading(self.where):
            extra = f.read(1)
        if extra:
            raise DataError(f"{self.where}: longer than its header says ({self.shape[0]:,} rows of "
                            f"{self.row_bytes:,} bytes)")


def read_exact(f, n: int, where: str, what: str) -> bytes:
    """n bytes, read in bounded pieces; DataError if the file ends first or is damaged."""
    parts, got = [], 0
    with reading(where):
        while got < n:
            piece = f.read(min(n - got, READ_PIECE))
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
    if got < n:
        raise DataError(f"{where}: file ends early, in the {what} (truncated?)")
    return b"".join(parts)


class StreamSplit(SplitSource):
    """Inputs and labels read in step from two RowStreams (gzip IDX pair, compressed npz)."""

    def __init__(self, xs: RowStream, ys: RowStream, where: str, pixels: bool | None = None):
        if xs.shape[0] != ys.shape[0]:
            raise DataError(f"{where}: {xs.shape[0]:,} inputs but {ys.shape[0]:,} labels (in {ys.where})")
        if len(xs.shape) < 2 or len(ys.shape) != 1:
            raise DataError(f"{where}: inputs need shape (rows, features...) and labels (rows,), "
                            f"got {xs.shape} and {ys.shape}")
        super().__init__(where, xs.shape[0], xs.shape[1:], xs.dtype == np.uint8 if pixels is None else pixels)
        self.xs, self.ys = xs, ys

    def blocks(self, start, stop, block_rows):
        fx, fy = self.xs.open(), self.ys.open()
        try:
            self.xs.skip(fx, start)
            self.ys.skip(fy, start)
            for a in range(start, stop, block_rows):
                n = min(block_rows, stop - a)
                loc = self._locate(a)
                yield (as_inputs(self.xs.read(fx, n), self.pixels, loc),
                       as_labels(self.ys.read(fy, n), loc))
            if stop == self.rows:
                self.xs.check_end(fx)
                self.ys.check_end(fy)
        finally:
            fx.close()
            fy.close()


# ---- a whole dataset ------------------------------------------------------------------------


class Source:
    """A dataset to convert: its splits plus what is known about it."""

    def __init__(self, description: str, splits: dict[str, SplitSource], class_names=None):
        shapes = {s.input_shape for s in splits.values()}
        if len(shapes) > 1:
            raise DataError(f"{description}: splits have different input shapes: "
                            + ", ".join(f"{k} {v.input_shape}" for k, v in splits.items()))
        self.description, self.splits, self.class_names = description, splits, class_names
        self.input_shape = shapes.pop()
        self.pixels = all(s.pixels for s in splits.values())   # 8-bit values as the source has them

