"""CHAOS with 2 workers against PyTorch training the same network one image per step: with 2 threads,
and in PyTorch's Hogwild pattern (torch.multiprocessing, shared parameters, 2 processes).

    python tools/bench_chaos_torch.py --quick     # 10,000 training images, 1 epoch
    python tools/bench_chaos_torch.py --arch chaos-small --epochs 3   # the whole 60,000, 3 epochs

The comparison is made fair: the three start from the same weights (dnn's He initialisation with
the run's seed, copied into the PyTorch layers), see the same images in the same order each epoch
(dnn's reader visits the chunks in a shuffled order per epoch: PyTorch is fed that order; each
Hogwild process takes every second image of it, so the two together see each image once, as CHAOS's
workers do), with the same plain SGD at the same constant learning rate, one image per step. Test
accuracy is taken after every epoch. Reports training images/s and the accuracy per epoch; the goal
is CHAOS at 3x the faster PyTorch at equal accuracy (within 0.5 points). Needs torch (pip install
torch).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_chaos import CHUNK, LR, arch_for, dataset, train, train_rate  # noqa: E402

from dnn.seed_stats import mean_sd, paired, verdict  # noqa: E402


def load(path: str):
    """Training and test rows in file order, scaled as dnn's reader scales them."""
    from dnn.data import ChunkReader

    with ChunkReader(path, "train", shuffle=False, prefetch=False) as r:
        x, y = r.read_all()
    with ChunkReader(path, "test", shuffle=False, prefetch=False) as r:
        tx, ty = r.read_all()
    return x, y.astype("int64"), tx, ty.astype("int64")


def epoch_rows(path: str, epoch: int, seed: int = 0):
    """The training rows in the order dnn's trainer visits them in this epoch (run_training's reader:
    chunks of CHUNK rows, their order shuffled from (seed, epoch), rows in file order within each)."""
    import numpy as np

    from dnn.data import ChunkReader

    with ChunkReader(path, "train", chunk_rows=CHUNK, shuffle=True, seed=seed, prefetch=False) as r:
        return np.concatenate([np.arange(c * CHUNK, min((c + 1) * CHUNK, r.num_rows)) for c in r.chunk_order(epoch)])


def dnn_start(arch: str, data: str, seed: int = 0):
    """The weights dnn starts from (its default initialisation, He for ReLU, with this seed), as
    [(W, B), ...] in the trainer's layouts."""
    from dnn.network import Network
    from dnn.trainer import Config

    a = arch_for(arch, data)
    net = Network(a, 1)
    net.initialize(Config(a).init_scheme, seed)
    return [(w.copy(), b.copy()) for w, b in net.layers()]


def same_start(model, params, flat_shape) -> None:
    """Copy dnn's starting weights into the PyTorch layers. A convolution's kernel (k, k, C, M) becomes
    (M, C, k, k); the first full layer over maps reads them as (H, W, C) in dnn and as (C, H, W) after
    PyTorch's Flatten, so its columns are reordered."""
    import numpy as np
    import torch

    layers = [m for m in model if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    first_full = True
    with torch.no_grad():
        for m, (w, b) in zip(layers, params, strict=True):
            if isinstance(m, torch.nn.Conv2d):
                w = np.transpose(w, (3, 2, 0, 1))
            elif flat_shape is not None and first_full:
                c, h, wd = flat_shape
                w = w.reshape(w.shape[0], h, wd, c).transpose(0, 3, 1, 2).reshape(w.shape[0], -1)
            if isinstance(m, torch.nn.Linear):
                first_full = False
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            m.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))


def torch_net(arch: str):
    """(model, the (C, H, W) maps its first full layer flattens or None): the same layers in PyTorch: ReLU hidden layers; a CNN (chaos-small, ...) as dnn's spec writes it,
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
        return torch.nn.Sequential(*layers), None
    spec = parse(arch)
    first, flat_shape = spec.layers[0], None
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
                flat_shape = below
            layers.append(torch.nn.Linear(below[0] * below[1] * below[2], layer.size))
            if layer.kind == "full":
                layers.append(torch.nn.ReLU())
        below = layer.shape
    return torch.nn.Sequential(*layers), flat_shape


def epoch_lr(epoch: int, lr_gamma: float | None) -> float:
    """The learning rate of this epoch (from 0), as dnn's "exp" schedule sets it: LR x gamma^epoch."""
    return LR * lr_gamma**epoch if lr_gamma else LR


