"""Scaling past one card: measured on this machine, then modelled to 64 hosts.

    python tools/bench_scale.py            # ~3 minutes on 2 busy cores
    python tools/bench_scale.py --quick    # ~1 minute

1. Measured: 1 card x 2 threads, 2 cards x 1 thread and 2 MPI ranks x 1 card x 1 thread on the same
   global bunch and data: images/s, and time per bunch split into compute (on the cards),
   transfer and allreduce (dnn.train's counters).
2. The allreduce as the model prices it: a ring moves 2(K-1)/K of the gradient bytes per rank in
   2(K-1) steps, each paying the link's latency: t = 2(K-1) a + 2(K-1)/K S / b. The link (a, b) of
   this machine's MPI (shared-memory transport) is measured on its own, by exchanges of 8 bytes and
   of S/2 (one ring step), then the model is checked against MPI_Allreduce for 1 MB to 200 MB,
   alone and with the host's own work per call added (the reduction, measured with
   Reduce_local, and the first touch of a fresh scratch buffer of S bytes).
3. Predicted: scaling efficiency from 2 to 64 hosts on 100 Gb/s links, for the DNNTK shape and
   chaos-large, synchronous per bunch against --sync chunk (local SGD, one allreduce of the weights
   per chunk), drawn into a PNG; and the largest K whose efficiency stays >= 50%.

Run with `--allreduce-worker` by mpiexec (part 2); never by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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


def ring_allreduce_s(nbytes: float, k: int, bw: float, lat: float) -> float:
    """The model: ring allreduce of nbytes over k ranks on links of bandwidth bw, latency lat."""
    return 0.0 if k < 2 else 2 * (k - 1) * lat + 2 * (k - 1) / k * nbytes / bw


def efficiency(w: dict, k: int, sync: str) -> float:
    """Predicted speed-up over one host, divided by k, the global bunch fixed (each host 1/k of it)."""
    one = w["bunch"] * w["flops"] / HOST_FLOPS
    comm = ring_allreduce_s(4 * w["params"], k, NET_BW, NET_LAT)
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


def measured(quick: bool) -> list[dict]:
    arch, bunch = ("784-512-512-10", 512) if quick else ("784-1024-1024-10", 1024)
    rows, epochs = (8192, 1) if quick else (16384, 2)
    configs = [("1 card x 2 threads", [], ["--cards", "1", "--threads", "2"]),
               ("2 cards x 1 thread", [], ["--cards", "2", "--threads", "1"]),
               ("2 ranks x 1 card x 1 thread", [str(MPIEXEC), "-n", "2"], ["--distributed", "--threads", "1"])]
    out = []
    with tempfile.TemporaryDirectory() as d:
        data = make_data(Path(d), rows, 784, 10)
        for name, launcher, extra in configs:
            metrics = Path(d) / "m.json"
            cmd = launcher + [sys.executable, "-m", "dnn.train", "--data", str(data), "--arch", arch, "--bunch",
                              str(bunch), "--epochs", str(epochs), "--lr", "0.01", "--quiet", "--metrics",
                              str(metrics), *extra]
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if r.returncode != 0:
                raise SystemExit(f"{name}: {r.stderr or r.stdout}")
            m = json.loads(metrics.read_text())
            bunches = m["images"] / bunch
            cards = 2 if "2 cards" in name else 1
            out.append({"config": name, "images_per_s": m["images_per_s"],
                        "bunch_ms": 1e3 * m["wall_s"] / bunches,
                        "compute_ms": 1e3 * m["compute_s"] / cards / bunches,  # summed over cards: per card
                        "transfer_ms": 1e3 * m["transfer_s"] / bunches,
                        "allreduce_ms": 1e3 * m.get("allreduce_s", 0.0) / bunches,
                        "test_accuracy": m["test_accuracy"][-1]})
    print(f"\n### Measured: {arch}, global bunch {bunch}, {rows} rows x {epochs} epoch(s)\n")
    print("| configuration | images/s | ms per bunch | compute | transfer | allreduce | test acc |")
    print("|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['config']} | {r['images_per_s']:,.0f} | {r['bunch_ms']:.1f} | {r['compute_ms']:.1f} | "
              f"{r['transfer_ms']:.2f} | {r['allreduce_ms']:.2f} | {r['test_accuracy']:.4f} |")
    return out


# ---- 2. allreduce: the model against MPI ------------------------------------------------------
def allreduce_worker(sizes_mb: list[float], repeats: int) -> None:
    """Under mpiexec -n 2, for each size S: MPI_Allreduce in place, and on their own the parts the
    model is made of: an exchange of S/2 both ways at once (one ring step: latency from 8 bytes,
    bandwidth from S/2), the reduction of S/2 (MPI.SUM.Reduce_local), and the first touch of S
    fresh bytes (the scratch buffer MPI allocates per call). Rank 0 prints JSON."""
    import mmap

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    other = 1 - comm.Get_rank()

    def median(fn, n):
        times = []
        for _ in range(n):
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    def fresh(nbytes):
        m = mmap.mmap(-1, nbytes)
        np.frombuffer(m, np.uint8)[::4096] = 1
        m.close()

    tiny, tiny2 = np.zeros(2, np.float32), np.zeros(2, np.float32)
    lat = median(lambda: comm.Sendrecv(tiny, other, recvbuf=tiny2, source=other), 200)
    rows = []
    for mb in sizes_mb:
        a = np.ones(int(mb * 1e6) // 4, np.float32)
        h, h2 = a[:a.size // 2].copy(), a[:a.size // 2].copy()
        comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)  # first call out of the timing
        rows.append({"mb": mb, "allreduce": median(lambda: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM), repeats),
                     "exchange": median(lambda: comm.Sendrecv(h, other, recvbuf=h2, source=other), repeats),
                     "reduce": median(lambda: MPI.SUM.Reduce_local(h, h2), repeats),
                     "fresh": median(lambda: fresh(a.nbytes), repeats)})
    if comm.Get_rank() == 0:
        print(json.dumps({"latency_s": lat, "rows": rows}))


def allreduce_check(quick: bool) -> dict:
    """Two models against the measured allreduce: the ring on the link alone (what the 100 Gb/s
    prediction uses), and the ring plus the host's work per call (reduction, fresh scratch)."""
    sizes = [1, 10, 50] if quick else [1, 2, 5, 10, 20, 50, 100, 200]
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, __file__, "--allreduce-worker", "--sizes",
           ",".join(map(str, sizes)), "--repeats", "5" if quick else "9"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    got = json.loads(r.stdout.strip().splitlines()[-1])
    lat = got["latency_s"]
    print(f"\n### Allreduce, 2 ranks, MPICH over shared memory (latency {lat * 1e6:.1f} us by an 8-byte exchange)\n")
    print("| MB | measured ms | link GB/s (S/2 exchange) | ring, link only ms | ratio | + reduction + fresh scratch ms "
          "| ratio |")
    print("|---|---|---|---|---|---|---|")
    worst = {"link": 0.0, "host": 0.0}
    for row in got["rows"]:
        nbytes, t = row["mb"] * 1e6, row["allreduce"]
        bw = nbytes / 2 / max(row["exchange"] - lat, 1e-9)
        link = ring_allreduce_s(nbytes, 2, bw, lat)
        host = link + row["reduce"] + row["fresh"]
        worst["link"], worst["host"] = max(worst["link"], abs(link / t - 1)), max(worst["host"], abs(host / t - 1))
        print(f"| {row['mb']:g} | {t * 1e3:.2f} | {bw / 1e9:.2f} | {link * 1e3:.2f} | {link / t:.2f} | "
              f"{host * 1e3:.2f} | {host / t:.2f} |")
    print(f"\nlargest deviation: link only {worst['link']:.0%}, with the host's work {worst['host']:.0%} "
          "(target: within 15%)")
    return got | {"worst": worst}


