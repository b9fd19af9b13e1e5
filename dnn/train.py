"""python -m dnn.train — train a network on a chunked HDF5 dataset, on the emulated card.

Examples:
    python -m dnn.train                                   # default dataset, implicit mode
    python -m dnn.train --mode explicit --explicit-weights copy --granularity bunch
    python -m dnn.train --arch 784-800-800-10 --epochs 10 --checkpoint run.h5
    python -m dnn.train --resume run.h5 --epochs 20       # continue where run.h5 stopped
    python -m dnn.train --arch chaos-small --activation stanh --bunch 1   # CHAOS's small CNN
"""

from __future__ import annotations

import argparse
import sys

from . import cnn_spec
from .cli import run_cli
from .network import ACTIVATIONS, INITS, Arch
from .session import Schedule, run_training
from .train_checks import check_arch_fits, check_ranges
from .trainer import (BUNCH, BUNCH_LR, BUNCH_MOMENTUM, GRANULARITIES, IMAGE_LR, IMAGE_MOMENTUM, MODES, POLICIES,
                      Config)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn.train", allow_abbrev=False,  # --resume needs to know which options were given
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
    m.add_argument("--cards", type=int, default=1,
                   help="data parallelism: split each bunch over this many cards (one process each)")
    m.add_argument("--distributed", action="store_true",
                   help="one rank of an MPI job: mpiexec -n K python -m dnn.train --distributed ...")
    m.add_argument("--sync", choices=["bunch", "chunk"], default="bunch",
                   help="distributed: allreduce the gradients every bunch, or average the weights every chunk")
    m.add_argument("--workers", nargs="?", const="auto", metavar="N",
                   help="CHAOS: N workers on the card train one image at a time, sharing the weights without "
                        "locks (dnn/workers.py); --workers alone = one per card thread; implies --bunch 1")
    m.add_argument("--update-every", type=int, default=1, metavar="K",
                   help="CHAOS: a worker adds its gradients into the shared weights every K images, summing them "
                        "meanwhile (default 1: after each layer's backward, the paper's scheme; more: the weights "
                        "cross between the cores K times less often, each worker K-1 images staler)")
    m.add_argument("--cpus", help="CPU list the card pins itself to, e.g. 0-1")
    m.add_argument("--coherence", choices=["shared", "myo", "myo-on-demand", "myo-on-acquire"], default="shared",
                   help="implicit mode: one shared copy of the arena, or MYO-style copies on each side kept "
                        "coherent page by page (myo = myo-on-demand)")
    m.add_argument("--link", default="none", help="link model: none, knc-pcie, pcie3-x16, pcie4-x16 or BW_GBs,LAT_us")
    m.add_argument("--card-timeout", type=float, default=10.0, metavar="S",
                   help="a card silent (no heartbeat) this long is stopped or hung: it ends the run like a dead "
                        "card (checkpoint of the last complete chunk); time it only waits for a CPU on a busy "
                        "machine does not count; 0 = wait for ever")
    m.add_argument("--card-memory", type=float, default=0, metavar="MIB",
                   help="capacity of the card's private memory in MiB (explicit transfers); 0 = unlimited")
    n = p.add_argument_group("network and training")
    n.add_argument("--arch", help="layer sizes of a fully connected network, e.g. 784-800-800-10 (default: "
                                  "INPUTS-800-800-CLASSES), or a convolutional one: " + cnn_spec.FORM_HELP
                                  + "; 28x28 images go into a 29x29 input at the top left, zeros below and right; "
                                  + cnn_spec.LARGE_FULL_NOTE)
    n.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                   help="hidden layers; stanh = 1.7159 tanh(2x/3), the scaled tanh of Ciresan's networks")
    n.add_argument("--init", choices=["auto"] + sorted(INITS), default="auto",
                   help="auto = he for relu, xavier otherwise; uniform = +-0.1 as DNNTK")
    n.add_argument("--epochs", type=int, default=3)
    n.add_argument("--bunch", type=int, help=f"mini-batch rows (default: {BUNCH}; 1 with --workers)")
    n.add_argument("--lr", type=float, help=f"learning rate (default: {BUNCH_LR}; {IMAGE_LR} when training one "
                                             "image at a time, --bunch 1 or --workers)")
    n.add_argument("--lr-schedule", choices=["constant", "step", "exp"], default="exp",
                   help="exp: lr x gamma each epoch; step: lr x gamma every --lr-step epochs")
    n.add_argument("--lr-gamma", type=float, default=0.7, help="decay factor of the schedule")
    n.add_argument("--lr-step", type=int, default=5, help="epochs between steps (step schedule)")
    n.add_argument("--momentum", type=float, help=f"(default: {BUNCH_MOMENTUM}; {IMAGE_MOMENTUM} when training one "
                                                   "image at a time, as CHAOS's plain per-image SGD)")
    n.add_argument("--weight-decay", type=float, default=0.0)
    n.add_argument("--shift", type=int, default=0, metavar="N",
                   help="move each training image by a random offset in [-N, N] pixels in x and y as it is placed "
                        "into the input (28x28 into 29x29; zero fill), drawn anew each epoch from the seed; test "
                        "images are never moved (default 0: no shift)")
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    from . import rank_guard

    if rank_guard.wanted(args.distributed):  # this process watches the rank, which is its child
        return rank_guard.guard(argv)
    from .data import ChunkReader  # imported late: --help stays fast

    if args.next_steps and not args.checkpoint:
        raise_usage("--next-steps prints commands that use the checkpoint: give --checkpoint FILE.h5 too")
    if args.resume:
        from . import checkpoint as ckpt
        from .train_resume import given_options, restore

        ck = ckpt.load(args.resume)
        restore(args, given_options(parser, argv), ck.config | {"seed": ck.seed}, args.resume)
    data_given = args.data
    if args.data is None:
        from .data import default_dataset

        args.data = str(default_dataset(quiet=args.quiet))
    check_outputs(args)
    with ChunkReader(args.data, "train", shuffle=False, prefetch=False) as probe:
        inputs, classes, file_chunk = probe.input_dim, probe.num_classes, probe.chunk_rows
        shape = probe.input_shape
    workers = parse_workers(args.workers, args.threads)
    check_ranges(args, inputs=inputs)
    arch = Arch.parse(args.arch or f"{inputs}-800-800-{classes}", args.activation, data_shape=shape)
    cfg = Config(arch=arch, mode=args.mode, explicit_weights=args.explicit_weights,
                 granularity=args.granularity, bunch=args.bunch, chunk=args.chunk or file_chunk,
                 threads=args.threads, cpus=args.cpus, link=args.link, seed=args.seed, lr=args.lr,
                 momentum=args.momentum, weight_decay=args.weight_decay, init=args.init,
                 card_memory=int(args.card_memory * 2**20), coherence=args.coherence, overlap=args.overlap,
                 cards=args.cards, distributed=args.distributed, sync=args.sync, card_timeout=args.card_timeout,
                 workers=workers, update_every=args.update_every, shift=args.shift)  # bunch, lr, momentum not given: Config's
    if not arch.cnn:  # a CNN spec checks its own layers when parsed
        check_arch_fits(arch.sizes, cfg.bunch)
    cfg.validate()
    ranks = None
    if args.distributed:
        from .distributed import Ranks

        ranks = Ranks(sync=args.sync)
        args.quiet = args.quiet or ranks.rank != 0
    if arch.cnn and (ranks is None or ranks.rank == 0):  # its layers, their output shapes and weight counts
        print("\n".join(arch.describe()), flush=True)
    try:
        m = run_training(cfg, args.data, args.epochs, schedule=Schedule(args.lr_schedule, args.lr_gamma, args.lr_step),
                         checkpoint=args.checkpoint, resume=args.resume, metrics_path=args.metrics, quiet=args.quiet,
                         ranks=ranks)
    except BaseException as exc:
        if ranks is not None and ranks.size > 1:  # no other rank may wait for this one in a collective
            ranks.abort(exc)
        raise
    if ranks is not None and ranks.rank != 0:
        return 0
    print(summary(m, cfg))
    if args.plot:
        from .plot import plot_metrics

        print(f"wrote {plot_metrics(m, args.plot)}")
    if args.next_steps:
        from .next_steps import next_steps

        print(next_steps(args.checkpoint, data_given, args.data))
    return 0


