"""Scaling past one card: measured on this machine, then modelled to 64 hosts.

    python tools/bench_scale.py            # ~8 minutes on 2 busy cores
    python tools/bench_scale.py --quick    # ~2 minutes
    python tools/bench_scale.py --only allreduce --repeats 7

1. Measured: 1 card x 2 threads, 2 cards x 1 thread and 2 MPI ranks x 1 card x 1 thread on the same
   global bunch and data, each run --repeats times in turn: medians of images/s and of the time per
   bunch split into compute (on the cards), transfer, allreduce and the rest (dnn.train's counters).
2. What --sync chunk (local SGD) costs in test accuracy against --sync bunch, 2 ranks on
   Fashion-MNIST (or --data).
3. The allreduce as the model prices it (dnn.allreduce_model: per-message latency, a cache regime
   and a memory regime of the copy between the ranks, reduce rate), its parameters fitted on some
   sizes of MPICH's measured MPI_Allreduce on this machine (2 ranks over shared memory, the algorithm
   forced: MPICH_ALLREDUCE_ENV) and checked on other sizes from 1 MB to 200 MB; medians of rounds
   over all sizes.
4. Predicted with that checked model, its link swapped for a 100 Gb/s network: scaling efficiency
   from 2 to 64 hosts for the DNNTK shape and chaos-large, synchronous per bunch against --sync
   chunk (one allreduce of the weights per chunk), drawn into a PNG; and the largest K whose
   efficiency stays >= 50%.

Run with `--allreduce-worker` by mpiexec (part 3); never by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dnn.allreduce_model import AllreduceModel, deviations, fit, fit_two_regimes  # noqa: E402 - after the path
MPIEXEC = Path(sys.executable).parent / "mpiexec"

# ---- the model's workloads ------------------------------------------------------------------
HOST_FLOPS = 1e12      # a host's training rate, FLOP/s (DESIGN.md's "1 TFLOP/s host")
NET_BW = 100e9 / 8     # 100 Gb/s links, bytes/s
NET_LAT = 2e-6         # per message, s (a typical RDMA network; an assumption, not measured here)


def dnntk():
    """429-2048x6-8991: 40.3 M parameters, bunch 1024 (the DNNTK paper's)."""
    from dnn.network import Arch

    arch = Arch.parse("429-2048-2048-2048-2048-2048-2048-8991", "sigmoid")
    params = sum(a * b + b for a, b in zip(arch.sizes[:-1], arch.sizes[1:]))
    return {"name": "DNNTK 429-2048x6-8991", "params": params, "flops": arch.flops_per_image(), "bunch": 1024,
            "chunk": 10240}


def chaos_large():
    """29x29-c20k4-m1-c60k5-m2-c100k6-m3-f150-10 (CHAOS's large CNN as dnn's CNN work names it):
    weights and multiply-adds counted layer by layer here; training = 3 x forward, 2 FLOPs each."""
    params, macs, (c, h) = 0, 0, (1, 29)
    for kind, n, k in (("c", 20, 4), ("m", 1, 0), ("c", 60, 5), ("m", 2, 0), ("c", 100, 6), ("m", 3, 0),
                       ("f", 150, 0), ("f", 10, 0)):
        if kind == "c":
            h = h - k + 1
            params += n * (k * k * c + 1)
            macs += h * h * n * k * k * c
            c = n
        elif kind == "m":
            h //= n
        else:
            inputs = c * h * h
            params += n * (inputs + 1)
            macs += n * inputs
            c, h = n, 1
    return {"name": "chaos-large", "params": params, "flops": 6 * macs, "bunch": 100, "chunk": 10000}


def efficiency(w: dict, k: int, sync: str, network: AllreduceModel) -> float:
    """Predicted speed-up over one host, divided by k, the global bunch fixed (each host 1/k of it)."""
    one = w["bunch"] * w["flops"] / HOST_FLOPS
    comm = network.seconds(4 * w["params"], k)
    if sync == "chunk":  # one allreduce of the weights per chunk instead of per bunch
        comm /= w["chunk"] / w["bunch"]
    return one / (k * (one / k + comm))


# ---- 1. measured configurations ---------------------------------------------------------------
def make_data(folder: Path, rows: int, inputs: int, classes: int) -> Path:
    from dnn.data import convert

    rng = np.random.default_rng(0)
    protos = rng.random((classes, inputs)).astype(np.float32)
    y = rng.integers(0, classes, rows + rows // 8)
    x = np.clip(protos[y] + 0.2 * rng.standard_normal((y.size, inputs)), 0, 1).astype(np.float32)
    np.savez(folder / "scale.npz", x_train=x[:rows], y_train=y[:rows], x_test=x[rows:], y_test=y[rows:])
    out = folder / "scale.h5"
    convert(str(folder / "scale.npz"), out, chunk_rows=rows // 2, dtype="float32", shuffle=False, quiet=True)
    return out


def train_run(cmd_prefix: list[str], args: list[str], metrics: Path) -> dict:
    """One dnn.train run (under cmd_prefix, e.g. mpiexec): its metrics."""
    cmd = cmd_prefix + [sys.executable, "-m", "dnn.train", "--quiet", "--metrics", str(metrics), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {r.stderr or r.stdout}")
    return json.loads(metrics.read_text())


def per_bunch(m: dict, bunch: int, cards: int) -> dict:
    """A run's images/s and its time per bunch split into compute (per card), transfer, allreduce
    and the rest (the host's own work: reading, posting, waiting)."""
    bunches = m["images"] / bunch
    split = {"bunch_ms": 1e3 * m["wall_s"] / bunches,
             "compute_ms": 1e3 * m["compute_s"] / cards / bunches,  # summed over the cards: per card
             "transfer_ms": 1e3 * m["transfer_s"] / bunches,
             "allreduce_ms": 1e3 * m.get("allreduce_s", 0.0) / bunches}
    split["other_ms"] = split["bunch_ms"] - split["compute_ms"] - split["transfer_ms"] - split["allreduce_ms"]
    return {"images_per_s": m["images_per_s"], **split, "test_accuracy": m["test_accuracy"][-1]}


def measured(quick: bool, repeats: int) -> list[dict]:
    """The three configurations, run in turn `repeats` times (so a change of load touches all three);
    medians of the runs."""
    arch, bunch = ("784-512-512-10", 512) if quick else ("784-1024-1024-10", 1024)
    rows, epochs = (8192, 1) if quick else (16384, 2)
    mpi2 = [str(MPIEXEC), "-n", "2"]
    configs = [("1 card x 2 threads", [], ["--cards", "1", "--threads", "2"], 1),
               ("2 cards x 1 thread", [], ["--cards", "2", "--threads", "1"], 2),
               ("2 ranks x 1 card x 1 thread", mpi2, ["--distributed", "--threads", "1"], 1)]
    runs: dict[str, list[dict]] = {name: [] for name, *_ in configs}
    with tempfile.TemporaryDirectory() as d:
        data = make_data(Path(d), rows, 784, 10)
        common = ["--data", str(data), "--arch", arch, "--bunch", str(bunch), "--epochs", str(epochs), "--lr", "0.01"]
        for _ in range(repeats):
            for name, prefix, extra, cards in configs:
                runs[name].append(per_bunch(train_run(prefix, common + extra, Path(d) / "m.json"), bunch, cards))
    out = [{"config": name, **{k: float(np.median([r[k] for r in rs])) for k in rs[0]}} for name, rs in runs.items()]
    print(f"\n### Measured: {arch}, global bunch {bunch}, {rows} rows x {epochs} epoch(s), medians of {repeats} "
          "runs each\n")
    print("| configuration | images/s | ms per bunch | compute | transfer | allreduce | other | test acc |")
    print("|---|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['config']} | {r['images_per_s']:,.0f} | {r['bunch_ms']:.1f} | {r['compute_ms']:.1f} | "
              f"{r['transfer_ms']:.2f} | {r['allreduce_ms']:.2f} | {r['other_ms']:.1f} | {r['test_accuracy']:.4f} |")
    return out


def sync_cost(quick: bool, data: str | None) -> dict:
    """What --sync chunk (local SGD: each rank trains its rows of a chunk alone, the weights averaged
    once per chunk) costs in accuracy against --sync bunch, 2 ranks on the same data, network, seed
    and epochs. Each run repeats bit for bit, so one of each is the answer."""
    from dnn.data import default_dataset

    data = data or str(default_dataset(quiet=True))
    epochs = 1 if quick else 3
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for sync in ("bunch", "chunk"):
            m = train_run([str(MPIEXEC), "-n", "2"], ["--data", data, "--arch", "784-256-10", "--bunch", "100",
                                                      "--epochs", str(epochs), "--threads", "1", "--distributed",
                                                      "--sync", sync], Path(d) / "m.json")
            out[sync] = {"test_accuracy": m["test_accuracy"][-1], "images_per_s": m["images_per_s"],
                         "allreduce_s": m.get("allreduce_s", 0.0)}
    print(f"\n### --sync chunk against --sync bunch: 2 ranks, 784-256-10, bunch 100, {epochs} epoch(s), {data}\n")
    print("| sync | test accuracy | images/s | allreduce s (rank 0) |")
    print("|---|---|---|---|")
    for sync, r in out.items():
        print(f"| {sync} | {r['test_accuracy']:.4f} | {r['images_per_s']:,.0f} | {r['allreduce_s']:.2f} |")
    cost = out["bunch"]["test_accuracy"] - out["chunk"]["test_accuracy"]
    print(f"\naccuracy cost of --sync chunk: {cost * 100:+.2f} points (bunch minus chunk)")
    return out


# ---- 2. allreduce: the model against MPI ------------------------------------------------------
# What MPICH runs is forced, so that the model describes it. Without these, MPICH 5 picks its POSIX
# release_gather allreduce after the first five collectives (a reduce and a broadcast through small
# shared-memory cells, no ring at all); here it runs reduce_scatter_allgather, which at K = 2 is the
# ring (two steps, S/2 received in each by one process_vm_readv: CMA, MPICH's single copy from 8 KiB
# up, so no 8 KiB eager cells and no eager/rendezvous switch anywhere in 1-200 MB; S/2 reduced).
# Left to glibc, MPICH's temporary buffer (malloc of S bytes per call) is fresh memory above 32 MiB
# and, below, fresh or not depending on what the process freed before: a step in the cost that no
# link model has. Here it is a fresh mapping at every size (glibc's mmap threshold fixed at 128 KiB),
# so every size pays the same page faults per byte. What is left is the cache: up to a few MB the
# ranks' buffers stay in the caches and the copy runs faster and with less fixed cost than past them
# (two regimes, dnn.allreduce_model.fit_two_regimes; on a loaded machine the fastest rounds showed
# 1-3 MB at about 0.35 ms per MB, 5 MB and up at 0.5-0.7 ms per MB).
MPICH_ALLREDUCE_ENV = {"MPIR_CVAR_DEVICE_COLLECTIVES": "none",
                       "MPIR_CVAR_ALLREDUCE_INTRA_ALGORITHM": "reduce_scatter_allgather",
                       "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}
FIT_MB = (1, 2, 3, 5, 20, 100, 200)          # the sizes the machine parameters are fitted on
HELD_OUT_MB = (1.5, 4, 7, 10, 30, 50, 70, 150)  # the sizes the fitted model is checked on
BATCH_MB = 40  # bytes allreduced per timed batch: small sizes repeat within a round


def allreduce_worker(sizes_mb: list[float], rounds: int) -> None:
    """Under mpiexec -n 2: rounds of, for every size S, MPI_Allreduce of S bytes in place and the
    reduction of a rank's share (S/2) alone (MPI.SUM.Reduce_local, both ranks at once as in the
    allreduce); sizes interleaved in every round, so a change of the machine's load touches all of
    them. Each size is a batch of calls after one untimed call that lines the ranks up; a round keeps
    the median call of its batch, so a rank descheduled for a few milliseconds (2 cores shared)
    spoils one call, not the round. Rank 0 prints JSON."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    buffers = {}
    for mb in sizes_mb:
        a = np.ones(int(mb * 1e6) // 4, np.float32)
        buffers[mb] = (a, a[:a.size // 2].copy(), a[:a.size // 2].copy())
        comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)  # the first call out of the timing

    def timed(fn, n):
        comm.Barrier()
        fn()
        calls = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            calls.append(time.perf_counter() - t0)
        return float(np.median(calls))

    times = {mb: {"allreduce": [], "reduce": []} for mb in sizes_mb}
    for _ in range(rounds):
        for mb, (a, h, h2) in buffers.items():
            n = max(3, int(BATCH_MB / mb))
            times[mb]["allreduce"].append(timed(lambda: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM), n))
            times[mb]["reduce"].append(timed(lambda: MPI.SUM.Reduce_local(h, h2), n))
    if comm.Get_rank() == 0:
        print(json.dumps([{"mb": mb, **t} for mb, t in times.items()]))


def allreduce_check(quick: bool, rounds: int) -> AllreduceModel:
    """Fit the model's machine parameters on FIT_MB, check it on HELD_OUT_MB (medians of the rounds):
    the two-regime model (cache, then memory), and beside it the one-regime model on the same sizes."""
    fit_mb, held_mb = ((1, 2, 3, 5, 20, 100), (4, 50)) if quick else (FIT_MB, HELD_OUT_MB)
    sizes = sorted(fit_mb + held_mb)
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, __file__, "--allreduce-worker", "--sizes",
           ",".join(map(str, sizes)), "--repeats", str(rounds)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, **MPICH_ALLREDUCE_ENV))
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    rows = json.loads(r.stdout.strip().splitlines()[-1])
    nbytes = np.array([row["mb"] * 1e6 for row in rows])
    t = np.array([np.median(row["allreduce"]) for row in rows])
    fitted = np.array([row["mb"] in fit_mb for row in rows])
    reduce_fit = [np.median(row["reduce"]) for row, f in zip(rows, fitted) if f]
    model = fit_two_regimes(nbytes[fitted], t[fitted], reduce_fit)
    one = fit(nbytes[fitted], t[fitted], reduce_fit)
    dev, dev_one = deviations(model, nbytes, t), deviations(one, nbytes, t)
    print(f"\n### Allreduce, 2 ranks, MPICH over shared memory (" + ", ".join(f"{k}={v}" for k, v in
          MPICH_ALLREDUCE_ENV.items()) + f"), medians of {rounds} rounds\n")
    small = model.small
    print(f"fitted on {', '.join(map(str, fit_mb))} MB: up to {model.switch_bytes / 1e6:.2f} MB (cache) a = "
          f"{small.latency_s * 1e6:.0f} us per message, B = {small.bandwidth / 1e9:.2f} GB/s, R = "
          f"{small.reduce_rate / 1e9:.2f} GB/s; past it (memory) a = {model.latency_s * 1e6:.0f} us, B = "
          f"{model.bandwidth / 1e9:.2f} GB/s, R = {model.reduce_rate / 1e9:.2f} GB/s (one regime on the same sizes: "
          f"a = {one.latency_s * 1e6:.0f} us, B = {one.bandwidth / 1e9:.2f} GB/s)\n")
    print("| MB | set | measured ms (min-max of rounds) | model ms | model / measured | one regime / measured |")
    print("|---|---|---|---|---|---|")
    for row, t_med, d, d1, f in zip(rows, t, dev, dev_one, fitted):
        print(f"| {row['mb']:g} | {'fit' if f else 'held out'} | {t_med * 1e3:.2f} ({min(row['allreduce']) * 1e3:.2f}-"
              f"{max(row['allreduce']) * 1e3:.2f}) | {model.seconds(row['mb'] * 1e6, 2) * 1e3:.2f} | {d + 1:.2f} | "
              f"{d1 + 1:.2f} |")
    print(f"\nlargest deviation: held-out sizes {np.abs(dev[~fitted]).max():.1%}, fitted sizes "
          f"{np.abs(dev[fitted]).max():.1%} (target: within 15%); one regime: {np.abs(dev_one[~fitted]).max():.1%} "
          f"and {np.abs(dev_one[fitted]).max():.1%}")
    return model


# ---- 3. predicted scaling ---------------------------------------------------------------------
def predicted(png: Path, checked: AllreduceModel) -> None:
    """The checked allreduce model with the network's link in place of this machine's shared memory;
    the reduction stays at the rate measured here (a host's arithmetic, not the network's)."""
    ks = [2, 4, 8, 16, 32, 64]
    network = checked.on_link(NET_BW, NET_LAT)
    print(f"\n### Predicted efficiency on {NET_BW * 8 / 1e9:.0f} Gb/s links ({NET_LAT * 1e6:.0f} us), the reduction "
          f"at this machine's {checked.reduce_rate / 1e9:.2f} GB/s, hosts of {HOST_FLOPS / 1e12:.0f} TFLOP/s, "
          "the global bunch fixed\n")
    print("| workload | params | sync | " + " | ".join(f"K={k}" for k in ks) + " | largest K >= 50% |")
    print("|---|---|---|" + "---|" * len(ks) + "---|")
    curves = []
    for w in (dnntk(), chaos_large()):
        for sync in ("bunch", "chunk"):
            eff = [efficiency(w, k, sync, network) for k in ks]
            useful = max((k for k in range(1, 4097) if efficiency(w, k, sync, network) >= 0.5), default=1)
            print(f"| {w['name']} (bunch {w['bunch']}) | {w['params'] / 1e6:.2f} M | {sync} | "
                  + " | ".join(f"{e:.2f}" for e in eff) + f" | {useful} |")
            curves.append((f"{w['name']}, sync {sync}", eff))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, eff in curves:
        ax.plot(ks, eff, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hosts K")
    ax.set_ylabel("scaling efficiency")
    ax.set_ylim(0, 1.05)
    ax.set_title("Predicted data-parallel efficiency, 100 Gb/s ring allreduce (checked model)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"\nwrote {png}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of each configuration, and rounds of the allreduce sizes (medians; at least 3)")
    p.add_argument("--plot", default=str(ROOT / "out" / "bench_scale.png"))
    p.add_argument("--data", help="the dataset of the --sync chunk accuracy comparison (default: dnn's default)")
    p.add_argument("--only", choices=["measured", "sync", "allreduce"],
                   help="one part (allreduce: the model's check and the prediction drawn with it)")
    p.add_argument("--allreduce-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="1", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.allreduce_worker:
        allreduce_worker([float(s) for s in args.sizes.split(",")], args.repeats)
        return 0
    if args.repeats < 3:
        p.error("--repeats: medians need at least 3")
    if args.only in (None, "measured"):
        measured(args.quick, args.repeats)
    if args.only in (None, "sync"):
        sync_cost(args.quick, args.data)
    if args.only in (None, "allreduce"):
        checked = allreduce_check(args.quick, max(args.repeats, 5))
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        predicted(Path(args.plot), checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
