"""Convolutional networks: dnn against PyTorch CPU on the three CHAOS networks, accuracy on real
data, and where the time goes per layer kind.

    python tools/bench_cnn.py                 # speed: 3 networks x bunch 64 and 1, 2 threads; layer kinds
    python tools/bench_cnn.py --layers        # the share of each layer kind only
    python tools/bench_cnn.py --accuracy      # chaos-medium on Fashion-MNIST, 15 epochs, dnn and PyTorch;
                                              # chaos-small on the MNIST sample
    python tools/bench_cnn.py --quick         # both, small: a smoke run of this script (minutes when idle)
    python tools/bench_cnn.py --speed --baseline ../main --rounds 5 --nets chaos-large
                                              # speed, this tree against another checkout's build, alternating

Speed: every measurement runs in its own process on the same data (the dataset's first rows, or
random 28x28 images placed in 29x29 when no --data is given), network, bunch, thread count,
initialisation and optimiser (SGD with momentum); figures are medians of repeated passes after a
warm-up pass. dnn runs in implicit mode (the card), PyTorch on the CPU with its own threads set to
the same count. One image per update (bunch 1) is how CHAOS trained.

Accuracy: dnn trains through `python -m dnn.train` (the test accuracy its metrics record after
each epoch) and PyTorch in this script with the same network, initialisation scheme (He uniform
for relu, biases zero), optimiser (SGD, momentum on the summed gradient), learning-rate schedule
(x lr-gamma each epoch), bunch and epochs, on the same file's whole train and test splits; both
print every epoch's test accuracy. `--shift N` moves every training image by a random offset in
[-N, N] pixels in x and y each epoch, zero fill: dnn.train's --shift (offsets drawn in its C
trainer), and this script's own shift for PyTorch (offsets from PyTorch's generator: the same
distribution, not the same draws).

A/B (`--baseline DIR`): the speed table gains a column for the dnn of another checkout (its own
.venv and build, e.g. the main branch), run alternately with this tree's, `--rounds` times each
(PyTorch as often): the figures are the medians over the rounds, and the ratio of this tree's
to the baseline's is of those medians.

Layer kinds (`--layers`): the C trainer times each operation of every bunch it trains (its timing
hook, dnn_timing: one test per operation when off) in implicit mode, one chunk per call; the table
gives each layer kind's forward and backward, the loss, the updates and the fetch (placing 28x28
images into 29x29) as shares of the timed total, the total per image, and the timed share of the
wall time around the calls (the rest: the offload call and the loop between operations).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_train import median_rate  # noqa: E402  (tools/ is this script's folder)

NETWORKS = ["chaos-small", "chaos-medium", "chaos-large"]
HYPER = {"lr": 0.01, "momentum": 0.9}


def images(data, rows, seed=0):
    """(x (rows, h*w) float32, y (rows,) int32, (h, w)) from a dnn.chunk file or random 28x28."""
    import numpy as np

    if data:
        import h5py

        with h5py.File(data, "r") as f:
            x, y = f["train/x"][:rows].astype(np.float32), f["train/y"][:rows].astype(np.int32)
            shape = tuple(int(s) for s in f.attrs.get("input_shape", (28, 28)))
            scale = float(f.attrs.get("scale", 1.0))
        return x * scale if scale != 1.0 else x, y, shape
    rng = np.random.default_rng(seed)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows).astype(np.int32), (28, 28)


# ---- workers (each in its own process) ---------------------------------------------------------


def dnn_trainer(net, act, bunch, rows, threads, shape, mode="implicit", granularity="chunk"):
    from dnn.network import Arch
    from dnn.trainer import Config, Trainer

    arch = Arch.parse(net, act, data_shape=shape)
    cfg = Config(arch, mode=mode, granularity=granularity, bunch=bunch, chunk=rows, threads=threads, seed=1,
                 **HYPER)
    return Trainer(cfg, arch.inputs, arch.sizes[-1])


def work_dnn(a):
    x, y, shape = images(a.data, a.rows)
    with dnn_trainer(a.net, a.act, a.bunch, a.rows, a.threads, shape) as t:
        buf = t.buffers[0]
        buf.x[...], buf.y[...] = x, y
        return {"images_per_s": median_rate(lambda: t.train_chunk(buf, a.rows), a.rows, a.reps)}


def torch_model(spec, act):
    """The network of a dnn.cnn_spec.Spec in PyTorch, initialised by dnn's rule: He (uniform,
    sqrt(6 / fan_in)) for relu, Xavier (uniform) otherwise; biases zero."""
    import torch
    from torch import nn

    class STanh(nn.Module):
        def forward(self, z):
            return 1.7159 * torch.tanh(z * (2.0 / 3.0))

    make_act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "stanh": STanh}[act]
    layers, flat = [], False
    for i, l in enumerate(spec.layers[1:], 1):
        c, h, w = spec.layers[i - 1].shape
        if l.kind == "conv":
            layers += [nn.Conv2d(c, l.size, l.kernel), make_act()]
        elif l.kind == "pool":
            layers.append(nn.MaxPool2d(l.size))
        else:
            if not flat:  # dnn's full layers read (H, W, C); any fixed order trains alike
                layers.append(nn.Flatten())
                flat = True
            layers.append(nn.Linear(c * h * w, l.size))
            if l.kind == "full":
                layers.append(make_act())
    model = nn.Sequential(*layers)
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if act == "relu":
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def torch_tensors(spec, x, y, shape):
    import numpy as np
    import torch

    from dnn import reference_cnn

    c, hh, ww = spec.layers[0].shape
    placed = spec.placement(shape)
    if placed:
        x = reference_cnn.place(x, *placed, hh, ww)
    return torch.from_numpy(np.ascontiguousarray(x.reshape(-1, c, hh, ww))), torch.from_numpy(y.astype("int64"))


def torch_optimizer(model, lr, momentum, weight_decay=0.0):
    """dnn's SGD: momentum, weight decay on weights only."""
    import torch

    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return torch.optim.SGD([{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}],
                           lr=lr, momentum=momentum)


