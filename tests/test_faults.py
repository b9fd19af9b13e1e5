"""Faults and bad input: the card dies, the user presses Ctrl-C, the host dies, the disk fills, the
loss explodes, files are malformed. In every case nothing is lost: the last checkpoint loads, and
resuming from it ends with the weights an uninterrupted run ends with (one thread, same seed).

The training runs are real `python -m dnn.train` processes, signalled from outside."""

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, card_processes, exit_unreaped, gone_within, host_seconds, mounted_tmpfs, prototype_dataset
from dnn import checkpoint as ckpt
from dnn.errors import DnnError
from dnn.network import Arch
from dnn.session import run_training
from dnn.trainer import Config

# ~50 ms per chunk of 200 rows on one thread: long enough to be hit mid-chunk, 2 epochs in ~2 s.
ARCH = "64-1024-1024-10"
RUN = ["--arch", ARCH, "--bunch", "20", "--threads", "1", "--seed", "5", "--epochs", "2", "--quiet"]


@pytest.fixture(scope="module")
def fault_dataset(tmp_path_factory) -> Path:
    """4,000 training rows in 20 chunks of 200, 64 inputs, 10 learnable classes."""
    return prototype_dataset(tmp_path_factory.mktemp("faults"), classes=10, inputs=64, train=4000, test=500,
                             chunk_rows=200, noise=0.2, seed=1)


