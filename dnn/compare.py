"""python -m dnn.compare — explicit against implicit offload, measured, explained and predicted.

Runs every combination of mode, granularity, link and card count on the same data, seed and network
(each through the same code path as dnn.train), checks that all one-thread runs on as many cards end
with bit-identical weights (several cards agree with one only to float32 rounding: the distance is
reported), and writes DIR/compare.json, .csv, .md and plots (dnn.compare_outputs). A performance
model fitted on the one-card `none`-link runs predicts the throttled-link runs (its error is
reported) and buses not run (dnn.compare_model).

CHAOS runs (--workers) train image by image with that many workers sharing the weights (dnn/workers.py),
once per mode and link at chunk granularity on one card; their one-worker runs must agree bit for bit
with each other, and they stay out of the mode comparison, the performance model and the granularity
plot, which are about bunches.

    python -m dnn.compare --quick                     # under a minute on the default dataset
    python -m dnn.compare --arch 784-800-800-10 --granularity chunk,bunch --links none,knc-pcie
    python -m dnn.compare --quick --modes implicit,explicit-resident --cards 1,2
    python -m dnn.compare --quick --workers 1,2,4     # and CHAOS runs: workers x mode, one image per step
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cli import run_cli
from .compare_args import CARD_MODES, parse_cards, parse_workers, split_links
from .compare_model import model_report, on_one_card
from .compare_outputs import check_out, run_name, table, worker_split, write_outputs
from .errors import CardDiedError, DnnError, DnnValueError
from .network import Arch
from .perfmodel_probe import measure_machine
from .session import run_training
from .trainer import GRANULARITIES, Config

MODES = ("host", "implicit", "implicit-myo", "explicit-copy", "explicit-resident", "explicit-overlap")
DEFAULT_OUT = "out/compare"
COLUMNS = ["mode", "granularity", "link", "cards", "wall_s", "compute_s", "transfer_s", "wait_s", "bytes_to_card",
           "bytes_from_card", "offload_calls", "images_per_s", "test_accuracy", "slowdown", "workers"]


class WeightsDiffer(DnnError, RuntimeError):
    """Runs that must agree bit for bit did not."""


def plan(modes, granularities, links, cards=(1,), workers=()):
    """(mode, granularity, link, cards, workers) to run. Host mode has no card, so it runs once per
    granularity; explicit-overlap (resident weights, the next chunk sent while one trains) is a
    chunk-granularity mode; several cards run only the CARD_MODES. Each CHAOS worker count runs once
    per mode, card count and link, at chunk granularity (workers 0: a bunch run)."""
    runs = []
    for g in granularities:
        for m in modes:
            if m == "explicit-overlap" and g != "chunk":
                continue
            for k in cards:
                if k > 1 and m not in CARD_MODES:
                    continue
                for link in (["-"] if m == "host" else links):
                    runs.append((m, g, link, k, 0))
    for n in workers:
        for k in cards:
            for m in modes:
                if k > 1 and m not in CARD_MODES:
                    continue
                for link in (["-"] if m == "host" else links):
                    runs.append((m, "chunk", link, k, n))
    return runs


def config_for(mode, granularity, link, cards, workers, arch, a) -> Config:
    base, _, variant = mode.partition("-")
    myo, overlap = variant == "myo", variant == "overlap"
    return Config(arch=arch, mode=base, explicit_weights=variant if variant in ("copy", "resident") else "resident",
                  coherence="myo" if myo else "shared", overlap=overlap, granularity=granularity,
                  bunch=1 if workers else a.bunch, chunk=a.chunk, threads=a.threads,
                  link="none" if link == "-" else link, seed=a.seed, lr=a.lr, momentum=0.9, cards=cards,
                  workers=workers)


def check_identical(results: list[dict]) -> list[str]:
    """Names of runs whose final weights differ from those of the first run with as many cards
    (empty: all identical). Runs on one card must agree bit for bit whatever their mode, and so
    must runs on N cards among themselves; N cards agree with one only to float32 rounding (the
    rows of a bunch are summed in another grouping), so they are not held to one card's weights.
    One-worker CHAOS runs (sequential per-image SGD on each card) must agree among themselves, on as
    many cards; several workers race on the weights by design, so they are not checked."""
    ref, differ = {}, []
    for r in results:
        workers = r.get("workers", 0)
        if workers > 1:
            continue
        first = ref.setdefault(("workers", 1, r.get("cards", 1)) if workers else r.get("cards", 1), r["_weights"])
        if first is not r["_weights"] and not np.array_equal(r["_weights"], first):
            differ.append(run_name(r))
    return differ


def distance_from_one_card(results: list[dict]) -> float | None:
    """Largest weight difference of a several-card run from the first one-card run, as a fraction of
    that run's largest weight (None: no run of each kind)."""
    one = next((r["_weights"] for r in results if r.get("cards", 1) == 1 and not r.get("workers")), None)
    many = [r["_weights"] for r in results if r.get("cards", 1) > 1]
    if one is None or not many:
        return None
    return max(float(np.abs(w - one).max()) for w in many) / max(float(np.abs(one).max()), 1e-30)


