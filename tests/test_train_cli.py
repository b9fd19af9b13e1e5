"""python -m dnn.train: learning, metrics, checkpoints and resume, and bad arguments."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import ROOT
from dnn import checkpoint as ckpt
from dnn.network import Arch
from dnn.session import run_training
from dnn.trainer import Config


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "dnn.train", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def small_cfg(**kw):
    base = dict(arch=Arch.parse("20-32-5", "relu"), mode="implicit", bunch=16, chunk=128, threads=1, lr=0.1, seed=3)
    base.update(kw)
    return Config(**base)


def test_learns_the_small_dataset(small_dataset):
    m = run_training(small_cfg(), small_dataset, epochs=5, quiet=True)
    assert m["test_accuracy"][-1] >= 0.9
    assert m["train_loss"][-1] < m["train_loss"][0]


def test_cli_writes_metrics_and_checkpoint(tmp_path, small_dataset):
    metrics, ck = tmp_path / "m.json", tmp_path / "ck.h5"
    r = cli("--data", str(small_dataset), "--arch", "20-32-5", "--epochs", "2", "--bunch", "16", "--threads", "1",
            "--checkpoint", str(ck), "--metrics", str(metrics), "--quiet")
    assert r.returncode == 0, r.stderr
    m = json.loads(metrics.read_text())
    for key in ("mode", "explicit_weights", "granularity", "arch", "epochs", "threads", "link", "seed", "train_loss",
                "train_accuracy", "test_loss", "test_accuracy", "wall_s", "compute_s", "transfer_s", "wait_s",
                "bytes_to_card", "bytes_from_card", "offload_calls", "images_per_s", "card_pid", "host_pid"):
        assert key in m, key
    assert len(m["train_loss"]) == 2 and m["card_pid"] != m["host_pid"]
    assert "test accuracy" in r.stdout
    loaded = ckpt.load(ck)
    assert loaded.epoch == 2 and loaded.arch == "20-32-5"


@pytest.mark.parametrize("mode,policy", [("implicit", "resident"), ("explicit", "resident"), ("host", "copy")])
def test_resume_gives_the_same_weights_as_one_run(tmp_path, small_dataset, mode, policy):
    full = run_training(small_cfg(mode=mode, explicit_weights=policy), small_dataset, 4, quiet=True, keep_trainer=True)
    ck = tmp_path / "ck.h5"
    run_training(small_cfg(mode=mode, explicit_weights=policy), small_dataset, 2, checkpoint=str(ck), quiet=True)
    resumed = run_training(small_cfg(mode=mode, explicit_weights=policy), small_dataset, 4, resume=str(ck), quiet=True,
                    keep_trainer=True)
    assert np.array_equal(full["_weights"], resumed["_weights"])
    assert resumed["test_accuracy"] == pytest.approx(full["test_accuracy"])


def test_resume_refuses_another_network(tmp_path, small_dataset):
    ck = tmp_path / "ck.h5"
    run_training(small_cfg(), small_dataset, 1, checkpoint=str(ck), quiet=True)
    r = cli("--data", str(small_dataset), "--arch", "20-64-5", "--bunch", "16", "--resume", str(ck), "--quiet")
    assert r.returncode == 2
    assert "arch 20-32-5 (checkpoint) vs 20-64-5 (now)" in r.stderr and "Traceback" not in r.stderr


def test_corrupted_checkpoint_is_refused(tmp_path, small_dataset):
    ck = tmp_path / "ck.h5"
    run_training(small_cfg(), small_dataset, 1, checkpoint=str(ck), quiet=True)
    with h5py.File(ck, "r+") as f:
        f["params"][0] += 1.0
    with pytest.raises(ckpt.CheckpointError, match="CRC"):
        ckpt.load(ck)
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])
    r = cli("--data", str(small_dataset), "--arch", "20-32-5", "--bunch", "16", "--resume", str(ck), "--quiet")
    assert r.returncode == 2 and "truncated or corrupted" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--mode", "gpu"], "invalid choice: 'gpu'"),
    (["--arch", "10-32-5"], "takes 10 inputs but the data has 20 per row"),
    (["--arch", "20-32-7"], "ends with 7 classes but the data has 5"),
    (["--arch", "20-32-5", "--bunch", "500", "--chunk", "100"], "larger than --chunk"),
    (["--arch", "20-0-5"], "every layer size must be positive"),
    (["--arch", "20-32-5", "--bunch", "0"], "--bunch must be positive"),
    (["--arch", "20-32-5", "--epochs", "0"], "--epochs must be at least 1"),
    (["--arch", "20-32-5", "--link", "warp"], "unknown link 'warp'"),
])
def test_bad_arguments_give_one_line_and_status_2(small_dataset, args, message):
    r = cli("--data", str(small_dataset), "--quiet", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len([l for l in r.stderr.strip().splitlines() if "error" in l]) == 1


def test_missing_data_file(tmp_path):
    r = cli("--data", str(tmp_path / "nope.h5"), "--quiet")
    assert r.returncode == 2 and "nope.h5" in r.stderr and "Traceback" not in r.stderr


def test_an_evaluation_error_names_the_epoch_it_followed(small_dataset, monkeypatch):
    """A kernel failing while the test split is evaluated says after which epoch and in which chunk."""
    import dnn
    from dnn.trainer import Trainer

    calls = {"n": 0}
    real = Trainer.evaluate_chunk

    def failing_in_epoch_two(self, buf, rows):
        calls["n"] += 1
        if calls["n"] > 1:  # the test split has one chunk: the second call follows epoch 2
            raise dnn.KernelError("kernel 'cilkpp_dnn_run_shared' failed: boom")
        return real(self, buf, rows)

    monkeypatch.setattr(Trainer, "evaluate_chunk", failing_in_epoch_two)
    with pytest.raises(dnn.KernelError, match=r"^evaluation after epoch 2, chunk 1: kernel 'cilkpp_dnn_run_shared' failed: boom$"):
        run_training(small_cfg(), small_dataset, epochs=3, quiet=True)


def test_overlap_trains_the_same_bits_as_implicit(small_dataset):
    """Explicit mode with --overlap reads each chunk ahead and sends it on the card's DMA lane while
    the previous one trains (prefetch thread on): the weights are those of implicit mode, bit for bit,
    and the same bytes cross as without overlap."""
    implicit = run_training(small_cfg(mode="implicit"), small_dataset, 3, quiet=True, keep_trainer=True)
    resident = run_training(small_cfg(mode="explicit"), small_dataset, 3, quiet=True, keep_trainer=True)
    overlap = run_training(small_cfg(mode="explicit", overlap=True), small_dataset, 3, quiet=True, keep_trainer=True)
    assert np.array_equal(implicit["_weights"], overlap["_weights"])
    assert overlap["test_accuracy"] == implicit["test_accuracy"]
    assert overlap["bytes_to_card"] == resident["bytes_to_card"] > 3 * 300 * (20 * 4 + 4)


def test_overlap_resumes_to_the_same_weights(tmp_path, small_dataset):
    full = run_training(small_cfg(mode="explicit", overlap=True), small_dataset, 3, quiet=True, keep_trainer=True)
    ck = tmp_path / "ck.h5"
    run_training(small_cfg(mode="explicit", overlap=True), small_dataset, 1, checkpoint=str(ck), quiet=True)
    resumed = run_training(small_cfg(mode="explicit", overlap=True), small_dataset, 3, resume=str(ck), quiet=True,
                    keep_trainer=True)
    assert np.array_equal(full["_weights"], resumed["_weights"])


@pytest.mark.parametrize("extra", [["--mode", "implicit"], ["--mode", "explicit", "--granularity", "bunch"]])
def test_overlap_needs_explicit_mode_at_chunk_granularity(small_dataset, extra):
    r = cli("--data", str(small_dataset), "--arch", "20-32-5", "--bunch", "16", "--overlap", *extra, "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--overlap" in r.stderr and "--mode explicit" in r.stderr and "--granularity chunk" in r.stderr


def test_overlap_says_it_needs_room_for_two_chunks(small_dataset):
    """Card memory that holds the network and one chunk but not two: --overlap stops with a
    message that says why, and the same memory trains without --overlap."""
    import dnn
    from dnn.network import Network

    # A network whose chunk trains for milliseconds: the next chunk is allocated on the card
    # while this one is still there (a tiny one could finish first, and free its chunk).
    cfg = small_cfg(mode="explicit", arch=Arch.parse("20-512-512-5", "relu"))
    blocks = sum(Network.block_bytes(cfg.arch, cfg.bunch).values())
    chunk = cfg.chunk * (20 * 4 + 4)
    cfg.card_memory = blocks + 4096 + int(1.5 * chunk)  # + the structure
    run_training(cfg, small_dataset, 1, quiet=True)
    cfg.overlap = True
    with pytest.raises(dnn.CardMemoryError, match=r"card memory full.*--overlap keeps two chunks on the card"):
        run_training(cfg, small_dataset, 1, quiet=True)




SWALLOWED = """
import sys
from dnn import cli

class Held:
    def __del__(self):  # a signal landing here is swallowed by Python, which would print its traceback
        raise cli.Terminated()

def main(argv):
    cli._pending.append(cli.Terminated)  # what the handler records before raising
    h = Held()
    del h
    print("went on", flush=True)  # the command is not stopped where the exception was swallowed
    return 0

sys.exit(cli.run_cli("dnn-test", main))
"""


def test_a_signal_swallowed_by_a_finaliser_ends_the_command_without_a_traceback():
    """A SIGTERM whose exception is raised inside a __del__ or weakref callback (seen once in the fault
    tests: "Exception ignored in ... weakref.py ... Traceback") is not printed, and still ends the
    command afterwards with 143."""
    proc = subprocess.run([sys.executable, "-c", SWALLOWED], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert proc.stdout == "went on\n"
    assert proc.stderr == "dnn-test: terminated\n", proc.stderr
