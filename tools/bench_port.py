"""The Cilk Plus trainer (native/dnn/*.cilk, translated by dnn.cilkpp) against the hand-written C
it replaced: is the port as fast?

    python tools/bench_port.py                  # both parts (~8 minutes on 2 cores)
    python tools/bench_port.py --ref b71ea5c    # the commit holding the hand-written C trainer
    python tools/bench_port.py --kernels-only

1. Element-wise kernels, in one process: tests/cilkpp/train_port_check.c times every kernel of
   train.cilk and its hand-written C twin (native/tests/train_c.c) interleaved, best of REPS
   rounds, with 1 and 2 threads. The GEMMs are the same BLAS calls in both and are left out.
2. Whole training steps: the trainer built from this tree against the one built from --ref
   (checked out with `git worktree` under build/, built with this Python), host and implicit
   mode, run alternately (A B A B ...) through each tree's own tools/bench_train.py worker;
   the ratio is the median of the per-pair ratios, so slow drifts of a noisy machine cancel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REF = "b71ea5c"  # the last commit whose trainer was hand-written C (train.c, offloaded.c)
STEPS = [  # (arch, activation, bunch, rows per pass)
    ("784-800-800-10", "relu", 100, 10000),
    ("784-800-800-10", "relu", 1000, 10000),
    ("784-256-256-256-10", "sigmoid", 100, 10000),
]


def kernels(reps: int) -> list[str]:
    from dnn._build import build_train_port_check

    exe = ROOT / "build" / "bench_train_port_check"
    exe.parent.mkdir(exist_ok=True)
    build_train_port_check(exe)
    lines = ["| kernel | activation | threads | hand-written C (ms) | Cilk Plus port (ms) | port / C |",
             "|---|---|---:|---:|---:|---:|"]
    for threads in (1, 2):
        r = subprocess.run([str(exe), str(reps), str(threads)], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise SystemExit(f"train_port_check failed:\n{r.stdout}{r.stderr}")
        for line in r.stdout.splitlines():
            if line.startswith("time "):
                _, name, act, hand, port = line.split()
                lines.append(f"| {name} | {act} | {threads} | {float(hand) * 1e3:.3f} | {float(port) * 1e3:.3f} | "
                             f"{float(port) / float(hand):.2f} |")
                print(lines[-1], flush=True)
    return lines


def ref_tree(ref: str) -> Path:
    """A worktree of `ref`, built in place (once)."""
    tree = ROOT / "build" / f"port-ref-{ref}"
    if not tree.exists():
        # `make clean` may have removed an earlier one: forget it before adding it again
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                       capture_output=True)
    if not list((tree / "dnn").glob("_native*.so")):
        print(f"building {ref} in {tree} ...", flush=True)
        subprocess.run([sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"], cwd=tree, check=True,
                       capture_output=True)
    return tree


def step_rate(tree: Path, arch, act, bunch, rows, threads, mode) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = str(tree)  # this tree's dnn before the editable install's (see which_dnn)
    cmd = [sys.executable, str(tree / "tools" / "bench_train.py"), "--worker", "dnn", "--arch", arch, "--act", act,
           "--bunch", str(bunch), "--rows", str(rows), "--threads", str(threads), "--reps", "3", "--mode", mode]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if r.returncode != 0:
        raise SystemExit(f"worker in {tree} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["images_per_s"]


def which_dnn(tree: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([sys.executable, "-c", "import dnn._native, dnn; print(dnn.__file__)"], env=env,
                          cwd=tree, capture_output=True, text=True, check=True).stdout.strip()


def steps(ref: str, pairs: int) -> list[str]:
    old = ref_tree(ref)
    for tree in (ROOT, old):  # each worker must import its own tree's dnn
        assert which_dnn(tree).startswith(str(tree)), (tree, which_dnn(tree))
    lines = [f"| network | bunch | threads | mode | hand-written C ({ref}, img/s) | Cilk Plus port (img/s) | port / C |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for arch, act, bunch, rows in STEPS:
        for threads in (1, 2):
            for mode in ("host", "implicit"):
                c, port, ratios = [], [], []
                for _ in range(pairs):
                    c.append(step_rate(old, arch, act, bunch, rows, threads, mode))
                    port.append(step_rate(ROOT, arch, act, bunch, rows, threads, mode))
                    ratios.append(port[-1] / c[-1])
                lines.append(f"| {arch} {act} | {bunch} | {threads} | {mode} | {statistics.median(c):,.0f} | "
                             f"{statistics.median(port):,.0f} | {statistics.median(ratios):.3f} |")
                print(lines[-1], flush=True)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", default=REF, help=f"commit with the hand-written C trainer (default {REF})")
    p.add_argument("--reps", type=int, default=200, help="rounds of the element-wise kernels")
    p.add_argument("--pairs", type=int, default=3, help="A/B pairs per training configuration")
    p.add_argument("--kernels-only", action="store_true")
    args = p.parse_args()
    out = ["## Element-wise kernels (best of %d rounds)\n" % args.reps] + kernels(args.reps)
    if not args.kernels_only:
        out += ["", "## Training steps (medians of %d alternating pairs)\n" % args.pairs] + steps(args.ref, args.pairs)
    print("\n" + "\n".join(out))


if __name__ == "__main__":
    main()
