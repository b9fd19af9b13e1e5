"""python -m dnn.compare — explicit against implicit offload, measured, explained and predicted.

Runs every combination of mode, granularity and link on the same data, seed and network (each
through the same code path as dnn.train), checks that all one-thread runs end with bit-identical
weights, and writes DIR/compare.json, .csv, .md and plots. A performance model fitted on the
`none`-link runs predicts the throttled-link runs (its error is reported) and buses not run.

    python -m dnn.compare --quick                     # under a minute on the default dataset
    python -m dnn.compare --arch 784-800-800-10 --granularity chunk,bunch --links none,knc-pcie
    python -m dnn.compare --quick --workers 1,2,4     # and CHAOS runs: workers x mode, one image per step

CHAOS runs (--workers) train image by image with that many workers sharing the weights (dnn/workers.py);
their one-worker runs must agree bit for bit with each other, and they stay out of the performance
model and the granularity plot, which are about bunches.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cli import run_cli
from .errors import DnnError, DnnValueError
from .network import Arch
from .perfmodel import Model, Run, mean_abs_error
from .session import run_training
from .trainer import GRANULARITIES, Config

MODES = ("host", "implicit", "implicit-myo", "explicit-copy", "explicit-resident", "explicit-overlap")
COLUMNS = ["mode", "granularity", "link", "wall_s", "compute_s", "transfer_s", "wait_s", "bytes_to_card",
           "bytes_from_card", "offload_calls", "images_per_s", "test_accuracy", "slowdown", "workers"]


class WeightsDiffer(DnnError, RuntimeError):
    """Runs that must agree bit for bit did not."""


def split_links(text: str) -> list[str]:
    """--links "none,knc-pcie,1,12": names, and BW_GBs,LAT_us pairs kept together."""
    def number(t):
        try:
            float(t)
            return True
        except ValueError:
            return False

    toks, out, i = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()], [], 0
    while i < len(toks):
        if number(toks[i]) and i + 1 < len(toks) and number(toks[i + 1]):
            out.append(f"{toks[i]},{toks[i + 1]}")
            i += 2
        else:
            out.append(toks[i])
            i += 1
    return out


def plan(modes, granularities, links, workers=()):
    """(mode, granularity, link, workers) to run. Host mode has no card, so it runs once per granularity;
    explicit-overlap (resident weights, the next chunk sent while one trains) is a chunk-granularity mode.
    Each CHAOS worker count runs once per mode and link, at chunk granularity."""
    runs = []
    for g in granularities:
        for m in modes:
            if m == "explicit-overlap" and g != "chunk":
                continue
            for link in (["-"] if m == "host" else links):
                runs.append((m, g, link, 0))
    for n in workers:
        for m in modes:
            for link in (["-"] if m == "host" else links):
                runs.append((m, "chunk", link, n))
    return runs


def config_for(mode, granularity, link, arch, a, workers=0) -> Config:
    base, _, variant = mode.partition("-")
    myo, overlap = variant == "myo", variant == "overlap"
    return Config(arch=arch, mode=base, explicit_weights=variant if variant in ("copy", "resident") else "resident",
                  coherence="myo" if myo else "shared", overlap=overlap, granularity=granularity,
                  bunch=1 if workers else a.bunch, chunk=a.chunk, threads=a.threads,
                  link="none" if link == "-" else link, seed=a.seed, lr=a.lr, momentum=0.9, workers=workers)


def check_identical(results: list[dict]) -> list[str]:
    """Names of runs whose final weights differ from the first run's (empty: all identical)."""
    ref = results[0]["_weights"]
    return [label(r) for r in results[1:] if not np.array_equal(r["_weights"], ref)]


def label(r: dict) -> str:
    chaos = f"/{r['workers']} workers" if r.get("workers") else ""
    return f"{r['mode']}/{r['granularity']}{chaos}/{r['link']}"


def to_run(r: dict, arch: Arch) -> Run:
    # MYO moves pages: each on-demand page is one transfer on the link; its copies' real time is
    # the coherence time.
    pages = r.get("myo_pages_to_card", 0) + r.get("myo_pages_from_card", 0)
    return Run(arch=r["arch"], threads=r["threads"], flops=arch.flops_per_image() * r["images"],
               calls=r["offload_calls"], chunks=r["chunks"], transfers=r["transfers"] + pages,
               bytes=r["bytes_to_card"] + r["bytes_from_card"] + 4096 * pages, wall_s=r["wall_s"],
               compute_s=r["compute_s"], transfer_real_s=r["transfer_real_s"] + r.get("coherence_s", 0.0),
               link=r["link"] if r["link"] != "-" else "none", mode=r["mode"], granularity=r["granularity"],
               overlap=r["mode"] == "explicit-overlap")


