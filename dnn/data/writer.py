"""The writer: a dataset (any source open_source opens) as the chunked HDF5 file the trainer streams.

Layout written (see DESIGN.md): /train/x (N, D), /train/y (N,), /test/..., /val/... when
split; chunk shape (chunk_rows, D), growable first axis; root attributes num_classes,
chunk_rows, source, input_shape, class_names, scale (what the reader multiplies stored values
by), dtype_stored, source_scale (what raw source values were multiplied by in all).

Shuffling: a seeded permutation of all train rows (the test split keeps its order). Sources
with random access (raw IDX, uncompressed npz: memory-mapped) are read through the permutation
one chunk at a time. Streamed sources (gzip, CSV, compressed npz) are first copied, in order,
to a scratch array -- in memory up to SPOOL_IN_MEMORY bytes, else a scratch .npy file next to
the output, removed afterwards -- and read through the permutation from there. Memory stays
bounded by a few chunks (plus 8 bytes of index per row).

The output is written to a temporary name in the output's folder and renamed into place, so an
error or Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ..errors import DataError, DnnValueError
from .rows import ArraySplit, Source, SplitSource
from .sources import open_source

FORMAT = "dnn-chunks/1"
SPOOL_IN_MEMORY = 256 << 20     # streamed sources up to this size are shuffled in memory
MAX_CLASSES = 1 << 16           # a larger label is a damaged file, not a real class
DEFAULT_TEST_FRACTION = 0.2     # for sources with one split only (CSV, x/y npz, mnist-5k)


@dataclass
class Part:
    """One output split: which rows of which source split, in output order."""

    name: str
    src: SplitSource
    rows: np.ndarray

    @property
    def contiguous(self) -> bool:
        r = self.rows
        return len(r) > 0 and int(r[-1]) - int(r[0]) + 1 == len(r) and bool(np.all(np.diff(r) == 1))


def plan(src: Source, *, shuffle: bool, seed: int, val_fraction: float,
         test_fraction: float | None, limit: int | None) -> list[Part]:
    """Output splits. --limit keeps the first N rows of each source split; a one-split source is
    divided into train and test (the last test_fraction of its rows, after shuffling); val is
    the last val_fraction of the train rows."""
    rng = np.random.default_rng(seed)
    splits = src.splits
    if test_fraction is not None and "all" not in splits:
        raise DnnValueError("--test-fraction: this source has its own test split")

    def rows_of(s: SplitSource) -> np.ndarray:
        n = min(s.rows, limit) if limit else s.rows
        return rng.permutation(n) if shuffle else np.arange(n)

    def cut(rows: np.ndarray, fraction: float, what: str) -> tuple[np.ndarray, np.ndarray]:
        k = int(round(len(rows) * fraction))
        if fraction > 0 and not 0 < k < len(rows):
            raise DataError(f"{src.description}: {len(rows):,} rows cannot give a {what} split of "
                            f"{fraction:g} with rows left to train on")
        return rows[:len(rows) - k], rows[len(rows) - k:]

    if "all" in splits:
        train_src = test_src = splits["all"]
        train, test = cut(rows_of(train_src), DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction,
                          "test")
    else:
        train_src, test_src = splits["train"], splits.get("test")
        train = rows_of(train_src)
        test = None if test_src is None else np.arange(min(test_src.rows, limit) if limit else test_src.rows)
    train, val = cut(train, val_fraction, "validation")
    parts = [Part("train", train_src, train)]
    if len(val):
        parts.append(Part("val", train_src, val))
    if test is not None and len(test):
        parts.append(Part("test", test_src, test))
    return parts


class Scratch:
    """Streamed sources copied, in order, to arrays that can be read at random (for shuffling)."""

    def __init__(self, folder: Path, block_rows: int, quiet: bool):
        self.folder, self.block_rows, self.quiet = folder, block_rows, quiet
        self.files: list[Path] = []
        self.copies: dict[int, ArraySplit] = {}

    def random_access(self, part: Part) -> SplitSource:
        s = part.src
        if s.random_access:
            return s
        if id(s) not in self.copies:
            self.copies[id(s)] = self._spool(s, int(part.rows.max()) + 1)
        return self.copies[id(s)]

    def _spool(self, s: SplitSource, rows: int) -> ArraySplit:
        shape, dtype = (rows, s.input_dim), np.uint8 if s.pixels else np.float32
        if rows * s.input_dim * np.dtype(dtype).itemsize <= SPOOL_IN_MEMORY:
            x = np.empty(shape, dtype)
        else:
            path = self.folder / f".dnn-chunk-scratch-{uuid.uuid4().hex}.npy"
            self.files.append(path)
            x = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        y = np.empty(rows, np.int64)
        a = 0
        with tqdm(total=rows, desc=f"reading {Path(s.where).name}", unit="rows", unit_scale=True,
                  disable=self.quiet, file=sys.stderr, dynamic_ncols=True) as bar:
            for bx, by in s.blocks(0, rows, self.block_rows):
                x[a:a + len(bx)], y[a:a + len(by)] = bx, by
                a += len(bx)
                bar.update(len(bx))
        return ArraySplit(x, y, s.where, pixels=s.pixels)

    def remove(self) -> None:
        self.copies.clear()
        for p in self.files:
            p.unlink(missing_ok=True)


def part_blocks(part: Part, block_rows: int, scratch: Scratch):
    """(x, y) blocks of a part in output order."""
    if part.contiguous:
        yield from part.src.blocks(int(part.rows[0]), int(part.rows[-1]) + 1, block_rows)
        return
    src = scratch.random_access(part)
    for a in range(0, len(part.rows), block_rows):
        want = part.rows[a:a + block_rows]
        order = np.argsort(want, kind="stable")   # read ascending (page cache friendly) ...
        x, y = src.take(want[order])
        out_x, out_y = np.empty_like(x), np.empty_like(y)
        out_x[order], out_y[order] = x, y         # ... and put the rows back in output order
        yield out_x, out_y


def default_chunk_rows(train_rows: int) -> int:
    """10,000 rows, fewer for small sets so that an epoch has at least 4 chunks to shuffle
    (multiples of 100, the default bunch)."""
    return int(min(10_000, max(100, -(-train_rows // 400) * 100)))


def _to_stored(x: np.ndarray, stored: np.dtype, scale: float, where: str) -> np.ndarray:
    if stored == np.uint8:
        return x                                     # uint8 already; the reader scales
    if x.dtype == np.uint8 or scale != 1.0:
        # The reader does the very same multiply for uint8 files: both give identical floats.
        x = np.multiply(x, np.float32(scale), dtype=np.float32)
        if scale > 1.0 and not np.isfinite(x).all():
            raise DataError(f"{where}: input values overflow float32 when multiplied by --scale {scale:g}")
    return x


def convert(source, out: str | os.PathLike, *, chunk_rows: int | None = None, dtype: str | None = None,
            compression: str = "none", compression_level: int | None = None, val_fraction: float = 0.0,
            test_fraction: float | None = None, shuffle: bool = True, seed: int = 0, limit: int | None = None,
            scale: float | None = None, label_column: str | None = None, label_last: bool = False,
            force: bool = False, quiet: bool = False) -> dict:
    """Write SOURCE (name, path, or [images, labels]) to `out` in the chunked layout; returns a summary."""
    out = Path(out)
    _check_options(chunk_rows, compression, compression_level, val_fraction, test_fraction, limit, scale)
    if not out.parent.is_dir():
        raise DnnValueError(f"--out {out}: folder {out.parent} does not exist")
    if out.exists() and not force:
        raise DnnValueError(f"--out {out} exists; give --force to overwrite it")
    t0 = time.perf_counter()
    src = open_source(source, label_column=label_column, label_last=label_last,
                              pixels=dtype == "uint8", quiet=quiet)
    stored = np.dtype(dtype or ("uint8" if src.pixels else "float32"))
    if scale is None:
        scale = 1 / 255 if (src.pixels or stored == np.uint8) else 1.0
    parts = plan(src, shuffle=shuffle, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
                 limit=limit)
    chunk_rows = chunk_rows or default_chunk_rows(len(parts[0].rows))
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    scratch = Scratch(out.parent, chunk_rows, quiet)
    try:
        for part in parts:  # shuffled streamed sources are copied first (own progress bar)
            if not part.contiguous:
                scratch.random_access(part)
        with h5py.File(tmp, "w") as f:
            counts = _write_parts(f, parts, stored, scale, chunk_rows, compression, compression_level, scratch, quiet)
            num_classes = _num_classes(src, counts)
            a = f.attrs
            a["format"] = FORMAT
            a["num_classes"] = num_classes
            a["chunk_rows"] = chunk_rows
            a["source"] = src.description
            a["input_shape"] = np.array(src.input_shape, np.int64)
            if src.class_names:
                a["class_names"] = src.class_names
            a["scale"] = 1.0 if stored.kind == "f" else scale
            a["source_scale"] = scale
            a["dtype_stored"] = stored.name
            a["shuffled"] = shuffle
            a["seed"] = seed
            a["val_fraction"] = val_fraction
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        scratch.remove()
    return {"out": out, "rows": {p.name: len(p.rows) for p in parts}, "input_shape": src.input_shape,
            "num_classes": num_classes, "dtype": stored.name, "scale": scale, "chunk_rows": chunk_rows,
            "compression": compression, "bytes": out.stat().st_size, "seconds": time.perf_counter() - t0,
            "source": src.description}


def _check_options(chunk_rows, compression, level, val_fraction, test_fraction, limit, scale):
    if chunk_rows is not None and chunk_rows <= 0:
        raise DnnValueError(f"--chunk-rows must be positive, got {chunk_rows}")
    if compression not in ("none", "gzip", "lzf"):
        raise DnnValueError(f"--compression must be none, gzip or lzf, got {compression}")
    if level is not None and (compression != "gzip" or not 0 <= level <= 9):
        raise DnnValueError("--compression-level is 0-9 and goes with --compression gzip")
    for name, v in (("--val-fraction", val_fraction), ("--test-fraction", test_fraction)):
        if v is not None and not 0 <= v < 1:
            raise DnnValueError(f"{name} must be in [0, 1), got {v}")
    if limit is not None and limit <= 0:
        raise DnnValueError(f"--limit must be positive, got {limit}")
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise DnnValueError(f"--scale must be a positive number, got {scale}")


def _write_parts(f, parts, stored, scale, chunk_rows, compression, level, scratch, quiet) -> dict:
    """Write every part block by block (one HDF5 chunk per block); returns label counts per part."""
    comp = {} if compression == "none" else {"compression": compression}
    if compression == "gzip" and level is not None:
        comp["compression_opts"] = level
    counts = {}
    with tqdm(total=sum(len(p.rows) for p in parts), desc="chunking", unit="rows", unit_scale=True,
              disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
        for part in parts:
            d = part.src.input_dim
            g = f.create_group(part.name)
            dx = g.create_dataset("x", shape=(0, d), maxshape=(None, d), chunks=(chunk_rows, d), dtype=stored, **comp)
            dy = g.create_dataset("y", shape=(0,), maxshape=(None,), chunks=(chunk_rows,), dtype=np.int32, **comp)
            count = np.zeros(0, np.int64)
            for x, y in part_blocks(part, chunk_rows, scratch):
                if y.max() >= MAX_CLASSES:
                    raise DataError(f"{part.src.where}: label {y.max()} is implausible (more than {MAX_CLASSES} "
                                    "classes); is the label column right?")
                n0 = dx.shape[0]
                dx.resize(n0 + len(x), axis=0)
                dy.resize(n0 + len(y), axis=0)
                dx[n0:] = _to_stored(x, stored, scale, part.src.where)
                dy[n0:] = y.astype(np.int32)
                c = np.bincount(y)
                count = np.pad(count, (0, max(0, len(c) - len(count))))
                count[:len(c)] += c
                bar.update(len(x))
            g.attrs["rows"] = dx.shape[0]
            counts[part.name] = count
    return counts


def _num_classes(src: Source, counts: dict) -> int:
    seen = max(len(c) for c in counts.values())
    if src.class_names is None:
        return seen
    if seen > len(src.class_names):
        raise DataError(f"{src.description}: label {seen - 1} but the dataset has {len(src.class_names)} classes")
    return len(src.class_names)
