"""What dnn.compare writes: DIR/compare.json, .csv, .md (with its table) and two plots, every one
checked before any run starts (so a bad --out costs nothing) and written through dnn.outputs'
atomic writers (so a failing disk leaves the previous file whole and no half-written one)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from .outputs import OutputError, atomic_path, check_output, describe_os_error, write_bytes, write_json
from .trainer import GRANULARITIES

FILES = ("compare.json", "compare.csv", "compare.md", "split.png", "granularity.png")


def check_out(out: str, inputs=(), given: bool = True) -> Path:
    """--out DIR can take every file, or OutputError (one line, exit 2) before any work. DIR itself
    may be missing (it is made when the results are written); its parent may not when the user
    named DIR (a typo in it should not grow folders), but may when DIR is the default."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {out}: is a file, and --out names a folder for {len(FILES)} files; "
                          "give a folder name")
    if not folder.exists():
        parent = folder.parent
        while not given and not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist"
            raise OutputError(f"--out {out}: {parent} {what}; create the folder first (mkdir -p {folder.parent}) "
                              "or write to another folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"--out {out}: folder {parent} is not writable, so {folder} cannot be made "
                              "there; choose another place")
        return folder
    for name in FILES:
        check_output(folder / name, "--out", inputs=inputs)
    return folder


def write_outputs(out: Path, rows: list[dict], meta: dict, columns: list[str], table: str) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(out, exc, "folder")) from None
    write_json(out / "compare.json", {"meta": meta, "runs": rows}, "comparison")
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    write_bytes(out / "compare.csv", text.getvalue().encode(), "table")
    md = ["# dnn.compare", "", f"Data `{meta['data']}`, network {meta['arch']} ({meta['activation']}), bunch "
          f"{meta['bunch']}, chunk {meta['chunk']}, {meta['threads']} card thread(s), {meta['epochs']} epoch(s), "
          f"seed {meta['seed']}.", "", table, "", meta["identical"], "", "## Why", "", meta["explanation"], "",
          "## Performance model", "", meta["model_text"], "", "![time split](split.png)", "",
          "![granularity](granularity.png)", ""]
    split = worker_split(rows)
    if split:
        md[md.index("## Why"):md.index("## Why")] = ["## Images per card and worker (CHAOS runs)", "", split, ""]
    write_bytes(out / "compare.md", "\n".join(md).encode(), "report")
    plots(out, rows)


def table(rows: list[dict]) -> str:
    """Transfer time and bytes are totals, MYO page traffic included; its share follows in brackets.
    The workers column only when CHAOS runs were asked for: without them it would be all dashes."""
    chaos = any(r.get("workers") for r in rows)
    head = (f"| mode | granularity |{' workers |' if chaos else ''} link | cards | wall s | compute s | transfer s | "
            "host wait s | MB to card | MB from card | calls | images/s | test acc | vs host |")
    lines = [head, "|" + "---|" * (15 if chaos else 14)]
    for r in rows:
        workers = f" {r.get('workers') or '-'} |" if chaos else ""
        lines.append(f"| {r['mode']} | {r['granularity']} |{workers} {r['link']} | {r.get('cards', 1)} | "
                     f"{r['wall_s']:.2f} | "
                     f"{r['compute_s']:.2f} | "
                     f"{r['transfer_s']:.3f}{_myo_share(r, 'myo_transfer_s', 1, '.3f')} | {r['wait_s']:.2f} | "
                     f"{r['bytes_to_card'] / 1e6:,.1f}{_myo_share(r, 'myo_bytes_to_card', 1e6, ',.1f')} | "
                     f"{r['bytes_from_card'] / 1e6:,.1f}{_myo_share(r, 'myo_bytes_from_card', 1e6, ',.1f')} | "
                     f"{r['offload_calls']:,} | {r['images_per_s']:,.0f} | {r['test_accuracy']:.4f} | "
                     f"{r['slowdown']:.2f}x |")
    return "\n".join(lines)


def worker_split(rows: list[dict]) -> str:
    """A line per CHAOS run: the training images each worker took, card by card (the dynamic split
    within a card, the even split over the cards); '' without CHAOS runs."""
    lines = []
    for r in rows:
        per_card = r.get("worker_images_per_card")
        if per_card:
            cards = "; ".join(f"card {k}: {' '.join(map(str, card))}" for k, card in enumerate(per_card))
            lines.append(f"* {run_name(r)}: {cards}")
    return "\n".join(lines)


def _myo_share(r: dict, key: str, unit: float, fmt: str) -> str:
    """' (MYO x)' when the run moved MYO pages, else nothing."""
    return f" (MYO {r[key] / unit:{fmt}})" if key in r else ""


def run_name(r: dict, sep: str = "/") -> str:
    """mode/granularity/link, and the card count when the run used several cards, the worker count
    when it was a CHAOS run."""
    cards, workers = r.get("cards", 1), r.get("workers", 0)
    return sep.join([r["mode"], r["granularity"], r["link"]] + ([f"{cards} cards"] if cards > 1 else [])
                    + ([f"{workers} workers"] if workers else []))


def _save(fig, path: Path) -> None:
    with atomic_path(path, "plot") as tmp:
        fig.savefig(tmp, dpi=100, format="png")  # the temporary's name does not end in .png


def plots(out: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [run_name(r, "\n") for r in rows]
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
    _save(fig, out / "split.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    bunches = [r for r in rows if not r.get("workers")]  # CHAOS runs have one granularity: nothing to plot
    for (mode, link, cards) in sorted({(r["mode"], r["link"], r.get("cards", 1)) for r in bunches}):
        pts = [(GRANULARITIES.index(r["granularity"]), r["wall_s"] / max(r["epochs"], 1))
               for r in bunches if r["mode"] == mode and r["link"] == link and r.get("cards", 1) == cards]
        pts.sort()
        name = f"{mode} ({link}{f', {cards} cards' if cards > 1 else ''})"
        ax.plot([GRANULARITIES[p[0]] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch")
    ax.set_xlabel("offload granularity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "granularity.png")
    plt.close(fig)
