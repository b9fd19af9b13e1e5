"""python -m dnn.compare — explicit against implicit offload, measured, explained and predicted.

Runs every combination of mode, granularity and link on the same data, seed and network (each
through the same code path as dnn.train), checks that all one-thread runs end with bit-identical
weights, and writes DIR/compare.json, .csv, .md and plots. A performance model fitted on the
`none`-link runs predicts the throttled-link runs (its error is reported) and buses not run.

    python -m dnn.compare --quick                     # under a minute on the default dataset
    python -m dnn.compare --arch 784-800-800-10 --granularity chunk,bunch --links none,knc-pcie
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
from .perfmodel import Model, Run, held_out_errors, mean_abs_error
from .session import run_training
from .trainer import GRANULARITIES, Config

MODES = ("host", "implicit", "implicit-myo", "explicit-copy", "explicit-resident", "explicit-overlap")
COLUMNS = ["mode", "granularity", "link", "wall_s", "compute_s", "transfer_s", "wait_s", "bytes_to_card",
           "bytes_from_card", "offload_calls", "images_per_s", "test_accuracy", "slowdown"]


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


def plan(modes, granularities, links):
    """(mode, granularity, link) to run. Host mode has no card, so it runs once per granularity;
    explicit-overlap (resident weights, the next chunk sent while one trains) is a chunk-granularity mode."""
    runs = []
    for g in granularities:
        for m in modes:
            if m == "explicit-overlap" and g != "chunk":
                continue
            for link in (["-"] if m == "host" else links):
                runs.append((m, g, link))
    return runs


def config_for(mode, granularity, link, arch, a) -> Config:
    base, _, variant = mode.partition("-")
    myo, overlap = variant == "myo", variant == "overlap"
    return Config(arch=arch, mode=base, explicit_weights=variant if variant in ("copy", "resident") else "resident",
                  coherence="myo" if myo else "shared", overlap=overlap, granularity=granularity,
                  bunch=a.bunch, chunk=a.chunk, threads=a.threads, link="none" if link == "-" else link,
                  seed=a.seed, lr=a.lr, momentum=0.9)


def check_identical(results: list[dict]) -> list[str]:
    """Names of runs whose final weights differ from the first run's (empty: all identical)."""
    ref = results[0]["_weights"]
    return [label(r) for r in results[1:] if not np.array_equal(r["_weights"], ref)]


def label(r: dict) -> str:
    return f"{r['mode']}/{r['granularity']}/{r['link']}"


def to_run(r: dict, arch: Arch) -> Run:
    # MYO moves pages: each on-demand page is one transfer on the link (their bytes are in the
    # totals already); its copies' real time is the coherence time.
    pages = r.get("myo_pages_to_card", 0) + r.get("myo_pages_from_card", 0)
    return Run(arch=r["arch"], threads=r["threads"], flops=arch.flops_per_image() * r["images"],
               calls=r["offload_calls"], chunks=r["chunks"], transfers=r["transfers"] + pages,
               bytes=r["bytes_to_card"] + r["bytes_from_card"], wall_s=r["wall_s"],
               compute_s=r["compute_s"], transfer_real_s=r["transfer_real_s"] + r.get("coherence_s", 0.0),
               link=r["link"] if r["link"] != "-" else "none", mode=r["mode"], granularity=r["granularity"],
               overlap=r["mode"] == "explicit-overlap", faults=r.get("myo_faults_card", 0))


def _slowness(link: str) -> tuple:
    """Sort key, slowest link first: the longer a 1 MB transfer takes in the model."""
    from .perfmodel import link_params

    bw, lat = link_params(link)
    return (-(lat + (1e6 / bw if bw > 0 else 0.0)), link)


