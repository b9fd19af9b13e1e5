"""dnn.arrays measured: pyMIC2's Figures 7-8 here, and the framework experiment.

    python tools/bench_arrays.py --quick        # a few minutes: N up to 1024, 6,000 images
    python tools/bench_arrays.py                # N 128..16384 as memory allows, 60,000 images
    python tools/bench_arrays.py --only sweep   # or: --only framework
    python tools/bench_arrays.py --only sweep --sizes 4096,16384 --ops add,sum_axis0 --repeat 5
    DNN_CARD_EXE=/path/to/other/dnn-card python tools/bench_arrays.py ...  # another build's kernels (A/B)

Sweep: for every operation and square size N, NumPy on the host, the card kernel alone (its
compute time from the card's counters, operands resident) and the card with its transfers
over the `knc-pcie` link (bind the operands, run, get the result); dot in GFLOP/s.

Framework: dnn.reference's MLP trained on Fashion-MNIST, its code unchanged, with offload
arrays — (1) transfers="every-op": every operation sends its operands and fetches its result,
as pyMIC2 under Chainer did; (2) weights resident on the card, only each bunch crossing;
(3) dnn's own trainer at chunk granularity (explicit, resident weights), all on `knc-pcie`;
then the share of compute, transfer and wait in each (table and stacked bars).

Writes out/bench_arrays/{sweep,framework}.json and .png. Times are medians; the machine is
shared, so run it when it is quiet before quoting the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dnn import reference  # noqa: E402
from dnn.arrays import Device  # noqa: E402

LINK = "knc-pcie"
OUT = ROOT / "out" / "bench_arrays"


# ---- the sweep -----------------------------------------------------------------------------
def operations(n):
    """name -> (operands as host arrays, the operation for NumPy and card alike, flops or None)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    pos = np.abs(a) + 1
    ba, bb = a > 0, b > 0
    row = b[:1].copy()
    return {
        "equal": ((a, b), np.equal, None), "greater": ((a, b), np.greater, None),
        "not_equal": ((a, b), np.not_equal, None), "logical_or": ((ba, bb), np.logical_or, None),
        "abs": ((a,), np.abs, None), "mean": ((a,), np.mean, None),
        "sum_axis0": ((a,), lambda x: np.sum(x, axis=0), None), "sum_axis1": ((a,), lambda x: np.sum(x, axis=1), None),
        "sum": ((a,), np.sum, None),
        "argmax_axis0": ((a,), lambda x: np.argmax(x, axis=0), None),
        "argmax_axis1": ((a,), lambda x: np.argmax(x, axis=1), None),
        "add": ((a, b), np.add, None), "add_broadcast": ((a, row), np.add, None),
        "subtract": ((a, b), np.subtract, None), "multiply": ((a, b), np.multiply, None),
        "multiply_broadcast": ((a, row), np.multiply, None),
        "maximum": ((a, b), np.maximum, None), "log": ((pos,), np.log, None), "exp": ((a,), np.exp, None),
        "arange": ((), None, None), "dot": ((a, b), np.dot, 2.0 * n**3),
    }


def median_time(fn, repeat):
    return statistics.median(timeit.repeat(fn, number=1, repeat=repeat))


def sweep_one(name, n, operands, fn, resident, linked, repeat):
    if name == "arange":
        host = median_time(lambda: np.arange(n * n, dtype=np.float32), repeat)
        op = lambda dev, *_: dev.arange(n * n, dtype=np.float32)  # noqa: E731
        bound = []
    else:
        host = median_time(lambda: fn(*operands), repeat)
        op = lambda dev, *xs: fn(*xs)  # noqa: E731
        bound = [resident.bind(x) for x in operands]
    op(resident, *bound)  # warm-up (first touch of card buffers)
    resident.sync()
    kernel, card_wall = [], []
    for _ in range(repeat):
        resident.stream.reset()
        t0 = time.perf_counter()
        out = op(resident, *bound)
        resident.sync()
        card_wall.append(time.perf_counter() - t0)
        kernel.append(sum(r.compute_s for r in resident.stream.records))
        del out
    del bound

    def round_trip():
        out = op(linked, *[linked.bind(x) for x in operands])
        out.get()

    with_link = median_time(round_trip, repeat)
    return {"op": name, "n": n, "numpy_s": host, "kernel_s": statistics.median(kernel),
            "card_s": statistics.median(card_wall), "card_link_s": with_link}


def memory_allows(n, arrays=10):
    """About `arrays` N x N float32 arrays alive at once (operands, results, host mirrors)."""
    avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return arrays * 4 * n * n < 0.6 * avail


