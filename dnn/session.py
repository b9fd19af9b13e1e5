"""One training run from start to end: data in, epochs of chunks, evaluation, checkpoints,
metrics out. `dnn.train` is its command line (run_training); `dnn.compare` runs it once per
configuration; `dnn.evaluate` uses its evaluation pass (run_evaluation).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from . import checkpoint as ckpt
from .cli import Terminated, raise_pending
from .data import ChunkReader
from .errors import CardDiedError, DnnError
from .lock import exclusive
from .offload import lib
from .outputs import write_json
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


@dataclass
class Totals:
    """The kernels' results summed over a pass, by name (the kernels return them in the order of
    dnn.h's DNN_R_* constants)."""

    loss_sum: float = 0.0
    correct: float = 0.0
    images: float = 0.0
    bunches: float = 0.0

    def add(self, result) -> None:
        self.loss_sum += result[lib.DNN_R_LOSS_SUM]
        self.correct += result[lib.DNN_R_CORRECT]
        self.images += result[lib.DNN_R_IMAGES]
        self.bunches += result[lib.DNN_R_BUNCHES]

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.images, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.images, 1)


@contextmanager
def _in_chunk(where: str, index: int):
    """Errors raised inside name the pass and the chunk: "epoch 2, chunk 7: ..."."""
    try:
        yield
    except DnnError as exc:
        raise type(exc)(f"{where}, chunk {index + 1}: {exc}") from None


def _look_ahead(trainer: Trainer, chunks, where: str):
    """(index, buffer, rows, ahead) for each chunk of a pass. With overlap (explicit mode) the next
    chunk is read before this one runs, so that it can cross to the card meanwhile (ahead: its
    buffer and rows); this one is put on the card first, since reading the next lets the reader
    refill this one's buffer. Otherwise the next chunk is asked for only after this one ran."""
    item = next(chunks, None)
    while item is not None:
        index, buf, rows = item
        if not trainer.overlaps:
            yield index, buf, rows, None
            with _in_chunk(where, index):
                item = next(chunks, None)
            continue
        with _in_chunk(where, index):
            trainer.stage(buf, rows)
            item = next(chunks, None)
        yield index, buf, rows, (item[1:] if item is not None else None)


def run_pass(trainer: Trainer, reader: ChunkReader, epoch: int, train: bool, bar=None, skip_chunks: int = 0,
             on_chunk=None, where: str | None = None) -> tuple[Totals, float]:
    """Train (or evaluate) every chunk of one pass; returns the totals and the seconds it took.
    Errors name `where` (default: the epoch when training, "evaluation" otherwise) and the chunk."""
    where = where or (f"epoch {epoch + 1}" if train else "evaluation")
    run_chunk = trainer.train_chunk if train else trainer.evaluate_chunk
    buffers, firsts = {id(b.x): b for b in trainer.buffers}, reader.first_rows(epoch)
    read = reader.epoch(epoch, buffers=[(b.x, b.y) for b in trainer.buffers])
    chunks = ((i, _holding(buffers[id(x)], firsts[i]), rows) for i, (rows, x, _y) in enumerate(read)
              if i >= skip_chunks)
    totals, images, t0 = Totals(), 0, time.perf_counter()
    for index, buf, rows, ahead in _look_ahead(trainer, chunks, where):
        with _in_chunk(where, index):
            totals.add(run_chunk(buf, rows, ahead=ahead) if trainer.overlaps else run_chunk(buf, rows))
        images += rows
        if bar is not None:
            rate = images / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{totals.loss:.4f}", acc=f"{totals.accuracy:.3f}", img_s=f"{rate:,.0f}")
            bar.update(1)
        if on_chunk is not None:
            on_chunk(index + 1)
        raise_pending()  # a Ctrl-C swallowed during the chunk stops the pass here, the chunk kept
    return totals, time.perf_counter() - t0


def _holding(buf, first: int):
    """buf, noted to hold the chunk whose row 0 is dataset row `first`."""
    buf.first = int(first)
    return buf