def explain(rows: list[dict], arch: Arch) -> str:
    """The conclusions, every sentence from the numbers: which mode wins on which link and
    granularity and by how much, what the explicit modes move per image, and the slowest run.
    Throttled links are explained; the `none` link only when nothing else was run."""
    card = [r for r in rows if r["mode"] != "host"]
    if len({r["mode"] for r in card}) < 2:
        return "Only one mode was run: nothing to compare."
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
                    share = (f", its transfers {e['transfer_s'] / e['compute_s']:.0%} of its compute"
                             if e.get("compute_s") and "transfer_s" in e else "")
                    sentences.append(f"{e['mode']} there moves {bpi / 1e3:,.1f} kB per image "
                                     f"({flops / max(bpi, 1):,.0f} FLOP per byte) in {e['wall_s']:.2f} s{share}.")
    if winners:
        counts = {m: winners.count(m) for m in dict.fromkeys(winners)}
        if len(counts) == 1:
            sentences.insert(0, f"{winners[0]} wins all {len(winners)} link and granularity combinations shown.")
        else:
            sentences.insert(0, "No mode wins everywhere: " + ", ".join(
                f"{m} wins {k} of {len(winners)}" for m, k in counts.items()) + " link and granularity combinations.")
    slowest = max(card, key=lambda r: r["wall_s"])
    sentences.append(f"The slowest run is {label(slowest)} at {slowest['wall_s']:.2f} s.")
    return " ".join(sentences)


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
    """Transfer time and bytes are totals, MYO page traffic included; its share follows in brackets."""
    head = ("| mode | granularity | link | wall s | compute s | transfer s | host wait s | MB to card | MB from card | "
            "calls | images/s | test acc | vs host |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['granularity']} | {r['link']} | {r['wall_s']:.2f} | {r['compute_s']:.2f} | "
                     f"{r['transfer_s']:.3f}{_myo_share(r, 'myo_transfer_s', 1, '.3f')} | {r['wait_s']:.2f} | "
                     f"{r['bytes_to_card'] / 1e6:,.1f}{_myo_share(r, 'myo_bytes_to_card', 1e6, ',.1f')} | "
                     f"{r['bytes_from_card'] / 1e6:,.1f}{_myo_share(r, 'myo_bytes_from_card', 1e6, ',.1f')} | "
                     f"{r['offload_calls']:,} | {r['images_per_s']:,.0f} | {r['test_accuracy']:.4f} | "
                     f"{r['slowdown']:.2f}x |")
    return "\n".join(lines)


def _myo_share(r: dict, key: str, unit: float, fmt: str) -> str:
    """' (MYO x)' when the run moved MYO pages, else nothing."""
    return f" (MYO {r[key] / unit:{fmt}})" if key in r else ""


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
               for r in rows if r["mode"] == mode and r["link"] == link]
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
    p.add_argument("--repeat", type=int, default=1,
                   help="run everything this many times; the model's errors are the median (use 3 or more)")
    p.add_argument("--out", default="out/compare")
    p.add_argument("--quick", action="store_true", help="a small network on 12,000 rows: under a minute")
    a = p.parse_args(argv)

    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    grans = [g.strip() for g in a.granularity.split(",") if g.strip()]
    links = split_links(a.links)
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
    todo = plan(modes, grans, links)
    reps = []
    for rep in range(a.repeat):
        results = []
        for mode, g, link in tqdm(todo, desc=f"runs ({rep + 1}/{a.repeat})", unit="run", file=sys.stderr):
            cfg = config_for(mode, g, link, arch, a)
            m = run_training(cfg, a.data, a.epochs, quiet=True, keep_trainer=True)
            m.update(mode=mode, link=link, test_accuracy=m["test_accuracy"][-1], chunks=chunks_per_epoch * a.epochs)
            results.append(m)
        reps.append(results)
    results = reps[0]  # the table, plots and conclusions show the first repetition
    host = {r["granularity"]: r["wall_s"] for r in results if r["mode"] == "host"}
    base = min(host.values()) if host else results[0]["wall_s"]
    for r in results:
        r["slowdown"] = r["wall_s"] / (host.get("chunk", base) if host else base)

    if a.threads == 1:
        differ = check_identical(results)
        identical = ("All runs ended with bit-identical weights (one card thread)." if not differ else
                     "WEIGHTS DIFFER from the first run in: " + ", ".join(differ))
    else:
        differ, identical = [], f"Bit-identity is not checked with {a.threads} card threads."

    model_text, model = model_report(reps, arch, a.predict_link, a.predict_threads)
    meta = {"data": a.data, "arch": str(arch), "activation": a.activation, "bunch": a.bunch, "chunk": a.chunk,
            "threads": a.threads, "epochs": a.epochs, "seed": a.seed, "identical": identical,
            "explanation": explain(results, arch), "model_text": model_text}
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