def run_sweep(sizes, max_dot, threads, repeat, only_ops=None):
    rows = []
    with Device(threads=threads, arena_bytes=1 << 24) as resident, \
            Device(threads=threads, link=LINK, arena_bytes=1 << 24) as linked:
        for n in sizes:
            if not memory_allows(n):
                print(f"N={n}: skipped, not enough free memory")
                continue
            for name, (operands, fn, flops) in operations(n).items():
                if (name == "dot" and n > max_dot) or (only_ops and name not in only_ops):
                    continue
                r = sweep_one(name, n, operands, fn, resident, linked, repeat)
                if flops:
                    for k in ("numpy", "kernel", "card", "card_link"):
                        r[f"{k}_gflops"] = flops / r[f"{k}_s"] / 1e9
                r["kernel_speedup"] = r["numpy_s"] / r["kernel_s"] if r["kernel_s"] else float("nan")
                rows.append(r)
                print(f"N={n:6d} {name:18s} numpy {r['numpy_s'] * 1e3:9.3f} ms  kernel {r['kernel_s'] * 1e3:9.3f} ms"
                      f"  card {r['card_s'] * 1e3:9.3f} ms  +{LINK} {r['card_link_s'] * 1e3:9.3f} ms"
                      f"  kernel/numpy x{r['kernel_speedup']:.2f}"
                      + (f"  dot GFLOP/s numpy {r['numpy_gflops']:.1f} kernel {r['kernel_gflops']:.1f}" if flops else ""),
                      flush=True)
    return rows


def plot_sweep(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["op"] for r in rows))
    cols = 5
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(4 * cols, 3 * ((len(names) + cols - 1) // cols)))
    for ax, name in zip(axes.flat, names):
        rs = [r for r in rows if r["op"] == name]
        ns = [r["n"] for r in rs]
        unit = "gflops" if name == "dot" else "s"
        for key, label in (("numpy", "NumPy (host)"), ("kernel", "card kernel"), ("card_link", f"card + {LINK}")):
            ax.plot(ns, [r[f"{key}_{unit}"] for r in rs], marker="o", label=label)
        ax.set_xscale("log", base=2)
        if unit == "s":
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("N")
        ax.set_ylabel("GFLOP/s" if unit == "gflops" else "seconds")
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


# ---- the framework experiment --------------------------------------------------------------
def dataset(images):
    """Fashion-MNIST through dnn.chunk (the CLI: stable while the data modules move), cut to
    `images` training rows, pixels scaled as the trainer scales them."""
    import h5py

    tmp = Path(tempfile.mkdtemp(prefix="bench_arrays_"))
    full = tmp / "fashion-mnist.h5"
    subprocess.run([sys.executable, "-m", "dnn.chunk", "fashion-mnist", "--out", str(full)], check=True,
                   capture_output=True)
    with h5py.File(full) as f:
        scale = float(f.attrs.get("scale", 1.0))
        x, y = f["train/x"][:images], f["train/y"][:images]
        xt, yt = f["test/x"][:1000], f["test/y"][:1000]
    cut = tmp / "subset.npz"
    np.savez(cut, x_train=x, y_train=y, x_test=xt, y_test=yt)
    data = tmp / "subset.h5"
    subprocess.run([sys.executable, "-m", "dnn.chunk", str(cut), "--out", str(data)], check=True, capture_output=True)
    return (x * scale).astype(np.float32), y.astype(np.int64), data


def init_layers(sizes, seed):
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(np.float32), np.zeros(o, np.float32))
            for i, o in zip(sizes[:-1], sizes[1:])]


def train_reference(dev, layers, x, y, bunch, lr, momentum):
    """reference.train's loop, with each bunch bound to the card (or NumPy when dev is None)."""
    if dev is not None:
        layers = [(dev.bind(w), dev.bind(b)) for w, b in layers]
    velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in layers]
    t0 = time.perf_counter()
    losses = []
    for r in range(0, len(x), bunch):
        xb = x[r:r + bunch] if dev is None else dev.bind(x[r:r + bunch])
        loss, grads = reference.loss_and_grads(layers, xb, y[r:r + bunch], "relu")
        reference.sgd_step(layers, velocity, grads, lr, momentum, 0.0)
        losses.append(loss)
    if dev is not None:
        dev.sync()
    return time.perf_counter() - t0, losses