def run_evaluation(trainer: Trainer, reader: ChunkReader, after_epoch: int | None = None) -> dict:
    """Loss, accuracy and confusion counts of the trainer's network over the reader's split."""
    if trainer.confusion is not None:
        trainer.confusion[...] = 0
    where = f"evaluation after epoch {after_epoch}" if after_epoch is not None else None
    totals, _ = run_pass(trainer, reader, 0, train=False, where=where)
    return {"loss": totals.loss, "accuracy": totals.accuracy, "images": int(totals.images),
            "confusion": trainer.confusion.copy() if trainer.confusion is not None else None}


class _Kept(NamedTuple):
    params: np.ndarray
    moment: np.ndarray
    epoch: int  # epochs complete
    chunk: int  # chunks of the next epoch complete


class Snapshot:
    """Where the last complete chunk left the weights. An interrupted chunk changes them in place,
    so the checkpoint written on Ctrl-C or a dead card comes from this copy, never from the live
    weights. Without a checkpoint path it keeps nothing."""

    def __init__(self, path: str | None, cfg: Config, schedule: Schedule):
        self.path, self.cfg, self.schedule = path, cfg, schedule
        self.kept: _Kept | None = None
        self._spare: _Kept | None = None

    def take(self, trainer: Trainer, epoch: int, chunk: int) -> None:
        if not self.path:
            return
        trainer.sync_weights()
        blocks, spare = trainer.net.blocks, self._spare
        params = blocks["params"].copy() if spare is None else _copy_into(spare.params, blocks["params"])
        moment = blocks["moment"].copy() if spare is None else _copy_into(spare.moment, blocks["moment"])
        # Swapped in by one assignment: a Ctrl-C or SIGTERM (raised between bytecodes) sees the old
        # snapshot or the new one, never params of one chunk with the momentum or position of another.
        old, self.kept = self.kept, _Kept(params, moment, epoch, chunk)
        self._spare = old

    def save(self, metrics: dict) -> None:
        """Write what was kept to the checkpoint path."""
        if not self.path:
            return
        k, cfg = self.kept, self.cfg
        if not (np.isfinite(k.params).all() and np.isfinite(k.moment).all()):
            # Never replace a good checkpoint by garbage (possible when evaluation is off).
            raise DnnError(f"the weights are no longer finite after epoch {k.epoch}, chunk {k.chunk}: "
                           f"{self.path} was not overwritten; lower the learning rate")
        ckpt.save(self.path, ckpt.Checkpoint(
            arch=str(cfg.arch), activation=cfg.arch.activation, bunch=cfg.bunch, params=k.params,
            moment=k.moment, epoch=k.epoch, chunk=k.chunk, seed=cfg.seed,
            config=_config_dict(cfg) | _schedule_dict(self.schedule),
            metrics={key: metrics[key] for key in CURVES}))

    def where(self) -> str:
        return f"epoch {self.kept.epoch + 1}, chunk {self.kept.chunk}"


