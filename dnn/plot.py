"""python -m dnn.plot — loss and accuracy per epoch (train and test) from a metrics JSON, as a PNG.

    python -m dnn.train --epochs 5 --metrics run.json      # or: --plot run.png directly
    python -m dnn.plot run.json --out run.png

Also draws confusion matrices for `dnn.evaluate --confusion-png`. Matplotlib with the Agg
backend: no display needed. Only drawing happens here; every number comes from the card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .cli import run_cli
from .errors import DnnValueError, no_such_file

CURVES = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_output_path(path: str | Path, option: str, suffix: str, kind: str) -> Path:
    """A path a `kind` file ending in `suffix` can be written to, or an error that says what to
    type instead (shared by the commands that write files: plots, exported models)."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise DnnValueError(f"{option} {path}: the output is {kind}, give a name ending in {suffix}, "
                            f"e.g. {option} {path.with_suffix(suffix).name}")
    if not path.parent.is_dir():
        raise DnnValueError(f"{option} {path}: folder {path.parent} does not exist; create it first "
                            f"(mkdir -p {path.parent}) or write to another folder")
    return path


def check_png_path(path: str | Path, option: str) -> Path:
    return check_output_path(path, option, ".png", "a PNG image")


def plot_metrics(metrics: dict, out: str | Path, title: str | None = None) -> Path:
    """Two panels, loss and accuracy against epoch, train and test curves. Returns `out`."""
    out = check_png_path(out, "--out")
    if not any(metrics.get(k) for k in CURVES):
        raise DnnValueError("the metrics hold no per-epoch values (train_loss, test_accuracy, ...): write them "
                            "with 'python -m dnn.train --metrics run.json' and plot that file")
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        for split, style in (("train", "o-"), ("test", "s--")):
            values = metrics.get(f"{split}_{what}") or []
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.set_title(what)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title is None:
        parts = [metrics.get("arch"), metrics.get("activation"), metrics.get("mode")]
        title = " ".join(str(p) for p in parts if p)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_confusion(confusion, out: str | Path, class_names=None, title: str = "confusion matrix") -> Path:
    """Counts of (true class, predicted class) as an image with the numbers written in."""
    out = check_png_path(out, "--confusion-png")
    cm = np.asarray(confusion)
    c = cm.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(c)]
    plt = _pyplot()
    size = max(4.0, min(0.6 * c + 2, 14.0))
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=100)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(c), names, rotation=45, ha="right")
    ax.set_yticks(range(c), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if c <= 20:
        hi = cm.max() if cm.size else 0
        for i in range(c):
            for j in range(c):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if hi and cm[i, j] > hi / 2 else "black")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def load_metrics(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DnnValueError(no_such_file(path, "metrics file", f"python -m dnn.train --metrics {path}"))
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DnnValueError(f"{path}: not a metrics JSON file ({exc}); give the file written by "
                            "'python -m dnn.train --metrics FILE.json'") from None
    if not isinstance(m, dict):
        raise DnnValueError(f"{path}: not a metrics JSON file (expected an object with train_loss, ...)")
    return m


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dnn.plot",
                                description="Plot loss and accuracy per epoch, train and test, from the JSON "
                                            "that 'python -m dnn.train --metrics FILE.json' writes.")
    p.add_argument("metrics", metavar="METRICS.json")
    p.add_argument("--out", metavar="PNG", help="image to write (default: METRICS with .png)")
    p.add_argument("--title", help="title above the plots (default: arch, activation, mode)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    metrics = load_metrics(args.metrics)
    out = Path(args.out) if args.out else Path(args.metrics).with_suffix(".png")
    plot_metrics(metrics, out, args.title)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("dnn.plot", main))
