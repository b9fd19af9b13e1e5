"""python -m dnn.export — a trained network as plain NumPy arrays, or as an ONNX model.

    python -m dnn.export --checkpoint run.h5 --out model.npz
    python -m dnn.export --checkpoint run.h5 --out model.onnx --format onnx   # onnxruntime runs it

model.npz holds W0, B0, W1, B1, ... (W as (out, in), float32: y = act(x @ W.T + B), no
activation after the last layer, softmax for probabilities), plus `arch` ("784-800-800-10"),
`sizes`, `activation` and `format`. Reading it needs nothing of dnn:

    m = np.load("model.npz")
    h = x
    for l in range(len(m["sizes"]) - 1):
        h = h @ m[f"W{l}"].T + m[f"B{l}"]
        if l < len(m["sizes"]) - 2:
            h = np.maximum(h, 0)          # m["activation"]: relu, sigmoid or tanh
    predicted = h.argmax(axis=1)

A convolutional network (`arch` as dnn.cnn_spec writes it, e.g. chaos-small's
29x29-c5k4-m2-c10k5-m3-f50-10) holds W and B for its layers with weights only: a convolution's W
as (k, k, C, M) over NHWC maps, a full layer's as (out, in) reading each image as (H, W, C).
The ONNX model (dnn.onnx_export) takes the rows as training saw them and gives the softmax.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .cli import run_cli
from .errors import DnnValueError, no_such_file
from .outputs import atomic_path, check_output, write_bytes

FORMAT = "dnn-export/1"


def layers_of(ck) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W0, B0), ...] of a checkpoint, cut out of its parameter block with the layout the C
    trainer uses (dnn_plan), so the offsets can never disagree with the card's."""
    from .network import Arch, Network

    net = Network(Arch.parse(ck.arch, ck.activation), ck.bunch)  # the placement of images changes no weight
    if net.blocks["params"].shape != ck.params.shape:
        raise DnnValueError(f"the checkpoint holds {ck.params.size:,} parameters but a {ck.arch} network has "
                            f"{net.blocks['params'].size:,}; the file is damaged, use another checkpoint")
    net.blocks["params"][...] = ck.params
    return [(w.copy(), b.copy()) for w, b in net.layers()]


def export_onnx(checkpoint: str | Path, out: str | Path) -> Path:
    """The checkpoint as an ONNX model: rows in as the trainer reads them, probabilities out."""
    from . import onnx_export
    from .evaluate import load_model

    out = check_onnx_path(out, checkpoint)
    model = load_model(checkpoint)
    layers, arch, doc = layers_of(model.ck), model.arch, f"dnn {model.arch} ({model.arch.activation})"
    if arch.cnn:
        placed = model.ck.config.get("placed")
        m = onnx_export.cnn_model(arch.cnn, layers, arch.activation, tuple(placed) if placed else None, doc)
    else:
        m = onnx_export.mlp_model(layers, arch.activation, doc)
    return write_bytes(out, m.SerializeToString(), "ONNX model")


def export(checkpoint: str | Path, out: str | Path, class_names=None) -> Path:
    from .evaluate import load_model

    out = check_export_path(out, checkpoint)
    model = load_model(checkpoint)
    arrays = {}
    for l, (w, b) in enumerate(layers_of(model.ck)):
        arrays[f"W{l}"], arrays[f"B{l}"] = w, b
    arrays.update(arch=np.array(str(model.arch)), sizes=np.array(model.arch.sizes, np.int64),
                  activation=np.array(model.arch.activation), format=np.array(FORMAT))
    if class_names:
        arrays["class_names"] = np.array([str(n) for n in class_names])
    with atomic_path(out, "model") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return out


def check_export_path(out, *inputs) -> Path:
    return check_output(out, "--out", inputs=inputs, suffix=".npz", kind="a NumPy .npz file")


def check_onnx_path(out, *inputs) -> Path:
    return check_output(out, "--out", inputs=inputs, suffix=".onnx", kind="an ONNX model file")


def load(path: str | Path) -> dict:
    """An exported model: {"layers": [(W, B), ...], "activation", "arch", "sizes", "class_names"}."""
    path = Path(path)
    if not path.is_file():
        raise DnnValueError(no_such_file(path, "model", f"python -m dnn.export --checkpoint CK.h5 --out {path}"))
    with np.load(path) as m:
        if "format" not in m or str(m["format"]) != FORMAT:
            raise DnnValueError(f"{path} is not a model written by 'python -m dnn.export'")
        sizes = [int(s) for s in m["sizes"]]
        weighted = sum(1 for k in m.files if k.startswith("W"))  # a CNN's poolings have none
        return {"layers": [(m[f"W{l}"], m[f"B{l}"]) for l in range(weighted)],
                "activation": str(m["activation"]), "arch": str(m["arch"]), "sizes": sizes,
                "class_names": [str(n) for n in m["class_names"]] if "class_names" in m else None}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn.export",
        description="Write a checkpoint's weights as plain NumPy arrays (W0, B0, W1, ... with W as (out, in)) "
                    "plus its architecture and activation, in one .npz file that needs nothing of dnn to use.")
    p.add_argument("--checkpoint", required=True, metavar="CK.h5", help="checkpoint from 'python -m dnn.train "
                                                                        "--checkpoint CK.h5'")
    p.add_argument("--out", required=True, metavar="MODEL.npz", help="file to write")
    p.add_argument("--format", choices=["npz", "onnx"], default="npz",
                   help="npz: NumPy arrays; onnx: an ONNX model (needs the 'onnx' package) that onnxruntime runs")
    p.add_argument("--data", metavar="FILE.h5", help="also store this dataset's class names in the model")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.format == "onnx":
        check_onnx_path(args.out, args.checkpoint, args.data)
        print(f"wrote {export_onnx(args.checkpoint, args.out)}: ONNX opset 17, input x (N, inputs), "
              f"output probabilities (N, classes)")
        return 0
    check_export_path(args.out, args.checkpoint, args.data)
    names = None
    if args.data:
        from .data import ChunkReader

        with ChunkReader(args.data, "train", shuffle=False, prefetch=False) as r:
            names = r.class_names
    out = export(args.checkpoint, args.out, names)
    m = load(out)
    print(f"wrote {out}: {m['arch']} ({m['activation']}), "
          + ", ".join(f"W{l} {w.shape}" for l, (w, _) in enumerate(m["layers"])))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("dnn.export", main))
