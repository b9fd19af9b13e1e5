"""Host, implicit and explicit mode against each other in ONE process: the A/B that separate
worker processes cannot give on a noisy machine.

    python tools/bench_modes.py              # ~6 minutes on 2 cores
    python tools/bench_modes.py --quick

One Trainer per mode lives for the whole run (a card process each for implicit and explicit),
on the same synthetic data, network, bunch, threads and seed. Every round trains one pass over
the rows in every mode, in a rotating order; a ratio is the median over rounds of the ratio of
two modes' times in the same round, so drifts of the machine cancel. Chunk granularity, `none`
link: what the targets "implicit within 3% of host" and "explicit-resident within 5% of
implicit" are about.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("host", "implicit", "explicit-resident", "explicit-copy")
CONFIGS = [  # (arch, activation, bunch, rows per pass)
    ("784-800-800-10", "relu", 100, 10000),
    ("784-800-800-10", "relu", 1000, 10000),
    ("784-256-256-256-10", "sigmoid", 100, 10000),
]


def trainer(mode, arch, bunch, rows, threads):
    from dnn.trainer import Config, Trainer

    base, _, weights = mode.partition("-")
    cfg = Config(arch, mode=base, explicit_weights=weights or "resident", bunch=bunch, chunk=rows, threads=threads,
                 lr=0.01, momentum=0.9, seed=1)
    return Trainer(cfg, arch.sizes[0], arch.sizes[-1])


def measure(arch_s, act, bunch, rows, threads, rounds):
    import numpy as np

    from dnn.network import Arch

    arch = Arch.parse(arch_s, act)
    rng = np.random.default_rng(0)
    x = rng.random((rows, arch.sizes[0]), dtype=np.float32)
    y = rng.integers(0, arch.sizes[-1], rows).astype(np.int32)
    ts = {m: trainer(m, arch, bunch, rows, threads) for m in MODES}
    try:
        for t in ts.values():
            t.buffers[0].x[...], t.buffers[0].y[...] = x, y
            t.train_chunk(t.buffers[0], rows)  # warm-up: first touch, BLAS start-up, resident upload
        secs = {m: [] for m in MODES}
        for r in range(rounds):
            order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            for m in order:
                t0 = time.perf_counter()
                ts[m].train_chunk(ts[m].buffers[0], rows)
                secs[m].append(time.perf_counter() - t0)
    finally:
        for t in ts.values():
            t.close()
    return secs


def ratio(secs, a, b):
    """Throughput of a over throughput of b, median over rounds."""
    return statistics.median(tb / ta for ta, tb in zip(secs[a], secs[b]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    configs = [("784-800-800-10", "relu", 100, 3000)] if args.quick else CONFIGS
    lines = ["| network | bunch | threads | " + " | ".join(f"{m} (img/s)" for m in MODES)
             + " | implicit / host | resident / implicit | copy / implicit |",
             "|---|---:|---:|" + "---:|" * (len(MODES) + 3)]
    for arch, act, bunch, rows in configs:
        for threads in (1, 2):
            s = measure(arch, act, bunch, rows, threads, args.rounds)
            rates = " | ".join(f"{rows / statistics.median(s[m]):,.0f}" for m in MODES)
            lines.append(f"| {arch} {act} | {bunch} | {threads} | {rates} | {ratio(s, 'implicit', 'host'):.3f} | "
                         f"{ratio(s, 'explicit-resident', 'implicit'):.3f} | "
                         f"{ratio(s, 'explicit-copy', 'implicit'):.3f} |")
            print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
