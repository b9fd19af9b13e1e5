"""Soak: many training runs, each with its own card started and stopped, some of them with the card
killed mid-chunk; checks that host memory, card memory and open file descriptors stay flat and that
no card process or shared-memory file is left.

    .venv/bin/python tools/soak.py                 # 300 card starts, ~1 minute
    .venv/bin/python tools/soak.py --cycles 1000 --kill-every 7

Each cycle: open the training and test readers, start a Trainer (a card in implicit or explicit mode,
alternating), train one epoch chunk by chunk, evaluate, write a checkpoint, stop everything. Every
--kill-every-th cycle the card is SIGKILLed before its second chunk and the CardDiedError is checked.
Exit status 1 when a resource grew beyond the allowed drift.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dnn import checkpoint as ckpt  # noqa: E402
from dnn.data import ChunkReader  # noqa: E402
from dnn.errors import CardDiedError  # noqa: E402
from dnn.network import Arch  # noqa: E402
from dnn.session import run_evaluation, run_pass  # noqa: E402
from dnn.trainer import Config, Trainer  # noqa: E402
from conftest import card_processes  # noqa: E402  (the tests' way of finding card processes)


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def make_dataset(folder: Path, rows: int, chunk_rows: int) -> Path:
    from dnn.data import convert

    rng = np.random.default_rng(0)
    protos = rng.random((10, 64)).astype(np.float32)

    def make(n):
        y = rng.integers(0, 10, n)
        return np.clip(protos[y] + 0.2 * rng.standard_normal((n, 64)), 0, 1).astype(np.float32), y

    (xtr, ytr), (xte, yte) = make(rows), make(rows // 4)
    np.savez(folder / "soak.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    convert(str(folder / "soak.npz"), folder / "soak.h5", chunk_rows=chunk_rows, dtype="float32", shuffle=False,
            quiet=True)
    return folder / "soak.h5"


def one_cycle(i: int, data: Path, ck: Path, args) -> tuple[int, int, bool]:
    """Returns (chunks trained, card RSS in KiB seen while it ran, whether the card was killed).
    Cycles rotate implicit, explicit and explicit with --overlap (the DMA lane); training goes
    through the session's chunk loop, which reads ahead for overlap."""
    mode = ("implicit", "explicit", "explicit")[i % 3]
    cfg = Config(arch=Arch.parse(args.arch), mode=mode, explicit_weights="resident", bunch=20,
                 chunk=args.chunk_rows, threads=1, seed=i, overlap=i % 3 == 2)
    kill = args.kill_every > 0 and i % args.kill_every == args.kill_every - 1
    seen = {"chunks": 0, "rss": 0}
    with ChunkReader(data, "train", shuffle=True, seed=i) as train_r, \
            ChunkReader(data, "test", shuffle=False) as test_r, \
            Trainer(cfg, train_r.input_dim, train_r.num_classes) as t:

        def after_chunk(done):
            seen["chunks"] = done
            if done == 1:
                seen["rss"] = rss_kib(t.card_pid())
                if kill:
                    os.kill(t.card_pid(), signal.SIGKILL)

        try:
            run_pass(t, train_r, i, train=True, on_chunk=after_chunk)
        except CardDiedError as exc:
            assert kill and ("died while running kernel" in str(exc) or "died during a transfer" in str(exc)), exc
            return seen["chunks"], seen["rss"], True
        assert not kill, "the killed card was not noticed"
        run_evaluation(t, test_r)
        t.sync_weights()
        ckpt.save(ck, ckpt.Checkpoint(arch=str(cfg.arch), activation="relu", bunch=cfg.bunch,
                                      params=t.net.blocks["params"], moment=t.net.blocks["moment"], epoch=1))
    return seen["chunks"], seen["rss"], False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycles", type=int, default=300, help="training runs, one card start and stop each")
    p.add_argument("--rows", type=int, default=1000, help="training rows (test: a quarter)")
    p.add_argument("--chunk-rows", type=int, default=100)
    p.add_argument("--arch", default="64-256-256-10")
    p.add_argument("--kill-every", type=int, default=10, help="SIGKILL the card in every n-th cycle (0: never)")
    p.add_argument("--warmup", type=int, default=20, help="cycles before the baseline is taken")
    p.add_argument("--max-rss-growth-mib", type=float, default=8.0)
    args = p.parse_args(argv)

    shm_before = set(os.listdir("/dev/shm"))
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp), args.rows, args.chunk_rows)
        ck = Path(tmp) / "ck.h5"
        rows, base, chunks, kills, card_rss = [], None, 0, 0, []
        every = max(args.cycles // 10, 1)
        t0 = time.perf_counter()
        print(f"{'cycle':>6} {'host RSS MiB':>13} {'card RSS MiB':>13} {'fds':>4} {'threads':>7} {'chunks':>7} "
              f"{'kills':>5} {'s':>6}")
        for i in range(args.cycles):
            c, r, killed = one_cycle(i, data, ck, args)
            chunks, kills = chunks + c, kills + killed
            if r:
                card_rss.append(r)
            gc.collect()
            sample = (rss_kib() / 1024, fds(), threads())
            if i + 1 == args.warmup:
                base = sample
            if (i + 1) % every == 0 or i + 1 == args.warmup:
                rows.append((i + 1, *sample))
                print(f"{i + 1:>6} {sample[0]:>13.1f} {(card_rss[-1] if card_rss else 0) / 1024:>13.1f} "
                      f"{sample[1]:>4} {sample[2]:>7} {chunks:>7} {kills:>5} {time.perf_counter() - t0:>6.1f}",
                      flush=True)
        wall = time.perf_counter() - t0
        final = (rss_kib() / 1024, fds(), threads())
        ck_ok = ckpt.load(ck).epoch == 1
        left = sorted(p.name for p in Path(tmp).iterdir())
    base = base or rows[0][1:]
    card_first = np.median(card_rss[: max(len(card_rss) // 10, 1)]) / 1024
    card_last = np.median(card_rss[-max(len(card_rss) // 10, 1):]) / 1024
    problems = []
    if final[0] - base[0] > args.max_rss_growth_mib:
        problems.append(f"host RSS grew {final[0] - base[0]:.1f} MiB after warm-up")
    if card_last - card_first > args.max_rss_growth_mib:
        problems.append(f"card RSS grew {card_last - card_first:.1f} MiB")
    if final[1] != base[1]:
        problems.append(f"open file descriptors {base[1]} -> {final[1]}")
    if final[2] != base[2]:
        problems.append(f"threads {base[2]} -> {final[2]}")
    if card_processes(os.getpid()):
        problems.append(f"card processes left: {card_processes(os.getpid())}")
    if set(os.listdir("/dev/shm")) - shm_before:
        problems.append(f"files left in /dev/shm: {set(os.listdir('/dev/shm')) - shm_before}")
    if not ck_ok or left != ["ck.h5", "soak.h5", "soak.npz"]:
        problems.append(f"checkpoint folder holds {left}")
    print(f"{args.cycles} card starts and stops ({kills} cards killed mid-chunk), {chunks:,} chunks in {wall:.1f} s "
          f"({wall / args.cycles * 1000:.0f} ms per cycle)")
    print(f"host RSS {base[0]:.1f} -> {final[0]:.1f} MiB after warm-up of {args.warmup} cycles; "
          f"card RSS (median, first/last tenth) {card_first:.1f} -> {card_last:.1f} MiB; "
          f"fds {base[1]} -> {final[1]}; threads {base[2]} -> {final[2]}")
    print("FLAT" if not problems else "GREW: " + "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
