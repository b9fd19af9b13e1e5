"""--shift N: each training image moves by a random offset in [-N, N] in x and y as it is placed
into the network's input (zero fill), the offsets drawn in C from (seed, epoch, the image's index
in the dataset). The placed images against NumPy shifts by the offsets C reports; the same shifts
in every mode, granularity, thread count, CHAOS worker and card; test images never moved; exact
resume; bad values in one line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from dnn import checkpoint as ckpt
from dnn import reference_cnn as ref
from dnn.network import Arch
from dnn.offload import ffi, lib
from dnn.session import run_training
from dnn.trainer import Config, Trainer

NET = "29x29-c3k6-m4-c4k3-f7-5"  # 28x28 images placed into 29x29


def offsets(seed, epoch, index, most):
    dx, dy = ffi.new("int32_t *"), ffi.new("int32_t *")
    lib.dnn_shift_offsets(seed, epoch, index, most, dx, dy)
    return dx[0], dy[0]


def shifted(x, seed, epoch, first, most):
    """Rows x (n, 784) placed into 29x29 and moved as NumPy would, by the offsets C reports for
    dataset images first, first + 1, ..."""
    placed = ref.place(x, 28, 28, 29, 29)
    return np.stack([ref.shift(placed[i:i + 1], *offsets(seed, epoch, first + i, most))[0] for i in range(len(x))])


def images(rows, seed=0, classes=5):
    rng = np.random.default_rng(seed)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, classes, rows).astype(np.int32)


def _p(a):
    return ffi.cast("float *", a.ctypes.data)


def test_placed_images_equal_numpy_shifts_by_the_offsets_c_reports():
    x, _ = images(40, seed=1)
    s = ffi.new("dnn_shift *")
    s.most, s.seed, s.epoch = 3, 7, 2
    out = np.full((40, 29, 29), np.nan, np.float32)
    lib.dnnPlaceShifted(_p(out), _p(x), 40, 28, 28, 29, 29, s, 100)
    np.testing.assert_array_equal(out, shifted(x, 7, 2, 100, 3))
    assert len({offsets(7, 2, 100 + i, 3) for i in range(40)}) > 10  # they really were moved, and not alike
    plain = np.full((40, 29, 29), np.nan, np.float32)
    lib.dnnPlaceImages(_p(plain), _p(x), 40, 28, 28, 29, 29)
    np.testing.assert_array_equal(plain, ref.place(x, 28, 28, 29, 29))


def test_offsets_cover_the_range_evenly_and_change_with_epoch_and_seed():
    n = 2000
    first = [offsets(1, 0, k, 2) for k in range(n)]
    assert first == [offsets(1, 0, k, 2) for k in range(n)]  # a function of its arguments alone
    for axis in (0, 1):
        counts = np.bincount([o[axis] + 2 for o in first], minlength=5)
        assert len(counts) == 5 and counts.min() > 300 and counts.max() < 500  # 400 each expected
    alike = lambda other: sum(a == b for a, b in zip(first, other))  # noqa: E731
    assert alike([offsets(1, 1, k, 2) for k in range(n)]) < 160  # another epoch: 80 alike expected
    assert alike([offsets(2, 0, k, 2) for k in range(n)]) < 160  # another seed
    assert {offsets(1, 0, k, 0) for k in range(100)} == {(0, 0)}


def _trainer(mode="host", threads=1, shift=2, bunch=16, **kw):
    arch = Arch.parse(NET, "relu", data_shape=(28, 28))
    cfg = Config(arch, mode=mode, bunch=bunch, chunk=64, threads=threads, lr=0.1, momentum=0.9, seed=5, shift=shift,
                 **kw)
    return Trainer(cfg, arch.inputs, arch.sizes[-1])


def _placed(t):
    """The images of the last bunch fetched, as the network's input holds them."""
    off, n = int(t.net.layout.placed_off), int(t.net.net.state.n)
    return t.net.blocks["acts"][off:off + n * 29 * 29].reshape(n, 29, 29).copy()


@pytest.mark.parametrize("threads", [1, 2])
def test_training_moves_each_image_by_its_dataset_index_and_epoch_evaluation_never(threads):
    x, y = images(40, seed=2)
    with _trainer("implicit", threads) as t:
        buf = t.buffers[0]
        buf.x[:40], buf.y[:40] = x, y
        buf.first = 1000  # this chunk holds dataset images 1000..1039
        t.set_epoch(3)
        t.train_chunk(buf, 40)  # bunches of 16, 16, 8: the last is rows 32..39
        np.testing.assert_array_equal(_placed(t), shifted(x[32:], 5, 3, 1032, 2))
        t.evaluate_chunk(buf, 40)
        np.testing.assert_array_equal(_placed(t), ref.place(x[32:], 28, 28, 29, 29))


MODES = [("host", "copy"), ("implicit", "copy"), ("implicit-myo", "copy"), ("explicit", "copy"),
         ("explicit", "resident")]