def work_torch(a):
    import torch

    from dnn import cnn_spec

    torch.set_num_threads(a.threads)
    spec = cnn_spec.parse(a.net)
    x, y, shape = images(a.data, a.rows)
    xt, yt = torch_tensors(spec, x, y, shape)
    model = torch_model(spec, a.act)
    opt = torch_optimizer(model, **HYPER)
    lossf = torch.nn.CrossEntropyLoss()

    def epoch():
        for r in range(0, a.rows, a.bunch):
            opt.zero_grad(set_to_none=True)
            lossf(model(xt[r:r + a.bunch]), yt[r:r + a.bunch]).backward()
            opt.step()

    return {"images_per_s": median_rate(epoch, a.rows, a.reps), "version": torch.__version__}


def work_layers(a):
    """Seconds per image of each layer kind and pass, from the C trainer's timing hook (implicit
    mode, one chunk per call as in the speed runs), and the wall time per image around them."""
    x, y, shape = images(a.data, a.rows)
    with dnn_trainer(a.net, a.act, a.bunch, a.rows, a.threads, shape) as t:
        buf = t.buffers[0]
        buf.x[...], buf.y[...] = x, y
        t.train_chunk(buf, a.rows)  # warm-up
        t.net.time_operations(True)
        t0 = time.perf_counter()
        for _ in range(a.reps):
            t.train_chunk(buf, a.rows)
        wall = time.perf_counter() - t0
        t.net.time_operations(False)
        seconds = t.net.operation_seconds()
        layer_kind = [l.kind for l in t.cfg.arch.cnn.layers[1:]]
    trained = a.rows * a.reps
    kinds = {"fetch": seconds["fetch"] / trained, "loss": seconds["loss"] / trained}
    for l, kind in enumerate(layer_kind):
        for name, key in ((f"{kind} fwd", "forward"), (f"{kind} bwd", "backward"), ("update", "update")):
            kinds[name] = kinds.get(name, 0.0) + seconds[key][l] / trained
    return {"kinds": kinds, "wall": wall / trained}


