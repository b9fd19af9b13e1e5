"""python -m dnn — the version, the commands, and `doctor`: is everything dnn needs working here?

    python -m dnn --version
    python -m dnn doctor        # BLAS, CPU features, native library, a test card; exit 1 if broken
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from . import __version__
from .cli import run_cli

COMMANDS = {
    "dnn.chunk": "prepare a dataset (chunked HDF5)",
    "dnn.train": "train on the card (--plot run.png draws the curves)",
    "dnn.evaluate": "loss, accuracy, precision/recall, confusion matrix, --predict N",
    "dnn.export": "weights as plain NumPy arrays (.npz)",
    "dnn.plot": "loss and accuracy per epoch from a metrics JSON",
    "dnn.compare": "every mode, granularity and link, compared",
}
CPU_FLAGS = ("avx2", "fma", "avx512f")
NOP_CALLS = 200


class Doctor:
    def __init__(self, out=sys.stdout):
        self.out, self.problems = out, []

    def line(self, name: str, value: str) -> None:
        print(f"  {name:<18} {value}", file=self.out)

    def fail(self, name: str, what: str, fix: str) -> None:
        self.problems.append(f"{name}: {what}\n    fix: {fix}")
        self.line(name, f"BROKEN: {what}")

    def run(self) -> int:
        print(f"dnn {__version__} (Python {platform.python_version()}, {sys.executable})", file=self.out)
        self.line("package", str(Path(__file__).resolve().parent))
        self.check_cpu()
        self.check_load()
        lib = self.check_native()
        self.check_blas()
        if lib is not None and not self.problems:
            self.check_card()
        if self.problems:
            print("\ndnn doctor: something is broken:", file=self.out)
            for p in self.problems:
                print(f"  - {p}", file=self.out)
            return 1
        print("\ndnn doctor: everything works", file=self.out)
        return 0

    def check_cpu(self) -> None:
        flags: set[str] = set()
        model = "?"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
                elif line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
        except OSError as exc:
            self.line("cpu", f"cannot read /proc/cpuinfo ({exc.strerror})")
            return
        self.line("cpu", f"{model}, {os.cpu_count()} CPU(s), {len(os.sched_getaffinity(0))} usable here")
        self.line("cpu features", "  ".join(f"{f} {'yes' if f in flags else 'no'}" for f in CPU_FLAGS))

    def check_load(self) -> None:
        busy = runnable_elsewhere()
        if busy is not None:
            self.line("load", load_advice(busy, len(os.sched_getaffinity(0))))

    def check_native(self):
        try:
            from .offload import card_executable, lib
        except ImportError as exc:
            self.fail("native library", str(exc), "run 'make build' in the repository, or 'pip install .'")
            return None
        from . import _native

        self.line("native library", _native.__file__)
        exe = Path(card_executable())
        if not exe.is_file():
            self.fail("card executable", f"{exe} does not exist",
                      "run 'make build' in the repository, or reinstall with 'pip install .'")
        elif not os.access(exe, os.X_OK):
            self.fail("card executable", f"{exe} is not executable", f"chmod +x {exe}")
        else:
            self.line("card executable", str(exe))
        return lib

    def check_blas(self) -> None:
        try:
            import ctypes

            import scipy_openblas32 as ob
        except ImportError as exc:
            self.fail("BLAS", f"scipy-openblas32 is missing ({exc})", "pip install scipy-openblas32")
            return
        self.line("BLAS", f"{ob.get_openblas_config()} (scipy-openblas32 {ob.__version__}, {ob.get_lib_dir()})")
        try:
            dll = ob.dll
            threads = dll.scipy_openblas_get_num_threads()
            parallel = {0: "sequential", 1: "pthreads", 2: "OpenMP"}.get(dll.scipy_openblas_get_parallel(), "?")
            dll.scipy_openblas_get_corename.restype = ctypes.c_char_p
            core = dll.scipy_openblas_get_corename().decode()
            self.line("BLAS threads", f"{threads} ({parallel} build, core {core}); dnn's native library hands "
                                      "OpenBLAS's parallel sections to its OpenMP threads (one pool)")
        except (AttributeError, OSError) as exc:
            self.line("BLAS threads", f"not readable ({exc})")
        try:
            import ctypes

            gomp = ctypes.CDLL("libgomp.so.1")
            self.line("OpenMP threads", f"{gomp.omp_get_max_threads()} in this process (OMP_NUM_THREADS="
                                        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}); dnn sets them per run "
                                        "with --threads (card: its worker threads)")
        except OSError:
            pass

    def check_card(self) -> None:
        from .errors import DnnError
        from .offload import Card, kernel_names

        if "off_test_nop" not in kernel_names():
            self.fail("kernels", "the test kernel off_test_nop is not registered",
                      "rebuild: 'make build' (or 'pip install .' again)")
            return
        try:
            t0 = time.perf_counter()
            card = Card(threads=1, arena_bytes=16 << 20)
            start = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - the doctor reports whatever stops the card
            self.fail("card", f"does not start: {type(exc).__name__}: {exc}",
                      "rebuild with 'make build' (or 'pip install .' again); check that /dev/shm is writable "
                      "and memfd_create is allowed")
            return
        try:
            info = card.arena_info()
            self.line("card", f"started in {start * 1e3:.1f} ms, pid {card.pid}, 1 thread")
            self.line("arena", f"0x{info['base']:x}-0x{info['base'] + info['size']:x} "
                               f"({info['size'] / 2**20:.0f} MiB, same address in host and card)")
            card.call("off_test_nop")
            times = []
            for _ in range(NOP_CALLS):
                t = time.perf_counter()
                card.call("off_test_nop")
                times.append(time.perf_counter() - t)
            med, best = statistics.median(times) * 1e6, min(times) * 1e6
            self.line("offload", f"off_test_nop round trip: median {med:.1f} us, best {best:.1f} us "
                                 f"over {NOP_CALLS} calls")
            if not card.alive:
                self.fail("card", "died after the test calls", "run the tests: 'make test'")
        except (DnnError, Exception) as exc:  # noqa: BLE001
            self.fail("card", f"started but an offload failed: {exc}", "run the tests: 'make test'")
        finally:
            card.close()


def runnable_elsewhere(samples: int = 10, interval: float = 0.05) -> float | None:
    """Threads of other processes running right now: the median over half a second of the
    kernel's count of runnable threads (/proc/loadavg, 4th field) less this one. Unlike the load
    averages it does not remember the training run that just ended."""
    counts = []
    for _ in range(samples):
        try:
            counts.append(int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1)
        except (OSError, IndexError, ValueError):
            return None
        time.sleep(interval)
    return float(statistics.median(counts))


def load_advice(busy: float, usable: int) -> str:
    """What the doctor says of the machine's load: OpenMP threads that share a core with another
    busy process stall every barrier (measured: --threads 2 ran 1.40x slower than --threads 1 at
    bunch 100 and 1.50x at bunch 1000 with one of 2 cores busy; BENCHMARKS.md, 'Under load')."""
    free = usable - busy
    if free > usable - 0.75:
        return f"quiet ({busy:g} thread(s) of other processes running, {usable} usable CPU(s))"
    best = max(1, int(free + 0.25))
    return (f"busy: {busy:g} thread(s) of other processes running on {usable} usable CPU(s); train with "
            f"--threads {best} while it lasts: more threads than free cores can run several times slower "
            "(BENCHMARKS.md, 'Under load')")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn",
        description="dnn trains neural networks on an emulated coprocessor card. Commands:\n"
                    + "\n".join(f"  python -m {k:<13} {v}" for k, v in COMMANDS.items()),
        epilog="'python -m dnn doctor' checks that BLAS, the native library and the card work here.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"dnn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="doctor")
    sub.add_parser("doctor", help="check BLAS, CPU features, the native library and a test card")
    return p


def main(argv=None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.command == "doctor":
        return Doctor().run()
    p.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("dnn", main))
