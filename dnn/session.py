"""One training run from start to end: data in, epochs of chunks, evaluation, checkpoints,
metrics out. `dnn.train` is its command line; `dnn.compare` runs it once per configuration.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import checkpoint as ckpt
from .cli import Terminated
from .data import ChunkReader
from .errors import CardDiedError, DnnError
from .trainer import Config, Trainer


@dataclass
class Schedule:
    """Learning rate per epoch: constant, step (x gamma every `step` epochs) or exp (x gamma each)."""

    kind: str = "constant"
    gamma: float = 0.5
    step: int = 5

    def lr(self, base: float, epoch: int) -> float:
        if self.kind == "step":
            return base * self.gamma ** (epoch // self.step)
        if self.kind == "exp":
            return base * self.gamma**epoch
        return base


def _epoch_totals(trainer: Trainer, reader: ChunkReader, epoch: int, train: bool, bar=None,
                  skip_chunks: int = 0, on_chunk=None, where: str | None = None):
    """Run every chunk of one pass; returns (loss_sum, correct, images, seconds). Errors name
    `where` (default: the epoch when training, "evaluation" otherwise) and the chunk."""
    total = np.zeros(4)
    buffers = {id(b.x): b for b in trainer.buffers}
    t0 = time.perf_counter()
    images = 0
    # With overlap (explicit mode) the next chunk is read before this one runs, so it can cross
    # to the card meanwhile; this one is put on the card first, since reading the next lets the
    # reader refill this one's buffer. Otherwise the next chunk is asked for only after.
    look_ahead = trainer.overlaps
    chunks = enumerate(reader.epoch(epoch, buffers=[(b.x, b.y) for b in trainer.buffers]))
    item = next(chunks, None)
    while item is not None:
        i, (n, xb, _yb) = item
        if i < skip_chunks:
            item = next(chunks, None)
            continue
        buf = buffers[id(xb)]
        try:
            if look_ahead:
                trainer.stage(buf, n)
                item = next(chunks, None)
                ahead = (buffers[id(item[1][1])], item[1][0]) if item is not None else None
                r = (trainer.train_chunk(buf, n, ahead=ahead) if train
                     else trainer.evaluate_chunk(buf, n, ahead=ahead))
            else:
                r = trainer.train_chunk(buf, n) if train else trainer.evaluate_chunk(buf, n)
                item = next(chunks, None)
        except DnnError as exc:
            what = where or (f"epoch {epoch + 1}" if train else "evaluation")
            raise type(exc)(f"{what}, chunk {i + 1}: {exc}") from None
        total += r
        images += n
        if bar is not None:
            dt = time.perf_counter() - t0
            bar.set_postfix(loss=f"{total[0] / max(total[2], 1):.4f}",
                            acc=f"{total[1] / max(total[2], 1):.3f}", img_s=f"{images / max(dt, 1e-9):,.0f}")
            bar.update(1)
        if on_chunk is not None:
            on_chunk(i + 1)
    return total, time.perf_counter() - t0


def evaluate(trainer: Trainer, reader: ChunkReader, after_epoch: int | None = None) -> dict:
    if trainer.confusion is not None:
        trainer.confusion[...] = 0
    where = f"evaluation after epoch {after_epoch}" if after_epoch is not None else None
    total, _ = _epoch_totals(trainer, reader, 0, train=False, where=where)
    images = max(total[2], 1)
    return {"loss": total[0] / images, "accuracy": total[1] / images, "images": int(total[2]),
            "confusion": trainer.confusion.copy() if trainer.confusion is not None else None}


def train(cfg: Config, data: str | os.PathLike, epochs: int, *, schedule: Schedule | None = None,
          checkpoint: str | None = None, resume: str | None = None, metrics_path: str | None = None,
          quiet: bool = False, prefetch: bool = True, evaluate_each_epoch: bool = True,
          keep_trainer: bool = False) -> dict:
    """Train; returns the metrics dict (also written to metrics_path as JSON)."""
    schedule = schedule or Schedule()
    # Under MYO the arena is write-protected page by page: HDF5 must not read() into it directly.
    direct = not (cfg.mode == "implicit" and cfg.coherence != "shared")
    train_reader = ChunkReader(data, "train", chunk_rows=cfg.chunk, shuffle=True, seed=cfg.seed, prefetch=prefetch,
                               direct=direct)
    test_reader = ChunkReader(data, "test", chunk_rows=cfg.chunk, shuffle=False, seed=cfg.seed, prefetch=prefetch,
                              direct=direct)
    metrics = {"mode": cfg.mode, "explicit_weights": cfg.explicit_weights if cfg.mode == "explicit" else None,
               "granularity": cfg.granularity, "arch": str(cfg.arch), "activation": cfg.arch.activation,
               "epochs": epochs, "bunch": cfg.bunch, "chunk": cfg.chunk, "threads": cfg.threads,
               "link": cfg.link, "seed": cfg.seed, "lr": cfg.lr, "data": str(data),
               "train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": [], "epoch_s": []}
    start_epoch, start_chunk = 0, 0
    trainer = Trainer(cfg, train_reader.input_dim, train_reader.num_classes)
    try:
        if resume:
            ck = ckpt.load(resume)
            ckpt.check_fits(ck, str(cfg.arch), cfg.arch.activation, cfg.bunch, resume)
            trainer.net.blocks["params"][...] = ck.params
            trainer.net.blocks["moment"][...] = ck.moment
            start_epoch, start_chunk = ck.epoch, ck.chunk
            for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_s"):
                metrics[key] = list(ck.metrics.get(key, []))

        # Where the last complete chunk left the weights: an interrupted chunk changes them in
        # place, so a checkpoint on Ctrl-C is written from this copy, never from live weights.
        snap = {"epoch": start_epoch, "chunk": start_chunk, "params": None, "moment": None}
        spare = {"params": None, "moment": None}

        def take_snapshot(epoch_done: int, chunk_done: int) -> None:
            if not checkpoint:
                return
            trainer.sync_weights()
            # Copied into spare arrays, then swapped in by one dict.update: a Ctrl-C or SIGTERM
            # (raised between bytecodes) sees the old snapshot or the new one, never params of
            # one chunk with the momentum or position of another.
            new = {}
            for k in ("params", "moment"):
                if spare.get(k) is None:
                    new[k] = trainer.net.blocks[k].copy()
                else:
                    new[k] = spare[k]
                    new[k][...] = trainer.net.blocks[k]
            old = {"params": snap["params"], "moment": snap["moment"]}
            snap.update(params=new["params"], moment=new["moment"], epoch=epoch_done, chunk=chunk_done)
            spare.update(old)

        def save(epoch_done: int, chunk_done: int, from_snapshot: bool = False) -> None:
            if not checkpoint:
                return
            if not from_snapshot:
                take_snapshot(epoch_done, chunk_done)
            if not (np.isfinite(snap["params"]).all() and np.isfinite(snap["moment"]).all()):
                # Never replace a good checkpoint by garbage (possible when evaluation is off).
                raise DnnError(f"the weights are no longer finite after epoch {snap['epoch']}, chunk "
                               f"{snap['chunk']}: {checkpoint} was not overwritten; lower the learning rate")
            ckpt.save(checkpoint, ckpt.Checkpoint(
                arch=str(cfg.arch), activation=cfg.arch.activation, bunch=cfg.bunch,
                params=snap["params"], moment=snap["moment"],
                epoch=snap["epoch"], chunk=snap["chunk"], seed=cfg.seed, config=_config_dict(cfg),
                metrics={k: metrics[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                                  "test_accuracy", "epoch_s")}))

        t_start = time.perf_counter()
        images = 0
        take_snapshot(start_epoch, start_chunk)
        try:
            for epoch in range(start_epoch, epochs):
                trainer.set_lr(schedule.lr(cfg.lr, epoch))
                skip = start_chunk if epoch == start_epoch else 0
                bar = tqdm(total=train_reader.num_chunks - skip, desc=f"epoch {epoch + 1}/{epochs}",
                           unit="chunk", disable=quiet, leave=True, dynamic_ncols=True)
                with bar:
                    total, secs = _epoch_totals(trainer, train_reader, epoch, train=True, bar=bar, skip_chunks=skip,
                                                on_chunk=lambda done, e=epoch: take_snapshot(e, done))
                images += int(total[2])
                metrics["train_loss"].append(total[0] / max(total[2], 1))
                metrics["train_accuracy"].append(total[1] / max(total[2], 1))
                metrics["epoch_s"].append(secs)
                if evaluate_each_epoch:
                    ev = evaluate(trainer, test_reader, after_epoch=epoch + 1)
                    metrics["test_loss"].append(ev["loss"])
                    metrics["test_accuracy"].append(ev["accuracy"])
                    if ev["confusion"] is not None:
                        metrics["confusion"] = ev["confusion"].tolist()
                save(epoch + 1, 0)
                if not quiet:
                    tqdm.write(_epoch_line(metrics, epoch, epochs))
        except (KeyboardInterrupt, Terminated):
            # The chunk under way is abandoned; what the last complete one left is kept.
            if checkpoint:
                save(0, 0, from_snapshot=True)
                print(f"interrupted: checkpoint at epoch {snap['epoch'] + 1}, chunk {snap['chunk']} written to "
                      f"{checkpoint}; continue with --resume {checkpoint}", file=sys.stderr)
            raise
        except CardDiedError as exc:
            # The card is gone, the weights of the last complete chunk are not: keep them.
            if not checkpoint:
                raise CardDiedError(f"{exc}; start again (with --checkpoint FILE, progress up to the last "
                                    "complete chunk survives such a failure)") from None
            save(0, 0, from_snapshot=True)
            raise CardDiedError(f"{exc}; checkpoint at epoch {snap['epoch'] + 1}, chunk {snap['chunk']} "
                                f"written to {checkpoint}: continue with --resume {checkpoint}") from None
        wall = time.perf_counter() - t_start
        s = trainer.stats()
        metrics.update({
            "wall_s": wall, "compute_s": s["compute_s"], "transfer_s": s["transfer_s"],
            "transfer_real_s": s.get("transfer_real_s", 0.0), "transfer_model_s": s.get("transfer_model_s", 0.0),
            "wait_s": s["wait_s"], "bytes_to_card": int(s["bytes_to_card"]),
            "bytes_from_card": int(s["bytes_from_card"]), "offload_calls": int(s["calls"]),
            "transfers": int(s.get("transfers", 0)),
            "images": images, "images_per_s": images / wall if wall > 0 else 0.0,
            "card_pid": trainer.card_pid(), "host_pid": os.getpid(), "coherence": cfg.coherence,
        })
        if cfg.coherence != "shared" and cfg.mode == "implicit":
            metrics.update({k: s[k] for k in s if k.startswith("myo_") or k == "coherence_s"})
        if keep_trainer:
            trainer.sync_weights()
            metrics["_weights"] = trainer.net.blocks["params"].copy()
    finally:
        trainer.close()
        train_reader.close()
        test_reader.close()
    if metrics_path:
        Path(metrics_path).write_text(json.dumps({k: v for k, v in metrics.items() if not k.startswith("_")},
                                                 indent=2))
    return metrics


def _epoch_line(m: dict, epoch: int, epochs: int) -> str:
    line = (f"epoch {epoch + 1}/{epochs}: train loss {m['train_loss'][-1]:.4f} "
            f"acc {m['train_accuracy'][-1]:.4f}")
    if m["test_loss"]:
        line += f" | test loss {m['test_loss'][-1]:.4f} acc {m['test_accuracy'][-1]:.4f}"
    return line + f" | {m['epoch_s'][-1]:.1f} s"


def _config_dict(cfg: Config) -> dict:
    d = asdict(cfg)
    d["arch"] = str(cfg.arch)
    d["activation"] = cfg.arch.activation
    return d