def explain(rows: list[dict], arch: Arch) -> str:
    """One paragraph, from the numbers, on which model wins where and why."""
    by = {(r["mode"], r["granularity"], r["link"]): r for r in rows}
    parts = []
    flops = arch.flops_per_image()
    for g in sorted({r["granularity"] for r in rows}, key=GRANULARITIES.index):
        for link in [l for l in ("knc-pcie",) if any(r["link"] == l for r in rows)] or \
                sorted({r["link"] for r in rows if r["link"] != "-"})[-1:]:
            i = by.get(("implicit", g, link))
            for pol in ("explicit-copy", "explicit-resident", "explicit-overlap"):
                e = by.get((pol, g, link))
                if not (i and e):
                    continue
                bpi = (e["bytes_to_card"] + e["bytes_from_card"]) / max(e["images"], 1)
                parts.append(f"{pol} at {g} granularity on {link}: {e['wall_s'] / i['wall_s']:.2f}x implicit's time, "
                             f"{bpi / 1e3:,.1f} kB per image, {flops / max(bpi, 1):,.0f} FLOP per byte")
    if not parts:
        return "Only one mode was run: nothing to compare."
    return (f"Implicit offload moves no bytes: its time is the card's compute ({flops / 1e6:,.1f} MFLOP per image) "
            "plus a fixed cost per call, so it wins everywhere and loses ground only as calls multiply at finer "
            "granularity. Explicit offload pays for every byte: " + "; ".join(parts) + ". Copying every array on "
            "every call multiplies the bytes by the number of calls, so explicit-copy falls furthest behind at op "
            "granularity; with resident weights only each chunk's data moves, and the fewer FLOPs a byte carries "
            "the less of its transfer the compute can hide. explicit-overlap hides it: the next chunk crosses on the "
            "card's DMA lane while this one trains, so only each epoch's first chunk waits for the link.")


def write_outputs(out: Path, rows: list[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    with open(out / "compare.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    md = ["# dnn.compare", "", f"Data `{meta['data']}`, network {meta['arch']} ({meta['activation']}), bunch "
          f"{meta['bunch']}, chunk {meta['chunk']}, {meta['threads']} card thread(s), {meta['epochs']} epoch(s), "
          f"seed {meta['seed']}.", "", table(rows), "", meta["identical"], "", "## Why", "", meta["explanation"], "",
          "## Performance model", "", meta["model_text"], "", "![time split](split.png)", "",
          "![granularity](granularity.png)", ""]
    (out / "compare.md").write_text("\n".join(md))
    plots(out, rows)


def table(rows: list[dict]) -> str:
    head = ("| mode | granularity | workers | link | wall s | compute s | transfer s | host wait s | MB to card | MB from card | "
            "calls | images/s | test acc | vs host |")
    lines = [head, "|" + "---|" * 14]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['granularity']} | {r.get('workers') or '-'} | {r['link']} | {r['wall_s']:.2f} | {r['compute_s']:.2f} | "
                     f"{r['transfer_s']:.3f} | {r['wait_s']:.2f} | {r['bytes_to_card'] / 1e6:,.1f} | "
                     f"{r['bytes_from_card'] / 1e6:,.1f} | {r['offload_calls']:,} | {r['images_per_s']:,.0f} | "
                     f"{r['test_accuracy']:.4f} | {r['slowdown']:.2f}x |")
    return "\n".join(lines)


