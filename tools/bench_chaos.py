"""CHAOS on the card: the paper's tables and figure, reproduced (Viebke and Pllana).

    python tools/bench_chaos.py --quick      # a few minutes: 10,000 training images, 1 epoch
    python tools/bench_chaos.py              # the whole 60,000, more epochs
    python tools/bench_chaos.py --table2     # Table II on the paper's CNNs (long: run it with nice)

* Table II analog: wrongly predicted test images (of Fashion-MNIST's 10,000) in the last epoch, for
  1, 2, 4, 8 and 16 workers beside the sequential run (host mode, one image per step), per network.
  --table2 runs it alone on chaos-small, chaos-medium and chaos-large, each with its own training
  images and epochs (--plan), and draws it (table2.png).
* Figure 5 analog: training speed-up against one worker (speedup.png), from runs of their own
  (tools/chaos_speed.py: training only, a few seconds per run, --speed-reps rounds, medians and spreads).
* The performance model of equations (1) and (2) (dnn/chaos_model.py): fitted on one set of runs,
  predicting held-out runs (other image counts and epochs), with the paper's α and a naive baseline.
* Table III analog: predicted minutes when epochs, images and workers scale, on this machine's cores
  and on a 61-core card.

Every run goes through dnn.train's own path (run_training), implicit mode, plain per-image SGD.
Results go to out/chaos/ (chaos.json, chaos.md, speedup.png).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from dnn.chaos_model import ChaosModel, Obs, alpha, naive  # noqa: E402

WORKERS = (1, 2, 4, 8, 16)
# Fully connected stand-ins of growing size (the default: quick on a shared machine), and the
# paper's own convolutional networks by name (--networks chaos-small,...).
NETWORKS = {"small": "784-100-10", "medium": "784-300-100-10", "large": "784-800-800-10",
            **{n: n for n in ("chaos-small", "chaos-medium", "chaos-large")}}
DEFAULT_NETWORKS = "small,medium,large"
LR = 0.01
CHUNK = 2500  # rows per offload call (and per shuffled chunk of the reader)


def dataset(limit: int | None) -> str:
    """Fashion-MNIST (the default dataset), or its first `limit` rows of each split, made once."""
    from dnn.data import convert, default_dataset

    full = default_dataset(quiet=True)
    if not limit:
        return str(full)
    cut = full.with_name(f"{full.stem}-{limit // 1000}k.h5")
    if not cut.exists():
        convert(full.stem, cut, limit=limit, chunk_rows=min(limit, 10000) // 4, quiet=True)
    return str(cut)


def arch_for(arch: str, data: str):
    """The network as it takes the data's images (a CNN's 28x28 images placed into its 29x29 input)."""
    from dnn.data import ChunkReader
    from dnn.network import Arch

    with ChunkReader(data, "train", shuffle=False, prefetch=False) as r:
        return Arch.parse(arch, data_shape=r.input_shape)


def train(arch: str, data: str, epochs: int, workers: int, threads: int, seed: int = 0,
          lr_gamma: float | None = None) -> dict:
    """One run; workers 0 = sequential (host mode, one image per step, one thread). seed: of the
    initial weights and of the order the chunks are visited in. lr_gamma: the learning rate is
    multiplied by it after each epoch (default: constant)."""
    from dnn.session import Schedule, run_training
    from dnn.trainer import Config

    cfg = Config(arch_for(arch, data), mode="implicit" if workers else "host", bunch=1, chunk=CHUNK,
                 threads=threads if workers else 1, workers=workers, lr=LR, momentum=0.0, seed=seed)
    t0 = time.perf_counter()
    m = run_training(cfg, data, epochs, schedule=Schedule("exp", lr_gamma) if lr_gamma else Schedule("constant"),
                     quiet=True)
    m["total_s"] = time.perf_counter() - t0
    return m


def flops(arch: str) -> tuple[float, float]:
    """(forward + backward, forward) FLOPs of one image."""
    from dnn.network import Arch

    a = Arch.parse(arch)
    fwd = a.cnn.forward_flops_per_image() if a.cnn else 2 * sum(x * y for x, y in zip(a.sizes[:-1], a.sizes[1:]))
    return float(a.flops_per_image()), float(fwd)


def obs(arch: str, m: dict, workers: int, test_images: int) -> Obs:
    tf, ef = flops(arch)
    return Obs(workers, m["images"] // m["epochs"], test_images, m["epochs"], tf, ef, m["total_s"], m["wall_s"],
               eval_s=m["wall_s"] - sum(m["epoch_s"]))


def table_two(runs: dict, test_images: int) -> list[str]:
    lines = ["| network | sequential | " + " | ".join(f"{w} workers (diff)" for w in WORKERS) + " |",
             "|---|---|" + "---|" * len(WORKERS)]
    for net, by in runs.items():
        err = {w: round((1 - m["test_accuracy"][-1]) * test_images) for w, m in by.items()}
        cells = [f"{err[w]} ({err[w] - err[0]:+d})" for w in WORKERS]
        lines.append(f"| {net} ({NETWORKS[net]}) | {err[0]} | " + " | ".join(cells) + " |")
    return lines


# Table II on the CNNs: images and epochs per network, chosen to fit a shared 2-core machine (one
# chaos-large image costs about 12x a chaos-medium one, so it gets a cut of the training set).
TABLE2_PLAN = "chaos-small:60000x2,chaos-medium:60000x1,chaos-large:10000x1"


def parse_plan(plan: str) -> dict[str, tuple[int, int]]:
    """'net:IMAGESxEPOCHS,...' -> {net: (images, epochs)}."""
    out = {}
    for item in filter(None, (s.strip() for s in plan.split(","))):
        net, _, size = item.partition(":")
        images, _, epochs = size.partition("x")
        if net not in NETWORKS or not images.isdigit() or not epochs.isdigit():
            raise SystemExit(f"--plan: '{item}' is not NETWORK:IMAGESxEPOCHS with a network of {', '.join(NETWORKS)}")
        out[net] = (int(images), int(epochs))
    return out


def wrong_predictions(m: dict, test_images: int) -> int:
    return round((1 - m["test_accuracy"][-1]) * test_images)


def table_two_rows(errors: dict, plan: dict) -> list[str]:
    """errors: {net: {workers: wrong predictions}}, workers 0 the sequential run."""
    lines = ["| network | images x epochs | sequential | " + " | ".join(f"{w}w (diff)" for w in WORKERS) + " |",
             "|---|---|---|" + "---|" * len(WORKERS)]
    for net, err in errors.items():
        cells = [f"{err[w]} ({err[w] - err[0]:+d})" if w in err else "-" for w in WORKERS]
        images, epochs = plan[net]
        lines.append(f"| {net} | {images:,} x {epochs} | {err.get(0, '-')} | " + " | ".join(cells) + " |")
    return lines


def workers_figure():
    """(pyplot, figure, axes) of a plot against the worker counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    return plt, fig, ax


