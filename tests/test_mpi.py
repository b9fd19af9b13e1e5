"""dnn.train --distributed: 2-rank MPI jobs (mpiexec -n 2, oversubscribed on 2 cores) against the
one-process run of the same global bunch, resume with the same number of ranks, and a rank or a card
that dies ending the whole job.

Tolerance: as with several cards (tests/test_cards.py), the ranks only group the rows of each bunch
differently in the gradient sums; the weights stay within 1e-5 of the largest weight.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, card_processes
from dnn import checkpoint as ckpt
from dnn.rank_guard import mpich_segments

pytest.importorskip("mpi4py")
MPIEXEC = Path(sys.executable).parent / "mpiexec"
TOLERANCE = 1e-5
COMMON = ("--arch", "20-32-5", "--bunch", "16", "--threads", "1", "--lr", "0.1", "--seed", "3", "--quiet")


def job(data, *args, ranks=2, timeout=120, env=None):
    cmd = [str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "dnn.train", "--data", str(data), *COMMON,
           "--distributed", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def one_process(data, *args):
    return subprocess.run([sys.executable, "-m", "dnn.train", "--data", str(data), *COMMON, *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def params(path) -> np.ndarray:
    return ckpt.load(path).params


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory, small_dataset):
    """The same 2 epochs: one process, and 2 ranks."""
    d = tmp_path_factory.mktemp("mpi")
    one, two = d / "one.h5", d / "two.h5"
    r1 = one_process(small_dataset, "--epochs", "2", "--checkpoint", str(one))
    r2 = job(small_dataset, "--epochs", "2", "--checkpoint", str(two), "--metrics", str(d / "m.json"))
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    return d, r2


def test_two_ranks_train_the_weights_of_one_process(two_epochs):
    d, r = two_epochs
    one, two = params(d / "one.h5"), params(d / "two.h5")
    assert np.abs(two - one).max() <= TOLERANCE * np.abs(one).max()
    assert not np.array_equal(two, one)  # the bunches really were split over the ranks
    assert r.stdout.count("trained 20-32-5") == 1  # rank 0 alone reports
    assert '"images": 600' in (d / "m.json").read_text()  # both ranks' images, each row once


def test_two_ranks_resume_to_the_weights_of_one_run(two_epochs, small_dataset):
    d, _ = two_epochs
    half = d / "half.h5"
    full = d / "full.h5"
    assert job(small_dataset, "--epochs", "1", "--checkpoint", str(half)).returncode == 0
    r = job(small_dataset, "--epochs", "2", "--resume", str(half), "--checkpoint", str(full))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(params(full), params(d / "two.h5"))


def test_two_ranks_of_chaos_workers_are_two_cards_of_them(small_dataset, tmp_path):
    """One CHAOS worker per rank, the ranks' weights averaged per chunk: the weights of one process
    with one worker on each of two cards, bit for bit (each its half of every chunk, then the mean)."""
    args = ("--workers", "1", "--bunch", "1", "--epochs", "2", "--lr", "0.02")
    r1 = one_process(small_dataset, *args, "--cards", "2", "--checkpoint", str(tmp_path / "one.h5"))
    r2 = job(small_dataset, *args, "--sync", "chunk", "--checkpoint", str(tmp_path / "two.h5"),
             "--metrics", str(tmp_path / "m.json"))
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    assert np.array_equal(params(tmp_path / "one.h5"), params(tmp_path / "two.h5"))
    assert '"images": 600' in (tmp_path / "m.json").read_text()


def test_local_sgd_learns_too(small_dataset):
    r = job(small_dataset, "--epochs", "2", "--sync", "chunk")
    assert r.returncode == 0, r.stderr
    accuracy = float(r.stdout.split("test accuracy ")[1].split(",")[0])
    assert accuracy >= 0.9


def _rank_pids(marker: str, guards: bool = False) -> dict[int, int]:
    """{rank: pid} of the dnn.train ranks whose environment carries marker: the ranks themselves, or
    (guards) the processes mpiexec started, each the guard of its rank (dnn.rank_guard)."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes().split(b"\0")
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if b"dnn.train" in cmd and f"DNN_TEST_JOB={marker}".encode() in env and (b"DNN_RANK_GUARDED=1" in env) != guards:
            for e in env:
                if e.startswith(b"PMI_RANK="):
                    found[int(e.split(b"=")[1])] = int(d.name)
    return found


