"""The card from Python: start it, share memory with it, offload kernels, read the counters.

    with Card(threads=2, link="knc-pcie") as card:
        x = card.shared_empty((1000,), np.float32)     # lives in the shared arena (zero copy)
        card.call("my_kernel", x, 1000)                 # implicit: pointers into the arena
        card.call("my_kernel", h, 1000, transfers=[InOut(h)])   # explicit: h is copied

A thin layer: it checks what Python can check, passes everything else to the C runtime, and
turns every C error code into one exception carrying the C message.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import errors

try:
    from ._native import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "dnn's native library is not built: run 'make build' in the repository "
        "(or 'pip install .')"
    ) from exc

_ERRORS = {
    lib.OFF_EARG: errors.DnnValueError,
    lib.OFF_EARENA: errors.ArenaFullError,
    lib.OFF_ECARDMEM: errors.CardMemoryError,
    lib.OFF_EDIED: errors.CardDiedError,
    lib.OFF_EKERNEL: errors.KernelError,
    lib.OFF_ENOKERNEL: errors.KernelError,
    lib.OFF_ESYS: errors.DnnError,
    lib.OFF_EBUSY: errors.DnnValueError,
    lib.OFF_ESTART: errors.CardStartError,
}

# How long one wait in C may last before Python gets a chance to see Ctrl-C.
_POLL_S = 0.1


def last_error() -> str:
    return ffi.string(lib.off_last_error()).decode(errors="replace")


def check(rc: int) -> None:
    """Raise the exception that fits a C status code, with the C message."""
    if rc != lib.OFF_OK:
        raise _ERRORS.get(rc, errors.DnnError)(last_error())


def card_executable() -> str:
    """The dnn-card executable built with the package ($DNN_CARD_EXE overrides)."""
    exe = os.environ.get("DNN_CARD_EXE") or str(Path(__file__).resolve().parent / "bin" / "dnn-card")
    return exe


def link_profiles() -> list[str]:
    names, i = [], 0
    while (p := lib.off_link_profile_name(i)) != ffi.NULL:
        names.append(ffi.string(p).decode())
        i += 1
    return names


def number_of_devices() -> int:
    """Cards open in this process (_Offload_number_of_devices)."""
    return lib.off_number_of_devices()


def kernel_names() -> list[str]:
    return [ffi.string(lib.off_kernel_at(i).name).decode() for i in range(lib.off_kernel_count())]


# ---- transfer clauses (LEO's in / out / inout / nocopy) --------------------------------------


@dataclass(frozen=True)
class Transfer:
    """One clause of an explicit offload: which host array, which way, and its life-cycle."""

    array: np.ndarray
    direction: int
    alloc_if: bool = True
    free_if: bool = True
    into: np.ndarray | None = None

    def flags(self) -> int:
        return (self.direction | (lib.OFF_ALLOC_IF if self.alloc_if else 0)
                | (lib.OFF_FREE_IF if self.free_if else 0))


def In(a, alloc_if=True, free_if=True, into=None):  # noqa: N802 - reads as the pragma
    return Transfer(a, lib.OFF_IN, alloc_if, free_if, into)


def Out(a, alloc_if=True, free_if=True):  # noqa: N802
    return Transfer(a, lib.OFF_OUT, alloc_if, free_if)


def InOut(a, alloc_if=True, free_if=True):  # noqa: N802
    return Transfer(a, lib.OFF_INOUT, alloc_if, free_if)


def NoCopy(a, alloc_if=False, free_if=False):  # noqa: N802
    return Transfer(a, lib.OFF_NOCOPY, alloc_if, free_if)


def _address(a: np.ndarray, what: str) -> int:
    if not isinstance(a, np.ndarray):
        raise errors.DnnValueError(f"{what} must be a NumPy array, got {type(a).__name__}")
    if not a.flags.c_contiguous:
        raise errors.DnnValueError(f"{what} must be C-contiguous (use np.ascontiguousarray)")
    return a.ctypes.data


def _pack_args(args, keep):
    out = ffi.new("off_arg[]", max(len(args), 1))
    if len(args) > lib.OFF_MAX_ARGS:
        raise errors.DnnValueError(f"an offload call takes at most {lib.OFF_MAX_ARGS} arguments")
    for i, a in enumerate(args):
        if isinstance(a, (bool, int, np.integer)):
            out[i].kind, out[i].v.i = ord("i"), int(a)
        elif isinstance(a, (float, np.floating)):
            out[i].kind, out[i].v.d = ord("d"), float(a)
        elif a is None:
            out[i].kind, out[i].v.p = ord("p"), ffi.NULL
        elif isinstance(a, np.ndarray):
            out[i].kind, out[i].v.p = ord("p"), ffi.cast("void *", _address(a, f"argument {i + 1}"))
            keep.append(a)
        elif isinstance(a, ffi.CData):
            out[i].kind, out[i].v.p = ord("p"), ffi.cast("void *", a)
        else:
            raise errors.DnnValueError(
                f"argument {i + 1} has type {type(a).__name__}: pass int, float, None, a NumPy "
                "array or a cffi pointer")
    return out


def _pack_transfers(transfers, keep):
    xf = ffi.new("off_xfer[]", max(len(transfers), 1))
    for i, t in enumerate(transfers):
        if not isinstance(t, Transfer):
            raise errors.DnnValueError(f"transfer {i + 1} must be In(...), Out(...), InOut(...) or NoCopy(...)")
        xf[i].host = ffi.cast("void *", _address(t.array, f"transfer {i + 1}"))
        xf[i].bytes = t.array.nbytes
        xf[i].flags = t.flags()
        xf[i].into = ffi.cast("void *", _address(t.into, f"into() of transfer {i + 1}")) if t.into is not None else ffi.NULL
        keep.append(t.array)
    return xf


_TRACKING = {1: "mprotect", 2: "uffd"}  # how each side of MYO tracks writes (off_myo_stats)


def _stats_dict(s) -> dict:
    return {
        "calls": int(s.calls),
        "bytes_to_card": int(s.bytes_to_card),
        "bytes_from_card": int(s.bytes_from_card),
        "transfers": int(s.transfers),
        "transfer_s": s.transfer_s,
        "transfer_real_s": s.transfer_real_s,
        "transfer_model_s": s.transfer_model_s,
        "compute_s": s.compute_s,
        "wait_s": s.wait_s,
        "wall_s": s.wall_s,
        "myo_bytes_to_card": int(s.myo_bytes_to_card),  # MYO's share of the bytes and time above
        "myo_bytes_from_card": int(s.myo_bytes_from_card),
        "myo_transfer_s": s.myo_transfer_s,
    }


def run_local(kernel: str, *args, threads: int = 1) -> list[float]:
    """Host mode: run a registered kernel in this process (no card). Returns its results."""
    keep: list = []
    packed = _pack_args(args, keep)
    res = ffi.new("double[]", lib.OFF_MAX_RESULTS)
    nres = ffi.new("int *")
    check(lib.off_run_local(kernel.encode(), packed, len(args), threads, res, nres))
    return [res[i] for i in range(nres[0])]


class _Handle:
    """Owns the C card object. Shared arrays hold a reference, so the arena stays mapped in the
    host until the last of them is gone, even after the card process has stopped."""

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        if self.ptr is not None:
            lib.off_card_destroy(self.ptr)
            self.ptr = None


_open_cards: "weakref.WeakSet[Card]" = weakref.WeakSet()


DEFAULT_CARD_TIMEOUT = 10.0  # the card beats every 50 ms, even inside a long kernel


@atexit.register
def _stop_all_cards():  # Ctrl-C or an exception at top level: no card outlives the host
    for card in list(_open_cards):
        card.close()


class Card:
    """An emulated coprocessor card: a separate process sharing an arena with this one."""

    def __init__(self, threads: int = 1, cpus: str | None = None, link: str = "none",
                 arena_bytes: int = 64 << 20, card_memory: int = 0, coherence: str = "shared",
                 race_check: bool = False, device: int | None = None, arena_of: "Card | None" = None,
                 card_timeout: float = DEFAULT_CARD_TIMEOUT):
        """coherence: "shared" (one copy of the arena, coherent for free) or "myo" / "myo-on-demand"
        / "myo-on-acquire" (each side its own copy, kept coherent page by page at offload
        boundaries, as Intel's MYO did); race_check reports pages both sides wrote in between.

        device: this host's card number (target(mic:n)); None takes the lowest free one.
        arena_of: another open card whose shared arena this one maps too (several cards, one
        Cilk shared memory; arena_bytes is then that card's).
        card_timeout: seconds the card may go without a heartbeat (stopped, hung) before it is
        killed and reported dead, not counting time its beat thread waits for a CPU (a loaded
        machine); 0 = wait for ever."""
        cfg = ffi.new("off_config *")
        keep = [ffi.new("char[]", (cpus or "").encode()), ffi.new("char[]", link.encode()),
                ffi.new("char[]", card_executable().encode()), ffi.new("char[]", coherence.encode())]
        cfg.threads, cfg.cpus, cfg.link = int(threads), keep[0], keep[1]
        cfg.arena_bytes, cfg.card_memory, cfg.card_exe = int(arena_bytes), int(card_memory), keep[2]
        cfg.coherence, cfg.race_check = keep[3], int(bool(race_check))
        cfg.card_timeout = float(card_timeout)
        out = ffi.new("off_card **")
        sibling = arena_of._ptr if arena_of is not None else ffi.NULL
        check(lib.off_card_open_device(cfg, -1 if device is None else int(device), sibling, out))
        self._h = _Handle(out[0])
        self._arena = lib.off_card_arena(out[0])
        self.device = lib.off_card_device(out[0])
        self._lock = threading.Lock()
        self._pending: dict = {}  # signal -> arrays kept alive until its wait (a call, a transfer)
        self.threads, self.cpus, self.link, self.coherence = int(threads), cpus, link, coherence
        _open_cards.add(self)

    # -- life ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return lib.off_card_pid(self._ptr)

    @property
    def _ptr(self):
        if self._h is None:
            raise errors.DnnValueError("the card is closed")
        return self._h.ptr

    @property
    def alive(self) -> bool:
        return self._h is not None and bool(lib.off_card_alive(self._h.ptr))

    def close(self) -> None:
        """Stop the card process. Shared arrays stay readable until they are dropped."""
        if self._h is not None:
            lib.off_card_stop(self._h.ptr)
            self._h = None
            _open_cards.discard(self)

    def __enter__(self) -> "Card":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self._h is not None else "closed"
        return f"Card({self.device}, {state}, threads={self.threads}, link={self.link!r})"

    # -- shared memory ------------------------------------------------------------------------
    def shared_empty(self, shape, dtype=np.float32, align: int | None = None) -> np.ndarray:
        """A NumPy array in the shared arena: the card sees the same bytes at the same address.

        Aligned to 64 bytes; to a page under MYO coherence, where two arrays sharing a page
        would make the host and the card write the same page (false sharing: a race)."""
        if align is None:
            align = 64 if self.coherence == "shared" else 4096
        dtype = np.dtype(dtype)
        shape = (shape,) if np.isscalar(shape) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise errors.DnnValueError(f"negative dimension in shape {shape}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        ptr = lib.off_arena_malloc(self._arena, max(nbytes, 1), align)
        if ptr == ffi.NULL:
            check(lib.off_last_error_code())
        handle, arena = self._h, self._arena

        def free(p, handle=handle, arena=arena):  # handle: keeps the arena mapped until here
            lib.off_arena_free(arena, p)

        owned = ffi.gc(ptr, free, size=nbytes)
        return np.frombuffer(ffi.buffer(owned, nbytes), dtype=dtype).reshape(shape)

    def shared_zeros(self, shape, dtype=np.float32) -> np.ndarray:
        a = self.shared_empty(shape, dtype)
        a[...] = 0
        return a

    def is_shared(self, a: np.ndarray) -> bool:
        return bool(lib.off_arena_contains(self._arena, ffi.cast("void *", a.ctypes.data), a.nbytes))

    def arena_info(self) -> dict:
        return {"base": int(ffi.cast("uintptr_t", lib.off_arena_base(self._arena))),
                "size": lib.off_arena_size(self._arena), "used": lib.off_arena_used(self._arena),
                "peak": lib.off_arena_peak(self._arena),
                "largest_free": lib.off_arena_largest_free(self._arena)}

    # -- offload calls ------------------------------------------------------------------------
    def call_async(self, kernel: str | None, *args, transfers=()) -> int:
        """Post an offload and stream its in-data; returns a signal for wait()."""
        keep: list = []
        packed = _pack_args(args, keep)
        xf = _pack_transfers(transfers, keep)
        name = kernel.encode() if kernel else ffi.NULL
        return self._posted(lambda sig: lib.off_call_async(self._ptr, name, packed, len(args), xf, len(transfers),
                                                           sig), keep)

    def _posted(self, post, keep: list) -> int:
        """Run post(signal pointer); keep the arrays alive until the signal is waited for."""
        sig = ffi.new("uint64_t *")
        with self._lock:
            check(post(sig))
            self._pending[sig[0]] = keep
        return sig[0]

    def wait(self, signal: int) -> list[float]:
        """Wait for an asynchronous offload or transfer; returns what the kernel put in its results."""
        res = ffi.new("double[]", lib.OFF_MAX_RESULTS)
        nres = ffi.new("int *")
        while True:
            # Short waits in C, so Ctrl-C reaches Python between them.
            rc = lib.off_wait_for(self._ptr, signal, _POLL_S, res, nres)
            if rc != lib.OFF_ETIMEDOUT:
                break
        self._pending.pop(signal, None)
        check(rc)
        return [res[i] for i in range(nres[0])]

    def call(self, kernel: str | None, *args, transfers=()) -> list[float]:
        """Offload synchronously: transfers in, the kernel, transfers out."""
        return self.wait(self.call_async(kernel, *args, transfers=transfers))

    def transfer(self, transfers, signal: bool = False):
        """#pragma offload_transfer: move data with no kernel. With signal=True it goes on the
        card's DMA lane and returns a signal at once (after streaming the in-data): it crosses
        while an offload's kernel runs, and wait(signal) finishes it."""
        if not signal:
            return self.wait(self.call_async(None, transfers=transfers))
        keep: list = []
        xf = _pack_transfers(transfers, keep)
        return self._posted(lambda sig: lib.off_transfer_async(self._ptr, xf, len(transfers), sig), keep)

    # -- counters -----------------------------------------------------------------------------
    def stats(self) -> dict:
        """Totals since start (or reset_stats), the last call, and card memory."""
        total, last = ffi.new("off_stats *"), ffi.new("off_stats *")
        lib.off_card_stats(self._ptr, total, last)
        used, peak, nbuf = ffi.new("uint64_t *"), ffi.new("uint64_t *"), ffi.new("uint64_t *")
        lib.off_card_memory(self._ptr, used, peak, nbuf)
        d = self.coherence_stats()
        d.update(_stats_dict(total))  # its myo_bytes_* count since reset_stats, as the totals do
        d["last"] = _stats_dict(last)
        d["card_memory_used"], d["card_memory_peak"], d["card_buffers"] = used[0], peak[0], nbuf[0]
        d["arena_used"] = lib.off_arena_used(self._arena)
        d["link"] = ffi.string(lib.off_card_link_name(self._ptr)).decode()
        return d

    def coherence_stats(self) -> dict:
        """MYO counters: pages and bytes moved each way, faults, races, time (zero when shared)."""
        m = ffi.new("off_myo_stats *")
        lib.off_card_myo_stats(self._ptr, m)
        return {"myo_pages_to_card": int(m.pages_to_card), "myo_pages_from_card": int(m.pages_from_card),
                "myo_bytes_to_card": 4096 * int(m.pages_to_card), "myo_bytes_from_card": 4096 * int(m.pages_from_card),
                "myo_faults_host": int(m.faults_host), "myo_faults_card": int(m.faults_card),
                "myo_races": int(m.races), "coherence_s": m.coherence_s,
                "myo_tracking": [_TRACKING.get(m.tracking_host), _TRACKING.get(m.tracking_card)]}

    def reset_stats(self) -> None:
        lib.off_card_reset_stats(self._ptr)
