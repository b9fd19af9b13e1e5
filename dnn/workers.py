"""CHAOS workers (native/dnn/workers.cilk): N network instances on the card sharing one set of
weights, each training one image at a time and writing each layer's update into the shared weights
without a lock at the end of that layer's backward.

`Team` owns what the workers need besides the network: their state (one block the card carves per
worker, allocated once) and how many images each worker took, for training and for evaluation
(the dynamic split shows in them). `Crew` is what one call hands the kernel. `workers_call` is the
one place the kernels' argument lists are written for Python.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import DnnValueError
from .network import TIMED_OPS
from .offload import ffi, lib

WORKERS_KERNEL = "cilkpp_dnn_run_workers"  # implicit and host: the structures are used where they are
WORKERS_FLAT_KERNEL = "cilkpp_dnn_run_workers_flat"  # explicit: flat arrays, rebuilt on the card


class Crew(NamedTuple):
    """The workers of one call: how many, their state block, the image counts this call adds to, and
    how many images each trains between its additions into the shared weights."""

    count: int
    block: np.ndarray
    images: np.ndarray
    every: int = 1


class Team:
    """The workers' state block and image counts, allocated once where the network lives."""

    def __init__(self, net, workers: int, alloc, every: int = 1):
        """every: images a worker trains between its additions into the shared weights (1: after
        each layer's backward, the paper's scheme)."""
        floats = lib.dnn_workers_floats(ffi.addressof(net.net[0], "spec"), workers)
        if floats < 0:
            raise DnnValueError(f"cannot lay out {workers} workers for the network {net.arch}")
        self.count, self.every = workers, every
        self.block = alloc(int(floats), np.float32)
        self.images = {"train": alloc(workers, np.int64), "eval": alloc(workers, np.int64)}

    @staticmethod
    def nbytes(spec, workers: int) -> int:
        """Bytes a team of this many workers takes for a network of spec (a dnn_spec *)."""
        return 4 * max(int(lib.dnn_workers_floats(spec, workers)), 0) + 2 * 8 * workers

    def crew(self, kind: str) -> Crew:
        """The workers for a training ("train") or evaluation ("eval") call."""
        return Crew(self.count, self.block, self.images[kind], self.every)

    def images_taken(self, kind: str) -> list[int]:
        return [int(n) for n in self.images[kind]]

    # -- the per-worker breakdown: the workers time themselves while the network's timing hook is on
    # (Network.time_operations), each into the dnn_timing of its own structure in the block. Read in
    # host and implicit mode (explicit mode keeps the block on the card).
    def _timing(self, w: int):
        return lib.dnn_workers_net(ffi.cast("float *", self.block.ctypes.data), w).timing

    def reset_timing(self) -> None:
        """Zero every worker's sums."""
        for w in range(self.count):
            t = self._timing(w)
            ffi.buffer(ffi.addressof(t))[:] = bytes(ffi.sizeof("dnn_timing"))

    def worker_seconds(self) -> list[dict]:
        """Per worker, seconds summed over layers since reset_timing(): fetch (taking the next image
        and placing it), forward, loss, backward, update (the hogwild writes into the shared weights),
        waiting (its thread idle at the end of a call while another thread still worked)."""
        out = []
        for w in range(self.count):
            t = self._timing(w)
            row = {name: float(sum(t.seconds[i])) for i, name in enumerate(TIMED_OPS)}
            out.append(row | {"waiting": float(t.waiting)})
        return out

    def update_lines(self, nlayers: int) -> list[tuple[int, int]]:
        """Per layer, summed over the workers since reset_timing(): the 64-byte lines of the shared
        weights their hogwild updates went over, and those they stored (Network.update_lines)."""
        t = [self._timing(w) for w in range(self.count)]
        return [(sum(int(x.lines[l]) for x in t), sum(int(x.stored[l]) for x in t)) for l in range(nlayers)]


def workers_call(crew: Crew, what: int, net, buf, aux, flat: tuple | None = None) -> tuple[str, tuple]:
    """(kernel, arguments) of one workers call. flat: explicit mode's (x, y, rows) of the call, the
    network going as its five blocks."""
    if flat is None:
        return WORKERS_KERNEL, (what, crew.count, crew.every, net.struct, buf.struct, aux, crew.block, crew.images)
    b = net.blocks
    x, y, rows = flat
    return WORKERS_FLAT_KERNEL, (what, crew.count, crew.every, net.struct, b["params"], b["grads"], b["moment"], b["acts"],
                                 b["errs"], x, y, rows, aux, crew.block, crew.images)
