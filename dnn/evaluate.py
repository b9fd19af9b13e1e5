"""python -m dnn.evaluate — how good is a trained network? Loss, accuracy, per-class precision and
recall and a confusion matrix for one split of a dataset; `--predict N` shows the top-3 classes of
the first N images.

    python -m dnn.evaluate --checkpoint run.h5
    python -m dnn.evaluate --checkpoint run.h5 --data data/fashion-mnist.h5 --split test --confusion-png cm.png
    python -m dnn.evaluate --checkpoint run.h5 --predict 5

Everything is computed by the card's evaluation kernel (DNN_EVAL_CHUNK, through dnn.trainer and
dnn.session), in host, implicit or explicit mode: the same forward pass and softmax as training.
Python only counts: precision and recall are read off the kernel's confusion counts, and the
probabilities of --predict are the softmax the kernel leaves in the last layer's activations.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoint as ckpt
from .cli import run_cli
from .errors import DataError, DnnValueError
from .inputs import refuse_special
from .network import Arch
from .outputs import check_output, write_json
from .trainer import MODES, Config, Trainer

TOP = 3


@dataclass
class Model:
    """A checkpoint's network, ready to run on the card."""

    ck: ckpt.Checkpoint
    arch: Arch
    path: Path


def load_model(path: str | Path) -> Model:
    """Read a checkpoint; errors say how to get a usable one."""
    path = Path(path)
    if not path.exists():
        raise ckpt.CheckpointError(f"checkpoint {path} does not exist; train one with "
                                   f"'python -m dnn.train --checkpoint {path}'")
    refuse_special(path, ckpt.CheckpointError, "checkpoint")
    try:
        ck = ckpt.load(path)
    except ckpt.CheckpointError as exc:  # its advice is for --resume; here another file is the fix
        msg = str(exc).replace("use an earlier one or start again without --resume",
                               "give a checkpoint written by 'python -m dnn.train --checkpoint FILE.h5'")
        raise ckpt.CheckpointError(msg) from None
    return Model(ck, Arch.parse(ck.arch, ck.activation), path)


def make_trainer(model: Model, reader, mode: str = "implicit", threads: int = 1) -> Trainer:
    """A Trainer built from the checkpoint's arch, activation and bunch, holding its weights."""
    arch, ck = model.arch, model.ck
    if arch.cnn:
        arch = arch.for_data(reader.input_shape)
    if arch.inputs != reader.input_dim or arch.sizes[-1] != reader.num_classes:
        raise DataError(f"checkpoint {model.path} is a {arch} network ({arch.inputs} inputs, {arch.sizes[-1]} "
                        f"classes) but {reader.path} has {reader.input_dim} inputs and {reader.num_classes} "
                        f"classes; pass the dataset it was trained on with --data FILE.h5")
    cfg = Config(arch=arch, mode=mode, bunch=ck.bunch, chunk=reader.chunk_rows, threads=threads,
                 seed=ck.seed)
    trainer = Trainer(cfg, reader.input_dim, reader.num_classes)
    params = trainer.net.blocks["params"]
    if params.shape != ck.params.shape:
        trainer.close()
        raise ckpt.CheckpointError(f"checkpoint {model.path} holds {ck.params.size:,} parameters but a {arch} "
                                   f"network has {params.size:,}; the file is damaged, use another checkpoint")
    params[...] = ck.params
    return trainer


def open_reader(data, split: str, bunch: int):
    from .data import ChunkReader

    if data is None:
        from .data import default_dataset

        data = default_dataset(quiet=True)
    probe = ChunkReader(data, split, shuffle=False, prefetch=False)
    rows = max(probe.file_chunk_rows, bunch)
    if rows == probe.chunk_rows:
        return probe
    probe.close()
    return ChunkReader(data, split, chunk_rows=rows, shuffle=False, prefetch=False)


# ---- scores ---------------------------------------------------------------------------------