def cli(*args, timeout=60, env=None):
    return subprocess.run([sys.executable, "-m", "dnn.train", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "dnn.train", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def reference(fault_dataset, tmp_path_factory):
    """The final checkpoint of an uninterrupted run."""
    ck = tmp_path_factory.mktemp("ref") / "ref.h5"
    r = cli("--data", fault_dataset, *RUN, "--checkpoint", ck)
    assert r.returncode == 0, r.stderr
    return ckpt.load(ck)


def wait_for_card(proc, timeout=60.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        pids = card_processes(parent=proc.pid)
        if pids:
            return pids[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    raise AssertionError("the card never started")


def ends_soon(proc, act, limit: float) -> str:
    """act() (a signal to the card or the host), then wait for the host to exit; returns its
    stderr. It must take under `limit` seconds of its own time after the signal (work, sleeps,
    waits for the card, interpreter exit), with the time a loaded machine kept it waiting for a
    CPU left out: beside a nice -20 job (what `quiet` timing runs are) a card death took 1.76 s
    of wall time, 1.67 s of it queued for a CPU, though it was seen 6 ms after the kill."""
    before = host_seconds(proc.pid)
    act()
    err = exit_unreaped(proc)
    took, waited_for_cpu = host_seconds(proc.pid, since=before)
    proc.wait()
    assert took - waited_for_cpu < limit, (f"{took:.2f} s after the signal, of which {waited_for_cpu:.2f} s "
                                           f"waiting for a CPU", err)
    return err


def assert_one_line(stderr: str, *needles):
    assert "Traceback" not in stderr, stderr
    errors = [l for l in stderr.strip().splitlines() if l.startswith("dnn.train: error:")]
    assert len(errors) == 1, stderr
    for n in needles:
        assert n in errors[0], stderr
    return errors[0]


def assert_resumes_to_reference(data, ck, reference):
    before = ckpt.load(ck)  # the checkpoint left behind is intact
    assert (before.epoch, before.chunk) != (2, 0)
    r = cli("--data", data, *RUN, "--checkpoint", ck, "--resume", ck)
    assert r.returncode == 0, r.stderr
    after = ckpt.load(ck)
    assert after.epoch == 2
    assert np.array_equal(after.params, reference.params)
    assert np.array_equal(after.moment, reference.moment)


def only_the_checkpoint_left(folder: Path, ck: Path):
    assert sorted(p.name for p in folder.iterdir()) == [ck.name], "temporary files left behind"


# ---- 1. the card dies mid-training -----------------------------------------------------------


@pytest.mark.parametrize("sig,what", [(signal.SIGKILL, "signal 9"), (signal.SIGSEGV, "signal 11")])
def test_card_dies_mid_chunk(tmp_path, fault_dataset, reference, sig, what):
    ck = tmp_path / "ck.h5"
    shm = set(os.listdir("/dev/shm"))
    proc = start("--data", fault_dataset, *RUN, "--checkpoint", ck)
    card = wait_for_card(proc)
    time.sleep(0.4 + random.random() * 0.4)  # a few chunks in, during one (the card computes ~all the time)
    # Seen at once (waitpid), not after --card-timeout's 10 s of silence: well under 1.5 s
    # of the host's own time, interpreter exit included, and the line names the signal.
    err = ends_soon(proc, lambda: os.kill(card, sig), 1.5)
    assert proc.returncode == 2
    line = assert_one_line(err, "died while running kernel 'cilkpp_dnn_run_shared'", what, f"--resume {ck}")
    assert "stopped answering" not in line, line
    assert "epoch 1, chunk " in line or "epoch 2, chunk " in line
    assert gone_within(card, 1.0)
    assert set(os.listdir("/dev/shm")) == shm
    only_the_checkpoint_left(tmp_path, ck)
    assert_resumes_to_reference(fault_dataset, ck, reference)


def test_card_dies_with_a_transfer_on_the_dma_lane(tmp_path, fault_dataset, reference):
    """Explicit mode with --overlap: the card is killed while a kernel runs and the next chunk
    crosses on its DMA lane; one line, nothing left behind, and the checkpoint resumes to the
    uninterrupted run's weights."""
    ck = tmp_path / "ck.h5"
    shm = set(os.listdir("/dev/shm"))
    overlap = ["--mode", "explicit", "--overlap"]
    proc = start("--data", fault_dataset, *RUN, *overlap, "--checkpoint", ck)
    card = wait_for_card(proc)
    time.sleep(0.4 + random.random() * 0.4)
    os.kill(card, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    line = assert_one_line(err, "signal 9", f"--resume {ck}")
    # in a kernel, or in the transfer that stages a pass's first chunk
    assert "died while running kernel 'cilkpp_dnn_run_flat'" in line or "died during a transfer" in line, line
    assert gone_within(card, 1.0)
    assert set(os.listdir("/dev/shm")) == shm
    only_the_checkpoint_left(tmp_path, ck)
    r = cli("--data", fault_dataset, *RUN, *overlap, "--checkpoint", ck, "--resume", ck)
    assert r.returncode == 0, r.stderr
    after = ckpt.load(ck)
    assert np.array_equal(after.params, reference.params) and np.array_equal(after.moment, reference.moment)


# ---- 2. Ctrl-C and SIGTERM -------------------------------------------------------------------


@pytest.mark.parametrize("sig,status,word,mode", [(signal.SIGINT, 130, "interrupted", []),
                                                  (signal.SIGTERM, 143, "terminated", []),
                                                  (signal.SIGINT, 130, "interrupted", ["--mode", "explicit", "--overlap"])],
                         ids=["sigint", "sigterm", "sigint-overlap"])
def test_interrupt_writes_last_complete_chunk_and_cleans_up(tmp_path, fault_dataset, reference, sig, status, word,
                                                            mode):
    ck = tmp_path / "ck.h5"
    shm = set(os.listdir("/dev/shm"))
    proc = start("--data", fault_dataset, *RUN, *mode, "--checkpoint", ck)
    card = wait_for_card(proc)
    time.sleep(0.4 + random.random() * 0.4)
    # The host waits for its card to leave: up to off_card_stop's 1 s of grace for an idle card
    # (longer than any kernel here) before it kills it, and a card that has to wait for a CPU
    # itself on a loaded machine uses it (2.02 s own time seen under 8 busy loops, 0.37 s of it
    # the host's queue). 1.5 s for the rest, as before.
    err = ends_soon(proc, lambda: proc.send_signal(sig), 1.5 + 1.0)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert f"continue with --resume {ck}" in err and f"dnn.train: {word}" in err
    assert gone_within(card, 0.5)
    assert set(os.listdir("/dev/shm")) == shm
    only_the_checkpoint_left(tmp_path, ck)
    loaded = ckpt.load(ck)
    assert f"checkpoint at epoch {loaded.epoch + 1}, chunk {loaded.chunk} written" in err
    assert_resumes_to_reference(fault_dataset, ck, reference)


# ---- 3. the host dies ------------------------------------------------------------------------


def test_host_killed_mid_training_card_exits_by_itself(fault_dataset):
    proc = start("--data", fault_dataset, *RUN)
    card = wait_for_card(proc)
    time.sleep(0.3)
    proc.kill()
    proc.communicate(timeout=10)
    # EOF on the lifeline ends it at once; without it the card would wait for requests for ever.
    # The bound allows for a loaded machine (the card needs a CPU to exit), not for a slow design.
    assert gone_within(card, 30.0), "the card outlived its host"


# ---- 4. checkpoints are atomic ---------------------------------------------------------------

SAVE_LOOP = """
import sys
import numpy as np
from dnn import checkpoint as ckpt
path = sys.argv[1]
p = np.empty(1_000_000, np.float32)
for i in range(1, 10**6):
    p[...] = i
    ckpt.save(path, ckpt.Checkpoint(arch="a", activation="relu", bunch=1, params=p, moment=-p, epoch=i))
    if i == 1:
        print("saved", flush=True)
"""


def test_killed_while_saving_leaves_a_readable_checkpoint(tmp_path):
    ck = tmp_path / "ck.h5"
    hits = 0
    for attempt in range(8):
        proc = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(ck)], stdout=subprocess.PIPE, text=True,
                                cwd=ROOT)
        assert proc.stdout.readline().strip() == "saved"
        if attempt % 2:  # at a random moment
            time.sleep(random.random() * 0.25)
        else:  # as soon as a temporary file is being written
            t0 = time.monotonic()
            while not any(p.name.startswith(".ck.h5.tmp-") for p in tmp_path.iterdir()):
                assert time.monotonic() - t0 < 10
            time.sleep(random.random() * 0.002)
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        hits += any(p.name.startswith(".ck.h5.tmp-") for p in tmp_path.iterdir())
        loaded = ckpt.load(ck)  # never half written
        assert loaded.epoch >= 1
        assert np.all(loaded.params == loaded.epoch) and np.all(loaded.moment == -loaded.epoch)
    assert hits >= 1, "no kill landed during a write: the test proved nothing"
    # The next save sweeps the temporary files that killed writers left behind.
    ckpt.save(ck, ckpt.Checkpoint(arch="a", activation="relu", bunch=1, params=np.zeros(3, np.float32),
                                  moment=np.zeros(3, np.float32)))
    only_the_checkpoint_left(tmp_path, ck)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("ck") / "ck.h5"
    rng = np.random.default_rng(0)
    ckpt.save(path, ckpt.Checkpoint(arch="20-8-5", activation="relu", bunch=16, epoch=3, chunk=2, seed=7,
                                    params=rng.random(213, dtype=np.float32),
                                    moment=rng.random(213, dtype=np.float32),
                                    config={"lr": 0.1}, metrics={"train_loss": [1.0, 0.5]}))
    return path.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_checkpoint_is_refused_or_intact(small_checkpoint, data):
    """Truncated anywhere, or any byte changed: CheckpointError, or every field exactly as saved."""
    raw = bytearray(small_checkpoint)
    if data.draw(st.booleans(), "truncate"):
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), "length")]
    else:
        at = data.draw(st.integers(0, len(raw) - 1), "offset")
        raw[at] ^= data.draw(st.integers(1, 255), "xor")
    original = Path(tempfile.mkdtemp()) / "ok.h5"
    original.write_bytes(small_checkpoint)
    damaged = original.with_name("bad.h5")
    damaged.write_bytes(bytes(raw))
    try:
        want = ckpt.load(original)
        try:
            got = ckpt.load(damaged)
        except ckpt.CheckpointError as exc:
            assert "bad.h5" in str(exc)
            return
        for key in ("arch", "activation", "bunch", "epoch", "chunk", "seed", "config", "metrics"):
            assert getattr(got, key) == getattr(want, key), key
        assert np.array_equal(got.params, want.params) and np.array_equal(got.moment, want.moment)
    finally:
        original.unlink()
        damaged.unlink()
        original.parent.rmdir()


