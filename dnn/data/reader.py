"""The chunk reader (FetchOneChunk): rows of a chunked HDF5 dataset, straight into the
caller's buffers.

The trainer owns the buffers (in implicit mode they are NumPy views of the card's shared
memory), so a chunk costs one read from HDF5 and nothing more: float32 files are read with
`read_direct` into the buffer itself; uint8 files into one reusable uint8 scratch, then scaled
into the buffer with `np.multiply(..., out=)`.

Contract of `ChunkReader.epoch(e, buffers)`: it yields `(rows, x, y)` where x and y ARE one
of the given buffer pairs (the same objects). That pair is the caller's until it asks for the
next item; with prefetch on, the reader is meanwhile filling another pair in a background
thread, so the caller must not touch the other pairs. Prefetched or not, the sequence of
chunks is the same: it depends only on (seed, epoch).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError, DnnError, DnnValueError, no_such_file
from ..inputs import refuse_special
from ..machine import gigabytes, machine_memory

SPLITS = ("train", "val", "test")


def open_dataset(path: str | os.PathLike) -> h5py.File:
    """Open a file written by dnn.chunk; DataError if it is not one."""
    path = Path(path)
    refuse_special(path, DataError, "dataset")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give the .h5 file written by 'python -m dnn.chunk'")
    if not path.is_file():
        raise DataError(no_such_file(path, "dataset file", f"python -m dnn.chunk SOURCE --out {path}"))
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not an HDF5 file ({exc})") from None
    if "num_classes" not in f.attrs:
        f.close()
        raise DataError(f"{path}: no num_classes attribute on the root; not a file written by dnn.chunk?")
    return f


def check_split(f: h5py.File, split: str) -> tuple[h5py.Dataset, h5py.Dataset]:
    """/split/x and /split/y, checked for shape and type; DataError naming what is wrong."""
    name = f.filename
    have = [s for s in f if isinstance(f[s], h5py.Group)]
    if split not in f or not isinstance(f[split], h5py.Group):
        raise DataError(f"{name}: no split /{split} (the file has: {', '.join(have) or 'nothing'})")
    g = f[split]
    for key in ("x", "y"):
        if key not in g or not isinstance(g[key], h5py.Dataset):
            raise DataError(f"{name}: no dataset /{split}/{key}")
    x, y = g["x"], g["y"]
    if x.ndim != 2 or y.ndim != 1:
        raise DataError(f"{name}: /{split}/x must be 2-D (rows, inputs) and /{split}/y 1-D, got "
                        f"{x.shape} and {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{name}: /{split}/x has {x.shape[0]:,} rows but /{split}/y {y.shape[0]:,}")
    if x.shape[0] == 0:
        raise DataError(f"{name}: /{split} holds no rows")
    if x.dtype.kind not in "uif" or y.dtype.kind not in "ui":
        raise DataError(f"{name}: /{split}/x must hold numbers and /{split}/y integers, got {x.dtype} "
                        f"and {y.dtype}")
    shape = f.attrs.get("input_shape")
    if shape is not None and int(np.prod(shape)) != x.shape[1]:
        raise DataError(f"{name}: input_shape {tuple(shape)} does not match /{split}/x's {x.shape[1]} columns")
    return x, y


def stored_scale(f: h5py.File, x: h5py.Dataset) -> float:
    """What stored values are multiplied by when read: the `scale` attribute, else 1/255 for
    8-bit storage and 1 for floats."""
    scale = float(f.attrs.get("scale", 1 / 255 if x.dtype == np.uint8 else 1.0))
    if not (np.isfinite(scale) and scale > 0):
        raise DataError(f"{f.filename}: scale attribute {scale} is not a positive number; re-create the file "
                        "with 'python -m dnn.chunk'")
    return scale


class ChunkReader:
    """Chunk after chunk of one split of a dnn.chunk file, into caller-given buffers."""

    def __init__(self, path: str | os.PathLike, split: str = "train", chunk_rows: int | None = None,
                 shuffle: bool = True, seed: int = 0, prefetch: bool = True, shuffle_rows: bool = False,
                 direct: bool = True):
        self.path, self.split = Path(path), split
        self.shuffle, self.seed, self.prefetch, self.shuffle_rows = shuffle, seed, prefetch, shuffle_rows
        self._file = open_dataset(self.path)
        self._size = self._file_size()  # a file that shrinks under us is found at the next read
        self._epochs: weakref.WeakSet = weakref.WeakSet()
        try:
            self._x, self._y = check_split(self._file, split)
            attrs = self._file.attrs
            self.num_rows, self.input_dim = self._x.shape
            self.num_classes = int(attrs["num_classes"])
            self.input_shape = tuple(int(d) for d in attrs.get("input_shape", (self.input_dim,)))
            names = attrs.get("class_names")
            self.class_names = [str(n) for n in names] if names is not None else None
            self.file_chunk_rows = int(attrs.get("chunk_rows", (self._x.chunks or (self.num_rows,))[0]))
            self.chunk_rows = int(chunk_rows or self.file_chunk_rows)
            if self.file_chunk_rows <= 0:
                raise DataError(f"{self.path}: chunk_rows attribute {self.file_chunk_rows} is not a row count")
            if self.chunk_rows <= 0:
                raise DnnValueError(f"chunk_rows must be positive, got {self.chunk_rows}")
            need = self.chunk_rows * self.input_dim * 4
            if need > machine_memory() // 2:
                raise DataError(f"{self.path}: chunks of {self.chunk_rows:,} rows of {self.input_dim:,} inputs need "
                                f"{gigabytes(need)} each; this machine has {gigabytes(machine_memory())}")
            self.scale = stored_scale(self._file, self._x)
            self.stored_dtype = self._x.dtype
            self._check_labels()
        except (TypeError, ValueError, OSError, RuntimeError, KeyError) as exc:
            self._file.close()
            if isinstance(exc, DnnError):
                raise
            what = "malformed attributes" if isinstance(exc, (TypeError, ValueError)) else "damaged"
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"{self.path}: {what} ({first}) in /{split}; re-create the file with "
                            "'python -m dnn.chunk'") from None
        except BaseException:
            self._file.close()
            raise
        self.num_chunks = -(-self.num_rows // self.chunk_rows)
        # uint8 files are read here first, then scaled into the caller's float32 buffer. One is
        # enough: only one fill runs at a time (the prefetch thread, or the caller).
        # direct=False: never let HDF5 write into the caller's buffers itself, only NumPy. Under MYO
        # coherence the arena's pages are write-protected to track writes; a fault from NumPy is
        # caught and tracked, but a read() system call into such a page fails with EFAULT.
        self.direct = direct
        self._scratch = (None if self.stored_dtype.kind == "f" and direct
                         else np.empty((self.chunk_rows, self.input_dim), self.stored_dtype))
        self._y_scratch = None if direct else np.empty(self.chunk_rows, np.int32)

    def _check_labels(self):
        """Every label in [0, num_classes): a wrong one would index past the card's output layer."""
        lo, hi = None, None
        step = 1 << 20
        for a in range(0, self.num_rows, step):
            y = self._y[a:a + step]
            lo = y.min() if lo is None else min(lo, y.min())
            hi = y.max() if hi is None else max(hi, y.max())
        if lo < 0 or hi >= self.num_classes:
            raise DataError(f"{self.path}: /{self.split}/y holds labels {lo}..{hi}, outside 0..{self.num_classes - 1} "
                            f"(num_classes {self.num_classes})")

    # ---- one chunk ---------------------------------------------------------------------------

    def chunk_order(self, epoch: int) -> np.ndarray:
        """Chunk indices in the order this epoch visits them (shuffled from (seed, epoch))."""
        if not self.shuffle:
            return np.arange(self.num_chunks)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_chunks)

    def first_rows(self, epoch: int) -> np.ndarray:
        """The dataset index of each chunk's row 0, in the order this epoch visits the chunks (rows
        within a chunk follow in file order unless shuffle_rows)."""
        return self.chunk_order(epoch) * self.chunk_rows

    def read_chunk(self, index: int, x: np.ndarray, y: np.ndarray) -> int:
        """Fill x[:n], y[:n] with chunk `index` (in file order); returns n (short last chunk)."""
        a = index * self.chunk_rows
        b = min(a + self.chunk_rows, self.num_rows)
        if not 0 <= a < b:
            raise DnnValueError(f"chunk {index} out of range (0..{self.num_chunks - 1})")
        return self._read_rows(a, b, x, y, self._scratch)

    def _read_rows(self, a: int, b: int, x, y, scratch) -> int:
        """Rows a..b into x, y; a failed read, a file that shrank since it was opened, or an input
        that is NaN or infinite is a DataError naming the file, the dataset and the rows."""
        try:
            size = self._file_size()
        except OSError as exc:
            raise DataError(f"{self.path}: cannot be read any more ({exc.strerror}) while reading /{self.split} "
                            f"rows {a:,}-{b - 1:,}") from None
        if size < self._size:
            raise DataError(f"{self.path}: the file shrank from {self._size:,} to {size:,} bytes while being read "
                            f"(at /{self.split} rows {a:,}-{b - 1:,}); was it overwritten? re-create it")
        try:
            n = self._read_rows_unchecked(a, b, x, y, scratch)
        except (OSError, RuntimeError) as exc:
            raise DataError(f"{self.path}: cannot read /{self.split}/x or /{self.split}/y rows {a:,}-{b - 1:,} "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); the file is damaged, "
                            "re-create it with 'python -m dnn.chunk'") from None
        if self.stored_dtype.kind == "f":
            finite = np.isfinite(x[:n]).all(axis=1)
            if not finite.all():
                row = a + int(np.flatnonzero(~finite)[0])
                raise DataError(f"{self.path}: /{self.split}/x row {row:,} holds NaN or infinity; the data file "
                                "is damaged or was written wrongly, not a training problem")
        return n

    def _file_size(self) -> int:
        """The size of the file HDF5 has open (by its descriptor: a file replaced by rename under
        the same name is not ours, and ours is still whole)."""
        try:
            return os.fstat(self._file.id.get_vfd_handle()).st_size
        except (TypeError, ValueError, RuntimeError):
            return os.stat(self.path).st_size

    def _read_rows_unchecked(self, a: int, b: int, x, y, scratch) -> int:
        n = b - a
        src, dst = np.s_[a:b], np.s_[0:n]
        if scratch is None:
            self._x.read_direct(x, src, dst)
            if self.scale != 1.0:
                np.multiply(x[:n], np.float32(self.scale), out=x[:n])
        else:
            self._x.read_direct(scratch, src, dst)
            # Same operation as dnn.chunk uses for float32 storage: both give identical floats.
            if self.scale != 1.0 or scratch.dtype != np.float32:
                np.multiply(scratch[:n], np.float32(self.scale), out=x[:n])
            else:
                x[:n] = scratch[:n]
        if self._y_scratch is None:
            self._y.read_direct(y, src, dst)
        else:
            self._y.read_direct(self._y_scratch, src, dst)
            y[:n] = self._y_scratch[:n]
        return n

    def _fill(self, epoch: int, position: int, index: int, x, y) -> int:
        n = self.read_chunk(index, x, y)
        if self.shuffle_rows:
            perm = np.random.default_rng([self.seed, epoch, position]).permutation(n)
            x[:n] = x[:n][perm]
            y[:n] = y[:n][perm]
        return n

    # ---- epochs ------------------------------------------------------------------------------

    def make_buffers(self, count: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
        """Buffer pairs in ordinary memory (the trainer brings its own, in shared memory)."""
        return [(np.empty((self.chunk_rows, self.input_dim), np.float32), np.empty(self.chunk_rows, np.int32))
                for _ in range(count)]

    def _check_buffers(self, buffers):
        if not buffers:
            raise DnnValueError("epoch() needs at least one (x, y) buffer pair")
        for i, (x, y) in enumerate(buffers):
            ok_x = (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 and x.flags.c_contiguous
                    and x.flags.writeable and x.shape[1] == self.input_dim and x.shape[0] >= self.chunk_rows)
            ok_y = (isinstance(y, np.ndarray) and y.dtype == np.int32 and y.ndim == 1 and y.flags.c_contiguous
                    and y.flags.writeable and y.shape[0] >= self.chunk_rows)
            if not (ok_x and ok_y):
                raise DnnValueError(
                    f"buffer pair {i}: x must be writable C-contiguous float32 of at least "
                    f"({self.chunk_rows}, {self.input_dim}) and y int32 of at least ({self.chunk_rows},); got "
                    f"x {getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}, "
                    f"y {getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")

    def epoch(self, epoch: int, buffers=None):
        """Yield (rows, x, y) for every chunk of the split, in this epoch's order.

        buffers: a list of (x, y) pairs; chunk k goes into pair k % len(buffers). With prefetch
        (and two or more pairs) the next chunk is read in a thread while the caller works."""
        buffers = list(buffers) if buffers is not None else self.make_buffers(2 if self.prefetch else 1)
        self._check_buffers(buffers)
        order = self.chunk_order(epoch)
        gen = (self._prefetched(epoch, order, buffers) if self.prefetch and len(buffers) > 1
               else self._sequential(epoch, order, buffers))
        self._epochs.add(gen)
        return gen

    def _sequential(self, epoch, order, buffers):
        for k, index in enumerate(order):
            x, y = buffers[k % len(buffers)]
            yield self._fill(epoch, k, index, x, y), x, y

    def _prefetched(self, epoch, order, buffers):
        # free[s] is held while pair s is being filled or is with the caller.
        free = [threading.Semaphore(1) for _ in buffers]
        filled: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def work():
            try:
                for k, index in enumerate(order):
                    slot = k % len(buffers)
                    free[slot].acquire()
                    if stop.is_set():
                        return
                    filled.put((slot, self._fill(epoch, k, index, *buffers[slot])))
                filled.put(None)
            except BaseException as exc:  # handed to the caller, raised there
                filled.put(exc)

        thread = threading.Thread(target=work, name=f"dnn-prefetch-{self.split}", daemon=True)
        thread.start()
        try:
            while (item := filled.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                slot, n = item
                yield (n, *buffers[slot])
                free[slot].release()
        finally:
            # Early exit, error or end: wake the thread wherever it waits, and wait for it.
            stop.set()
            for s in free:
                s.release()
            thread.join()

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole split in file order, as float32 inputs and int32 labels (for tests, references)."""
        x = np.empty((self.num_rows, self.input_dim), np.float32)
        y = np.empty(self.num_rows, np.int32)
        scratch = None if self._scratch is None else np.empty(x.shape, self.stored_dtype)
        self._read_rows(0, self.num_rows, x, y, scratch)
        return x, y

    # ---- life --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop any epoch still running (its prefetch thread ends) and close the file."""
        for gen in list(self._epochs):
            try:
                gen.close()
            except ValueError:  # running in another thread right now: it ends with the file
                pass
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"ChunkReader({str(self.path)!r}, split={self.split!r}: {self.num_rows} rows x {self.input_dim}, "
                f"{self.num_classes} classes, {self.num_chunks} chunks of {self.chunk_rows})")