def several_cards(rows: list[dict]) -> list[str]:
    """A sentence per several-card run: its time against the same run on one card (a CHAOS run
    against the one-card run with as many workers)."""
    ones = [r for r in rows if r["mode"] != "host" and r.get("cards", 1) == 1]
    return _against_one(rows, ones, "cards", "On {} cards", "one card", same=lambda r: r.get("workers", 0))


def several_workers(rows: list[dict]) -> list[str]:
    """A sentence per CHAOS run with several workers: its time against the same run with one (on as
    many cards)."""
    return _against_one(rows, [r for r in rows if r.get("workers") == 1], "workers", "With {} CHAOS workers",
                        "one worker", same=lambda r: r.get("cards", 1))


def _against_one(rows, ones, count, opening, one, same=lambda r: None) -> list[str]:
    """A sentence per run whose `count` is above 1: its time against the run in `ones` with its mode,
    granularity, link and `same` (the other count)."""
    def key(r):
        return r["mode"], r["granularity"], r["link"], same(r)

    twins = {key(r): r for r in ones}
    out = []
    for r in rows:
        twin = twins.get(key(r))
        if r.get(count, 0) > 1 and twin is not None:
            name = run_name({**twin, count: 0})  # the run named by all but the count the sentence opens with
            out.append(f"{opening.format(r[count])} {name} takes "
                       f"{r['wall_s']:.2f} s, {twin['wall_s'] / r['wall_s']:.2f}x the speed of {one}.")
    return out


def _slowness(link: str) -> tuple:
    """Sort key, slowest link first: the longer a 1 MB transfer takes in the model."""
    from .perfmodel import link_params

    bw, lat = link_params(link)
    return (-(lat + (1e6 / bw if bw > 0 else 0.0)), link)


def explain(rows: list[dict], arch: Arch) -> str:
    """The conclusions, every sentence from the numbers: which mode wins on which link and
    granularity and by how much, what the explicit modes move per image, and the slowest run.
    Throttled links are explained; the `none` link only when nothing else was run. Several cards
    and CHAOS workers are set against one card and one worker at the end."""
    card = on_one_card(rows)
    if not card:
        return " ".join(["No run on one card: nothing to compare the modes or the cards with."] + several_workers(rows))
    if len({r["mode"] for r in card}) < 2:
        return " ".join(["Only one mode was run: nothing to compare."] + several_cards(rows) + several_workers(rows))
    flops = arch.flops_per_image()
    links = sorted({r["link"] for r in card}, key=_slowness)
    shown = [l for l in links if l != "none"] or ["none"]
    grans = sorted({r["granularity"] for r in card}, key=GRANULARITIES.index)
    sentences, winners = [], []
    for link in shown:
        for g in grans:
            here = sorted((r for r in card if r["link"] == link and r["granularity"] == g), key=lambda r: r["wall_s"])
            if len(here) < 2:
                continue
            best, nxt = here[0], here[1]
            winners.append(best["mode"])
            text = (f"On {link} at {g} granularity {best['mode']} is fastest ({best['wall_s']:.2f} s), "
                    f"{nxt['wall_s'] / best['wall_s']:.2f}x ahead of {nxt['mode']}")
            imp = next((r for r in here if r["mode"] == "implicit"), None)
            if imp is not None and imp is not best:
                text += f"; implicit takes {imp['wall_s'] / best['wall_s']:.2f}x its time"
            sentences.append(text + ".")
            for e in here:
                if e["mode"].startswith("explicit"):
                    bpi = (e["bytes_to_card"] + e["bytes_from_card"]) / max(e["images"], 1)
                    sentences.append(f"{e['mode']} there moves {bpi / 1e3:,.1f} kB per image "
                                     f"({flops / max(bpi, 1):,.0f} FLOP per byte) in {e['wall_s']:.2f} s, its "
                                     f"transfers {e['transfer_s'] / max(e['compute_s'], 1e-9):.0%} of its compute.")
    if winners:
        counts = {m: winners.count(m) for m in dict.fromkeys(winners)}
        if len(counts) == 1:
            sentences.insert(0, f"{winners[0]} wins all {len(winners)} link and granularity combinations shown.")
        else:
            sentences.insert(0, "No mode wins everywhere: " + ", ".join(
                f"{m} wins {k} of {len(winners)}" for m, k in counts.items()) + " link and granularity combinations.")
    slowest = max(card, key=lambda r: r["wall_s"])
    sentences.append(f"The slowest run is {run_name(slowest)} at {slowest['wall_s']:.2f} s.")
    return " ".join(sentences + several_cards(rows) + several_workers(rows))