def torch_shifted(x, most, gen):
    """Each image of x (n, C, H, W: 28x28 already placed into 29x29) moved by its own random offset
    in [-most, most] in x and y, zero fill: dnn.train's --shift, drawn by PyTorch's generator (not
    dnn's: the baseline's own)."""
    import torch

    if most == 0:
        return x
    n, _, hh, ww = x.shape
    padded = torch.nn.functional.pad(x, (most, most, most, most))
    offsets = torch.randint(-most, most + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for dy in range(-most, most + 1):
        for dx in range(-most, most + 1):
            idx = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).nonzero().flatten()
            # out[y, x] = x[y - dy, x - dx]: the window of the padded images that starts dy up, dx left
            out[idx] = padded[idx, :, most - dy:most - dy + hh, most - dx:most - dx + ww]
    return out


def work_accuracy_torch(a):
    """PyTorch on the file's train split, tested on its test split, dnn's schedule and init (and
    its random shift of the training images, --shift)."""
    import h5py
    import numpy as np
    import torch

    from dnn import cnn_spec

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    spec = cnn_spec.parse(a.net)
    with h5py.File(a.data, "r") as f:
        scale = float(f.attrs.get("scale", 1.0))
        shape = tuple(int(s) for s in f.attrs.get("input_shape", (28, 28)))
        parts = {s: (f[f"{s}/x"][:].astype(np.float32) * scale, f[f"{s}/y"][:].astype(np.int32))
                 for s in ("train", "test")}
    rows = min(a.rows, len(parts["train"][0])) if a.rows else len(parts["train"][0])
    xt, yt = torch_tensors(spec, parts["train"][0][:rows], parts["train"][1][:rows], shape)
    xs, ys = torch_tensors(spec, *parts["test"], shape)
    model = torch_model(spec, a.act)
    opt = torch_optimizer(model, a.lr, a.momentum, a.weight_decay)
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)
    per_epoch = []
    for epoch in range(a.epochs):
        for g in opt.param_groups:
            g["lr"] = a.lr * a.lr_gamma ** epoch
        model.train()
        order = torch.randperm(rows, generator=gen)
        xe = torch_shifted(xt, a.shift, gen)
        for r in range(0, rows, a.bunch):
            idx = order[r:r + a.bunch]
            opt.zero_grad(set_to_none=True)
            lossf(model(xe[idx]), yt[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            per_epoch.append(float((model(xs).argmax(1) == ys).float().mean()))
        print(f"epoch {epoch + 1}: test accuracy {per_epoch[-1]:.4f}", file=sys.stderr, flush=True)
    return {"test_accuracy": per_epoch}


def worker(a) -> None:
    fn = {"dnn": work_dnn, "torch": work_torch, "layers": work_layers, "accuracy-torch": work_accuracy_torch}[a.worker]
    print(json.dumps(fn(a)))


def run_worker(kind, a, root=ROOT, **over):
    """A worker of this script in a process of its own; root: the checkout (its .venv's Python and
    its tools/bench_cnn.py) to run it from."""
    env = dict(os.environ)
    threads = over.get("threads", a.threads)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    argv = {**{k: getattr(a, k) for k in ("net", "act", "bunch", "rows", "threads", "reps", "data", "epochs", "lr",
                                           "momentum", "weight_decay", "lr_gamma", "seed")}, **over}
    root = Path(root).resolve()
    python = sys.executable if root == ROOT else str(root / ".venv" / "bin" / "python")
    cmd = [python, str(root / "tools" / "bench_cnn.py"), "--worker", kind]
    for k, v in argv.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=7200, cwd=root)
    if r.returncode != 0:
        if "No module named 'torch'" in r.stderr:
            return None
        raise RuntimeError(f"{kind} worker failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---- tables ------------------------------------------------------------------------------------


def speed(a):
    rows_of = {64: 1024 if a.quick else 6400, 1: 200 if a.quick else 2000}
    nets = a.nets.split(",") if a.nets else NETWORKS[:1] if a.quick else NETWORKS
    base = f" | baseline dnn (images/s) | dnn / baseline" if a.baseline else ""
    out = [f"| network | bunch | threads | dnn implicit (images/s){base} | PyTorch (images/s) | dnn / PyTorch | target |",
           "|---|---:|---:|---:|" + "---:|---:|" * bool(a.baseline) + "---:|---:|---:|"]
    for net in nets:
        for bunch in (64, 1):
            rows = a.rows or rows_of[bunch] // (4 if net == "chaos-large" else 1)
            runs = {"dnn": [], "baseline": [], "torch": []}
            for _ in range(a.rounds):  # alternating, so that a change of load hits every column alike
                if a.baseline:
                    runs["baseline"].append(run_worker("dnn", a, a.baseline, net=net, bunch=bunch, rows=rows))
                runs["dnn"].append(run_worker("dnn", a, net=net, bunch=bunch, rows=rows))
                runs["torch"].append(run_worker("torch", a, net=net, bunch=bunch, rows=rows))
            med = {k: statistics.median(r["images_per_s"] for r in v) if v and v[0] else None
                   for k, v in runs.items()}
            d, t, b = med["dnn"], med["torch"], med["baseline"]
            ratio = f"{d / t:.2f}x" if t else "n/a"
            tt = f"{t:,.0f}" if t else "n/a"
            bb = f" | {b:,.0f} | {d / b:.2f}x" if a.baseline else ""
            out.append(f"| {net} ({a.act}) | {bunch} | {a.threads} | {d:,.0f}{bb} | {tt} | {ratio} | "
                       f"{'>= 1.25x' if bunch == 64 else '>= 3x'} |")
            print(out[-1], flush=True)
    return out


LAYER_KINDS = ["conv fwd", "conv bwd", "pool fwd", "pool bwd", "full fwd", "full bwd", "output fwd", "loss",
               "output bwd", "update", "fetch"]


def layer_kinds(a):
    nets = NETWORKS[:1] if a.quick else NETWORKS
    out = ["| network | bunch | " + " | ".join(LAYER_KINDS) + " | µs per image (timed) | timed / wall |",
           "|---|---:|" + "---:|" * (len(LAYER_KINDS) + 2)]
    for net in nets:
        for bunch in (64, 1):
            rows = (256 if a.quick else 1024) // (4 if net == "chaos-large" else 1)
            r = run_worker("layers", a, net=net, bunch=bunch, rows=rows)
            k, total = r["kinds"], sum(r["kinds"].values())
            out.append(f"| {net} | {bunch} | " + " | ".join(f"{100 * k.get(n, 0) / total:.1f}%" for n in LAYER_KINDS)
                       + f" | {total * 1e6:,.0f} | {total / r['wall']:.2f} |")
            print(out[-1], flush=True)
    return out


def dnn_accuracy(a, net, data, epochs):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "m.json"
        cmd = [sys.executable, "-m", "dnn.train", "--data", data, "--arch", net, "--activation", a.act,
               "--epochs", str(epochs), "--bunch", str(a.bunch), "--lr", str(a.lr), "--momentum", str(a.momentum),
               "--weight-decay", str(a.weight_decay), "--lr-gamma", str(a.lr_gamma), "--lr-schedule", "exp",
               "--threads", str(a.threads), "--seed", str(a.seed), "--shift", str(a.shift), "--metrics", str(metrics),
               "--quiet"]
        r = subprocess.run(cmd, cwd=ROOT, timeout=7200, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"dnn.train failed:\n{r.stderr[-3000:]}")
        m = json.loads(metrics.read_text())
    return m["test_accuracy"]


def prepare(name, out_dir):
    path = Path(out_dir) / f"{name}.h5"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "dnn.chunk", name, "--out", str(path)], check=True, cwd=ROOT)
    return str(path)