def _mpich_segments(pids) -> set[str]:
    """The /dev/shm files of MPICH that the processes pids map."""
    return set().union(*(mpich_segments(pid) for pid in pids))


def _start_long_job(data):
    """A 2-rank job that trains for ever: (mpiexec, marker, {rank: pid}, MPICH's segments it maps)."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, DNN_TEST_JOB=marker)
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, "-m", "dnn.train", "--data", str(data), *COMMON,
           "--distributed", "--epochs", "100000"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        pids = _rank_pids(marker)
        if len(pids) == 2 and all(card_processes(pid) for pid in pids.values()):
            shm = _mpich_segments(pids.values())
            assert shm, "MPICH maps no segment of /dev/shm: nothing to check for leaks"
            return p, marker, pids, shm
        time.sleep(0.1)
    p.kill()
    pytest.fail("the 2-rank job did not start its cards within 30 s")


def _ends_within(p, marker, shm, seconds):
    """(exit status, stdout, stderr) of a job that must end within seconds, leaving no rank, no guard
    and none of the job's MPICH segments in /dev/shm."""
    try:
        out, err = p.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        for pid in [*_rank_pids(marker).values(), *_rank_pids(marker, guards=True).values()]:
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the job still ran {seconds} s after one rank failed")
    deadline = time.monotonic() + 5
    while (_rank_pids(marker) or _rank_pids(marker, guards=True)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _rank_pids(marker), "a rank outlived the job"
    assert not _rank_pids(marker, guards=True), "a rank's guard outlived the job"
    left = [path for path in shm if os.path.exists(path)]
    for path in left:  # not to leak them into later tests
        os.unlink(path)
    assert not left, f"the job left MPICH's segments behind: {left}"
    return p.returncode, out, err


def test_a_card_that_dies_ends_every_rank_with_one_line(small_dataset):
    p, marker, pids, shm = _start_long_job(small_dataset)
    os.kill(card_processes(pids[1])[0], signal.SIGKILL)
    code, out, err = _ends_within(p, marker, shm, 20)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("dnn.train: rank 1 of 2:")]
    assert len(lines) == 1 and "card" in lines[0], err
    assert err.strip() == lines[0] and not out.strip(), (out, err)  # that line alone


def test_a_killed_rank_ends_every_rank_with_one_line(small_dataset):
    p, marker, pids, shm = _start_long_job(small_dataset)
    os.kill(pids[1], signal.SIGKILL)
    code, out, err = _ends_within(p, marker, shm, 20)
    assert code != 0
    # The killed rank cannot speak: its guard names it and the signal, and nothing else is said
    # (no banner of mpiexec's naming a pid).
    assert err.strip() == f"dnn.train: rank 1 of 2: the rank's process (pid {pids[1]}) was killed by SIGKILL " \
                          "(signal 9)", (out, err)
    assert not out.strip(), out


def test_a_killed_guard_takes_its_rank_with_it(small_dataset):
    p, marker, _, shm = _start_long_job(small_dataset)
    guards = _rank_pids(marker, guards=True)
    os.kill(guards[1], signal.SIGKILL)
    # mpiexec says so in its own words, and kills every other guard before it can clean up: MPICH's
    # segments are left behind in this case (removed here), no process is.
    code, _, _ = _ends_within(p, marker, set(), 20)
    for path in shm:
        Path(path).unlink(missing_ok=True)
    assert code != 0


def test_ctrl_c_on_mpiexec_leaves_no_process(small_dataset):
    p, marker, pids, shm = _start_long_job(small_dataset)
    cards = [c for pid in pids.values() for c in card_processes(pid)]
    p.send_signal(signal.SIGINT)
    _ends_within(p, marker, shm, 20)
    deadline = time.monotonic() + 5
    while any(c in card_processes() for c in cards) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(c in card_processes() for c in cards)
