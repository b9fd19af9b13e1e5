"""dnn.data.ChunkReader: chunks land in the caller's buffers with no copy, every row once per
epoch, the same sequence with and without prefetch, errors and early exits handled."""

import threading
import time

import h5py
import numpy as np
import pytest

from dnn.data import convert
from dnn.data import ChunkReader
from dnn.errors import DataError, DnnValueError

ROWS, D, CHUNK = 103, 12, 10      # 11 chunks, the last one short (3 rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same data stored as uint8 and as float32, in source order."""
    tmp = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (ROWS, D), dtype=np.uint8)
    y = rng.integers(0, 5, ROWS)
    np.savez(tmp / "src.npz", x_train=x, y_train=y, x_test=x[:17], y_test=y[:17])
    out = {}
    for dtype in ("uint8", "float32"):
        out[dtype] = tmp / f"{dtype}.h5"
        convert(tmp / "src.npz", out[dtype], chunk_rows=CHUNK, dtype=dtype, shuffle=False, quiet=True)
    out["x"] = np.multiply(x, np.float32(1 / 255), dtype=np.float32)
    out["y"] = y.astype(np.int32)
    return out


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("dnn-prefetch")]


def collect(reader, epoch, buffers=None):
    """(rows, x copy, y copy) of every chunk of an epoch."""
    return [(n, x[:n].copy(), y[:n].copy()) for n, x, y in reader.epoch(epoch, buffers)]


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_attributes_and_one_chunk(files, dtype):
    with ChunkReader(files[dtype], "train", shuffle=False, prefetch=False) as r:
        assert (r.num_rows, r.input_dim, r.num_classes, r.chunk_rows, r.num_chunks) == (ROWS, D, 5, CHUNK, 11)
        assert r.input_shape == (D,) and r.class_names is None
        x, y = r.make_buffers(1)[0]
        assert r.read_chunk(3, x, y) == CHUNK
        np.testing.assert_array_equal(x, files["x"][30:40])
        np.testing.assert_array_equal(y, files["y"][30:40])
        assert r.read_chunk(10, x, y) == 3                     # short last chunk
        np.testing.assert_array_equal(x[:3], files["x"][100:])


@pytest.mark.parametrize("prefetch", [False, True])
def test_epoch_fills_the_given_buffers_without_copies(files, prefetch):
    with ChunkReader(files["uint8"], prefetch=prefetch, seed=1) as r:
        backing = np.zeros(2 * (CHUNK + 2) * D + 64, np.float32)   # like shared memory: views of one block
        x0 = backing[:(CHUNK + 2) * D].reshape(CHUNK + 2, D)
        x1 = backing[(CHUNK + 2) * D:2 * (CHUNK + 2) * D].reshape(CHUNK + 2, D)
        bufs = [(x0, np.zeros(CHUNK + 2, np.int32)), (x1, np.zeros(CHUNK + 2, np.int32))]
        seen_x, seen_y = [], []
        for k, (n, x, y) in enumerate(r.epoch(0, bufs)):
            assert x is bufs[k % 2][0] and y is bufs[k % 2][1]   # the very objects given
            assert np.shares_memory(x, backing)
            seen_x.append(x[:n].copy())
            seen_y.append(y[:n].copy())
        order = r.chunk_order(0)
    assert sorted(order.tolist()) == list(range(11)) and order.tolist() != list(range(11))
    np.testing.assert_array_equal(np.vstack(seen_x), np.vstack([files["x"][i * CHUNK:(i + 1) * CHUNK] for i in order]))
    np.testing.assert_array_equal(np.concatenate(seen_y), np.concatenate([files["y"][i * CHUNK:(i + 1) * CHUNK]
                                                                          for i in order]))


@pytest.mark.parametrize("shuffle_rows", [False, True])
def test_prefetch_gives_the_same_sequence(files, shuffle_rows):
    seqs = []
    for prefetch in (False, True):
        with ChunkReader(files["float32"], seed=3, prefetch=prefetch, shuffle_rows=shuffle_rows) as r:
            seqs.append([collect(r, e) for e in range(3)])
    for a, b in zip(*seqs):
        assert len(a) == len(b) == 11
        for (na, xa, ya), (nb, xb, yb) in zip(a, b):
            assert na == nb
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    first = seqs[0]
    assert [n for n, _, _ in first[0]] != [n for n, _, _ in first[1]] or not all(
        np.array_equal(p[1], q[1]) for p, q in zip(first[0], first[1]))      # epochs differ
    with ChunkReader(files["float32"], seed=3, prefetch=False, shuffle_rows=shuffle_rows) as r:
        again = collect(r, 1)
    assert all(np.array_equal(p[1], q[1]) for p, q in zip(again, first[1]))   # deterministic


def test_shuffle_rows_permutes_within_chunks(files):
    with ChunkReader(files["float32"], shuffle=False, shuffle_rows=True, prefetch=False) as r:
        chunks = collect(r, 0)
    assert any(not np.array_equal(x, files["x"][i * CHUNK:i * CHUNK + n]) for i, (n, x, _) in enumerate(chunks))
    for i, (n, x, y) in enumerate(chunks):
        ref = np.column_stack([files["x"][i * CHUNK:i * CHUNK + n], files["y"][i * CHUNK:i * CHUNK + n]])
        got = np.column_stack([x, y]).astype(np.float32)
        assert sorted(map(bytes, got)) == sorted(map(bytes, ref.astype(np.float32)))