def model_report(reps, arch, predict_links, predict_threads):
    """The model's text: its fit, its error on the throttled runs beside the naive twin guess, and
    its error on held-out configurations beside the naive baseline, as the median over the
    repetitions `reps` (each a list of result rows)."""
    results = reps[0]
    runs = [to_run(r, arch) for r in results if r["mode"] != "host"]
    fit_on = [r for r in runs if r.link == "none"]
    if not fit_on:
        return "No none-link runs to fit the model on.", None
    model = Model.fit(fit_on)
    lines = [f"Fitted on {len(fit_on)} none-link runs: call overhead {model.call_s * 1e6:.1f} us, per-chunk host "
             f"time {model.chunk_s * 1e3:.2f} ms, channel copies {model.copy_fixed_s * 1e6:.1f} us per array + "
             f"{model.copy_bps / 1e9:.2f} GB/s, compute "
             + ", ".join(f"{rate / 1e9:.1f} GFLOP/s ({m}/{g}, {t} thr)" for (_, t, m, g), rate in model.rate.items()) + "."]
    n = len(reps)
    twins = [_twin_errors(rep, arch) for rep in reps]
    twins = [t for t in twins if t]
    if twins:
        model_err, naive_err = np.median([t[0] for t in twins]), np.median([t[1] for t in twins])
        lines.append(f"Throttled-link runs predicted from their own none-link twins (median of {len(twins)}): mean "
                     f"absolute error {100 * model_err:.1f}% of wall time, naive 'same time as the twin' "
                     f"{100 * naive_err:.1f}%. The twin gives each run its compute rate, so this tests the link term only.")
    held = [held_out_errors([to_run(r, arch) for r in rep if r["mode"] != "host"]) for rep in reps]
    if held and held[0]:
        lines.append(f"\nHeld-out configurations (all runs of one granularity, mode or network left out of the fit and "
                     f"predicted), median of {n} repetition(s):")
        for k, row in enumerate(held[0]):
            m_err = np.median([h[k]["model"] for h in held if k < len(h)])
            b_err = np.median([h[k]["naive"] for h in held if k < len(h)])
            lines.append(f"- {row['held_out']} ({row['runs']} runs): model {100 * m_err:.1f}%, naive {100 * b_err:.1f}%")
        m_all = np.median([np.mean([x["model"] for x in h]) for h in held if h])
        b_all = np.median([np.mean([x["naive"] for x in h]) for h in held if h])
        verdict = ("meets the goal (at most 10% and below the naive baseline)" if m_all <= 0.10 and m_all < b_all else
                   "does NOT meet the goal of at most 10% and clearly below the naive baseline")
        lines.append(f"Held-out mean absolute error: model {100 * m_all:.1f}%, naive {100 * b_all:.1f}%: the model "
                     f"{verdict}.")
    elif fit_on:
        lines.append("No held-out configuration: run at least two granularities or modes to test the model.")
    for link in predict_links:
        lines.append(f"\nPredicted on {link}:")
        for r, res in zip(runs, [x for x in results if x["mode"] != "host"]):
            if r.link != "none":
                continue
            pr = model.predict(r, link=link, threads=predict_threads)
            lines.append(f"- {res['mode']}/{res['granularity']}: {pr['wall_s']:.2f} s (compute {pr['compute_s']:.2f}, "
                         f"transfer {pr['transfer_s']:.2f}, calls/host {pr['overhead_s']:.2f})")
    return "\n".join(lines), model


def _twin_errors(results, arch):
    """(model, naive) mean absolute error on the throttled runs of one repetition, the model
    fitted on its none-link runs; None when there are none."""
    runs = [to_run(r, arch) for r in results if r["mode"] != "host"]
    fit_on = [r for r in runs if r.link == "none"]
    twin = {(r.mode, r.granularity): r for r in fit_on}
    check = [r for r in runs if r.link != "none" and (r.mode, r.granularity) in twin]
    if not (fit_on and check):
        return None
    naive = float(np.mean([abs(twin[(r.mode, r.granularity)].wall_s - r.wall_s) / r.wall_s for r in check]))
    return mean_abs_error(Model.fit(fit_on), check), naive


if __name__ == "__main__":
    sys.exit(run_cli("dnn.compare", main))
