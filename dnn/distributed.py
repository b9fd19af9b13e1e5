"""Many hosts over MPI (`mpiexec -n K python -m dnn.train --distributed ...`), with mpi4py.

Each rank is a host with its own card(s). Every global bunch of B rows is split over the ranks
(dnn.cards.split_rows), and each rank reads only its share of every bunch from the HDF5 file
(`RankReader`). A rank's cards compute the gradients of its share (weighted by its share of the
global bunch), and the gradient block is allreduced once per bunch, in place, straight from card
0's block: in implicit mode that block is in the shared arena, so nothing is copied into MPI
buffers. Every rank then applies the same update, so the weights stay equal on every rank.

`--sync chunk` (local SGD) instead lets every rank train its rows of a chunk on its own, with its
share as a whole bunch, and averages the weights once per chunk.

Rank 0 writes checkpoints (atomically, as dnn.checkpoint does); every rank evaluates on the whole
test split (the weights are the same everywhere). A rank that fails prints one line naming itself
and the cause, then leaves: its guard (dnn.rank_guard, the process mpiexec started) ends every
other rank, none waits in a collective. A rank killed outright is named by its guard.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from .cards import split_rows
from .data import ChunkReader
from .rank_guard import GUARDED, report_segments

SYNCS = ("bunch", "chunk")
PEER_GRACE_S = 3.0  # how long a rank whose MPI call failed leaves the dead rank's guard to speak first


def mpi():
    """mpi4py's MPI module, or a DnnValueError that says how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - only without the mpi extra
        from .errors import DnnValueError

        raise DnnValueError(f"--distributed needs mpi4py and an MPI ({exc}): pip install '.[mpi]'") from None
    return MPI


class Ranks:
    """This process's place in the job: its communicator, rank and the number of ranks."""

    def __init__(self, comm=None, sync: str = "bunch"):
        self.MPI = mpi()
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        self.rank, self.size, self.sync = self.comm.Get_rank(), self.comm.Get_size(), sync
        report_segments()  # to the guard, which removes them if the job ends badly
        self.rows_read: dict[int, int] = {}  # rows of each chunk in all, by the buffer it went into
        self.allreduce_s = 0.0  # time spent in the allreduces (the counters show it)

    def global_rows(self, x: np.ndarray) -> int:
        """Rows in all of the chunk whose share of this rank was read into x (RankReader)."""
        return self.rows_read[x.ctypes.data]

    def reader(self, path, bunch: int, **kw) -> "RankReader":
        return RankReader(path, self, bunch, **kw)

    def allreduce(self, a: np.ndarray) -> None:
        """Sum a over the ranks, in place (the same buffer MPI reads is the one it writes)."""
        t0 = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, a, op=self.MPI.SUM)
        self.allreduce_s += time.perf_counter() - t0

    def share(self, n: int) -> tuple[int, int]:
        """(offset, rows) of this rank's share of a bunch of n rows."""
        return split_rows(n, self.size)[self.rank]

    def abort(self, exc: BaseException) -> None:
        """One line naming this rank and the cause, then the end of every rank: by the guard, which
        sees this rank leave without MPI_Finalize (MPI_Abort would add a line of its own), or by
        MPI_Abort when no guard watches (a rank started without mpiexec's PMI connection).
        An MPI call that failed most likely failed because another rank died: its guard names it and
        ends the job within moments, so this rank waits that long before it speaks (if it still can)."""
        if isinstance(exc, self.MPI.Exception):
            time.sleep(PEER_GRACE_S)
        message = str(exc) or type(exc).__name__
        print(f"dnn.train: rank {self.rank} of {self.size}: {message}", file=sys.stderr, flush=True)
        if os.environ.get(GUARDED):
            sys.stdout.flush()
            os._exit(1)
        self.comm.Abort(1)


class RankReader(ChunkReader):
    """A ChunkReader that reads only this rank's rows of each chunk: its share of every global bunch,
    bunch after bunch. It tells Ranks how many rows each chunk has in all (by buffer), since the
    cards split each global bunch by it."""

    def __init__(self, path, ranks: Ranks, bunch: int, split: str = "train", **kw):
        super().__init__(path, split, **kw)
        self.ranks, self.bunch = ranks, int(bunch)

    def read_chunk(self, index: int, x: np.ndarray, y: np.ndarray) -> int:
        a = index * self.chunk_rows
        b = min(a + self.chunk_rows, self.num_rows)
        pos = 0
        for start in range(a, b, self.bunch):
            lo, m = self.ranks.share(min(self.bunch, b - start))
            if m:
                pos += self._read_rows(start + lo, start + lo + m, x[pos:], y[pos:], self._scratch)
        self.ranks.rows_read[x.ctypes.data] = b - a
        return pos
