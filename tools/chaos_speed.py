"""CHAOS training speed against the worker count, measured so that a figure means something on a
shared machine (bench_chaos.py's Figure 5 analog; also runnable alone):

    python tools/chaos_speed.py --networks chaos-small,chaos-medium --reps 5
    python tools/chaos_speed.py --networks chaos-small --workers 1,2 --breakdown
    python tools/chaos_speed.py --card before=/tmp/ab/dnn/bin/dnn-card   # A/B against another card build
    python tools/chaos_speed.py --workers 1,2 --lr 0.01,1e-30 --pair   # what sharing the weights costs

* Only training is timed: one chunk of 10,000 images is read into the card's buffer once, then
  trained on again and again (no reading, no evaluation, no card start-up inside the timing).
* Each run lasts a few seconds (IMAGES per network), every worker count is run once per round, the
  rounds alternate the order, and each figure is the median over the rounds with its spread (min -
  max). The speed-up is the median of the per-round ratios: a load that drifts meets both alike.
* Beside the speed, the card process's CPU time per image (/proc: user + system, all its threads).
  On a loaded machine the wall-clock speed mostly says how large a share of the cores the card's
  threads got (16 threads get more of a contended machine than 2); CPU µs per image says how much
  work an image cost, contention and switching included, whatever the share.
* --breakdown: one more run per worker count (and --every and --lr value; --breakdown-reps R: R
  rounds of them, medians) with the workers timing themselves (the trainer's timing hook, off in the
  timed rounds): per image, microseconds of fetch (taking the next image and placing it), forward,
  loss, backward, update (the hogwild writes) and waiting (the worker's thread idle at the end of a
  call), summed over the workers. These are clock times: on a loaded machine they include the time a
  worker's thread was preempted (two workers on one core's worth of CPU show twice one worker's
  forward); set them against the CPU µs per image. Beside them, per layer with weights, the share of
  its 64-byte lines the hogwild updates stored (a line whose bits an update would not change is left
  alone, so it stays in the other core's cache).
* --pair: one more column, '2 apart': two one-worker runs at once, in two processes with a card each,
  started together once both cards are up; their images/s summed, and the speed-up of that over one
  worker. Two workers that share nothing (no weights, no process) show what this machine gives two
  workers at all; the 2-worker CHAOS run beside it shows what sharing the weights costs on top.
* --lr 0.01,1e-30: the runs once per learning rate, in the same rounds. 1e-30 is a step far below
  every weight's rounding, so the updates store nothing into the shared weights (the timing hook's
  line counts show it: the zero-initialised biases alone change) while every image costs the same
  forward, backward and update work: the two-worker speed-up without the weights' cache lines
  crossing between the cores.
* --every 1,4: the runs with 2+ workers once per --update-every value, in the same rounds.
* --card NAME=EXE: the same runs on another build of the card executable too (DNN_CARD_EXE), in the
  same rounds, alternating with this build's: an A/B of a change to the card-side code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_chaos import LR, NETWORKS, WORKERS, arch_for, dataset  # noqa: E402

CALL_ROWS = 10000  # images per offload call: the chunk read once and trained on again and again
# Images per timed run: a few seconds with one worker on a 2-core machine.
IMAGES = {"small": 200000, "medium": 60000, "large": 20000, "chaos-small": 60000, "chaos-medium": 10000,
          "chaos-large": 2000}
PAIR = "2 apart"  # the column of pair_run: two one-worker processes at once
STEPS = ("fetch", "forward", "loss", "backward", "update", "waiting")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process pid so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speed_run(net: str, data: str, workers: int, threads: int, images: int, breakdown: bool = False,
              card: str | None = None, every: int = 1, ready=None, lr: float = LR) -> dict:
    """One run: `images` training images with `workers` workers (implicit mode, plain per-image SGD),
    on the card executable `card` (default: this build's), each adding into the shared weights every
    `every` images (1 with one worker: the baseline stays the paper's scheme). Returns images/s and, with breakdown, µs
    per image of each step summed over the workers. ready: called once the card is up and the chunk is in
    its buffer, just before the timed training (pair_run starts two runs together with it)."""
    from dnn.data import ChunkReader
    from dnn.trainer import Config, Trainer

    if card:
        os.environ["DNN_CARD_EXE"] = card
    else:
        os.environ.pop("DNN_CARD_EXE", None)

    arch = arch_for(NETWORKS[net], data)
    with ChunkReader(data, "train", shuffle=False, prefetch=False) as r:
        x, y = r.read_all()
    rows = min(CALL_ROWS, len(x), images)
    cfg = Config(arch, mode="implicit", chunk=rows, threads=threads, workers=workers, lr=lr, momentum=0.0, seed=0,
                 update_every=every if workers > 1 else 1)
    t = Trainer(cfg, x.shape[1], int(y.max()) + 1)
    try:
        buf = t.buffers[0]
        buf.x[:rows], buf.y[:rows] = x[:rows], y[:rows]
        if breakdown:
            t.net.time_operations(True)
            t.team.reset_timing()
        if ready:
            ready()
        done, seconds, cpu, began = 0, 0.0, 0.0, time.time()
        while done < images:
            n = min(rows, images - done)
            c0, t0 = cpu_seconds(t.card_pid()), time.perf_counter()
            t.train_chunk(buf, n)
            seconds += time.perf_counter() - t0
            cpu += cpu_seconds(t.card_pid()) - c0
            done += n
        out = {"images_per_s": done / seconds, "seconds": seconds, "cpu_us_per_image": 1e6 * cpu / done,
               "span": (began, time.time())}
        if breakdown:
            per = t.team.worker_seconds()
            out["us_per_image"] = {s: 1e6 * sum(w[s] for w in per) / done for s in STEPS}
            out["images_each"] = t.team.images_taken("train")
            out["lines"] = t.team.update_lines(arch.nlayers)
        return out
    finally:
        t.close()


PAIR_WAIT_S = 300  # the longest one half waits for the other's card: then both fail instead of hanging


def _pair_half(args: tuple) -> dict:
    net, data, threads, images, card, lr, barrier = args
    return speed_run(net, data, 1, threads, images, card=card, ready=lambda: barrier.wait(PAIR_WAIT_S), lr=lr)


def pair_run(net: str, data: str, threads: int, images: int, card: str | None = None, lr: float = LR) -> dict:
    """Two one-worker runs at once, in two processes with a card each: two workers that share nothing
    (not the weights, not a process), started together once both cards are up. Their images/s summed is
    what this machine gives two workers when no cache line passes between them; set against the
    2-worker CHAOS run it is the cost of sharing the weights. A half that fails before the start breaks
    the other's wait within PAIR_WAIT_S, and the error ends the call."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        barrier = manager.Barrier(2)
        a, b = pool.map(_pair_half, [(net, data, threads, images, card, lr, barrier)] * 2)
    (a0, a1), (b0, b1) = a["span"], b["span"]
    return {"images_per_s": a["images_per_s"] + b["images_per_s"], "seconds": max(a["seconds"], b["seconds"]),
            "cpu_us_per_image": (a["cpu_us_per_image"] + b["cpu_us_per_image"]) / 2,
            # the share of the longer run during which both ran (1: wholly at once)
            "overlap": (min(a1, b1) - max(a0, b0)) / max(a1 - a0, b1 - b0)}


def rounds(nets: list[str], workers: tuple, threads: int, reps: int, images: dict, data: str,
           cards: dict | None = None) -> dict:
    """{label: {workers: [speed_run's result of each round]}}, label the net and the variant's name when
    there are several: cards {name: (card executable or None, update every, learning rate)}; the order of
    worker counts and variants alternates per round."""
    cards = cards or {"": (None, 1, LR)}
    seen = {}
    for rep in range(reps):
        order = workers if rep % 2 == 0 else tuple(reversed(workers))
        names = list(cards) if rep % 2 == 0 else list(reversed(cards))
        for net in nets:
            for w in order:
                for name in names:
                    label = f"{net} {name}".strip()
                    exe, every, lr = cards[name]
                    r = (pair_run(net, data, threads, images[net], card=exe, lr=lr) if w == PAIR else
                         speed_run(net, data, w, threads, images[net], card=exe, every=every, lr=lr))
                    seen.setdefault(label, {x: [] for x in workers})[w].append(r)
                    what = w if w == PAIR else f"{w} workers"
                    both = f", overlap {r['overlap']:.0%}" if w == PAIR else ""
                    print(f"round {rep + 1}/{reps} {label} {what}: {r['images_per_s']:,.0f} img/s ({r['seconds']:.1f} s"
                          f"{both}), CPU {r['cpu_us_per_image']:.0f} µs/image, load {os.getloadavg()[0]:.1f}",
                          file=sys.stderr, flush=True)
    return seen


def summarise(seen: dict) -> dict:
    """Per net and worker count: median images/s, its spread, and the speed-up over one worker as the
    median (and spread) of the per-round ratios."""
    out = {}
    for net, by in seen.items():
        one = [r["images_per_s"] for r in by[1]] if 1 in by else None
        out[net] = {}
        for w, runs in by.items():
            rates, cpu = [r["images_per_s"] for r in runs], [r["cpu_us_per_image"] for r in runs]
            ratios = [a / b for a, b in zip(rates, one)] if one else []
            out[net][w] = {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
                           "cpu_us": statistics.median(cpu), "cpu_us_min": min(cpu), "cpu_us_max": max(cpu),
                           "speedup": statistics.median(ratios) if ratios else None,
                           "speedup_min": min(ratios) if ratios else None,
                           "speedup_max": max(ratios) if ratios else None, "runs": rates}
    return out


def table(summary: dict) -> list[str]:
    ws = sorted(w for w in next(iter(summary.values())) if w != PAIR)
    ws += [PAIR] if PAIR in next(iter(summary.values())) else []
    head = "img/s (min-max); speed-up (min-max); CPU µs/img (min-max)"
    lines = ["| run | " + " | ".join(f"{w if w == PAIR else f'{w}w'} {head}" for w in ws) + " |",
             "|---|" + "---|" * len(ws)]
    for net, by in summary.items():
        cells = []
        for w in ws:
            s = by[w]
            sp = "" if s["speedup"] is None else f"; {s['speedup']:.2f}x ({s['speedup_min']:.2f}-{s['speedup_max']:.2f})"
            cells.append(f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f}){sp}; "
                         f"{s['cpu_us']:.0f} ({s['cpu_us_min']:.0f}-{s['cpu_us_max']:.0f})")
        lines.append(f"| {net} | " + " | ".join(cells) + " |")
    return lines