def check_outputs(args) -> None:
    """Every output path writable and none of them an input, before any work."""
    from .outputs import check_output

    if args.checkpoint:  # the checkpoint may be the one resumed from, never the dataset
        check_output(args.checkpoint, "--checkpoint", inputs=[args.data])
    if args.metrics:
        check_output(args.metrics, "--metrics", inputs=[args.data, args.resume, args.checkpoint])
    if args.plot:
        from .plot import check_png_path

        check_png_path(args.plot, "--plot", [args.data, args.resume, args.checkpoint, args.metrics])


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
    if "myo_bytes_to_card" in m:
        lines.append(f"  of which MYO pages: transfer {m['myo_transfer_s']:.2f} s, "
                     f"{m['myo_bytes_to_card'] / 1e6:,.1f} MB to card, {m['myo_bytes_from_card'] / 1e6:,.1f} MB back")
    return "\n".join(lines)


def workers_note(m: dict) -> str:
    """', 4 workers (images each: 3120 2981 ...)' for a CHAOS run on one card, ', 2 cards x 2 workers
    (images each: card 0: 3120 2981; card 1: ...)' on several, '' otherwise."""
    if not m.get("workers"):
        return ""
    per_card = m.get("worker_images_per_card") or [m["worker_images"]]
    if len(per_card) == 1:
        return f", {m['workers']} workers (images each: {' '.join(map(str, per_card[0]))})"
    each = "; ".join(f"card {k}: {' '.join(map(str, card))}" for k, card in enumerate(per_card))
    return f", {len(per_card)} cards x {m['workers']} workers (images each: {each})"


if __name__ == "__main__":
    sys.exit(run_cli("dnn.train", main))
