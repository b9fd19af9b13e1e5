"""CHAOS with 2 workers against PyTorch training the same network one image per step: with 2 threads,
and in PyTorch's Hogwild pattern (torch.multiprocessing, shared parameters, 2 processes).

    python tools/bench_chaos_torch.py --quick     # 10,000 training images, 1 epoch
    python tools/bench_chaos_torch.py --arch 784-300-100-10 --epochs 2
    python tools/bench_chaos_torch.py --arch chaos-small         # the paper's small CNN, ReLU

Same data (Fashion-MNIST, or its 10,000-row cut), same layer sizes, ReLU, plain SGD, same learning
rate, one image per step. Reports training images/s and test accuracy of each; the goal is CHAOS at
3x the faster PyTorch at equal accuracy (within 0.5 points). Needs torch (pip install torch).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_chaos import LR, dataset, train, train_rate  # noqa: E402


def load(path: str):
    """Training and test rows in file order, scaled as dnn's reader scales them."""
    import h5py
    import numpy as np

    from dnn.data.reader import stored_scale

    with h5py.File(path, "r") as f:
        def x(split):
            return np.asarray(f[f"{split}/x"], np.float32) * np.float32(stored_scale(f, f[f"{split}/x"]))

        return x("train"), np.asarray(f["train/y"], np.int64), x("test"), np.asarray(f["test/y"], np.int64)


def torch_net(arch: str):
    """The same layers in PyTorch: ReLU hidden layers; a CNN (chaos-small, ...) as dnn's spec writes it,
    its 28x28 images padded into the 29x29 input at the top left as dnn places them."""
    import torch

    from dnn.cnn_spec import is_cnn_spec, parse

    torch.manual_seed(0)
    if not is_cnn_spec(arch):
        sizes = [int(s) for s in arch.split("-")]
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)
    spec = parse(arch)
    first = spec.layers[0]
    layers = [torch.nn.Unflatten(1, (1, 28, 28)), torch.nn.ZeroPad2d((0, first.shape[2] - 28, 0, first.shape[1] - 28))]
    below = first.shape
    for layer in spec.layers[1:]:
        if layer.kind == "conv":
            layers += [torch.nn.Conv2d(below[0], layer.size, layer.kernel), torch.nn.ReLU()]
        elif layer.kind == "pool":
            layers.append(torch.nn.MaxPool2d(layer.size))
        else:
            if below[1:] != (1, 1):  # the first full layer takes the maps below it as one vector
                layers.append(torch.nn.Flatten())
            layers.append(torch.nn.Linear(below[0] * below[1] * below[2], layer.size))
            if layer.kind == "full":
                layers.append(torch.nn.ReLU())
        below = layer.shape
    return torch.nn.Sequential(*layers)


def torch_epochs(model, x, y, epochs: int, rows=None) -> int:
    """Per-image SGD over the given rows (default: all); returns images trained."""
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rows = range(len(x)) if rows is None else rows
    for _ in range(epochs):
        for i in rows:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xt[i:i + 1]), yt[i:i + 1]).backward()
            opt.step()
    return len(rows) * epochs


def accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def _hogwild_worker(rank, model, x, y, epochs, procs):
    import torch

    torch.set_num_threads(1)
    torch_epochs(model, x, y, epochs, rows=range(rank, len(x), procs))


def run_torch(arch, data, epochs, threads) -> dict:
    import torch

    x, y, tx, ty = load(data)
    out = {}
    torch.set_num_threads(threads)
    model = torch_net(arch)
    t0 = time.perf_counter()
    n = torch_epochs(model, x, y, epochs)
    out["torch, 2 threads"] = {"images_per_s": n / (time.perf_counter() - t0), "accuracy": accuracy(model, tx, ty)}

    import torch.multiprocessing as mp

    model = torch_net(arch)
    model.share_memory()
    procs = 2
    t0 = time.perf_counter()
    ctx = mp.get_context("fork")
    ps = [ctx.Process(target=_hogwild_worker, args=(r, model, x, y, epochs, procs)) for r in range(procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    out["torch Hogwild, 2 processes"] = {"images_per_s": len(x) * epochs / (time.perf_counter() - t0),
                                         "accuracy": accuracy(model, tx, ty)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--arch", default="784-100-10")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    data = dataset(10000 if a.quick else None)
    m = train(a.arch, data, a.epochs, 2, a.threads)
    results = {"CHAOS, 2 workers": {"images_per_s": train_rate(m), "accuracy": m["test_accuracy"][-1]}}
    results |= run_torch(a.arch, data, a.epochs, a.threads)
    best = max(v["images_per_s"] for k, v in results.items() if k.startswith("torch"))
    chaos = results["CHAOS, 2 workers"]
    print(f"{a.arch} on {data}, {a.epochs} epoch(s), lr {LR}, one image per step; load {os.getloadavg()[0]:.1f}")
    print("| run | training images/s | test accuracy |\n|---|---|---|")
    for k, v in results.items():
        print(f"| {k} | {v['images_per_s']:,.0f} | {v['accuracy']:.4f} |")
    print(f"\nCHAOS / faster PyTorch: {chaos['images_per_s'] / best:.1f}x (goal 3x); accuracy difference to it: "
          + ", ".join(f"{100 * (chaos['accuracy'] - v['accuracy']):+.2f} points ({k})"
                      for k, v in results.items() if k.startswith("torch")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