def framework(images, arch, bunch, threads, lr, momentum):
    x, y, data = dataset(images)
    sizes = [int(s) for s in arch.split("-")]
    rows = []
    wall, losses = train_reference(None, init_layers(sizes, 0), x, y, bunch, lr, momentum)
    rows.append({"run": "NumPy on the host (reference)", "wall_s": wall, "compute_s": wall, "transfer_s": 0.0,
                 "last_loss": losses[-1]})
    for label, policy in (("offload arrays, every op crosses (pyMIC2 + Chainer)", "every-op"),
                          ("offload arrays, weights resident, bunches cross", "resident")):
        with Device(threads=threads, link=LINK, transfers=policy, arena_bytes=1 << 26) as dev:
            wall, losses = train_reference(dev, init_layers(sizes, 0), x, y, bunch, lr, momentum)
            t = dev.stream.totals()
            rows.append({"run": label, "wall_s": wall, "compute_s": t.compute_s, "transfer_s": t.transfer_s,
                         "calls": t.calls, "bytes_to_card": t.bytes_to_card, "bytes_from_card": t.bytes_from_card,
                         "last_loss": losses[-1]})
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "m.json"
        subprocess.run([sys.executable, "-m", "dnn.train", "--data", str(data), "--mode", "explicit",
                        "--explicit-weights", "resident", "--granularity", "chunk", "--link", LINK,
                        "--arch", arch, "--bunch", str(bunch), "--epochs", "1", "--lr", str(lr),
                        "--momentum", str(momentum), "--threads", str(threads), "--metrics", str(metrics),
                        "--quiet"], check=True, capture_output=True)
        m = json.loads(metrics.read_text())
    rows.append({"run": "dnn trainer, chunk granularity (explicit, resident)", "wall_s": m["wall_s"],
                 "compute_s": m["compute_s"], "transfer_s": m["transfer_s"], "calls": m["offload_calls"],
                 "bytes_to_card": m["bytes_to_card"], "bytes_from_card": m["bytes_from_card"],
                 "last_loss": m["train_loss"][-1]})
    for r in rows:  # wait: everything that is neither card compute nor transfer
        r["wait_s"] = max(0.0, r["wall_s"] - r["compute_s"] - r["transfer_s"])
        r["transfer_wait_share"] = (r["transfer_s"] + r["wait_s"]) / r["wall_s"]
    print(f"\nframework: {arch} relu, bunch {bunch}, {len(x):,} Fashion-MNIST images, one epoch, link {LINK}, "
          f"{threads} card threads")
    print(f"{'run':55s} {'wall s':>8s} {'compute':>8s} {'transfer':>8s} {'wait':>8s} {'xfer+wait':>9s}")
    for r in rows:
        print(f"{r['run']:55s} {r['wall_s']:8.2f} {r['compute_s']:8.2f} {r['transfer_s']:8.2f} {r['wait_s']:8.2f}"
              f" {100 * r['transfer_wait_share']:8.0f}%")
    return rows


def plot_framework(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [r["run"].replace(", ", ",\n", 1) for r in rows]
    left = np.zeros(len(rows))
    for key, color in (("compute_s", "tab:green"), ("transfer_s", "tab:red"), ("wait_s", "tab:gray")):
        vals = np.array([r[key] for r in rows])
        ax.barh(labels, vals, left=left, color=color, label=key[:-2])
        left += vals
    ax.invert_yaxis()
    ax.set_xlabel("seconds (one epoch)")
    ax.legend()
    ax.set_title("Where the time goes: compute, transfer, wait")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="N up to 1024, 6,000 images, 2 repeats")
    p.add_argument("--only", choices=["sweep", "framework"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--arch", default="784-800-800-10")
    p.add_argument("--bunch", type=int, default=100)
    p.add_argument("--sizes", help="comma-separated N of the sweep (default: 128..16384, or up to 1024 with --quick)")
    p.add_argument("--ops", help="comma-separated operations of the sweep (default: all), e.g. add,sum_axis0,dot")
    p.add_argument("--repeat", type=int, help="runs per measurement, the median kept (default 3, 2 with --quick)")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only != "framework":
        sizes = [128, 256, 512, 1024] if args.quick else [128, 256, 512, 1024, 2048, 4096, 8192, 16384]
        if args.sizes:
            sizes = [int(n) for n in args.sizes.split(",")]
        only_ops = set(args.ops.split(",")) if args.ops else None
        if only_ops and only_ops - set(operations(1)):
            p.error(f"unknown operations {sorted(only_ops - set(operations(1)))}; choose from {sorted(operations(1))}")
        repeat = args.repeat or (2 if args.quick else 3)
        rows = run_sweep(sizes, 1024 if args.quick else 8192, args.threads, repeat, only_ops)
        (OUT / "sweep.json").write_text(json.dumps(rows, indent=1))
        plot_sweep(rows, OUT / "sweep.png")
    if args.only != "sweep":
        rows = framework(6000 if args.quick else 60000, args.arch, args.bunch, args.threads, 0.05, 0.9)
        (OUT / "framework.json").write_text(json.dumps(rows, indent=1))
        plot_framework(rows, OUT / "framework.png")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