def test_chunk_rows_other_than_the_files(files):
    with ChunkReader(files["uint8"], chunk_rows=25, shuffle=False) as r:
        assert r.num_chunks == 5 and r.file_chunk_rows == CHUNK
        got = collect(r, 0)
    assert [n for n, _, _ in got] == [25, 25, 25, 25, 3]
    np.testing.assert_array_equal(np.vstack([x for _, x, _ in got]), files["x"])
    with ChunkReader(files["uint8"], shuffle=False, prefetch=False) as r:
        x, y = r.read_all()
    np.testing.assert_array_equal(x, files["x"])
    np.testing.assert_array_equal(y, files["y"])


def test_prefetch_leaves_the_held_buffer_alone(files):
    """While the caller holds buffer k, the thread may only fill the other one."""
    with ChunkReader(files["float32"], shuffle=False, prefetch=True) as r:
        for n, x, y in r.epoch(0):
            held = x[:n].copy()
            time.sleep(0.01)           # time for the thread to read ahead
            np.testing.assert_array_equal(x[:n], held)


def test_errors_in_the_prefetch_thread_reach_the_caller(files, monkeypatch):
    r = ChunkReader(files["uint8"], shuffle=False, prefetch=True)
    real = r.read_chunk

    def failing(index, x, y):
        if index == 4:
            raise DataError("chunk 4 is damaged")
        return real(index, x, y)
    monkeypatch.setattr(r, "read_chunk", failing)
    got = []
    with pytest.raises(DataError, match="chunk 4 is damaged"):
        for n, _, _ in r.epoch(0):
            got.append(n)
    assert len(got) == 4 and prefetch_threads() == []
    r.close()


def test_breaking_out_or_closing_stops_the_thread(files):
    with ChunkReader(files["uint8"], prefetch=True) as r:
        for k, _ in enumerate(r.epoch(0)):
            if k == 2:
                break
        # The generator is closed when the loop drops it; the thread must be gone then.
        deadline = time.time() + 5
        while prefetch_threads() and time.time() < deadline:
            time.sleep(0.01)
        assert prefetch_threads() == []
        it = r.epoch(1)
        next(it)
        assert len(prefetch_threads()) == 1
    assert prefetch_threads() == []          # close() ended the epoch still running


def test_bad_buffers(files):
    with ChunkReader(files["uint8"]) as r:
        bad = [
            [(np.zeros((CHUNK, D), np.float64), np.zeros(CHUNK, np.int32))],
            [(np.zeros((CHUNK - 1, D), np.float32), np.zeros(CHUNK, np.int32))],
            [(np.zeros((CHUNK, D + 1), np.float32), np.zeros(CHUNK, np.int32))],
            [(np.zeros((D, CHUNK), np.float32).T, np.zeros(CHUNK, np.int32))],
            [(np.zeros((CHUNK, D), np.float32), np.zeros(CHUNK, np.int64))],
            [],
        ]
        for buffers in bad:
            with pytest.raises(DnnValueError):
                r.epoch(0, buffers)


def test_bad_files(tmp_path, files):
    def make(name, **arrays):
        with h5py.File(tmp_path / name, "w") as f:
            f.attrs["num_classes"] = 3
            for key, value in arrays.items():
                f[key] = value
        return tmp_path / name
    cases = [
        (make("nosplit.h5", **{"test/x": np.zeros((2, 2)), "test/y": np.zeros(2, int)}),
         r"no split /train \(the file has: test\)"),
        (make("noy.h5", **{"train/x": np.zeros((2, 2))}), "no dataset /train/y"),
        (make("rows.h5", **{"train/x": np.zeros((3, 2)), "train/y": np.zeros(2, int)}),
         "/train/x has 3 rows but /train/y 2"),
        (make("dims.h5", **{"train/x": np.zeros(3), "train/y": np.zeros(3, int)}), "must be 2-D"),
        (make("labels.h5", **{"train/x": np.zeros((3, 2)), "train/y": np.array([0, 3, 1])}),
         r"labels 0..3, outside 0..2"),
        (make("floaty.h5", **{"train/x": np.zeros((3, 2)), "train/y": np.zeros(3)}), "integers"),
    ]
    with h5py.File(tmp_path / "noattr.h5", "w") as f:
        f["train/x"] = np.zeros((2, 2))
    cases.append((tmp_path / "noattr.h5", "no num_classes attribute"))
    (tmp_path / "text.h5").write_text("hello")
    cases.append((tmp_path / "text.h5", "not an HDF5 file"))
    cases.append((tmp_path / "missing.h5", "no such dataset file"))
    for path, message in cases:
        with pytest.raises(DataError, match=message) as e:
            ChunkReader(path)
        assert str(path) in str(e.value)
    with pytest.raises(DataError, match="no split /val"):
        ChunkReader(files["uint8"], "val")