def _copy_into(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    dst[...] = src
    return dst


CURVES = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epoch_s")


def _resume(trainer: Trainer, path: str, cfg: Config, metrics: dict, chunks: int) -> tuple[int, int]:
    """Load a checkpoint's weights and curves; returns (epoch, chunk) where it stopped."""
    ck = ckpt.load(path)
    ckpt.check_fits(ck, str(cfg.arch), cfg.arch.activation, cfg.bunch, path)
    if ck.chunk > chunks:
        raise ckpt.CheckpointError(f"checkpoint {path} stopped after chunk {ck.chunk} of an epoch, but the "
                                   f"dataset has {chunks} chunks of {cfg.chunk} rows: it was made with other "
                                   "data; give the dataset it was trained on")
    if ck.params.shape != trainer.net.blocks["params"].shape:
        raise ckpt.CheckpointError(f"checkpoint {path} holds {ck.params.size:,} parameters but a {cfg.arch} network "
                                   f"has {trainer.net.blocks['params'].size:,}; the file is damaged, use an earlier one")
    trainer.net.blocks["params"][...] = ck.params
    trainer.net.blocks["moment"][...] = ck.moment
    for key in CURVES:
        metrics[key] = list(ck.metrics.get(key, []))
    return ck.epoch, ck.chunk


def run_training(cfg: Config, data: str | os.PathLike, epochs: int, **options) -> dict:
    """Train; returns the metrics dict (also written to metrics_path as JSON). Options: those of
    _train. The checkpoint path is locked for the whole run: a second writer is refused (in an MPI
    job only rank 0 writes it, so only rank 0 locks it)."""
    checkpoint, ranks = options.get("checkpoint"), options.get("ranks")
    writes = checkpoint and (ranks is None or ranks.rank == 0)
    with exclusive(checkpoint, "--checkpoint") if writes else nullcontext():
        return _train(cfg, data, epochs, **options)


def _train(cfg: Config, data: str | os.PathLike, epochs: int, *, schedule: Schedule | None = None,
           checkpoint: str | None = None, resume: str | None = None, metrics_path: str | None = None,
           quiet: bool = False, prefetch: bool = True, evaluate_each_epoch: bool = True,
           keep_trainer: bool = False, ranks=None) -> dict:
    """ranks: one rank of an MPI job (dnn.distributed): it reads its rows only, and rank 0 alone
    writes checkpoint and metrics."""
    schedule = schedule or Schedule()
    # Under MYO the arena is write-protected page by page: HDF5 must not read() into it directly.
    direct = not (cfg.mode == "implicit" and cfg.coherence != "shared")
    # Over MPI each rank reads its share of every bunch; CHAOS workers have no bunch: of every chunk.
    open_train = (ChunkReader if ranks is None
                  else functools.partial(ranks.reader, bunch=cfg.chunk if cfg.workers else cfg.bunch))
    train_reader = open_train(data, split="train", chunk_rows=cfg.chunk, shuffle=True, seed=cfg.seed,
                              prefetch=prefetch, direct=direct)
    if ranks is not None and ranks.rank != 0:
        checkpoint = metrics_path = None
    test_reader = ChunkReader(data, "test", chunk_rows=cfg.chunk, shuffle=False, seed=cfg.seed, prefetch=prefetch,
                              direct=direct)
    metrics = _run_description(cfg, data, epochs) | {key: [] for key in CURVES}
    trainer = Trainer(cfg, train_reader.input_dim, train_reader.num_classes, ranks)
    try:
        start_epoch, start_chunk = (_resume(trainer, resume, cfg, metrics, train_reader.num_chunks) if resume
                                    else (0, 0))
        snapshot = Snapshot(checkpoint, cfg, schedule)
        snapshot.take(trainer, start_epoch, start_chunk)
        t_start, images = time.perf_counter(), 0
        try:
            for epoch in range(start_epoch, epochs):
                trainer.set_lr(schedule.lr(cfg.lr, epoch))
                trainer.set_epoch(epoch)
                skip = start_chunk if epoch == start_epoch else 0
                with tqdm(total=train_reader.num_chunks - skip, desc=f"epoch {epoch + 1}/{epochs}", unit="chunk",
                          disable=quiet, leave=True, dynamic_ncols=True) as bar:
                    totals, secs = run_pass(trainer, train_reader, epoch, train=True, bar=bar, skip_chunks=skip,
                                            on_chunk=lambda done, e=epoch: snapshot.take(trainer, e, done))
                images += int(totals.images)
                metrics["train_loss"].append(totals.loss)
                metrics["train_accuracy"].append(totals.accuracy)
                metrics["epoch_s"].append(secs)
                if evaluate_each_epoch:
                    _record_evaluation(metrics, run_evaluation(trainer, test_reader, after_epoch=epoch + 1))
                snapshot.take(trainer, epoch + 1, 0)
                snapshot.save(metrics)
                if not quiet:
                    tqdm.write(_epoch_line(metrics, epoch, epochs))
        except (KeyboardInterrupt, Terminated):
            # The chunk under way is abandoned; what the last complete one left is kept.
            if checkpoint:
                snapshot.save(metrics)
                print(f"interrupted: checkpoint at {snapshot.where()} written to {checkpoint}; continue with "
                      f"--resume {checkpoint}", file=sys.stderr)
            raise
        except CardDiedError as exc:
            # The card is gone, the weights of the last complete chunk are not: keep them.
            if not checkpoint:
                raise CardDiedError(f"{exc}; start again (with --checkpoint FILE, progress up to the last "
                                    "complete chunk survives such a failure)") from None
            snapshot.save(metrics)
            raise CardDiedError(f"{exc}; checkpoint at {snapshot.where()} written to {checkpoint}: continue "
                                f"with --resume {checkpoint}") from None
        metrics.update(_run_counters(trainer, cfg, time.perf_counter() - t_start, images))
        if keep_trainer:
            trainer.sync_weights()
            metrics["_weights"] = trainer.net.blocks["params"].copy()
    finally:
        trainer.close()
        train_reader.close()
        test_reader.close()
    if metrics_path:
        write_json(metrics_path, {k: v for k, v in metrics.items() if not k.startswith("_")}, "metrics")
    return metrics


def _run_description(cfg: Config, data, epochs: int) -> dict:
    return {"mode": cfg.mode, "explicit_weights": cfg.explicit_weights if cfg.mode == "explicit" else None,
            "granularity": cfg.granularity, "arch": str(cfg.arch), "activation": cfg.arch.activation,
            "epochs": epochs, "bunch": cfg.bunch, "chunk": cfg.chunk, "threads": cfg.threads,
            "link": cfg.link, "seed": cfg.seed, "lr": cfg.lr, "data": str(data), "workers": cfg.workers,
            "cards": cfg.cards, "shift": cfg.shift}


def _record_evaluation(metrics: dict, ev: dict) -> None:
    metrics["test_loss"].append(ev["loss"])
    metrics["test_accuracy"].append(ev["accuracy"])
    if ev["confusion"] is not None:
        metrics["confusion"] = ev["confusion"].tolist()


def _run_counters(trainer: Trainer, cfg: Config, wall: float, images: int) -> dict:
    """Wall time, images/s and the card's counters of the whole run."""
    s = trainer.stats()
    out = {
        "wall_s": wall, "compute_s": s["compute_s"], "transfer_s": s["transfer_s"],
        "transfer_real_s": s.get("transfer_real_s", 0.0), "transfer_model_s": s.get("transfer_model_s", 0.0),
        "wait_s": s["wait_s"], "bytes_to_card": int(s["bytes_to_card"]),
        "bytes_from_card": int(s["bytes_from_card"]), "offload_calls": int(s["calls"]),
        "transfers": int(s.get("transfers", 0)), "allreduce_s": s.get("allreduce_s", 0.0),
        "images": images, "images_per_s": images / wall if wall > 0 else 0.0,
        "card_pid": trainer.card_pid(), "host_pid": os.getpid(), "coherence": cfg.coherence,
    }
    if trainer.team is not None:  # CHAOS: how the dynamic split shared the images out, card by card
        for kind, key in (("train", "worker_images"), ("eval", "worker_images_eval")):
            per_card = trainer.worker_images(kind)
            out[key + "_per_card"] = per_card
            out[key] = [n for card in per_card for n in card]  # every worker, card after card
    if cfg.coherence != "shared" and cfg.mode == "implicit":
        out.update({k: s[k] for k in s if k.startswith("myo_") or k == "coherence_s"})
    return out


def _epoch_line(m: dict, epoch: int, epochs: int) -> str:
    line = (f"epoch {epoch + 1}/{epochs}: train loss {m['train_loss'][-1]:.4f} "
            f"acc {m['train_accuracy'][-1]:.4f}")
    if m["test_loss"]:
        line += f" | test loss {m['test_loss'][-1]:.4f} acc {m['test_accuracy'][-1]:.4f}"
    return line + f" | {m['epoch_s'][-1]:.1f} s"


def _schedule_dict(s: Schedule) -> dict:
    return {"lr_schedule": s.kind, "lr_gamma": s.gamma, "lr_step": s.step}


def _config_dict(cfg: Config) -> dict:
    d = asdict(cfg)
    d["arch"] = str(cfg.arch)
    d["activation"] = cfg.arch.activation
    d["placed"] = list(cfg.arch.placed) if cfg.arch.placed else None  # the data's images, for dnn.export
    return d