# ---- 5. resources ----------------------------------------------------------------------------


def test_card_memory_too_small_for_resident_weights(tmp_path, fault_dataset):
    ck = tmp_path / "ck.h5"
    r = cli("--data", fault_dataset, *RUN, "--mode", "explicit", "--explicit-weights", "resident",
            "--card-memory", "1", "--checkpoint", ck)
    assert r.returncode == 2
    assert_one_line(r.stderr, "card memory")
    assert not ck.exists()


def test_bad_card_memory_option(fault_dataset):
    r = cli("--data", fault_dataset, *RUN, "--card-memory", "-3")
    assert r.returncode == 2
    assert_one_line(r.stderr, "--card-memory must be a size in MiB")


@pytest.mark.parametrize("mode", ["host", "implicit", "explicit"])
def test_network_too_large_for_memory(fault_dataset, mode):
    # 10^10 weights: 37 GiB for the parameters alone. Under `make sanitize`, ASan would abort on
    # the allocation instead of returning NULL (NumPy's MemoryError): let it return NULL.
    env = dict(os.environ)
    if "libasan" in env.get("LD_PRELOAD", ""):
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1"
    r = cli("--data", fault_dataset, "--arch", "64-100000-100000-10", "--mode", mode, "--quiet", env=env)
    assert r.returncode == 2
    assert_one_line(r.stderr, "do not fit in memory", "use a smaller --arch")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs: room for one checkpoint of a 20-200-5 network (~45 KB) but not two."""
    with mounted_tmpfs(tmp_path / "tiny", "64k") as folder:
        yield folder


def test_disk_full_keeps_the_previous_checkpoint(tiny_disk, small_dataset):
    ck = tiny_disk / "ck.h5"
    r = cli("--data", small_dataset, "--arch", "20-200-5", "--bunch", "16", "--threads", "1", "--epochs", "3",
            "--quiet", "--checkpoint", ck)
    assert r.returncode == 2
    assert_one_line(r.stderr, f"cannot write checkpoint {ck}", "No space left on device",
                    "previous checkpoint, if any, is unchanged")
    assert ckpt.load(ck).epoch == 1  # the first epoch's checkpoint stands
    only_the_checkpoint_left(tiny_disk, ck)


# ---- 6. numerics -----------------------------------------------------------------------------


def test_exploding_loss_names_chunk_and_bunch_and_keeps_the_checkpoint(tmp_path, small_dataset):
    ck = tmp_path / "ck.h5"
    base = ["--data", small_dataset, "--arch", "20-32-5", "--bunch", "16", "--threads", "1", "--quiet",
            "--checkpoint", ck]
    assert cli(*base, "--epochs", "1").returncode == 0
    good = ck.read_bytes()
    r = cli(*base, "--epochs", "3", "--resume", ck, "--lr", "1e20")
    assert r.returncode == 2
    line = assert_one_line(r.stderr, "lower the learning rate")
    import re

    assert re.search(r"epoch 2, chunk \d+: .*became (NaN|infinite) in bunch \d+", line), line
    assert ck.read_bytes() == good
    only_the_checkpoint_left(tmp_path, ck)


def test_non_finite_weights_never_overwrite_a_checkpoint(tmp_path):
    """With evaluation off, weights that overflowed in the epoch's last bunch reach the save: refused
    (lr 1e39 is infinite in float32, so one update makes them inf/NaN)."""
    from dnn.data import convert

    rng = np.random.default_rng(2)
    x, y = rng.random((20, 8)).astype(np.float32), rng.integers(0, 3, 20)
    np.savez(tmp_path / "one.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    data = tmp_path / "one.h5"
    convert(str(tmp_path / "one.npz"), data, chunk_rows=20, dtype="float32", shuffle=False, quiet=True)
    ck = tmp_path / "ck.h5"
    cfg = dict(arch=Arch.parse("8-16-3", "relu"), mode="host", bunch=20, chunk=20, threads=1)
    run_training(Config(**cfg), data, 1, checkpoint=str(ck), quiet=True, evaluate_each_epoch=False)
    good = ck.read_bytes()
    with pytest.raises(DnnError, match="no longer finite .* was not overwritten"):
        run_training(Config(**cfg, lr=1e39), data, 3, checkpoint=str(ck), resume=str(ck), quiet=True,
              evaluate_each_epoch=False)
    assert ck.read_bytes() == good


# ---- 8. malformed HDF5 datasets --------------------------------------------------------------

dims = st.tuples(st.integers(0, 4), st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(num_classes=st.one_of(st.none(), st.integers(-2, 4), st.just("three"), st.just(2.5)),
       xshape=st.one_of(dims, st.tuples(st.integers(0, 4)), st.tuples(st.integers(1, 2), st.integers(1, 2),
                                                                        st.integers(1, 2))),
       yrows=st.integers(0, 4), xtype=st.sampled_from(["f4", "u1", "i8", "S3", "c8"]),
       ytype=st.sampled_from(["i4", "u1", "f4", "S1"]),
       labels=st.integers(-1, 4), chunk_rows=st.one_of(st.none(), st.integers(-1, 3)),
       input_shape=st.one_of(st.none(), st.just([2]), st.just([1, 3]), st.just([0])),
       split=st.sampled_from(["train", "test"]))
def test_fuzz_chunk_reader_validation(tmp_path, num_classes, xshape, yrows, xtype, ytype, labels, chunk_rows,
                                      input_shape, split):
    """Any small malformed file: the reader either reads it or raises a DnnError saying why."""
    from dnn.data import ChunkReader

    path = tmp_path / "fuzz.h5"
    with h5py.File(path, "w") as f:
        for key, value in (("num_classes", num_classes), ("chunk_rows", chunk_rows), ("input_shape", input_shape)):
            if value is not None:
                f.attrs[key] = value
        f.create_dataset(f"{split}/x", data=np.zeros(xshape, np.dtype(xtype)))
        f.create_dataset(f"{split}/y", data=np.full(yrows, labels).astype(ytype))
    try:
        with ChunkReader(path, "train", prefetch=False) as reader:
            x = np.zeros((reader.chunk_rows, reader.input_dim), np.float32)
            yb = np.zeros(reader.chunk_rows, np.int32)
            for _ in reader.epoch(0, buffers=[(x, yb)]):
                pass
    except DnnError as exc:
        assert str(path) in str(exc) or "chunk_rows" in str(exc)