def plots(out: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['mode']}\n{r['granularity']}\n{r['link']}" for r in rows]
    compute = np.array([r["compute_s"] for r in rows])
    transfer = np.array([r["transfer_s"] for r in rows])
    wait = np.array([max(r["wall_s"] - r["compute_s"] - r["transfer_s"], 0.0) for r in rows])
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(rows)), 5))
    x = np.arange(len(rows))
    ax.bar(x, compute, label="card compute")
    ax.bar(x, transfer, bottom=compute, label="transfer")
    ax.bar(x, wait, bottom=compute + transfer, label="other (calls, host)")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("seconds")
    ax.set_title("Where the time goes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "split.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (mode, link) in sorted({(r["mode"], r["link"]) for r in rows}):
        pts = [(GRANULARITIES.index(r["granularity"]), r["wall_s"] / max(r["epochs"], 1))
               for r in rows if r["mode"] == mode and r["link"] == link and not r.get("workers")]
        pts.sort()
        ax.plot([GRANULARITIES[p[0]] for p in pts], [p[1] for p in pts], marker="o", label=f"{mode} ({link})")
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch")
    ax.set_xlabel("offload granularity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "granularity.png", dpi=100)
    plt.close(fig)


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
    p.add_argument("--bunch", type=int, default=100)
    p.add_argument("--chunk", type=int, help="rows per chunk (default: the file's)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict-link", action="append", default=[],
                   help="predict this link too (pcie3-x16, pcie4-x16, BW_GBs,LAT_us); repeatable")
    p.add_argument("--predict-threads", type=int, help="predict this card thread count (needs a run with it)")
    p.add_argument("--workers", default="",
                   help="CHAOS runs too: worker counts, e.g. 1,2,4 (each in every mode, one image per step)")
    p.add_argument("--out", default="out/compare")
    p.add_argument("--quick", action="store_true", help="a small network on 12,000 rows: under a minute")
    a = p.parse_args(argv)

    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    grans = [g.strip() for g in a.granularity.split(",") if g.strip()]
    links = split_links(a.links)
    try:
        workers = [int(w) for w in a.workers.split(",") if w.strip()]
    except ValueError:
        workers = [0]
    if any(w < 1 for w in workers):
        raise DnnValueError(f"--workers takes positive worker counts joined by ',', got '{a.workers}'")
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
        inputs, classes = probe.input_dim, probe.num_classes
        a.chunk = a.chunk or probe.chunk_rows
        chunks_per_epoch = -(-probe.num_rows // a.chunk)
    default_arch = f"{inputs}-512-{classes}" if a.quick else f"{inputs}-800-800-{classes}"
    arch = Arch.parse(a.arch or default_arch, a.activation)

    todo = plan(modes, grans, links, workers)
    results = []
    for mode, g, link, n in tqdm(todo, desc="runs", unit="run", file=sys.stderr):
        cfg = config_for(mode, g, link, arch, a, n)
        m = run_training(cfg, a.data, a.epochs, quiet=True, keep_trainer=True)
        m.update(mode=mode, link=link, test_accuracy=m["test_accuracy"][-1], chunks=chunks_per_epoch * a.epochs)
        results.append(m)
    host = {r["granularity"]: r["wall_s"] for r in results if r["mode"] == "host" and not r["workers"]}
    base = min(host.values()) if host else results[0]["wall_s"]
    for r in results:
        r["slowdown"] = r["wall_s"] / (host.get("chunk", base) if host else base)

    bunches = [r for r in results if not r["workers"]]
    if a.threads == 1 and bunches:
        differ = check_identical(bunches)
        identical = ("All runs ended with bit-identical weights (one card thread)." if not differ else
                     "WEIGHTS DIFFER from the first run in: " + ", ".join(differ))
    else:
        differ, identical = [], f"Bit-identity is not checked with {a.threads} card threads."
    one_worker = [r for r in results if r["workers"] == 1]
    if one_worker:  # one CHAOS worker is sequential per-image SGD, whatever the threads
        differ += check_identical(one_worker)
        identical += (" The one-worker CHAOS runs ended with bit-identical weights." if not differ else
                      " WEIGHTS DIFFER between one-worker CHAOS runs: " + ", ".join(differ))

    model_text, model = model_report(results, arch, a.predict_link, a.predict_threads)
    meta = {"data": a.data, "arch": str(arch), "activation": a.activation, "bunch": a.bunch, "chunk": a.chunk,
            "threads": a.threads, "epochs": a.epochs, "seed": a.seed, "identical": identical,
            "explanation": explain([r for r in results if not r["workers"]], arch), "model_text": model_text}
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    write_outputs(Path(a.out), rows, meta)
    print(table(rows))
    print()
    print(identical)
    print(meta["explanation"])
    print(model_text)
    print(f"\nwrote {a.out}/compare.json, compare.csv, compare.md, split.png, granularity.png")
    if differ:
        raise WeightsDiffer("runs with one card thread must end with identical weights; these differ: "
                            + ", ".join(differ))
    return 0


def model_report(results, arch, predict_links, predict_threads):
    results = [r for r in results if not r["workers"]]
    runs = [to_run(r, arch) for r in results if r["mode"] != "host"]
    fit_on = [r for r in runs if r.link == "none"]
    check = [r for r in runs if r.link != "none"]
    if not fit_on:
        return "No none-link runs to fit the model on.", None
    model = Model.fit(fit_on)
    lines = [f"Fitted on {len(fit_on)} none-link runs: call overhead {model.call_s * 1e6:.1f} us, per-chunk host "
             f"time {model.chunk_s * 1e3:.2f} ms, channel copies {model.copy_fixed_s * 1e6:.1f} us per array + "
             f"{model.copy_bps / 1e9:.2f} GB/s, compute "
             + ", ".join(f"{rate / 1e9:.1f} GFLOP/s ({m}/{g}, {t} thr)" for (_, t, m, g), rate in model.rate.items()) + "."]
    if check:
        err = mean_abs_error(model, check)
        lines.append(f"Predicting the {len(check)} throttled-link runs from that fit: mean absolute error "
                     f"{100 * err:.1f}% of wall time (target 15%).")
    for link in predict_links:
        lines.append(f"\nPredicted on {link}:")
        for r, res in zip(runs, [x for x in results if x["mode"] != "host"]):
            if r.link != "none":
                continue
            pr = model.predict(r, link=link, threads=predict_threads)
            lines.append(f"- {res['mode']}/{res['granularity']}: {pr['wall_s']:.2f} s (compute {pr['compute_s']:.2f}, "
                         f"transfer {pr['transfer_s']:.2f}, calls/host {pr['overhead_s']:.2f})")
    return "\n".join(lines), model


if __name__ == "__main__":
    sys.exit(run_cli("dnn.compare", main))
