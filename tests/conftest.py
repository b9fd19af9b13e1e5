"""Shared fixtures. Every test session ends by checking that no card process and no shared
memory segment outlived the tests."""

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def card_processes(parent: int | None = None) -> list[int]:
    """PIDs of dnn-card processes (children of `parent` when given)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            comm = (d / "comm").read_text().strip()
            if comm != "dnn-card":
                continue
            stat = (d / "stat").read_text()
            state = stat.rsplit(")", 1)[1].split()[0]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if state == "Z":
            continue
        if parent is None or ppid == parent:
            pids.append(int(d.name))
    return pids


def gone_within(pid: int, seconds: float) -> bool:
    """True as soon as card process `pid` is gone; False if it is still there after `seconds`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if pid not in card_processes():
            return True
        time.sleep(0.005)
    return False


def memfd_segments(pid: int) -> list[str]:
    """Shared-memory segments of the arena and control channel mapped or open in a process."""
    found = []
    try:
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            if "/memfd:dnn-" in line:
                found.append(line.split()[-2] if line.endswith("(deleted)") else line.split()[-1])
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("/memfd:dnn-"):
                found.append(target)
    except OSError:
        pass
    return found


@pytest.fixture(scope="session", autouse=True)
def no_leaks_after_session():
    shm_before = set(os.listdir("/dev/shm"))
    yield
    import gc

    gc.collect()
    assert card_processes(os.getpid()) == [], "card processes outlived the tests"
    assert set(os.listdir("/dev/shm")) - shm_before == set(), "files left in /dev/shm"


def run_python(code: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run a Python snippet in a fresh interpreter (for crashes, signals and exit codes)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def prototype_dataset(folder: Path, *, classes: int, inputs: int, train: int, test: int, chunk_rows: int,
                      noise: float, seed: int) -> Path:
    """A chunked HDF5 file whose classes are learnable: each class a noisy prototype."""
    import numpy as np

    from dnn.data import convert

    rng = np.random.default_rng(seed)
    protos = rng.random((classes, inputs)).astype(np.float32)

    def make(n):
        y = rng.integers(0, classes, n)
        return np.clip(protos[y] + noise * rng.standard_normal((n, inputs)), 0, 1).astype(np.float32), y

    (xtr, ytr), (xte, yte) = make(train), make(test)
    np.savez(folder / "data.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    out = folder / "data.h5"
    convert(str(folder / "data.npz"), out, chunk_rows=chunk_rows, dtype="float32", shuffle=False, quiet=True)
    return out


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """300 training and 100 test rows, 20 inputs, 5 classes, 128-row chunks."""
    return prototype_dataset(tmp_path_factory.mktemp("small"), classes=5, inputs=20, train=300, test=100,
                             chunk_rows=128, noise=0.15, seed=0)


@pytest.fixture(scope="session")
def newcomer_env(tmp_path_factory, small_dataset) -> dict:
    """An environment to run a newcomer's commands in, quickly: the small dataset is the default one
    (DATA/fashion-mnist.h5, and the quick cut of it that `dnn.compare --quick` makes once), downloads
    go to a scratch cache, Fashion-MNIST's files are looked for in an empty folder (so nothing is
    ever installed), and `python` is this interpreter."""
    folder = tmp_path_factory.mktemp("newcomer")
    data, no_fashion = folder / "data", folder / "no-fashion-mnist"
    data.mkdir()
    no_fashion.mkdir()
    for name in ("fashion-mnist.h5", "fashion-mnist-quick.h5"):
        shutil.copy(small_dataset, data / name)
    return dict(os.environ, DNN_DATA=str(data), DNN_CACHE=str(folder / "cache"), DNN_FASHION_MNIST=str(no_fashion),
                PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                PYTHONPATH=str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if "PYTHONPATH" in os.environ else ""),
                MPLBACKEND="Agg")


@contextmanager
def mounted_tmpfs(folder: Path, size: str):
    """A tmpfs of `size` ("64k", "1m") mounted on a new folder for the block; the test is skipped
    where mounting is refused (it needs root)."""
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@contextmanager
def cpu_throttled(pid: int, quota_s: float, period_s: float = 1.0):
    """Process `pid` (all its threads) held to `quota_s` of CPU time per `period_s` for the block:
    a cgroup's CPU quota, under which its threads stay runnable but wait on the run queue, as
    on a machine whose other jobs outrank them. Skipped where no CPU cgroup can be made (root,
    cgroup v1's cpu hierarchy or v2 with the cpu controller)."""
    quota, period = int(quota_s * 1e6), int(period_s * 1e6)
    v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
    if (v1 / "cpu.cfs_quota_us").exists():
        root, files = v1, {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(quota)}
    elif (v2 / "cgroup.subtree_control").exists() and "cpu" in (v2 / "cgroup.subtree_control").read_text().split():
        root, files = v2, {"cpu.max": f"{quota} {period}"}
    else:
        pytest.skip("no CPU cgroup controller here")
    group = root / f"dnn-test-throttle-{os.getpid()}-{pid}"
    try:
        group.mkdir()
        for name, value in files.items():
            (group / name).write_text(value)
        (group / "cgroup.procs").write_text(str(pid))
    except OSError as exc:
        if group.exists():
            group.rmdir()
        pytest.skip(f"cannot make a CPU cgroup here: {exc}")
    try:
        yield group
    finally:
        try:
            (root / "cgroup.procs").write_text(str(pid))  # back, if it still runs
        except OSError:
            pass
        for _ in range(100):  # a process that just exited may take a moment to leave the group
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.01)