def _train(mode, policy="copy", granularity="chunk", bunch=16, shift=2, **kw):
    """Two chunks of 64 rows, dataset images 0..127, in epoch 1, one card thread."""
    mode, _, coherence = mode.partition("-")
    x, y = images(128, seed=3)
    with _trainer(mode, 1, shift, bunch, explicit_weights=policy, granularity=granularity,
                  coherence=coherence or "shared", **kw) as t:
        t.set_epoch(1)
        for r0 in (0, 64):
            buf = t.buffers[r0 // 64]
            buf.x[:64], buf.y[:64] = x[r0:r0 + 64], y[r0:r0 + 64]
            buf.first = r0
            t.train_chunk(buf, 64)
        t.sync_weights()
        return t.net.blocks["params"].copy()


def test_every_mode_and_granularity_shifts_alike():
    """One card thread, --shift 2: every mode at every granularity ends with the host's bits (at op
    and bunch granularity explicit mode sends each bunch's rows alone: the images keep their index)."""
    host = _train("host")
    assert not np.array_equal(host, _train("host", shift=0))  # the shift changed the training
    for mode, policy in MODES:
        for g in ("chunk", "bunch", "op"):
            assert np.array_equal(_train(mode, policy, g), host), f"{mode}-{policy}/{g}"


def test_chaos_workers_shift_as_one_image_per_update():
    """One CHAOS worker is per-image SGD in host mode, bit for bit: with the shift too."""
    per_image = _train("host", bunch=1)
    for mode, policy in (("implicit", "copy"), ("explicit", "resident")):
        assert np.array_equal(_train(mode, policy, bunch=1, workers=1), per_image), mode


def test_two_cards_shift_each_image_as_one_card_does():
    """Each card's share of a bunch keeps its images' dataset indices: two cards train the weights of
    one to float rounding (with a card's images shifted by another card's offsets they would not)."""
    one = _train("host", granularity="bunch", bunch=32)
    two = _train("implicit", granularity="bunch", bunch=32, cards=2)
    assert np.abs(two - one).max() <= 1e-5 * np.abs(one).max()


def _cfg(**kw):
    base = dict(arch=Arch.parse("29x29-c4k6-m4-f16-5", "relu", data_shape=(28, 28)), mode="implicit", bunch=16,
                chunk=64, threads=1, lr=0.05, momentum=0.9, seed=3, shift=2)
    return Config(**(base | kw))


def test_resume_and_overlap_shift_alike(tmp_path, image_dataset):
    full = run_training(_cfg(), image_dataset, 2, quiet=True, keep_trainer=True)
    ck = tmp_path / "ck.h5"
    run_training(_cfg(), image_dataset, 1, checkpoint=str(ck), quiet=True)
    assert ckpt.load(ck).config["shift"] == 2
    resumed = run_training(_cfg(), image_dataset, 2, resume=str(ck), quiet=True, keep_trainer=True)
    overlap = run_training(_cfg(mode="explicit", overlap=True), image_dataset, 2, quiet=True, keep_trainer=True)
    assert full["shift"] == 2
    assert np.array_equal(full["_weights"], resumed["_weights"])
    assert np.array_equal(full["_weights"], overlap["_weights"])


def train_cli(*args):
    """dnn.train on a small CNN (args may give --arch again: the last one counts)."""
    return subprocess.run([sys.executable, "-m", "dnn.train", "--arch", "29x29-c4k6-m4-f16-5", "--bunch", "16",
                           "--lr", "0.05", "--threads", "1", "--quiet", *args], capture_output=True, text=True,
                          timeout=180, cwd=ROOT)


def test_shift_zero_is_the_run_without_it_and_resume_keeps_the_shift(tmp_path, image_dataset):
    data = ["--data", str(image_dataset)]
    runs = {}
    for name, extra in (("none", []), ("zero", ["--shift", "0"]), ("two", ["--shift", "2"])):
        ck = tmp_path / f"{name}.h5"
        r = train_cli(*data, "--epochs", "1", "--checkpoint", str(ck), *extra)
        assert r.returncode == 0, r.stderr
        runs[name] = ckpt.load(ck).params
    assert np.array_equal(runs["none"], runs["zero"])
    assert not np.array_equal(runs["none"], runs["two"])
    metrics = tmp_path / "m.json"
    r = train_cli(*data, "--epochs", "2", "--resume", str(tmp_path / "two.h5"), "--metrics", str(metrics))
    assert r.returncode == 0, r.stderr
    assert json.loads(metrics.read_text())["shift"] == 2  # taken from the checkpoint


@pytest.mark.parametrize("arch,shift,says", [
    ("29x29-c4k6-m4-f16-5", "-1", "--shift -1: give the largest offset in pixels, from 0 (no shift) to 27"),
    ("29x29-c4k6-m4-f16-5", "28", "--shift 28: give the largest offset in pixels, from 0 (no shift) to 27"),
    ("784-16-5", "1", "--shift moves the data's images as they are placed into a larger input"),
])
def test_bad_shifts_end_in_one_line(image_dataset, arch, shift, says):
    r = train_cli("--data", str(image_dataset), "--arch", arch, "--shift", shift)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr


def test_each_chunk_of_an_epoch_starts_at_the_dataset_row_the_shift_counts_from(small_dataset):
    """The reader's chunks come in a shuffled order each epoch: first_rows names the dataset row each
    one starts at (the rows the session tells the trainer its chunk holds)."""
    from dnn.data import ChunkReader

    with ChunkReader(small_dataset, "train", shuffle=True, seed=4, prefetch=False) as reader:
        x_all, _ = reader.read_all()
        assert list(reader.first_rows(1)) != sorted(reader.first_rows(1))  # epoch 1 visits them out of order
        for epoch in (0, 1):
            firsts = reader.first_rows(epoch)
            assert sorted(firsts) == list(range(0, reader.num_rows, reader.chunk_rows))
            for first, (n, x, _y) in zip(firsts, reader.epoch(epoch)):
                np.testing.assert_array_equal(x[:n], x_all[first:first + n])