def accuracy(a):
    out = ["| data | network | epochs | dnn test accuracy | PyTorch test accuracy | difference | target |",
           "|---|---|---:|---:|---:|---:|---|"]
    runs = [("fashion-mnist", "chaos-medium", 15, ">= 0.905, within 0.005 of PyTorch"),
            ("mnist-5k", "chaos-small", 15, ">= 0.96")]
    if a.quick:  # the small dataset, one epoch: that the runs work, not what they reach
        runs = [("mnist-5k", "chaos-small", 1, ">= 0.96 after 15 epochs")]
    runs = [(name, net, a.epochs or epochs, target) for name, net, epochs, target in runs
            if not a.nets or net in a.nets.split(",")]
    epochs_out = ["| data | network | epoch | dnn test accuracy | PyTorch test accuracy |", "|---|---|---:|---:|---:|"]
    for name, net, epochs, target in runs:
        data = a.data_dir and prepare(name, a.data_dir)
        d_epochs = dnn_accuracy(a, net, data, epochs)
        t = run_worker("accuracy-torch", a, net=net, data=data, epochs=epochs, shift=a.shift)
        t_epochs = t["test_accuracy"] if t else [None] * len(d_epochs)
        for e, (de, te) in enumerate(zip(d_epochs, t_epochs), 1):
            epochs_out.append(f"| {name} | {net} | {e} | {de:.4f} | {'n/a' if te is None else f'{te:.4f}'} |")
            print(epochs_out[-1], flush=True)
        d, tacc = d_epochs[-1], t_epochs[-1]
        out.append(f"| {name} | {net} | {epochs} | {d:.4f} | {f'{tacc:.4f}' if t else 'n/a'} | "
                   f"{f'{d - tacc:+.4f}' if t else 'n/a'} | {target} |")
        print(out[-1], flush=True)
    return out + ["", "Test accuracy after each epoch:", ""] + epochs_out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--accuracy", action="store_true", help="the accuracy runs only")
    p.add_argument("--layers", action="store_true", help="the time per layer kind only (the C trainer's timing hook)")
    p.add_argument("--speed", action="store_true", help="the speed runs only")
    p.add_argument("--data", help="dnn.chunk file whose first rows the speed runs train on (default: random)")
    p.add_argument("--data-dir", default=str(ROOT / "data"), help="where the accuracy runs prepare their datasets")
    p.add_argument("--act", default="relu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--baseline", metavar="DIR", help="speed: also time the dnn of this checkout (its .venv and build), "
                   "alternating with this tree's")
    p.add_argument("--rounds", type=int, default=1, help="speed: runs of each column, alternating; medians")
    p.add_argument("--nets", help="comma-separated networks (default: the three; accuracy: both runs)")
    p.add_argument("--bunch", type=int, default=64, help="accuracy runs")
    p.add_argument("--lr", type=float, default=0.05, help="accuracy runs")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--lr-gamma", type=float, default=0.85)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shift", type=int, default=0, help="accuracy runs: training images moved by up to this many "
                   "pixels (dnn.train --shift; PyTorch its own shift of the same range)")
    p.add_argument("--epochs", type=int, help="accuracy runs (default: 15)")
    p.add_argument("--worker")
    p.add_argument("--net")
    p.add_argument("--rows", type=int, help="speed: images per pass (default: per network and bunch)")
    a = p.parse_args()
    if a.worker:
        return worker(a)
    print(f"# bench_cnn ({'quick' if a.quick else 'full'}), load average {os.getloadavg()[0]:.1f}\n", flush=True)
    sections = []
    if not (a.accuracy or a.layers):
        sections.append(("Training speed, dnn implicit against PyTorch CPU", speed(a)))
    if not (a.accuracy or a.speed):
        sections.append(("Share of the trainer's time per layer kind (implicit mode, timing hook)", layer_kinds(a)))
    if a.accuracy or a.quick:
        sections.append(("Test accuracy", accuracy(a)))
    for title, lines in sections:
        print(f"\n## {title}\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