def throttled_seconds(group: Path) -> float:
    """How long the group's threads were held back by its quota (cgroup v1 and v2)."""
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["throttled_time"]) / 1e9 if "throttled_time" in stat else int(stat["throttled_usec"]) / 1e6


def host_seconds(pid: int, since: tuple[float, float] | None = None) -> tuple[float, float]:
    """(wall clock, seconds the main thread of `pid` spent waiting for a CPU) now, or since an
    earlier reading. Wall time minus that wait is what the process took by itself: its own work,
    its sleeps and its waits for others, but not the time a loaded machine kept it off every
    CPU, which no deadline of its own can answer for. (/proc/PID/schedstat: the wait counts once
    the thread runs again; a zombie keeps its figures until it is reaped.)"""
    waited = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    now = (time.monotonic(), waited)
    return now if since is None else (now[0] - since[0], now[1] - since[1])


def exit_unreaped(proc: subprocess.Popen, timeout: float = 120) -> str:
    """Read `proc`'s stdout and stderr to their ends and wait until it has exited, without reaping
    it (its /proc entry stays for host_seconds); returns stderr. proc.wait() reaps it after."""
    import select

    t0, open_fds, err = time.monotonic(), {proc.stdout.fileno(), proc.stderr.fileno()}, []
    while open_fds:
        left = timeout - (time.monotonic() - t0)
        assert left > 0, f"pid {proc.pid} did not exit within {timeout} s"
        for fd in select.select(list(open_fds), [], [], left)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
            elif fd == proc.stderr.fileno():
                err.append(chunk)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    return b"".join(err).decode(errors="replace")


@pytest.fixture(scope="module")
def image_dataset(tmp_path_factory):
    """28x28 images of 5 learnable classes (noisy prototypes): 240 to train, 60 to test."""
    import numpy as np

    from dnn.data import convert

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    protos = rng.random((5, 28, 28)).astype(np.float32)

    def make(n):
        y = rng.integers(0, 5, n)
        return np.clip(protos[y] + 0.25 * rng.standard_normal((n, 28, 28)), 0, 1).astype(np.float32), y

    (xtr, ytr), (xte, yte) = make(240), make(60)
    np.savez(folder / "images.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    out = folder / "images.h5"
    convert(str(folder / "images.npz"), out, chunk_rows=64, dtype="float32", shuffle=False, quiet=True)
    return out
