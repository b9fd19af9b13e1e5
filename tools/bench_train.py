"""Training speed: dnn (host, implicit, explicit-resident) against PyTorch and the NumPy
reference, as a fraction of what BLAS does for the same GEMMs, with memory and thread scaling.

    python tools/bench_train.py            # the full table for BENCHMARKS.md (~10 minutes)
    python tools/bench_train.py --quick    # one small configuration
    python tools/bench_train.py --only 429 # the DNNTK shape only

Every measurement runs in its own worker process (so thread settings and peak memory belong to
that measurement alone), on the same synthetic data, network, bunch and thread count. Figures are
medians of repeated passes over the data after one warm-up pass. PyTorch is optional
(`pip install torch==2.13.0`); without it its columns say n/a.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = [  # (arch, activation, bunch, rows per pass)
    ("784-800-800-10", "relu", 100, 20000),
    ("784-800-800-10", "relu", 1000, 20000),
    ("429-2048-2048-2048-2048-2048-2048-8991", "sigmoid", 1024, 4096),
]


def synthetic(arch, rows, seed=0):
    import numpy as np

    sizes = [int(s) for s in arch.split("-")]
    rng = np.random.default_rng(seed)
    return rng.random((rows, sizes[0]), dtype=np.float32), rng.integers(0, sizes[-1], rows).astype(np.int32)


def vm_hwm_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def median_rate(fn, rows, reps):
    fn()  # warm-up: first touch of buffers, BLAS start-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return rows / statistics.median(times)


# ---- workers (each runs in its own process) --------------------------------------------------


def work_dnn(arch, act, bunch, rows, threads, mode, reps):
    from dnn.network import Arch, Network
    from dnn.offload import run_local
    from dnn.trainer import Config, Trainer

    a = Arch.parse(arch, act)
    x, y = synthetic(arch, rows)
    cfg = Config(a, mode=mode if mode != "explicit-resident" else "explicit", explicit_weights="resident",
                 bunch=bunch, chunk=rows, threads=threads, lr=0.01, momentum=0.9)
    with Trainer(cfg, a.sizes[0], a.sizes[-1]) as t:
        buf = t.buffers[0]
        buf.x[...], buf.y[...] = x, y
        rate = median_rate(lambda: t.train_chunk(buf, rows), rows, reps)
        card_pid = t.card_pid()
        card_hwm = vm_hwm_bytes(card_pid) if card_pid else 0
        blocks = Network.block_bytes(a, bunch)
        need = sum(blocks[k] for k in ("params", "grads", "moment", "acts", "errs"))
        need += 2 * (x.nbytes + y.nbytes)
        out = {"images_per_s": rate, "card_hwm": card_hwm, "need_bytes": need}
        if mode == "host":  # the BLAS limit: the same GEMM calls alone, same threads
            greps = max(1, int(2e10 // (a.flops_per_image() * bunch)))
            run_local("dnn_gemm_step", t.net.struct, buf.x, 1, threads=threads)
            secs = run_local("dnn_gemm_step", t.net.struct, buf.x, greps, threads=threads)[0]
            out["gemm_gflops"] = a.flops_per_image() * bunch * greps / secs / 1e9
    out["host_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def work_torch(arch, act, bunch, rows, threads, reps):
    import torch

    torch.set_num_threads(threads)
    sizes = [int(s) for s in arch.split("-")]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append({"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[act]())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    x, y = synthetic(arch, rows)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype("int64"))

    def epoch():
        for r in range(0, rows, bunch):
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xt[r:r + bunch]), yt[r:r + bunch])
            loss.backward()
            opt.step()

    rate = median_rate(epoch, rows, reps)
    return {"images_per_s": rate, "host_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "version": torch.__version__}


def work_numpy(arch, act, bunch, rows, threads, reps):
    import numpy as np

    from dnn import reference

    sizes = [int(s) for s in arch.split("-")]
    rng = np.random.default_rng(1)
    layers = [(rng.uniform(-0.05, 0.05, (o, i)).astype(np.float32), np.zeros(o, np.float32))
              for i, o in zip(sizes[:-1], sizes[1:])]
    x, y = synthetic(arch, rows)
    vel = [(np.zeros_like(w), np.zeros_like(b)) for w, b in layers]
    rate = median_rate(lambda: reference.train(layers, x, y, act, bunch, 0.01, 0.9, velocity=vel), rows, reps)
    return {"images_per_s": rate}


def worker(args) -> None:
    fn = {"dnn": work_dnn, "torch": work_torch, "numpy": work_numpy}[args.worker]
    extra = (args.mode,) if args.worker == "dnn" else ()
    out = fn(args.arch, args.act, args.bunch, args.rows, args.threads, *extra, args.reps)
    print(json.dumps(out))


def run_worker(kind, arch, act, bunch, rows, threads, reps, mode=None):
    env = dict(os.environ)
    # Thread counts for libraries that read them at load (NumPy's OpenBLAS, PyTorch's OpenMP).
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", kind, "--arch", arch, "--act", act, "--bunch", str(bunch),
           "--rows", str(rows), "--threads", str(threads), "--reps", str(reps)]
    if mode:
        cmd += ["--mode", mode]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode != 0:
        if kind == "torch" and "No module named 'torch'" in r.stderr:
            return None
        raise RuntimeError(f"{kind} worker failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def elementwise_table() -> list[str]:
    from dnn._build import build_c_test

    scalar_flags = ["-O2", "-std=gnu11", "-fopenmp", "-fno-tree-vectorize", "-fno-openmp-simd",
                    "-ffp-contract=off", "-fno-math-errno"]
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    build_c_test(str(ROOT / "tools/bench_elementwise.c"), str(build / "bench_elem_scalar"), scalar_flags)
    build_c_test(str(ROOT / "tools/bench_elementwise.c"), str(build / "bench_elem_vec"))

    def run(binary, threads):
        out = subprocess.run([str(build / binary), str(threads), "20"], capture_output=True, text=True, check=True)
        return dict((line.split("\t")[0], float(line.split("\t")[1])) for line in out.stdout.strip().splitlines())

    scalar, vec1, vec2 = run("bench_elem_scalar", 1), run("bench_elem_vec", 1), run("bench_elem_vec", 2)
    rows = ["| kernel | scalar, 1 thread (ms) | vectorised, 1 thread (ms) | vectorised, 2 threads (ms) | speed-up |",
            "|---|---:|---:|---:|---:|"]
    for k in scalar:
        rows.append(f"| {k} | {scalar[k] * 1e3:.2f} | {vec1[k] * 1e3:.2f} | {vec2[k] * 1e3:.2f} | "
                    f"{scalar[k] / vec2[k]:.1f}x |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", help="run only the networks whose arch starts with this (e.g. 429)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--worker")
    p.add_argument("--arch")
    p.add_argument("--act")
    p.add_argument("--bunch", type=int)
    p.add_argument("--rows", type=int)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mode")
    args = p.parse_args()
    if args.worker:
        return worker(args)

    from dnn.network import Arch

    configs = [("784-800-800-10", "relu", 100, 5000)] if args.quick else CONFIGS
    if args.only:
        configs = [c for c in configs if c[0].startswith(args.only)]
    lines = ["| network | bunch | threads | dnn host | dnn implicit | dnn explicit-resident | PyTorch | NumPy ref | "
             "implicit / PyTorch | implicit / NumPy | implicit / host | resident / implicit | GFLOP/s (implicit) | "
             "BLAS GFLOP/s | % of BLAS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    mem_lines = ["| network | bunch | card peak RSS (MiB) | needed: blocks + 2 chunks (MiB) | ratio | host peak RSS (MiB) |",
                 "|---|---:|---:|---:|---:|---:|"]
    scaling = ["| network | bunch | implicit 1 thread | implicit 2 threads | scaling |", "|---|---:|---:|---:|---:|"]
    for arch, act, bunch, rows in configs:
        short = "429-2048x6-8991" if arch.startswith("429") else arch
        per_threads = {}
        for threads in (1, 2):
            r = {m: run_worker("dnn", arch, act, bunch, rows, threads, args.reps, mode=m)
                 for m in ("host", "implicit", "explicit-resident")}
            r["torch"] = run_worker("torch", arch, act, bunch, rows, threads, args.reps)
            r["numpy"] = run_worker("numpy", arch, act, bunch, rows, threads, 1)  # slow: one timed pass
            per_threads[threads] = r
            imp = r["implicit"]["images_per_s"]
            flops = imp * Arch.parse(arch, act).flops_per_image()
            blas = r["host"]["gemm_gflops"]
            torch_ips = r["torch"]["images_per_s"] if r["torch"] else None
            lines.append(
                f"| {short} {act} | {bunch} | {threads} | {r['host']['images_per_s']:,.0f} | {imp:,.0f} | "
                f"{r['explicit-resident']['images_per_s']:,.0f} | "
                f"{f'{torch_ips:,.0f}' if torch_ips else 'n/a'} | {r['numpy']['images_per_s']:,.0f} | "
                f"{f'{imp / torch_ips:.2f}x' if torch_ips else 'n/a'} | {imp / r['numpy']['images_per_s']:.2f}x | "
                f"{imp / r['host']['images_per_s']:.3f} | {r['explicit-resident']['images_per_s'] / imp:.3f} | "
                f"{flops / 1e9:.1f} | {blas:.1f} | {100 * flops / 1e9 / blas:.0f}% |")
            print(lines[-1], flush=True)
        i2 = per_threads[2]["implicit"]
        mem_lines.append(f"| {short} | {bunch} | {i2['card_hwm'] / 2**20:.1f} | {i2['need_bytes'] / 2**20:.1f} | "
                         f"{i2['card_hwm'] / i2['need_bytes']:.2f} | {i2['host_rss'] / 2**20:.1f} |")
        s1, s2 = per_threads[1]["implicit"]["images_per_s"], per_threads[2]["implicit"]["images_per_s"]
        scaling.append(f"| {short} | {bunch} | {s1:,.0f} | {s2:,.0f} | {s2 / s1:.2f}x |")
    print("\n## Training speed (images/s, medians)\n")
    print("\n".join(lines))
    print("\n## Memory (implicit mode, 2 threads)\n")
    print("\n".join(mem_lines))
    print("\n## Thread scaling\n")
    print("\n".join(scaling))
    print("\n## Element-wise kernels\n")
    print("\n".join(elementwise_table()))


if __name__ == "__main__":
    main()