def per_class(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and support per class from counts[true, predicted] (NaN where undefined)."""
    cm = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / predicted, np.nan)
        recall = np.where(support > 0, hits / support, np.nan)
    return precision, recall, support.astype(np.int64)


def evaluate(model: Model, reader, mode: str = "implicit", threads: int = 1) -> dict:
    """Loss, accuracy and confusion of the model over the reader's split, from the card."""
    from .session import run_evaluation

    with make_trainer(model, reader, mode, threads) as trainer:
        ev = run_evaluation(trainer, reader)
    precision, recall, support = per_class(ev["confusion"])
    ev.update(precision=precision, recall=recall, support=support)
    return ev


# ---- predictions ----------------------------------------------------------------------------


def _last_activations(trainer: Trainer, n: int) -> np.ndarray:
    """Y[L] of the last bunch the card ran: after the evaluation kernel, the softmax probabilities."""
    net = trainer.net
    L, classes = net.arch.nlayers, net.arch.sizes[-1]
    trainer.pull("acts")  # explicit, resident weights: the activations stay on the card until asked for
    acts = net.blocks["acts"]
    off = int(net.layout.y_off[L])
    return acts[off:off + n * classes].reshape(n, classes).copy()


def predict(model: Model, reader, count: int, mode: str = "implicit", threads: int = 1) -> dict:
    """Softmax probabilities of the first `count` rows of the split, from the card's evaluation
    kernel, run one bunch at a time (the kernel leaves the probabilities of the last bunch it ran
    in the last layer's activations)."""
    if count < 1:
        raise DnnValueError(f"--predict {count}: give how many images to show, at least 1, e.g. --predict 5")
    count = min(count, reader.num_rows)
    x = np.empty((count, reader.input_dim), np.float32)
    y = np.empty(count, np.int32)
    bx, by = reader.make_buffers(1)[0]
    got, index = 0, 0
    while got < count:
        n = min(reader.read_chunk(index, bx, by), count - got)
        x[got:got + n], y[got:got + n] = bx[:n], by[:n]
        got, index = got + n, index + 1
    probs = np.empty((count, reader.num_classes), np.float32)
    with make_trainer(model, reader, mode, threads) as trainer:
        buf, bunch = trainer.buffers[0], trainer.cfg.bunch
        for a in range(0, count, bunch):
            n = min(bunch, count - a)
            buf.x[:n], buf.y[:n] = x[a:a + n], y[a:a + n]
            trainer.evaluate_chunk(buf, n)   # one bunch: its probabilities stay in Y[L]
            probs[a:a + n] = _last_activations(trainer, n)
    return {"labels": y, "probabilities": probs}


# ---- report ---------------------------------------------------------------------------------


def class_labels(reader) -> list[str]:
    return reader.class_names or [str(i) for i in range(reader.num_classes)]


def confusion_text(cm: np.ndarray, names: list[str]) -> str:
    c = cm.shape[0]
    labels = ["" if n == str(i) else n[:12] for i, n in enumerate(names)]
    lw = max(len(s) for s in labels)                      # row labels: index and name
    w = max(len(str(c - 1)), len(str(int(cm.max()))) if cm.size else 1) + 2   # one column per class
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * (4 + lw) + "".join(f"{i:>{w}}" for i in range(c))]
    for i in range(c):
        lines.append(f"{i:>3} {labels[i]:<{lw}}" + "".join(f"{int(v):>{w}}" for v in cm[i]))
    return "\n".join(lines)


def report(ev: dict, names: list[str], where: str) -> str:
    lines = [f"{where}: {ev['images']:,} images, loss {ev['loss']:.4f}, accuracy {ev['accuracy']:.4f}", "",
             f"{'class':<24}{'precision':>10}{'recall':>10}{'support':>10}"]
    for i, name in enumerate(names):
        p, r = ev["precision"][i], ev["recall"][i]
        label = "" if name == str(i) else name[:20]
        lines.append(f"{i:>3} {label:<20}{'-' if np.isnan(p) else f'{p:.4f}':>10}"
                     f"{'-' if np.isnan(r) else f'{r:.4f}':>10}{int(ev['support'][i]):>10,}")
    lines += ["", confusion_text(ev["confusion"], names)]
    return "\n".join(lines)


def predictions_text(pred: dict, names: list[str]) -> str:
    lines = [f"top-{TOP} classes of the first {len(pred['labels'])} image(s):"]
    for i, (p, t) in enumerate(zip(pred["probabilities"], pred["labels"])):
        top = np.argsort(-p, kind="stable")[:TOP]
        guesses = ", ".join(f"{names[k]} {p[k]:.3f}" for k in top)
        mark = "ok" if top[0] == t else "WRONG"
        lines.append(f"  image {i}: {guesses}   (true: {names[t]}, {mark})")
    return "\n".join(lines)


# ---- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn.evaluate",
        description="Evaluate a checkpoint written by 'python -m dnn.train --checkpoint FILE.h5' on one split "
                    "of a dataset, with the card's evaluation kernel: loss, accuracy, per-class precision "
                    "and recall, and a confusion matrix.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, metavar="CK.h5", help="checkpoint to evaluate")
    p.add_argument("--data", metavar="FILE.h5", help="dataset (default: the default dataset, as dnn.train uses)")
    p.add_argument("--split", default="test", help="train, val or test")
    p.add_argument("--mode", choices=MODES, default="implicit", help="how the evaluation reaches the kernels")
    p.add_argument("--threads", type=int, default=1, help="card threads")
    p.add_argument("--confusion-png", metavar="PATH", help="also draw the confusion matrix into this PNG")
    p.add_argument("--predict", type=int, metavar="N", help="show the top-3 classes of the first N images")
    p.add_argument("--json", metavar="PATH", help="also write the scores as JSON")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        raise DnnValueError(f"--threads must be at least 1, got {args.threads}; e.g. --threads 1")
    inputs = [args.checkpoint, args.data]
    if args.confusion_png:
        from .plot import check_png_path

        check_png_path(args.confusion_png, "--confusion-png", inputs)
    if args.json:
        check_output(args.json, "--json", inputs=inputs)
    model = load_model(args.checkpoint)
    with open_reader(args.data, args.split, model.ck.bunch) as reader:
        names = class_labels(reader)
        where = f"{model.arch} ({model.arch.activation}) on {reader.path} /{args.split}, {args.mode} mode"
        if args.predict is not None:
            print(predictions_text(predict(model, reader, args.predict, args.mode, args.threads), names))
            return 0
        ev = evaluate(model, reader, args.mode, args.threads)
    print(report(ev, names, where))
    if args.confusion_png:
        from .plot import plot_confusion

        plot_confusion(ev["confusion"], args.confusion_png, names,
                       title=f"{model.arch} on /{args.split}: accuracy {ev['accuracy']:.4f}")
        print(f"wrote {args.confusion_png}")
    if args.json:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in ev.items()}
        out = {k: ([None if isinstance(x, float) and np.isnan(x) else x for x in v] if isinstance(v, list)
                   and k in ("precision", "recall") else v) for k, v in out.items()}
        write_json(args.json, out | {"class_names": names, "split": args.split, "checkpoint": str(model.path)})
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("dnn.evaluate", main))
