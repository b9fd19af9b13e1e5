"""Training speed when another process keeps one core busy: what oversubscribed OpenMP costs.

    python tools/bench_load.py        # ~3 minutes on 2 cores

Implicit mode, 784-800-800-10 relu, 5,000-row chunk. Each cell is its own worker process (the
OpenMP wait policy is read when the library loads) and reports the median of 5 passes after a
warm-up pass. "busy" runs a pure-Python busy loop in another process for the whole cell. The wait
policies are libgomp's: the default (spin a while, then sleep), OMP_WAIT_POLICY=passive (sleep at
once) and a short GOMP_SPINCOUNT.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLICIES = {"default": {}, "passive": {"OMP_WAIT_POLICY": "passive"}, "spin 10k": {"GOMP_SPINCOUNT": "10000"}}


def worker(threads: int, bunch: int) -> None:
    import numpy as np

    from dnn.network import Arch
    from dnn.trainer import Config, Trainer

    arch, rows = Arch.parse("784-800-800-10", "relu"), 5000
    cfg = Config(arch, mode="implicit", bunch=bunch, chunk=rows, threads=threads, lr=0.01, momentum=0.9)
    with Trainer(cfg, 784, 10) as t:
        rng = np.random.default_rng(0)
        t.buffers[0].x[...] = rng.random((rows, 784), dtype=np.float32)
        t.buffers[0].y[...] = rng.integers(0, 10, rows)
        t.train_chunk(t.buffers[0], rows)
        secs = []
        for _ in range(5):
            t0 = time.perf_counter()
            t.train_chunk(t.buffers[0], rows)
            secs.append(time.perf_counter() - t0)
    print(json.dumps({"images_per_s": rows / statistics.median(secs)}))


def cell(threads: int, bunch: int, policy: str, busy: bool) -> float:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        env = dict(os.environ, **POLICIES[policy])
        r = subprocess.run([sys.executable, __file__, "--worker", str(threads), str(bunch)], env=env,
                           capture_output=True, text=True, timeout=600, check=True)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return json.loads(r.stdout.strip().splitlines()[-1])["images_per_s"]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        return worker(int(sys.argv[2]), int(sys.argv[3]))
    lines = ["| bunch | threads | wait policy | quiet (img/s) | one core busy (img/s) | busy / quiet |",
             "|---:|---:|---|---:|---:|---:|"]
    for bunch in (100, 1000):
        for threads in (1, 2):
            for policy in (POLICIES if threads == 2 else ["default"]):
                q, b = cell(threads, bunch, policy, False), cell(threads, bunch, policy, True)
                lines.append(f"| {bunch} | {threads} | {policy} | {q:,.0f} | {b:,.0f} | {b / q:.2f} |")
                print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