def torch_epoch(model, x, y, rows, lr: float = LR) -> None:
    """Per-image SGD over these rows, in this order."""
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for i in rows:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xt[i:i + 1]), yt[i:i + 1]).backward()
        opt.step()


def accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad():  # in slices: a CNN's activations of 10,000 images at once are too many
        hits = sum(int((model(torch.from_numpy(x[a:a + 500])).argmax(1).numpy() == y[a:a + 500]).sum())
                   for a in range(0, len(x), 500))
    return hits / len(x)


def _hogwild_worker(rank, model, x, y, rows, procs, lr):
    import torch

    torch.set_num_threads(1)
    torch_epoch(model, x, y, rows[rank::procs], lr)


TORCH_METHODS = ("both", "threads", "hogwild")


def run_torch(arch, data, epochs, threads, seed: int = 0, lr_gamma: float | None = None, methods: str = "both") -> dict:
    """PyTorch with `threads` threads, then Hogwild with 2 processes (methods: both, or one of them): from
    dnn's starting weights, over dnn's order of images, the test accuracy after each epoch."""
    import torch
    import torch.multiprocessing as mp

    x, y, tx, ty = load(data)
    start = dnn_start(arch, data, seed)
    orders = [epoch_rows(data, e, seed) for e in range(epochs)]
    out = {}
    if methods in ("both", "threads"):
        torch.set_num_threads(threads)
        model, flat = torch_net(arch)
        same_start(model, start, flat)
        secs, acc = 0.0, []
        for e, rows in enumerate(orders):
            t0 = time.perf_counter()
            torch_epoch(model, x, y, rows, epoch_lr(e, lr_gamma))
            secs += time.perf_counter() - t0
            acc.append(accuracy(model, tx, ty))
        out[torch_name(threads)] = {"images_per_s": len(x) * epochs / secs, "accuracy": acc}
    if methods not in ("both", "hogwild"):
        return out

    model, flat = torch_net(arch)
    same_start(model, start, flat)
    model.share_memory()
    procs, secs, acc = 2, 0.0, []
    ctx = mp.get_context("fork")
    for e, rows in enumerate(orders):  # the processes start per epoch, so the accuracy is taken between epochs
        t0 = time.perf_counter()
        lr = epoch_lr(e, lr_gamma)
        ps = [ctx.Process(target=_hogwild_worker, args=(r, model, x, y, rows, procs, lr)) for r in range(procs)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        secs += time.perf_counter() - t0
        if any(p.exitcode for p in ps):
            raise SystemExit(f"a Hogwild process failed (exit codes {[p.exitcode for p in ps]})")
        acc.append(accuracy(model, tx, ty))
    out[HOGWILD] = {"images_per_s": len(x) * epochs / secs, "accuracy": acc}
    return out


SEQUENTIAL, CHAOS, HOGWILD = "dnn sequential (host, 1 thread)", "CHAOS, 2 workers", "torch Hogwild, 2 processes"
MARGIN = 0.5  # points of test accuracy within which the goal calls two methods equal


def torch_name(threads: int) -> str:
    return f"torch, {threads} threads"


def run_seed(arch: str, data: str, epochs: int, threads: int, torch_threads: int | None, seed: int,
             lr_gamma: float | None = None, torch_methods: str = "both", dnn_runs: bool = True) -> dict:
    """Every method once with this seed: {method: {"images_per_s", "accuracy" (per epoch), ...}};
    torch_threads None: dnn's two runs only; dnn_runs False: PyTorch's only."""
    results = {}
    for name, workers in ((SEQUENTIAL, 0), (CHAOS, 2)) if dnn_runs else ():
        m = train(arch, data, epochs, workers, threads, seed, lr_gamma)
        results[name] = {"images_per_s": train_rate(m), "accuracy": list(m["test_accuracy"]),
                         "worker_images": m.get("worker_images")}
    if torch_threads is None:
        return results
    return results | run_torch(arch, data, epochs, torch_threads, seed, lr_gamma, torch_methods)


def one_seed_report(results: dict, epochs: int) -> list[str]:
    """Speed and accuracy per epoch of one seed's runs."""
    torch_speeds = [v["images_per_s"] for k, v in results.items() if k.startswith("torch")]
    chaos = results.get(CHAOS)
    lines = ["| run | training images/s | " + " | ".join(f"test acc. epoch {e + 1}" for e in range(epochs))
             + " |\n|---|---|" + "---|" * epochs]
    for k, v in results.items():
        lines.append(f"| {k} | {v['images_per_s']:,.0f} | " + " | ".join(f"{x:.4f}" for x in v["accuracy"]) + " |")
    if chaos is None:  # --torch-only
        return lines
    speed = f"CHAOS / faster PyTorch: {chaos['images_per_s'] / max(torch_speeds):.1f}x (goal 3x); " if torch_speeds else ""
    diffs = (f"{100 * (chaos['accuracy'][-1] - v['accuracy'][-1]):+.2f} points ({k})" for k, v in results.items() if k != CHAOS)
    lines.append(f"\n{speed}last-epoch accuracy difference: " + ", ".join(diffs))
    return lines


def seeds_report(by_seed: dict[int, dict], margin: float = MARGIN) -> list[str]:
    """by_seed: {seed: run_seed's results}. The last epoch's test accuracy per seed and method, in
    points; per method mean and sd; CHAOS minus each other method, paired by seed."""
    seeds = list(by_seed)
    methods = list(by_seed[seeds[0]])
    final = {k: [100 * by_seed[s][k]["accuracy"][-1] for s in seeds] for k in methods}
    lines = ["Test accuracy after the last epoch, points (%):", "",
             "| seed | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    lines += [f"| {s} | " + " | ".join(f"{final[k][i]:.2f}" for k in methods) + " |" for i, s in enumerate(seeds)]
    stats = {k: mean_sd(final[k]) for k in methods}
    lines.append("| mean | " + " | ".join(f"**{stats[k][0]:.2f}**" for k in methods) + " |")
    lines.append("| sd | " + " | ".join(f"{stats[k][1]:.2f}" for k in methods) + " |")
    speed = {k: statistics.median(by_seed[s][k]["images_per_s"] for s in seeds) for k in methods}
    lines.append("| median images/s | " + " | ".join(f"{speed[k]:,.0f}" for k in methods) + " |")
    lines += ["", f"CHAOS minus each method, paired by seed ({len(seeds)} seeds; 95 % interval of the mean "
              "difference from Student's t with n − 1 degrees of freedom), points:", "",
              "| CHAOS − | per seed | mean | sd | 95 % interval | within ±{:g}? |".format(margin),
              "|---|---|---:|---:|---|---|"]
    for k in methods:
        if k == CHAOS:
            continue
        p = paired(final[CHAOS], final[k])
        lines.append(f"| {k} | " + " ".join(f"{d:+.2f}" for d in p.diffs)
                     + f" | {p.mean:+.2f} | {p.sd:.2f} | [{p.low:+.2f}, {p.high:+.2f}] | {verdict(p, margin)} |")
    lines += ["", f"Equal accuracy is taken to mean: the 95 % interval of the mean paired difference lies inside "
              f"±{margin:g} points (then the data exclude a difference of {margin:g} points or more). When only the "
              "mean lies inside, equality is not shown: the runs are too few or too noisy to tell."]
    return lines


def saved_runs(paths: list[str]) -> dict[int, dict]:
    """The runs of several --json files as one {seed: results}, in seed order. The files must be of
    the same experiment (network, data, epochs, threads, learning rate schedule); a seed's methods may
    come from different files (dnn's runs from a --no-torch file, PyTorch's from a --torch-only one),
    but no method of a seed from two."""
    by_seed, first = {}, None
    for path in paths:
        saved = json.loads(Path(path).read_text())
        shape = {k: saved.get(k) for k in ("arch", "data", "epochs", "threads", "lr_gamma")}
        if first is not None and shape != first:
            raise SystemExit(f"--report: {path} is another experiment ({shape}) than {paths[0]} ({first})")
        first = shape
        for seed, results in saved["runs"].items():
            had = by_seed.setdefault(int(seed), {})
            if had.keys() & results.keys():
                raise SystemExit(f"--report: seed {seed} has {sorted(had.keys() & results.keys())} in more than one file")
            had.update(results)
    methods = set().union(*by_seed.values()) if by_seed else set()
    partial = sorted(s for s, r in by_seed.items() if r.keys() != methods)
    if partial:  # a run still going, or stopped: its seeds so far
        print(f"--report: seeds {partial} lack some of the methods {sorted(methods)} and are left out", file=sys.stderr)
    return {s: by_seed[s] for s in sorted(by_seed) if s not in partial}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10,000 training images (default: all 60,000)")
    p.add_argument("--arch", default="784-100-10")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch-threads", type=int,
                   help="threads of the sequential PyTorch run (default: --threads). Its accuracy does not depend on "
                        "them; on a loaded machine 2 threads that meet at every operation of every image crawl, so a "
                        "long accuracy run may take 1")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of dnn's initial weights and of the order of the images, shared by every method")
    p.add_argument("--seeds", help="comma-separated seeds: every method once per seed, then the accuracy per seed, "
                                   "per method mean and sd, and CHAOS's paired differences (overrides --seed)")
    p.add_argument("--json", help="--seeds: write every run's figures here after each seed")
    p.add_argument("--lr-gamma", type=float,
                   help="every method's learning rate is multiplied by this after each epoch (dnn's exp schedule; "
                        "default: constant). A decayed rate ends a run with small steps, so its final accuracy "
                        "depends less on its last few hundred images, and seeds differ less")
    p.add_argument("--torch-methods", choices=TORCH_METHODS, default="both",
                   help="which PyTorch runs: both (default), the threaded one, or Hogwild only (the faster of the "
                        "two, the one the goal compares against)")
    p.add_argument("--no-torch", action="store_true",
                   help="dnn's two runs only (sequential and CHAOS): many seeds quickly, to tell CHAOS's own difference "
                        "from sequential per-image SGD")
    p.add_argument("--torch-only", action="store_true",
                   help="PyTorch's runs only, to be joined with a --no-torch file of the same seeds by --report (the "
                        "long PyTorch runs can then be paused and resumed apart from dnn's, which watch their card)")
    p.add_argument("--report", metavar="JSON", nargs="+",
                   help="print the --seeds summary of files --json wrote (their seeds together), and run nothing")
    a = p.parse_args(argv)
    if a.torch_only and a.no_torch:
        p.error("--torch-only and --no-torch leave nothing to run")
    if a.report:
        by_seed = saved_runs(a.report)
        if not by_seed or CHAOS not in next(iter(by_seed.values())):
            raise SystemExit("--report: no seed has CHAOS's runs in these files (join a --torch-only file with dnn's)")
        print("\n".join(seeds_report(by_seed)))
        return 0
    data = dataset(10000 if a.quick else None)
    torch_threads = None if a.no_torch else a.torch_threads or a.threads
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()] if a.seeds else [a.seed]
    rate = f"lr {LR} x {a.lr_gamma:g} per epoch" if a.lr_gamma else f"lr {LR} constant"
    head = (f"{a.arch} on {data}, {a.epochs} epoch(s), {rate}, plain SGD, one image per step, the same "
            "starting weights and image order for all methods of a seed")
    by_seed = {}
    for seed in seeds:
        load0 = os.getloadavg()[0]
        by_seed[seed] = run_seed(a.arch, data, a.epochs, a.threads, torch_threads, seed, a.lr_gamma, a.torch_methods,
                                 dnn_runs=not a.torch_only)
        print(f"{head}; seed {seed}; load {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
        print("\n".join(one_seed_report(by_seed[seed], a.epochs)), flush=True)
        if a.json:
            Path(a.json).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json).write_text(json.dumps({"arch": a.arch, "data": data, "epochs": a.epochs, "threads": a.threads,
                                                "torch_threads": torch_threads, "lr_gamma": a.lr_gamma,
                                                "torch_methods": a.torch_methods, "runs": by_seed}, indent=2, default=float))
        if a.seeds and not a.torch_only:  # the summary so far after every seed, so a run that is stopped keeps what it did
            print("\n" + "\n".join(seeds_report(by_seed)) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