def save_workers_figure(plt, fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """The worker counts on a log-2 axis, labels, legend, written to path."""
    ax.set_xscale("log", base=2)
    ax.set_xlim(0.8, 20)
    ax.set_xticks(WORKERS, [str(w) for w in WORKERS])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_table_two(errors: dict, path: Path) -> None:
    plt, fig, ax = workers_figure()
    for net, err in errors.items():
        ws = [w for w in WORKERS if w in err]
        line, = ax.plot(ws, [err[w] for w in ws], marker="o", label=net)
        if 0 in err:
            ax.axhline(err[0], color=line.get_color(), ls="--", lw=0.8)
    save_workers_figure(plt, fig, ax, path, "workers (dashed: the sequential run)", "wrong test predictions of 10,000",
                        "CHAOS on the card (Table II analog)")


def run_table_two(plan: dict, threads: int, out: Path) -> None:
    """Every network of the plan, sequential then 1..16 workers; results written after every run so a
    long job that is stopped keeps what it did."""
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    errors, runs = {}, {}
    for net, (images, epochs) in plan.items():
        data = dataset(images if images < 60000 else None)
        from dnn.data import ChunkReader

        with ChunkReader(data, "test", shuffle=False, prefetch=False) as r:
            if r.num_rows != 10000:
                raise SystemExit(f"--plan: {net} with {images} images leaves {r.num_rows} test images, not 10,000")
        errors[net], runs[net] = {}, {}
        for w in (0,) + WORKERS:
            m = train(NETWORKS[net], data, epochs, w, threads)
            errors[net][w] = wrong_predictions(m, 10000)
            runs[net][w] = {"test_accuracy": m["test_accuracy"], "total_s": m["total_s"],
                            "images_per_s": train_rate(m), "worker_images": m.get("worker_images"),
                            "load": os.getloadavg()[0]}
            print(f"{net} {w} workers: {errors[net][w]} wrong, {train_rate(m):,.0f} img/s, "
                  f"images each {m.get('worker_images')}", file=sys.stderr, flush=True)
            md = ["# CHAOS Table II analog: wrong test predictions (of 10,000) in the last epoch", "",
                  f"Fashion-MNIST, lr {LR} plain SGD, one image per step, {threads} card threads, implicit mode; "
                  f"sequential = host mode, one thread. Load average {load:.1f} on {os.cpu_count()} cores at the start.",
                  "", *table_two_rows(errors, plan), "", "![Table II](table2.png)", ""]
            (out / "table2.md").write_text("\n".join(md))
            (out / "table2.json").write_text(json.dumps({"plan": plan, "threads": threads, "load": load,
                                                         "errors": errors, "runs": runs}, indent=2))
            plot_table_two(errors, out / "table2.png")
    print((out / "table2.md").read_text())


def train_rate(m: dict) -> float:
    """Training images per second of the run's epochs (evaluation excluded)."""
    return m["images"] / sum(m["epoch_s"])


def plot_speedup(sp: dict, cores: int, path: Path, apart: dict | None = None) -> None:
    """sp {net: {workers: speed-up}}; apart {net: speed-up of two one-worker processes at once}, drawn
    at 2 workers in the same colour: what the machine gives two workers that share nothing."""
    plt, fig, ax = workers_figure()
    for net, s in sp.items():
        line, = ax.plot(list(s), list(s.values()), marker="o", label=f"{net} ({NETWORKS[net]})")
        if apart and apart.get(net):
            ax.plot([2], [apart[net]], marker="x", linestyle="none", color=line.get_color(), markersize=9,
                    label=f"{net}: 2 one-worker processes at once")
    ax.plot(WORKERS, [min(w, cores) for w in WORKERS], "k--", label=f"linear up to {cores} cores")
    save_workers_figure(plt, fig, ax, path, "workers", "training speed-up vs 1 worker",
                        "CHAOS on the card (Figure 5 analog)")


def model_section(fit: list[Obs], held: list[Obs], cores: int, arch: str) -> tuple[list[str], dict]:
    model = ChaosModel.fit(fit, cores)
    one = next(r for r in fit if r.workers == 1)
    rows, a_model, a_naive = [], [], []
    evaluation = ("" if model.eval_speed is None else f"; evaluating {model.eval_speed / 1e9:.2f} GFLOP/s, M_eval(p) "
                  + ", ".join(f"{p}: {c:+.2f}" for p, c in model.eval_contention.items()))
    lines = [f"Fitted on {len(fit)} runs ({', '.join(f'{r.workers}w/{r.images}img/{r.epochs}ep' for r in fit)}): "
             f"T_prep {model.prep_s:.2f} s, one core training {model.speed / 1e9:.2f} GFLOP/s, memory contention M(p) "
             + ", ".join(f"{p}: {c:+.2f}" for p, c in model.contention.items()) + evaluation + ".", "",
             "| held-out run | measured s | model s | α model | naive s | α naive |", "|---|---|---|---|---|---|"]
    for r in held:
        pm = model.predict(r.workers, r.images, r.eval_images, r.epochs, r.train_flops, r.eval_flops)
        pn = naive(one, r, cores)
        a_model.append(alpha(r.total_s, pm))
        a_naive.append(alpha(r.total_s, pn))
        lines.append(f"| {r.workers} workers, {r.images} images, {r.epochs} epoch(s) | {r.total_s:.2f} | {pm:.2f} | "
                     f"{a_model[-1]:.1%} | {pn:.2f} | {a_naive[-1]:.1%} |")
        rows.append({"obs": r.__dict__, "model_s": pm, "naive_s": pn})
    mean_m, mean_n = sum(a_model) / len(a_model), sum(a_naive) / len(a_naive)
    lines += ["", f"Mean α: model {mean_m:.1%} (paper: 15.4%, goal ≤ 10%), naive baseline {mean_n:.1%}."]
    lines += ["", table_three(model, arch)]
    return lines, {"prep_s": model.prep_s, "speed": model.speed, "contention": model.contention, "held": rows,
                   "mean_alpha": mean_m, "mean_alpha_naive": mean_n}


def table_three(model: ChaosModel, arch: str) -> str:
    """Predicted minutes as epochs, images and workers scale. Past the worker counts measured, M(p) is
    taken as at the largest measured count: an assumption, not a measurement."""
    tf, ef = flops(arch)
    lines = [f"Table III analog ({arch}; predicted minutes; 10,000 test images per epoch; M(p) beyond "
             f"{max(model.contention)} workers assumed equal to M({max(model.contention)})):", "",
             "| epochs | images | " + " | ".join(f"{p}w on {c} cores" for p, c in TABLE_THREE_CARDS) + " |",
             "|---|---|" + "---|" * len(TABLE_THREE_CARDS)]
    for epochs in (15, 70, 140):
        for images in (60000, 120000, 240000):
            cells = [f"{model.predict(p, images, 10000, epochs, tf, ef, cores=c) / 60:,.2f}" for p, c in TABLE_THREE_CARDS]
            lines.append(f"| {epochs} | {images:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLE_THREE_CARDS = ((1, 2), (2, 2), (16, 2), (61, 61), (120, 61), (240, 61))

# --model: fitted on one epoch of 10,000 images at these worker counts; held out: 8 workers, and every
# count on 5,000 images x 2 epochs and 10,000 x 2.
FIT_WORKERS = (1, 2, 4, 16)


def median_run(runs: list[Obs]) -> Obs:
    """The run of median total time (one whole run, so its parts stay consistent)."""
    return sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]


def run_model(net: str, threads: int, reps: int, out: Path) -> None:
    """The model alone, on one network: every run repeated `reps` times, fit and held-out runs
    interleaved so that a load that drifts meets both alike; the median of each is used."""
    arch = NETWORKS[net]
    shapes = {"fit": (dataset(10000), 1), "held 5k x 2": (dataset(5000), 2), "held 10k x 2": (dataset(10000), 2)}
    seen: dict[tuple, list[Obs]] = {}
    load = os.getloadavg()[0]
    for rep in range(reps):
        for w in WORKERS:
            for name, (data, epochs) in shapes.items():
                from dnn.data import ChunkReader

                with ChunkReader(data, "test", shuffle=False, prefetch=False) as r:
                    test_images = r.num_rows
                o = obs(arch, train(arch, data, epochs, w, threads), w, test_images)
                seen.setdefault((name, w), []).append(o)
                print(f"rep {rep} {name} {w}w: {o.total_s:.2f} s (eval {o.eval_s:.2f} s), load "
                      f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    runs = {k: median_run(v) for k, v in seen.items()}
    fit = [runs["fit", w] for w in FIT_WORKERS]
    held = [runs[k] for k in runs if k[0] != "fit" or k[1] not in FIT_WORKERS]
    lines, doc = model_section(fit, held, threads, arch)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# CHAOS performance model on {net} ({arch})", "",
          f"Medians of {reps} interleaved runs each, implicit mode, {threads} card threads; load average {load:.1f} "
          f"on {os.cpu_count()} cores at the start, {os.getloadavg()[0]:.1f} at the end.", "", *lines, ""]
    (out / "model.md").write_text("\n".join(md))
    (out / "model.json").write_text(json.dumps({"net": net, "reps": reps, "load": load, **doc}, indent=2, default=str))
    print("\n".join(md))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10,000 training images, 1 epoch (the model: 5,000 and 2)")
    p.add_argument("--epochs", type=int, help="epochs of the Table II runs (default: 1 quick, 3 full)")
    p.add_argument("--threads", type=int, default=2, help="card threads (cores given to the card)")
    p.add_argument("--networks", default=DEFAULT_NETWORKS, help=f"comma-separated, of {', '.join(NETWORKS)}")
    p.add_argument("--out", default=str(ROOT / "out" / "chaos"))
    p.add_argument("--table2", action="store_true", help="only the Table II analog on the paper's CNNs (--plan)")
    p.add_argument("--plan", default=TABLE2_PLAN, help="--table2: NETWORK:IMAGESxEPOCHS,... (default %(default)s)")
    p.add_argument("--model", metavar="NETWORK", help="only the performance model and Table III on this network")
    p.add_argument("--reps", type=int, default=3, help="--model: runs of each shape (medians)")
    p.add_argument("--speed-reps", type=int, default=5, help="rounds of the speed-up runs (medians and spreads)")
    a = p.parse_args(argv)
    if a.model:
        run_model(a.model, a.threads, a.reps, Path(a.out))
        return 0
    if a.table2:
        run_table_two(parse_plan(a.plan), a.threads, Path(a.out))
        return 0
    epochs = a.epochs or (1 if a.quick else 3)
    data = dataset(10000 if a.quick else None)
    from dnn.data import ChunkReader

    with ChunkReader(data, "test", shuffle=False, prefetch=False) as r:
        test_images = r.num_rows
    nets = [n.strip() for n in a.networks.split(",") if n.strip()]
    load = os.getloadavg()[0]
    print(f"data {data}, {epochs} epoch(s), {a.threads} card threads, load {load:.1f} on {os.cpu_count()} cores",
          file=sys.stderr)

    runs = {}
    for net in nets:
        runs[net] = {}
        for w in (0,) + WORKERS:
            m = train(NETWORKS[net], data, epochs, w, a.threads)
            runs[net][w] = m
            print(f"{net} {w} workers: acc {m['test_accuracy'][-1]:.4f}, {train_rate(m):,.0f} img/s, "
                  f"images each {m.get('worker_images')}", file=sys.stderr)
    # Figure 5 from runs of their own (tools/chaos_speed.py): training only, a few seconds each, every
    # worker count once per round, medians and spreads over the rounds.
    from chaos_speed import IMAGES, PAIR, rounds, summarise, table

    speed = summarise(rounds(nets, WORKERS + (PAIR,), a.threads, a.speed_reps, IMAGES, dataset(10000)))
    sp = {net: {w: by[w]["speedup"] for w in WORKERS} for net, by in speed.items()}
    apart = {net: by[PAIR]["speedup"] for net, by in speed.items()}

    # The model, on the smallest network: fit on 1 epoch of the cut, predict other image counts and epochs.
    arch = NETWORKS[nets[0]]
    small = dataset(5000)
    fit = [obs(arch, train(arch, data, 1, w, a.threads), w, test_images) for w in WORKERS]
    held = [obs(arch, train(arch, small, 2, w, a.threads), w, 5000) for w in WORKERS]
    held += [obs(arch, runs[nets[0]][w], w, test_images) for w in WORKERS if epochs != 1]
    model_lines, model = model_section(fit, held, a.threads, arch)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_speedup(sp, a.threads, out / "speedup.png", apart)
    md = ["# CHAOS on the card", "",
          f"Data `{data}` ({test_images:,} test images), {epochs} epoch(s), lr {LR} plain SGD, one image per step, "
          f"{a.threads} card threads; load average {load:.1f} on {os.cpu_count()} cores when it started.", "",
          "## Table II analog: wrong test predictions in the last epoch", "", *table_two(runs, test_images), "",
          "## Figure 5 analog: training speed-up against one worker", "",
          f"Training alone (tools/chaos_speed.py), {a.speed_reps} rounds: median images/s (min-max) and the median "
          f"(min-max) of the per-round speed-ups over one worker; '{PAIR}': two one-worker runs at once in two "
          "processes, which share nothing (the machine's own two-worker speed-up).", "", *table(speed), "",
          "![speed-up](speedup.png)", "", "## Performance model (equations (1) and (2))", "", *model_lines, ""]
    (out / "chaos.md").write_text("\n".join(md))
    doc = {"data": data, "epochs": epochs, "threads": a.threads, "load": load, "networks": {n: NETWORKS[n] for n in nets},
           "runs": {n: {str(w): {k: m[k] for k in ("test_accuracy", "epoch_s", "wall_s", "total_s", "images",
                                                   "worker_images") if k in m} for w, m in by.items()}
                    for n, by in runs.items()},
           "speedup": sp, "apart_speedup": apart, "speed": speed, "model": model}
    (out / "chaos.json").write_text(json.dumps(doc, indent=2, default=str))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
