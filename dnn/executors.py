"""How one trainer operation reaches the kernels: one executor per mode.

  host      the kernels run in this process on host memory (kernel `cilkpp_dnn_run_shared`, no card);
  implicit  network and chunk live in the card's shared arena; `_Cilk_offload dnn_run_shared(...)`
            passes pointers only;
  explicit  network and chunk live in host memory; every call copies flat arrays to
            `dnn_run_flat` (kernel `cilkpp_dnn_run_flat`), either all of them every call (`copy`)
            or the chunk only, with the network resident on the card (`resident`).

The executors are siblings behind one small protocol (`Executor`); each is built from the
configuration and the arena size alone, and is handed the network and the chunk buffer on every
call, so none of them reaches back into the trainer. What crosses on one explicit call is decided
by one pure function, `flat_call_transfers`.

The kernels are the _Cilk_shared functions of native/dnn/offloaded.cilk, exported by the
translator under those names. Python calls them through the runtime rather than through
offloaded.cilk's own host side (dnn_offload), so that Ctrl-C is polled between waits and a dead
card becomes a DnnError here instead of the offload-error exit a C program gets.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import numpy as np

from .errors import CardMemoryError
from .network import BLOCKS
from .offload import Card, In, InOut, NoCopy, Out, ffi, lib, run_local
from .workers import workers_call

SHARED_KERNEL = "cilkpp_dnn_run_shared"
FLAT_KERNEL = "cilkpp_dnn_run_flat"
EXPLICIT_ARENA_BYTES = 1 << 20  # explicit mode shares nothing: the arena is the runtime's scratch only


@functools.cache
def bunch_ops(nlayers: int) -> tuple[tuple[int, int], ...]:
    """(operation, layer) of one bunch in the order the C trainer runs them: dnn_bunch_op is the one
    place that order is written."""
    out, step, layer = [], 0, ffi.new("int *")
    while (what := lib.dnn_bunch_op(nlayers, step, layer)) != 0:
        out.append((what, layer[0]))
        step += 1
    return tuple(out)


# ---- the transfers of one explicit call -------------------------------------------------------


class Move(NamedTuple):
    """One clause of an explicit call: which array, which way (in, inout, nocopy), its life-cycle."""

    array: str  # "struct", one of network.BLOCKS, "x", "y", "counts", or the workers' "block", "images"
    direction: str
    alloc_if: bool
    free_if: bool


_STARTS = (lib.DNN_TRAIN_CHUNK, lib.DNN_TRAIN_BUNCH, lib.DNN_OP_FETCH, lib.DNN_EVAL_CHUNK, lib.DNN_GRAD_BUNCH)
_BUNCH_OPS = (lib.DNN_OP_FETCH, lib.DNN_OP_FORWARD, lib.DNN_OP_LOSS, lib.DNN_OP_BACKWARD, lib.DNN_OP_UPDATE)


def flat_call_transfers(what: int, layer: int, nlayers: int, policy: str, *, staged: bool = False,
                        counts: bool = False, grads: str = "nocopy", workers: bool = False) -> list[Move]:
    """The transfers of one call of dnn_run_flat, network first, then rows, labels and counts.

    policy "copy": every array in and out on every call, as the original port did; "resident": the
    network went to the card once (alloc_if, free_if(0)) and stays. staged: the rows crossed ahead
    of the call (overlap) and are freed by it. At op granularity with resident weights the rows
    cross with the bunch's first operation and are freed by its last. grads: with resident weights,
    "out" or "in" moves the gradient block of a data-parallel card over its link (dnn.cards).
    workers (CHAOS): the workers' state block is card scratch that never crosses (resident: it went
    with the network; copy: made and freed on the card by the call), their image counts go in and out."""
    if policy == "resident":
        # The structure carries the hyper-parameters: it goes in when a chunk or bunch starts;
        # between the operations of one bunch the card's copy holds the bunch state.
        struct = Move("struct", "in", False, False) if what in _STARTS else Move("struct", "nocopy", False, False)
        moves = [struct] + [Move(b, grads if b == "grads" else "nocopy", False, False) for b in BLOCKS]
    else:
        moves = [Move(a, "inout", True, True) for a in ("struct",) + BLOCKS]
    if staged:
        rows = ("nocopy", False, True)
    elif policy == "resident" and what in _BUNCH_OPS:
        ops = bunch_ops(nlayers)
        if (what, layer) == ops[0]:
            rows = ("in", True, False)
        else:
            rows = ("nocopy", False, (what, layer) == ops[-1])
    else:
        rows = ("in", True, True)
    moves += [Move("x", *rows), Move("y", *rows)]
    if counts:
        moves.append(Move("counts", "inout", True, True))
    if workers:
        moves += [Move("block", "nocopy", policy != "resident", policy != "resident"),
                  Move("images", "inout", True, True)]
    return moves


_CLAUSES = {"in": In, "out": Out, "inout": InOut, "nocopy": NoCopy}


# ---- the executors ----------------------------------------------------------------------------


class Executor:
    """The protocol: memory for the network and chunks, one call of the kernel, a whole chunk in one
    call, staging a chunk on the card ahead of its call, bringing blocks back to the host, counters.
    The defaults here are those of a mode where host and kernel see the same memory."""

    def alloc(self, shape, dtype) -> np.ndarray:
        return np.zeros(shape, dtype)

    def run(self, what, layer, net, buf, row0, rows, aux=None, crew=None) -> list[float]:
        """One call; with a crew (dnn.workers.Crew) the CHAOS workers run the chunk."""
        raise NotImplementedError

    def run_chunk(self, what, net, buf, rows, ahead=None, aux=None, crew=None) -> list[float]:
        """One call over the first `rows` rows of buf. ahead: (buffer, rows) of the chunk that comes
        next, for executors that can send it while this one runs."""
        return self.run(what, 0, net, buf, 0, rows, aux, crew)

    def stage(self, buf, rows) -> None:
        """Put a chunk on the card ahead of its call (only explicit mode with overlap does)."""

    def pull(self, net, names) -> None:
        """Make the host's copies of these network blocks current."""

    def stats(self) -> dict:
        raise NotImplementedError

    def card_pid(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class HostExecutor(Executor):
    """No card: the kernel runs in this process on host memory."""

    def __init__(self, cfg, arena_bytes: int):
        self.threads = cfg.threads
        lib.dnn_set_threads(cfg.threads)
        self.compute_s = 0.0
        self.calls = 0

    def run(self, what, layer, net, buf, row0, rows, aux=None, crew=None):
        net.rows_from(buf.first)  # the call sees buf's chunk from its row 0, whatever row0
        t0 = time.perf_counter()
        kernel, args = workers_call(crew, what, net, buf, aux) if crew else (
            SHARED_KERNEL, (what, layer, net.struct, buf.struct, aux))
        r = run_local(kernel, *args, threads=self.threads)
        self.compute_s += time.perf_counter() - t0
        self.calls += 1
        return r

    def stats(self) -> dict:
        return {"calls": self.calls, "compute_s": self.compute_s, "transfer_s": 0.0, "transfer_real_s": 0.0,
                "transfer_model_s": 0.0, "wait_s": 0.0, "bytes_to_card": 0, "bytes_from_card": 0}


class _OnCard(Executor):
    """What both card modes share: the card, its counters and its end."""

    card: Card

    def stats(self) -> dict:
        return self.card.stats()

    def card_pid(self) -> int | None:
        return self.card.pid

    def close(self) -> None:
        self.card.close()


class ImplicitExecutor(_OnCard):
    """Network and chunks in the card's shared arena: only pointers cross."""

    def __init__(self, cfg, arena_bytes: int, arena_of: Card | None = None):
        """arena_of: a card whose arena this one maps too (dnn.cards: several cards, one arena)."""
        self.card = Card(threads=cfg.threads, cpus=cfg.cpus, link=cfg.link, arena_bytes=arena_bytes,
                         card_memory=cfg.card_memory, coherence=cfg.coherence, arena_of=arena_of,
                         card_timeout=cfg.card_timeout)

    def alloc(self, shape, dtype):
        return self.card.shared_zeros(shape, dtype)

    def run(self, what, layer, net, buf, row0, rows, aux=None, crew=None):
        net.rows_from(buf.first)  # the call sees buf's chunk from its row 0, whatever row0
        if crew:
            kernel, args = workers_call(crew, what, net, buf, aux)
            return self.card.call(kernel, *args)
        return self.card.call(SHARED_KERNEL, what, layer, net.struct, buf.struct, aux)


class ExplicitExecutor(_OnCard):
    """The bunch taken apart: flat arrays cross, the card puts them back together."""

    def __init__(self, cfg, arena_bytes: int):
        self.policy, self.overlap, self.card_memory = cfg.explicit_weights, cfg.overlap, cfg.card_memory
        self.card = Card(threads=cfg.threads, cpus=cfg.cpus, link=cfg.link, arena_bytes=EXPLICIT_ARENA_BYTES,
                         card_memory=cfg.card_memory, card_timeout=cfg.card_timeout)
        self.on_card = False  # resident: the network went to the card
        self.staged = None  # overlap: (buffer, rows) whose rows are on the card already

    def _upload(self, net, crew=None) -> None:
        """Resident policy: the network (and the workers' block) goes to the card once and stays
        (alloc_if, free_if(0))."""
        if self.policy == "resident" and not self.on_card:
            arrays = [net.struct] + [net.blocks[b] for b in BLOCKS] + ([crew.block] if crew else [])
            self.card.transfer([In(a, alloc_if=True, free_if=False) for a in arrays])
            self.on_card = True

    @staticmethod
    def _rows_in(buf, rows):
        """The chunk's rows and labels, kept on the card until the call that trains them."""
        return [In(buf.x[:rows], free_if=False), In(buf.y[:rows], free_if=False)]

    def stage(self, buf, rows):
        if self.staged != (buf, rows):
            self.card.transfer(self._rows_in(buf, rows))
            self.staged = (buf, rows)

    def run(self, what, layer, net, buf, row0, rows, aux=None, crew=None):
        return self.card.wait(self._post(what, layer, net, buf, row0, rows, aux, staged=False, crew=crew))

    def run_chunk(self, what, net, buf, rows, ahead=None, aux=None, crew=None):
        """With overlap: the chunk was staged on the card (by stage, or by the previous call's
        transfer); its call uses it there and frees it, and the next chunk crosses on the DMA
        lane while this one trains — double buffering, as LEO code did with offload_transfer
        signal()/wait() around the offload."""
        if not self.overlap:
            return super().run_chunk(what, net, buf, rows, ahead, aux, crew)
        self.stage(buf, rows)
        if ahead is not None:
            self._check_room_for(ahead, buf, rows)
        sig = self._post(what, 0, net, buf, 0, rows, aux, staged=True, crew=crew)
        self.staged = None
        try:
            if ahead is not None:
                try:
                    self.card.wait(self.card.transfer(self._rows_in(*ahead), signal=True))
                except CardMemoryError as exc:
                    raise self._overlap_error(str(exc), buf, rows) from None
                self.staged = ahead
        finally:
            result = self.card.wait(sig)
        return result

    def _check_room_for(self, ahead, buf, rows):
        """Before the call: this chunk is on the card now, so whether the next one fits beside it
        is known here, whichever of the two would otherwise win the race to card memory."""
        if not self.card_memory:
            return
        nbuf, nrows = ahead
        need = nbuf.x[:nrows].nbytes + nbuf.y[:nrows].nbytes
        used = self.card.stats()["card_memory_used"]
        if used + need > self.card_memory:
            raise self._overlap_error(f"card memory full: {need} bytes asked for with {used} of "
                                      f"{self.card_memory} in use", buf, rows)

    @staticmethod
    def _overlap_error(what: str, buf, rows) -> CardMemoryError:
        mib = (buf.x[:rows].nbytes + buf.y[:rows].nbytes) / 2**20
        return CardMemoryError(f"{what} (--overlap keeps two chunks on the card, this one and the "
                               f"next: {mib:.0f} MiB more than without it)")

    def _post(self, what, layer, net, buf, row0, rows, aux, staged, grads="nocopy", crew=None):
        """Post one call of dnn_run_flat (or, with a crew, of the workers' twin) with the transfers
        flat_call_transfers plans for it."""
        x, y = buf.x[row0:row0 + rows], buf.y[row0:row0 + rows]
        net.rows_from(buf.first + row0)  # the call's chunk is these rows (before the structure crosses)
        self._upload(net, crew)
        arrays = {"struct": net.struct, "x": x, "y": y, "counts": aux} | net.blocks
        if crew:
            arrays |= {"block": crew.block, "images": crew.images}
        plan = flat_call_transfers(what, layer, net.arch.nlayers, self.policy, staged=staged, counts=aux is not None,
                                   grads=grads, workers=crew is not None)
        xf = [_CLAUSES[m.direction](arrays[m.array], alloc_if=m.alloc_if, free_if=m.free_if) for m in plan]
        if crew:
            kernel, args = workers_call(crew, what, net, buf, aux, flat=(x, y, rows))
            return self.card.call_async(kernel, *args, transfers=xf)
        b = net.blocks
        return self.card.call_async(FLAT_KERNEL, what, layer, net.struct, b["params"], b["grads"], b["moment"],
                                    b["acts"], b["errs"], x, y, rows, aux, transfers=xf)

    def pull(self, net, names):
        """Resident policy: the blocks stay on the card until asked for (evaluation, checkpoints)."""
        if self.policy == "resident" and self.on_card:
            self.card.transfer([Out(net.blocks[n], alloc_if=False, free_if=False) for n in names])


EXECUTORS = {"host": HostExecutor, "implicit": ImplicitExecutor, "explicit": ExplicitExecutor}
