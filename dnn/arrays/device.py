"""The card as pyMIC showed it to Python: make arrays on it, and the stream that runs on it.

    with Device(threads=2, link="knc-pcie") as card:
        x = card.bind(np.ones((1000, 1000), np.float32))   # explicit: copied to card memory
        s = card.shared(np.ones(1000))                       # implicit: in the shared arena
        y = np.exp(x) + 1.0                                  # runs on the card, stays there
        print(y.get())                                       # the one copy back, when asked

transfers="resident" (the default) leaves results on the card until asked for; "every-op"
sends every explicit operand in and every result back at each operation, as pyMIC2 under
Chainer did: the failure the framework experiment measures.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .. import errors
from ..offload import Card, In, InOut, NoCopy, Out, lib
from . import codes
from .array import OffloadArray
from .storage import CardBuffer, SharedBuffer
from .stream import Stream

TRANSFER_POLICIES = ("resident", "every-op")


class Device:
    def __init__(self, threads: int = 1, link: str = "none", arena_bytes: int = 256 << 20,
                 transfers: str = "resident", cpus: str | None = None, card_memory: int = 0):
        if transfers not in TRANSFER_POLICIES:
            raise errors.DnnValueError(f"transfers={transfers!r}: choose one of {', '.join(TRANSFER_POLICIES)}")
        self.card = Card(threads=threads, cpus=cpus, link=link, arena_bytes=arena_bytes, card_memory=card_memory)
        self.stream = Stream(self.card)
        self.every_op = transfers == "every-op"
        self._dead: list[np.ndarray] = []  # mirrors of card buffers no array uses any more
        self._bound = weakref.WeakValueDictionary()  # address -> CardBuffer keyed by a user's array

    # -- life ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self.card.alive:
            try:
                self.stream.close()
            finally:
                self.card.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sync(self) -> None:
        self.stream.sync()

    def _keys(self) -> set[int]:
        return set(self._bound) | {m.ctypes.data for m in self._dead}

    def release(self, mirror: np.ndarray) -> None:
        """A card buffer lost its last array: free it with the next call (see storage.py)."""
        self._dead.append(mirror)

    # -- making arrays ------------------------------------------------------------------------
    def bind(self, a) -> OffloadArray:
        """Copy a NumPy array into card memory (explicit style); the array is its host side:
        update_host() writes into it, update_device() sends it again."""
        a = np.asarray(a)
        codes.code_of(a.dtype)
        # The card keys buffers by host address: only an array that owns its bytes and is not
        # bound already may be the key itself; anything else is bound through a copy.
        own = a.base is None and a.flags.c_contiguous and a.flags.writeable and a.nbytes > 0
        if not own or a.ctypes.data in self._keys():
            a = np.array(a, order="C", copy=True)
        buf = CardBuffer(self, a.nbytes, mirror=a.reshape(-1).view(np.uint8) if a.nbytes else None)
        self._bound[buf.address] = buf
        self.stream.post("bind", None, transfers=[In(buf.mirror, alloc_if=True, free_if=False)],
                         keep=[buf], fresh=[buf], on_done=[lambda: setattr(buf, "host_current", True)])
        return OffloadArray(self, buf, a.shape, a.dtype)

    def shared(self, a) -> OffloadArray:
        """A copy of a in Cilk shared memory (implicit style): the card reads it where it is."""
        a = np.asarray(a)
        out = self.shared_empty(a.shape, a.dtype)
        out.host_view()[...] = a
        return out

    def shared_empty(self, shape, dtype=np.float32) -> OffloadArray:
        return self.empty(shape, dtype, shared=True)

    def empty(self, shape, dtype=np.float32, shared: bool = False) -> OffloadArray:
        shape, dtype = _shape(shape), np.dtype(dtype)
        codes.code_of(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if shared:
            return OffloadArray(self, SharedBuffer(self, nbytes), shape, dtype)
        buf = CardBuffer(self, nbytes)
        self.stream.post("alloc", None, transfers=[NoCopy(buf.mirror, alloc_if=True, free_if=False)],
                         keep=[buf], fresh=[buf])
        return OffloadArray(self, buf, shape, dtype)

    def result(self, shape, dtype, explicit: bool) -> OffloadArray:
        """A new array for a kernel to write: its card buffer is allocated by that kernel's
        call (a clause riding on it), not by a call of its own."""
        shape, dtype = _shape(shape), np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        buf = CardBuffer(self, nbytes) if explicit else SharedBuffer(self, nbytes)
        return OffloadArray(self, buf, shape, dtype)

    def zeros(self, shape, dtype=np.float32, shared: bool = False) -> OffloadArray:
        return self.full(shape, 0, dtype, shared)

    def full(self, shape, value, dtype=np.float32, shared: bool = False) -> OffloadArray:
        out = self.result(shape, dtype, explicit=not shared)
        self._arange(out, value, 0)
        return out

    def arange(self, start, stop=None, step=1, dtype=None, shared: bool = False) -> OffloadArray:
        """NumPy's arange, computed on the card: nothing crosses but the call."""
        if stop is None:
            start, stop = 0, start
        if step == 0:
            raise ZeroDivisionError("arange: step is zero")
        dtype = np.dtype(dtype) if dtype is not None else np.result_type(start, stop, step)
        n = max(0, math.ceil((stop - start) / step))
        out = self.result((n,), dtype, explicit=not shared)
        self._arange(out, start, step)
        return out

    def _arange(self, out: OffloadArray, start, step) -> None:
        if out.size == 0:
            return
        istart, istep = (int(start), int(step)) if out.dtype.kind in "ib" else (0, 0)
        self.run("arange", "cilkpp_arr_arange", [codes.code_of(out.dtype), out.arg(), out.size, float(start),
                                                  float(step), istart, istep], outputs=[out])

    # -- running kernels ----------------------------------------------------------------------
    def run(self, op: str, kernel: str, args, outputs=(), inputs=(), uploads=()) -> None:
        """Post one kernel call. outputs/inputs: the OffloadArrays it writes and reads (their
        card buffers are allocated or, with transfers="every-op", copied as the call needs);
        uploads: host arrays that cross in for this call only."""
        clauses, fresh, done, keep = {}, [], [], list(outputs) + list(inputs) + list(uploads)
        for arr in inputs:
            buf = arr.buffer
            if buf.explicit and self.every_op:
                clauses[buf.address] = In(buf.mirror, alloc_if=False, free_if=False)
        for arr in outputs:
            buf = arr.buffer
            if not buf.explicit:
                continue
            if not buf.on_card:
                fresh.append(buf)
                make = Out if self.every_op else NoCopy
                clauses[buf.address] = make(buf.mirror, alloc_if=True, free_if=False)
            elif self.every_op:
                both = buf.address in clauses
                clauses[buf.address] = (InOut if both else Out)(buf.mirror, alloc_if=False, free_if=False)
            buf.host_current = False
            if self.every_op:
                done.append(lambda b=buf: setattr(b, "host_current", True))
        transfers = list(clauses.values()) + [In(u, alloc_if=True, free_if=True) for u in uploads]
        room = lib.OFF_MAX_XFERS - len(transfers)
        dead, self._dead = self._dead[:room], self._dead[room:]
        transfers += [NoCopy(m, alloc_if=False, free_if=True) for m in dead]
        self.stream.post(op, kernel, args, transfers, keep + dead, fresh, done)

    def update_host(self, arr: OffloadArray) -> None:
        buf = arr.buffer
        if buf.explicit and buf.on_card and not buf.host_current:
            self.stream.post("update_host", None, transfers=[Out(buf.mirror, alloc_if=False, free_if=False)],
                             keep=[buf], on_done=[lambda: setattr(buf, "host_current", True)])

    def update_device(self, arr: OffloadArray) -> None:
        buf = arr.buffer
        if buf.explicit and buf.on_card:
            self.stream.post("update_device", None, transfers=[In(buf.mirror, alloc_if=False, free_if=False)],
                             keep=[buf])
            buf.host_current = True


def _shape(shape) -> tuple[int, ...]:
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise errors.DnnValueError(f"negative dimension in shape {shape}")
    return shape
