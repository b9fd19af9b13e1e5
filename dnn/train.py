"""python -m dnn.train — train a network on a chunked HDF5 dataset, on the emulated card.

Examples:
    python -m dnn.train                                   # default dataset, implicit mode
    python -m dnn.train --mode explicit --explicit-weights copy --granularity bunch
    python -m dnn.train --arch 784-800-800-10 --epochs 10 --checkpoint run.h5
    python -m dnn.train --resume run.h5 --epochs 20       # continue where run.h5 stopped
"""

from __future__ import annotations

import argparse
import sys

from .cli import run_cli
from .network import ACTIVATIONS, INITS, Arch
from .session import Schedule, run_training
from .trainer import GRANULARITIES, MODES, POLICIES, Config


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn.train",
        description="Train a fully connected network with the forward/backward/update loop offloaded "
                    "to dnn's emulated coprocessor card.",
        epilog="Modes: host = no card (the reference); implicit = network and data in Cilk shared "
               "memory, only pointers cross; explicit = flat arrays copied over the link.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data", help="chunked HDF5 file from 'python -m dnn.chunk' (default: the default "
                                  "dataset, prepared on first use)")
    d.add_argument("--chunk", type=int, help="rows per offloaded chunk (default: the file's chunk rows)")
    m = p.add_argument_group("offload")
    m.add_argument("--mode", choices=MODES, default="implicit")
    m.add_argument("--explicit-weights", choices=POLICIES, default="resident",
                   help="explicit mode: copy every array every call, or keep weights on the card")
    m.add_argument("--overlap", action="store_true",
                   help="explicit mode, chunk granularity: send the next chunk on the card's DMA lane while "
                        "this one trains (double buffering)")
    m.add_argument("--granularity", choices=GRANULARITIES, default="chunk",
                   help="one offload per chunk, per bunch, or per layer operation")
    m.add_argument("--threads", type=int, default=2, help="worker threads on the card (host mode: here)")
    m.add_argument("--workers", nargs="?", const="auto", metavar="N",
                   help="CHAOS: N workers on the card train one image at a time, sharing the weights without "
                        "locks (dnn/workers.py); --workers alone = one per card thread; implies --bunch 1")
    m.add_argument("--cpus", help="CPU list the card pins itself to, e.g. 0-1")
    m.add_argument("--coherence", choices=["shared", "myo", "myo-on-demand", "myo-on-acquire"], default="shared",
                   help="implicit mode: one shared copy of the arena, or MYO-style copies on each side kept "
                        "coherent page by page (myo = myo-on-demand)")
    m.add_argument("--link", default="none", help="link model: none, knc-pcie, pcie3-x16, pcie4-x16 or BW_GBs,LAT_us")
    m.add_argument("--card-memory", type=float, default=0, metavar="MIB",
                   help="capacity of the card's private memory in MiB (explicit transfers); 0 = unlimited")
    n = p.add_argument_group("network and training")
    n.add_argument("--arch", help="layer sizes, e.g. 784-800-800-10 (default: INPUTS-800-800-CLASSES)")
    n.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    n.add_argument("--init", choices=["auto"] + sorted(INITS), default="auto",
                   help="auto = he for relu, xavier otherwise; uniform = +-0.1 as DNNTK")
    n.add_argument("--epochs", type=int, default=3)
    n.add_argument("--bunch", type=int, help="mini-batch rows (default: 100; 1 with --workers)")
    n.add_argument("--lr", type=float, default=0.05)
    n.add_argument("--lr-schedule", choices=["constant", "step", "exp"], default="exp",
                   help="exp: lr x gamma each epoch; step: lr x gamma every --lr-step epochs")
    n.add_argument("--lr-gamma", type=float, default=0.7, help="decay factor of the schedule")
    n.add_argument("--lr-step", type=int, default=5, help="epochs between steps (step schedule)")
    n.add_argument("--momentum", type=float, default=0.9)
    n.add_argument("--weight-decay", type=float, default=0.0)
    n.add_argument("--seed", type=int, default=0)
    o = p.add_argument_group("output")
    o.add_argument("--checkpoint", help="write an HDF5 checkpoint here after every epoch")
    o.add_argument("--resume", help="continue from this checkpoint")
    o.add_argument("--metrics", help="write metrics as JSON here")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    o.add_argument("--plot", metavar="PATH.png", help="draw loss and accuracy per epoch into this PNG")
    o.add_argument("--next-steps", action="store_true",
                   help="end by printing the commands that use the --checkpoint (evaluate, export, compare)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .data import ChunkReader  # imported late: --help stays fast

    if args.next_steps and not args.checkpoint:
        raise_usage("--next-steps prints commands that use the checkpoint: give --checkpoint FILE.h5 too")
    data_given = args.data
    if args.data is None:
        from .data import default_dataset

        args.data = str(default_dataset(quiet=args.quiet))
    with ChunkReader(args.data, "train", shuffle=False, prefetch=False) as probe:
        inputs, classes, file_chunk = probe.input_dim, probe.num_classes, probe.chunk_rows
    arch = Arch.parse(args.arch or f"{inputs}-800-800-{classes}", args.activation)
    if args.epochs < 1:
        raise_usage(f"--epochs must be at least 1, got {args.epochs}")
    if not args.card_memory >= 0:
        raise_usage(f"--card-memory must be a size in MiB (0 = unlimited), got {args.card_memory}")
    workers = parse_workers(args.workers, args.threads)
    bunch = args.bunch if args.bunch is not None else (1 if workers else 100)
    cfg = Config(arch=arch, mode=args.mode, explicit_weights=args.explicit_weights,
                 granularity=args.granularity, bunch=bunch, chunk=args.chunk or file_chunk,
                 threads=args.threads, cpus=args.cpus, link=args.link, seed=args.seed, lr=args.lr,
                 momentum=args.momentum, weight_decay=args.weight_decay, init=args.init,
                 card_memory=int(args.card_memory * 2**20), coherence=args.coherence, overlap=args.overlap,
                 workers=workers)
    cfg.validate()
    if args.plot:
        from .plot import check_png_path

        check_png_path(args.plot, "--plot")
    m = run_training(cfg, args.data, args.epochs, schedule=Schedule(args.lr_schedule, args.lr_gamma, args.lr_step),
                     checkpoint=args.checkpoint, resume=args.resume, metrics_path=args.metrics, quiet=args.quiet)
    print(summary(m, cfg))
    if args.plot:
        from .plot import plot_metrics

        print(f"wrote {plot_metrics(m, args.plot)}")
    if args.next_steps:
        from .next_steps import next_steps

        print(next_steps(args.checkpoint, data_given, args.data))
    return 0


def parse_workers(text: str | None, threads: int) -> int:
    """--workers: absent = 0 (bunches), alone ("auto") = one per card thread, else a positive count."""
    if text is None:
        return 0
    if text == "auto":
        return threads
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise_usage(f"--workers takes a positive number of workers, got '{text}'")
    return n


def raise_usage(msg: str):
    from .errors import DnnValueError

    raise DnnValueError(msg)


def summary(m: dict, cfg: Config) -> str:
    lines = [f"trained {m['arch']} ({m['activation']}) in {cfg.label} mode, link {m['link']}, "
             f"{m['threads']} thread(s){workers_note(m)}: {m['images']:,} images in {m['wall_s']:.1f} s "
             f"({m['images_per_s']:,.0f} images/s)"]
    if m["test_accuracy"]:
        lines.append(f"test accuracy {m['test_accuracy'][-1]:.4f}, test loss {m['test_loss'][-1]:.4f}")
    lines.append(f"card: compute {m['compute_s']:.2f} s, transfer {m['transfer_s']:.2f} s, host wait "
                 f"{m['wait_s']:.2f} s, {m['offload_calls']:,} offload calls, "
                 f"{m['bytes_to_card'] / 1e6:,.1f} MB to card, {m['bytes_from_card'] / 1e6:,.1f} MB back")
    return "\n".join(lines)


def workers_note(m: dict) -> str:
    """', 4 workers (images each: 3120 2981 ...)' for a CHAOS run, '' otherwise."""
    if not m.get("workers"):
        return ""
    return f", {m['workers']} workers (images each: {' '.join(map(str, m['worker_images']))})"


if __name__ == "__main__":
    sys.exit(run_cli("dnn.train", main))