def quick_dataset() -> Path:
    """A 12,000-row cut of the default dataset, made once: enough to show the effects quickly."""
    from .data import convert, default_dataset

    full = default_dataset()
    quick = full.with_name(full.stem + "-quick.h5")
    if not quick.exists():
        convert(full.stem, quick, limit=12000, chunk_rows=4000, quiet=True)
    return quick


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dnn.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="chunked HDF5 file (default: the default dataset)")
    p.add_argument("--arch", help="layer sizes (default: INPUTS-800-800-CLASSES; --quick: INPUTS-512-CLASSES)")
    p.add_argument("--activation", default="relu")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--modes", default=",".join(MODES),
                   help="implicit-myo: implicit with MYO page coherence (each side its own copy)")
    p.add_argument("--granularity", default="chunk,bunch,op")
    p.add_argument("--links", default="none,knc-pcie", help="link models; a BW_GBs,LAT_us pair counts as one")
    p.add_argument("--threads", type=int, default=1, help="card threads (1: runs must agree bit for bit)")
    p.add_argument("--cards", default="1", help="card counts, e.g. 1,2: each bunch split over that many cards "
                   f"(several cards: {', '.join(CARD_MODES)} only)")
    p.add_argument("--workers", default="", help="CHAOS runs too: worker counts, e.g. 1,2,4 (each in every mode, "
                   "one image per step, on one card)")
    p.add_argument("--bunch", type=int, default=100)
    p.add_argument("--chunk", type=int, help="rows per chunk (default: the file's)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict-link", action="append", default=[],
                   help="predict this link too (pcie3-x16, pcie4-x16, BW_GBs,LAT_us); repeatable")
    p.add_argument("--predict-threads", type=int, help="predict this card thread count (needs a run with it)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run everything this many times; the model's errors are the median (use 3 or more)")
    p.add_argument("--out", help=f"folder for the results (made if its parent exists; default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="a small network on 12,000 rows: under a minute")
    a = p.parse_args(argv)

    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    grans = [g.strip() for g in a.granularity.split(",") if g.strip()]
    links = split_links(a.links)
    cards = parse_cards(a.cards, modes)
    workers = parse_workers(a.workers)
    out = check_out(a.out or DEFAULT_OUT, inputs=[a.data], given=a.out is not None)
    for m in modes:
        if m not in MODES:
            raise DnnValueError(f"unknown mode '{m}' in --modes: use {', '.join(MODES)}")
    for g in grans:
        if g not in GRANULARITIES:
            raise DnnValueError(f"unknown granularity '{g}': use {', '.join(GRANULARITIES)}")
    if a.quick and not a.data:
        a.data = str(quick_dataset())
    if not a.data:
        from .data import default_dataset

        a.data = str(default_dataset())
    from .data import ChunkReader

    with ChunkReader(a.data, "train", shuffle=False, prefetch=False) as probe:
        inputs, classes, shape = probe.input_dim, probe.num_classes, probe.input_shape
        a.chunk = a.chunk or probe.chunk_rows
        chunks_per_epoch = -(-probe.num_rows // a.chunk)
    default_arch = f"{inputs}-512-{classes}" if a.quick else f"{inputs}-800-800-{classes}"
    arch = Arch.parse(a.arch or default_arch, a.activation, data_shape=shape)

    if a.repeat < 1:
        raise DnnValueError(f"--repeat must be at least 1, got {a.repeat}")
    todo = plan(modes, grans, links, cards, workers)
    configs = [config_for(*run, arch, a) for run in todo]
    for cfg in configs:  # every refusal (e.g. a bunch too small for the cards) before the first run
        cfg.validate()
    reps, machines, load = [], [], os.getloadavg()[0]
    for rep in range(a.repeat):
        results = []
        # The bar only where someone watches it: piped or logged, stderr holds errors alone.
        for (mode, g, link, k, n), cfg in tqdm(list(zip(todo, configs)), desc=f"runs ({rep + 1}/{a.repeat})",
                                            unit="run", file=sys.stderr, disable=None):
            m = one_run(cfg, a.data, a.epochs, run_name({"mode": mode, "granularity": g, "link": link, "cards": k,
                                                         "workers": n}))
            m.update(mode=mode, link=link, cards=k, workers=n, test_accuracy=m["test_accuracy"][-1],
                     chunks=chunks_per_epoch * a.epochs)
            results.append(m)
        reps.append(results)
        # The machine's call, copy and MYO fault costs, measured after each repetition's runs (so
        # the first card a run starts is a training card): the model's held-out fits take their
        # median as known (dnn.perfmodel_probe).
        machines.append(measure_machine(a.threads) if any(m != "host" for m in modes) else None)
    results = reps[0]  # the table, plots and conclusions show the first repetition
    host = {r["granularity"]: r["wall_s"] for r in results if r["mode"] == "host" and not r["workers"]}
    base = min(host.values()) if host else results[0]["wall_s"]
    for r in results:
        r["slowdown"] = r["wall_s"] / (host.get("chunk", base) if host else base)

    bunches = [r for r in results if not r["workers"]]
    if a.threads == 1:
        differ = check_identical(bunches)
        identical = identity_text(differ, distance_from_one_card(bunches))
    else:
        differ, identical = [], f"Bit-identity is not checked with {a.threads} card threads."
    one_worker = [r for r in results if r["workers"] == 1]
    if one_worker:  # one CHAOS worker is sequential per-image SGD, whatever the card threads
        chaos_differ = check_identical(one_worker)
        differ += chaos_differ
        identical += (" The one-worker CHAOS runs ended with bit-identical weights." if not chaos_differ else
                      " WEIGHTS DIFFER between one-worker CHAOS runs: " + ", ".join(chaos_differ) + ".")

    model_text, model = model_report(reps, arch, a.predict_link, a.predict_threads, machines, load)
    meta = {"data": a.data, "arch": str(arch), "activation": a.activation, "bunch": a.bunch, "chunk": a.chunk,
            "threads": a.threads, "cards": cards, "workers": workers, "epochs": a.epochs, "seed": a.seed,
            "identical": identical,
            "explanation": explain(results, arch), "model_text": model_text}
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    write_outputs(out, rows, meta, COLUMNS, table(rows))
    print(table(rows))
    if worker_split(rows):
        print("\nimages per card and worker (CHAOS runs):\n" + worker_split(rows))
    print()
    print(identical)
    print(meta["explanation"])
    print(model_text)
    print(f"\nwrote {out}/compare.json, compare.csv, compare.md, split.png, granularity.png")
    if differ:
        raise WeightsDiffer("runs with one card thread on as many cards, and one-worker CHAOS runs, must end with "
                            "identical weights; these differ: " + ", ".join(differ))
    return 0


def one_run(cfg: Config, data: str, epochs: int, name: str) -> dict:
    """One training run; a card that dies ends dnn.compare with advice it can follow (dnn.train's
    advice names --checkpoint, which dnn.compare has not: its runs are short and start afresh)."""
    try:
        return run_training(cfg, data, epochs, quiet=True, keep_trainer=True)
    except CardDiedError as exc:
        # run_training adds dnn.train's advice and raises `from None`: the card's own words are
        # the exception it replaced.
        why = exc.__context__ if isinstance(exc.__context__, CardDiedError) else exc
        raise CardDiedError(f"run {name}: {why}; no results were written; run dnn.compare again, or leave "
                            "that run out with --modes, --granularity, --links, --cards or --workers") from None


def identity_text(differ: list[str], distance: float | None) -> str:
    """What the identity check found; distance: see distance_from_one_card (None: one card count)."""
    if not differ:
        among = "" if distance is None else ", each against the runs on as many cards"
        text = f"All runs ended with bit-identical weights (one card thread{among})."
    else:
        among = "" if distance is None else " on as many cards"
        text = f"WEIGHTS DIFFER from the first run{among} in: " + ", ".join(differ) + "."
    if distance is not None:
        text += (f" Several cards differ from one card by at most {distance:.1e} of the largest weight "
                 "(the rows of a bunch are summed in another grouping: float32 rounding, not an error).")
    return text


if __name__ == "__main__":
    sys.exit(run_cli("dnn.compare", main))
