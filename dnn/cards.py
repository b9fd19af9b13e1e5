"""Several cards on one host: synchronous data parallelism (`dnn.train --cards N`).

Each bunch is split across the cards, each card computes the gradients of its rows
(DNN_GRAD_BUNCH), the gradients are summed (dnn_sum_grads in native/dnn/cards.cilk, weighted by
each card's share of the rows) and every card applies the same update to its own copy of the
network (DNN_UPDATE_NET), so the copies never drift apart.

  implicit  the cards map one shared arena (Card(arena_of=...)): every card's network and chunk
            view live in it, and card k sums part k of the gradient block of all cards in place
            and writes it back into every card's block: nothing is copied.
  explicit  each card keeps its network resident in its own card memory; its gradients come back
            over its link with the call that computes them, the host sums them (the same kernel,
            run here) and they go back over every link with the update (the counters show it).

Card 0 holds the trainer's own network: evaluation, checkpoints and the counters' card pid use it.
With one thread per card the weights equal a one-card run of the same bunch to float32 rounding
(the rows of a bunch are summed in another grouping); runs repeat bit for bit.

With CHAOS workers (--workers N, one image per step) there is no bunch to split: each card's N
workers train hogwild through that card's slice of the chunk (split_rows over the cards), and once
the chunk is done the cards' weights and momentum are averaged, weighted by the images each card
trained (the same dnn_sum_grads, over the params and moment blocks), so every card starts the next
chunk from the same weights: local SGD between the cards, hogwild within each. Over MPI (--sync
chunk) each rank reads its share of every chunk and the ranks' weights are averaged the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import DnnValueError
from .executors import SHARED_KERNEL, ExplicitExecutor, Executor, ImplicitExecutor
from .network import Network
from .offload import In, ffi, lib, run_local
from .workers import Team, workers_call

SUM_KERNEL = "cilkpp_dnn_sum_grads"
AVERAGED = ("params", "moment")  # what the cards average once per chunk when CHAOS workers train


def split_rows(n: int, cards: int) -> list[tuple[int, int]]:
    """(first row, rows) of each card's share of a bunch of n rows: as even as can be, in order."""
    return [(n * k // cards, n * (k + 1) // cards - n * k // cards) for k in range(cards)]


def check_config(cfg) -> None:
    """What --cards N needs of the rest of the configuration."""
    if cfg.cards < 1:
        raise DnnValueError(f"--cards must be positive, got {cfg.cards}")
    if cfg.sync not in ("bunch", "chunk"):
        raise DnnValueError(f"unknown --sync '{cfg.sync}': use bunch or chunk")
    if cfg.sync == "chunk" and (not cfg.distributed or (cfg.cards > 1 and not cfg.workers)):
        raise DnnValueError("--sync chunk averages the ranks' weights once per chunk: it needs --distributed "
                            "and one card per rank (or CHAOS workers)")
    if cfg.workers and cfg.distributed and cfg.sync != "chunk":
        raise DnnValueError("--workers with --distributed averages the weights once per chunk: give --sync chunk")
    if cfg.cards == 1 and not cfg.distributed:
        return
    if cfg.mode not in ("implicit", "explicit"):
        raise DnnValueError("--cards N and --distributed split each bunch over cards: they need --mode implicit "
                            "or explicit")
    if cfg.mode == "explicit" and cfg.explicit_weights != "resident":
        raise DnnValueError("--cards N keeps each card's network resident: use --explicit-weights resident")
    if cfg.overlap:
        raise DnnValueError("--cards N synchronises the cards every bunch: --overlap is not supported with it")
    if cfg.coherence != "shared":
        raise DnnValueError("--cards N shares one arena between the cards: it needs --coherence shared")
    if cfg.bunch < cfg.cards and not cfg.workers:  # workers split the chunk's images, not a bunch
        raise DnnValueError(f"--bunch {cfg.bunch} cannot be split over --cards {cfg.cards}: give every card a row")


def replica_arena_bytes(cfg) -> int:
    """Arena bytes each card past the first adds in implicit mode: its network and chunk view, and
    its CHAOS workers' state."""
    rows = -(-cfg.bunch // cfg.cards)
    team = Team.nbytes(Network.plan(cfg.arch, rows, cfg.threads)[0], cfg.workers) if cfg.workers else 0
    return sum(Network.block_bytes(cfg.arch, rows, cfg.threads).values()) + team + 16 * 1024


class _ChunkView(NamedTuple):
    """A card's slice of a chunk as the kernels' argument lists take a chunk buffer (its struct)."""

    struct: np.ndarray


class ParallelCards(Executor):
    """N cards of one mode behind the Executor protocol, and the data-parallel bunch loop."""

    def __init__(self, cfg, arena_bytes: int, ranks=None):
        """ranks: a dnn.distributed.Ranks when this host is one of an MPI job."""
        self.cfg, self.k, self.ranks = cfg, cfg.cards, ranks
        self.implicit = cfg.mode == "implicit"
        self.cards: list = []
        try:
            if self.implicit:
                first = ImplicitExecutor(cfg, arena_bytes + (self.k - 1) * replica_arena_bytes(cfg))
                self.cards.append(first)
                self.cards += [ImplicitExecutor(cfg, 0, arena_of=first.card) for _ in range(self.k - 1)]
            else:
                self.cards += [ExplicitExecutor(cfg, 0) for _ in range(self.k)]
        except BaseException:
            self.close()
            raise
        self.nets = None  # the trainer's network first, then one copy per other card (at first use)
        self.teams: list[Team] = []  # CHAOS: the trainer's team first, then one per other card (at first use)

    # -- memory -----------------------------------------------------------------------------
    def alloc(self, shape, dtype):
        return self.cards[0].alloc(shape, dtype)

    def _replicate(self, net, team) -> None:
        """Copies of the trainer's network for cards 1..N-1, sized for one share of a bunch (and
        their CHAOS teams when the trainer has one), and what the sums need: each card's chunk
        view, the addresses of every card's block of each summed kind, the weights."""
        rows = -(-self.cfg.bunch // self.k)
        self.nets = [net]
        for _ in range(1, self.k):
            r = Network(net.arch, rows, self.alloc, self.cfg.threads)
            r.blocks["params"][...] = net.blocks["params"]
            r.blocks["moment"][...] = net.blocks["moment"]
            self.nets.append(r)
        if team is not None:
            self.teams = [team] + [Team(r, team.count, self.alloc, team.every) for r in self.nets[1:]]
        self.views = [self.alloc(ffi.sizeof("dnn_chunk"), np.uint8) for _ in range(self.k)]
        self.ptrs = {}
        for name in ("grads",) + AVERAGED:
            self.ptrs[name] = self.alloc(self.k, np.uint64)
            self.ptrs[name][...] = [n.blocks[name].ctypes.data for n in self.nets]
        self.weights = self.alloc(self.k, np.float32)

    # -- training ---------------------------------------------------------------------------
    def train_chunk(self, net, buf, rows: int, team=None) -> np.ndarray:
        """Train on the first `rows` rows of buf, bunch after bunch split over the cards. Over MPI
        (ranks) buf holds this rank's share of each global bunch, one after the other, and the
        results are summed over the ranks. team: the trainer's CHAOS team (dnn.workers.Team), when
        workers train the chunk instead of bunches."""
        if self.nets is None:
            self._replicate(net, team)
        if team is not None:
            return self._train_workers(buf, rows)
        ranks = self.ranks
        global_rows = ranks.global_rows(buf.x) if ranks else rows
        local_sgd = ranks is not None and ranks.sync == "chunk"
        total, row0, bunches = np.zeros(lib.DNN_R_COUNT), 0, 0
        for start in range(0, global_rows, self.cfg.bunch):
            n = min(self.cfg.bunch, global_rows - start)
            m_rank = ranks.share(n)[1] if ranks else n
            # Each card's gradients are means over its rows: weighted by its share of the bunch
            # (of the rank's own rows under local SGD), their sum is the mean over the bunch.
            shares = [(row0 + r0, m) for r0, m in split_rows(m_rank, self.k)]
            total += self._step(shares, buf, m_rank if local_sgd else n)
            row0, bunches = row0 + m_rank, bunches + 1
        if local_sgd:
            self._average_weights()
        if ranks is not None:
            ranks.allreduce(total)  # every rank reports the job's loss and images
        total[lib.DNN_R_BUNCHES] = bunches  # however many cards and ranks shared each one
        return total

    def _step(self, shares, buf, n) -> np.ndarray:
        """One bunch: every card's gradients, their sum (over the ranks too), every card's update."""
        self._weigh(shares, n)
        got = self._all(self._post_grads(k, buf, *shares[k]) for k, (_, m) in enumerate(shares) if m > 0)
        self._sum("grads")
        if self.ranks is not None and self.ranks.sync == "bunch":
            self.ranks.allreduce(self.nets[0].blocks["grads"])  # in place: in the arena, no copy
            if self.k > 1:  # the job's sum, from card 0's block into every card's
                self.weights[...] = [1.0] + [0.0] * (self.k - 1)
                self._sum("grads")
        self._all(self._post_update(k, buf) for k in range(self.k))
        return got

    def _weigh(self, shares, n) -> list[float]:
        """Each card's weight in the sums: its share of the n rows (set, and returned). And the
        hyper-parameters the schedule set on the first card, on every card."""
        weights = [m / n if n else 0.0 for _, m in shares]
        self.weights[...] = weights
        for k in range(1, self.k):
            self.nets[k].net.hyper = self.nets[0].net.hyper
        return weights

    def _train_workers(self, buf, rows: int) -> np.ndarray:
        """CHAOS workers on every card: card k's workers take the images of card k's slice of the
        chunk one at a time, hogwild on card k's weights; then the cards' weights and momentum are
        averaged, weighted by the images each card trained (local SGD between the cards, and between
        the ranks over MPI: buf then holds this rank's share of the chunk)."""
        shares = split_rows(rows, self.k)
        weights = self._weigh(shares, self.ranks.global_rows(buf.x) if self.ranks else rows)
        got = self._all(self._post_workers(k, buf, *shares[k]) for k, (_, m) in enumerate(shares) if m > 0)
        if not self.implicit:  # the weights are resident on the cards: up over the links, summed here, back
            for ex, net in zip(self.cards, self.nets):
                ex.pull(net, AVERAGED)
        for name in AVERAGED:
            self.weights[...] = weights
            self._sum(name)
            if self.ranks is not None:  # the job's mean, from card 0's block into every card's
                self.ranks.allreduce(self.nets[0].blocks[name])
                if self.k > 1:
                    self.weights[...] = [1.0] + [0.0] * (self.k - 1)
                    self._sum(name)
        if not self.implicit:
            for ex, net in zip(self.cards, self.nets):
                ex.card.transfer([In(net.blocks[name], alloc_if=False, free_if=False) for name in AVERAGED])
        if self.ranks is not None:
            self.ranks.allreduce(got)  # every rank reports the job's loss and images
        return got

    def _average_weights(self) -> None:
        """Local SGD: the mean of the ranks' weights, once per chunk (one card per rank)."""
        ex, params = self.cards[0], self.nets[0].blocks["params"]
        ex.pull(self.nets[0], ["params"])
        self.ranks.allreduce(params)
        scale = np.array([1.0 / self.ranks.size], np.float32)
        run_local(SUM_KERNEL, 0, 1, 1, np.array([params.ctypes.data], np.uint64), scale, params.size,
                  threads=self.cfg.threads)
        if not self.implicit:
            ex.card.transfer([In(params, alloc_if=False, free_if=False)])

    def _all(self, posted) -> np.ndarray:
        """Wait for every posted (card, signal); the results summed. Every call is waited for,
        even when one fails, so none is left in flight: posting stops at the first card that
        refuses (a dead one), and the calls already posted are still waited for."""
        total, error, calls = np.zeros(lib.DNN_R_COUNT), None, []
        try:
            for call in posted:
                calls.append(call)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the waits
            error = exc
        for ex, sig in calls:
            try:
                r = ex.card.wait(sig)
                total[:len(r)] += r
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
                error = error or exc
        if error is not None:
            raise error
        return total

    def _view(self, k, buf, row0, m) -> _ChunkView:
        """Card k's chunk view (implicit): rows row0..row0+m of buf, from the view's start."""
        self.nets[k].rows_from(buf.first + row0)
        view = ffi.cast("dnn_chunk *", self.views[k].ctypes.data)
        lib.dnn_chunk_set(view, ffi.cast("float *", buf.x[row0:].ctypes.data),
                          ffi.cast("int32_t *", buf.y[row0:].ctypes.data), m, buf.x.shape[1])
        return _ChunkView(self.views[k])

    def _post_grads(self, k, buf, row0, m):
        ex, net = self.cards[k], self.nets[k]
        if not self.implicit:
            return ex, ex._post(lib.DNN_GRAD_BUNCH, 0, net, buf, row0, m, None, staged=False, grads="out")
        view = self._view(k, buf, row0, m)
        return ex, ex.card.call_async(SHARED_KERNEL, lib.DNN_GRAD_BUNCH, 0, net.struct, view.struct, None)

    def _post_workers(self, k, buf, row0, m):
        ex, net, crew = self.cards[k], self.nets[k], self.teams[k].crew("train")
        if not self.implicit:
            return ex, ex._post(lib.DNN_TRAIN_CHUNK, 0, net, buf, row0, m, None, staged=False, crew=crew)
        kernel, args = workers_call(crew, lib.DNN_TRAIN_CHUNK, net, self._view(k, buf, row0, m), None)
        return ex, ex.card.call_async(kernel, *args)

    def _sum(self, name: str) -> None:
        """Every card's block `name` replaced by the weighted sum of all of theirs."""
        ptrs, n = self.ptrs[name], self.nets[0].blocks[name].size
        if self.implicit:  # card k sums part k of every card's block, in the shared arena
            self._all((ex, ex.card.call_async(SUM_KERNEL, k, self.k, self.k, ptrs, self.weights, n))
                      for k, ex in enumerate(self.cards))
        else:  # the blocks came back over the links
            run_local(SUM_KERNEL, 0, 1, self.k, ptrs, self.weights, n, threads=self.cfg.threads)

    def _post_update(self, k, buf):
        ex, net = self.cards[k], self.nets[k]
        if not self.implicit:
            return ex, ex._post(lib.DNN_UPDATE_NET, 0, net, buf, 0, 0, None, staged=False, grads="in")
        return ex, ex.card.call_async(SHARED_KERNEL, lib.DNN_UPDATE_NET, 0, net.struct, self.views[k], None)

    # -- the rest of the protocol: card 0 -----------------------------------------------------
    def run(self, what, layer, net, buf, row0, rows, aux=None, crew=None):
        return self.cards[0].run(what, layer, net, buf, row0, rows, aux, crew)

    def run_chunk(self, what, net, buf, rows, ahead=None, aux=None, crew=None):
        return self.cards[0].run_chunk(what, net, buf, rows, ahead, aux, crew)

    def pull(self, net, names) -> None:
        self.cards[0].pull(net, names)

    def stats(self) -> dict:
        """The counters summed over the cards; each card's under "per_card"."""
        per = [ex.stats() for ex in self.cards]
        out = dict(per[0])
        for key, value in per[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = sum(p[key] for p in per)
        out["cards"], out["per_card"] = self.k, per
        out["allreduce_s"] = self.ranks.allreduce_s if self.ranks is not None else 0.0
        return out

    def card_pid(self):
        return self.cards[0].card_pid()

    def close(self) -> None:
        for ex in reversed(self.cards):
            ex.close()
