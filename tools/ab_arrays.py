"""Two builds' offload-array kernels against each other and NumPy, alternating in one process.

    python tools/ab_arrays.py --base /tmp/dnn-card-main --sizes 8192 --ops add,mean --repeat 9
    python tools/ab_arrays.py --base /tmp/main-card --also v1=/tmp/v1-card ...   # more builds

For every operation and size, each round times NumPy on the host, then the card kernel of each
build (operands resident, the compute time from the card's counters, as bench_arrays' sweep),
the builds' order swapped every round so neither always runs after NumPy. Medians over the
rounds (and, in brackets, the fastest round: under load the least disturbed one); kernel/numpy
is NumPy's median over the kernel's. On a shared machine the load moves
between rounds, which is why the builds alternate instead of running one after the other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_arrays import operations  # noqa: E402
from dnn.arrays import Device  # noqa: E402


def open_device(exe, threads):
    """A card running `exe` (DNN_CARD_EXE is read when the card starts)."""
    old = os.environ.get("DNN_CARD_EXE")
    os.environ["DNN_CARD_EXE"] = exe
    try:
        return Device(threads=threads, arena_bytes=1 << 24)
    finally:
        if old is None:
            del os.environ["DNN_CARD_EXE"]
        else:
            os.environ["DNN_CARD_EXE"] = old


def kernel_time(dev, op, bound):
    dev.stream.reset()
    out = op(*bound)
    dev.sync()
    del out
    return sum(r.compute_s for r in dev.stream.records)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the other build's dnn-card executable (e.g. main's)")
    p.add_argument("--new", default=str(ROOT / "dnn" / "bin" / "dnn-card"), help="this build's (default: the worktree's)")
    p.add_argument("--also", action="append", default=[], metavar="NAME=EXE", help="another build to time")
    p.add_argument("--sizes", default="8192")
    p.add_argument("--ops", default="add,mean,multiply_broadcast,not_equal,argmax_axis1")
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    builds = {"base": args.base, **dict(b.split("=", 1) for b in args.also), "new": args.new}
    print(f"load average at start: {os.getloadavg()}")
    with ExitStack() as stack:
        devs = {k: stack.enter_context(open_device(exe, args.threads)) for k, exe in builds.items()}
        for n in (int(s) for s in args.sizes.split(",")):
            ops = operations(n)
            for name in args.ops.split(","):
                operands, fn, _ = ops[name]
                bound = {k: [d.bind(x) for x in operands] for k, d in devs.items()}
                times = {"numpy": [], **{k: [] for k in devs}}
                for k, d in devs.items():  # warm-up: first touch of the result buffers
                    kernel_time(d, fn, bound[k])
                for r in range(args.repeat):
                    t0 = time.perf_counter()
                    fn(*operands)
                    times["numpy"].append(time.perf_counter() - t0)
                    order = list(devs)[r % len(devs):] + list(devs)[:r % len(devs)]  # rotate who runs first
                    for k in order:
                        times[k].append(kernel_time(devs[k], fn, bound[k]))
                del bound
                med = {k: statistics.median(v) for k, v in times.items()}
                low = {k: min(v) for k, v in times.items()}
                print(f"N={n:6d} {name:18s} numpy {med['numpy'] * 1e3:7.2f} ({low['numpy'] * 1e3:7.2f}) ms  "
                      + "  ".join(f"{k} {med[k] * 1e3:7.2f} ({low[k] * 1e3:7.2f}) ms x{med['numpy'] / med[k]:.2f}"
                                  for k in devs)
                      + f"  new/base x{med['base'] / med['new']:.2f} ({low['base'] / low['new']:.2f})", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