def breakdown_table(nets: list[str], workers: tuple, threads: int, images: dict, data: str,
                    everies: tuple = (1,), reps: int = 1, lrs: tuple = (LR,)) -> list[str]:
    """Timed runs per network, learning rate, worker count and (with 2+ workers) --update-every value:
    `reps` rounds of them all, each figure the median over the rounds (the lines stored: the last
    round's)."""
    lines = ["| network | lr | workers | update every | img/s | " + " | ".join(f"{s} µs" for s in STEPS)
             + " | images each | lines stored per layer |",
             "|---|---|---|---|---|" + "---|" * len(STEPS) + "---|---|"]
    runs = [(n, lr, w, k) for n in nets for lr in lrs for w in workers for k in (everies if w > 1 else (1,))]
    seen = {run: [] for run in runs}
    for rep in range(reps):
        for net, lr, w, k in runs if rep % 2 == 0 else reversed(runs):
            seen[net, lr, w, k].append(speed_run(net, data, w, threads, images[net], breakdown=True, every=k, lr=lr))
    for run in runs:
        net, lr, w, k = run
        r = seen[run][-1]
        us = {s: statistics.median(x["us_per_image"][s] for x in seen[run]) for s in STEPS}
        rate = statistics.median(x["images_per_s"] for x in seen[run])
        each = r["images_each"]
        shown = ", ".join(f"{n:,}" for n in each) if len(each) <= 4 else f"{min(each):,}-{max(each):,}"
        stored = ", ".join(f"{l}: {100 * kept / total:.0f} %" for l, (total, kept) in enumerate(r["lines"]) if total)
        lines.append(f"| {net} | {lr:g} | {w} | {k} | {rate:,.0f} | " + " | ".join(f"{us[s]:.1f}" for s in STEPS)
                     + f" | {shown} | {stored} |")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", default="chaos-small,chaos-medium")
    p.add_argument("--workers", default=",".join(map(str, WORKERS)))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5, help="rounds (medians and spreads over them)")
    p.add_argument("--images", type=int, help="images per run (default: a few seconds' worth per network)")
    p.add_argument("--breakdown", action="store_true", help="also the per-worker time breakdown")
    p.add_argument("--breakdown-reps", type=int, default=1, help="rounds of the breakdown runs (medians over them)")
    p.add_argument("--card", action="append", default=[], metavar="NAME=EXE",
                   help="also run on this card executable (another build), alternating with this build's")
    p.add_argument("--lr", default=str(LR),
                   help=f"comma-separated learning rates to compare (default {LR}); 1e-30 leaves every weight's bits "
                        "as they are, so the workers store nothing into the shared weights but the bias lines")
    p.add_argument("--pair", action="store_true",
                   help=f"also two one-worker runs at once in two processes (column '{PAIR}'): two workers "
                        "that share nothing, the machine's own two-worker speed-up")
    p.add_argument("--every", default="1", help="comma-separated --update-every values to compare (runs with 2+ workers)")
    a = p.parse_args(argv)
    everies = [int(k) for k in a.every.split(",")]
    lrs = [float(x) for x in a.lr.split(",")]
    exes = {"this": None} | dict(c.split("=", 1) for c in a.card)
    # one variant per card build, --every value and learning rate, named by what varies
    cards = {" ".join(part for part in (c if len(exes) > 1 or len(everies) > 1 else "",
                                        f"every {k}" if len(everies) > 1 else "", f"lr {lr:g}" if len(lrs) > 1 else "")
                      if part): (exe, k, lr) for c, exe in exes.items() for k in everies for lr in lrs}
    nets = [n.strip() for n in a.networks.split(",") if n.strip()]
    workers = tuple(int(w) for w in a.workers.split(",")) + ((PAIR,) if a.pair else ())
    images = {n: a.images or IMAGES[n] for n in nets}
    data = dataset(10000)
    load = os.getloadavg()[0]
    summary = summarise(rounds(nets, workers, a.threads, a.reps, images, data, cards))
    print(f"CHAOS training speed, {a.reps} rounds, implicit mode, {a.threads} card threads, lr {a.lr}, images per run "
          + ", ".join(f"{n} {images[n]:,}" for n in nets)
          + f"; load {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} cores\n")
    print("\n".join(table(summary)))
    if a.breakdown:
        print(f"\nPer-worker breakdown ({a.breakdown_reps} round(s), timing on; medians of µs per image, summed over "
              "the workers):\n")
        print("\n".join(breakdown_table(nets, tuple(w for w in workers if w != PAIR), a.threads, images, data,
                                         tuple(everies), a.breakdown_reps, tuple(lrs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
