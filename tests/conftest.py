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