# ---- 3. predicted scaling ---------------------------------------------------------------------
def predicted(png: Path) -> None:
    ks = [2, 4, 8, 16, 32, 64]
    print(f"\n### Predicted efficiency on {NET_BW * 8 / 1e9:.0f} Gb/s links ({NET_LAT * 1e6:.0f} us), hosts of "
          f"{HOST_FLOPS / 1e12:.0f} TFLOP/s, the global bunch fixed\n")
    print("| workload | params | sync | " + " | ".join(f"K={k}" for k in ks) + " | largest K >= 50% |")
    print("|---|---|---|" + "---|" * len(ks) + "---|")
    curves = []
    for w in (dnntk(), chaos_large()):
        for sync in ("bunch", "chunk"):
            eff = [efficiency(w, k, sync) for k in ks]
            useful = max((k for k in range(1, 4097) if efficiency(w, k, sync) >= 0.5), default=1)
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
    ax.set_title("Predicted data-parallel efficiency, 100 Gb/s ring allreduce")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"\nwrote {png}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--plot", default=str(ROOT / "out" / "bench_scale.png"))
    p.add_argument("--only", choices=["measured", "allreduce", "predicted"])
    p.add_argument("--allreduce-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="1", help=argparse.SUPPRESS)
    p.add_argument("--repeats", type=int, default=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.allreduce_worker:
        allreduce_worker([float(s) for s in args.sizes.split(",")], args.repeats)
        return 0
    if args.only in (None, "measured"):
        measured(args.quick)
    if args.only in (None, "allreduce"):
        allreduce_check(args.quick)
    if args.only in (None, "predicted"):
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        predicted(Path(args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
