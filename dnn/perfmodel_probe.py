"""The machine's own costs, measured on fresh cards: what an offload call costs beyond its kernel,
what the explicit channel's real copies cost per array and per byte, and what a MYO page moved
costs the card. dnn.perfmodel takes these as known rather than fitting them, so a configuration
left out of the fit (a finer granularity's many calls, explicit-copy's gigabytes, MYO's pages)
is priced by a measurement instead of by extrapolating from runs that made few calls, moved few
bytes or moved no MYO pages.

Each figure is a median, taken through the same Python path (dnn.offload.Card) the trainer uses.
"""

from __future__ import annotations

import statistics
import time
import timeit
from dataclasses import dataclass

import numpy as np

from .offload import Card, In, Out

SMALL_BYTES = 4 << 10
LARGE_BYTES = 16 << 20


# A training kernel outlasts the waiters' spin (dnn's op kernels take a millisecond or more), so
# the host sleeps through it and is woken by the reply: the probe's kernel does the same.
KERNEL_S = 1e-3


@dataclass(frozen=True)
class Machine:
    call_s: float        # an offload call's cost beyond its kernel (post, wake the host, reply)
    copy_fixed_s: float  # real copy time per array crossing the channel, beyond the call
    copy_bps: float      # real copy rate of the channel's bytes
    page_s: float = 0.0  # MYO (on demand): card time per page moved (fault, fetch, tracking writes; a fault fetches a run of pages)
    empty_s: float = 0.0  # an empty offload back to back (the card still spinning): for comparison

    def describe(self) -> str:
        return (f"an offload call {self.call_s * 1e6:.1f} us beyond its kernel (empty, back to back: "
                f"{self.empty_s * 1e6:.1f} us), channel copies {self.copy_fixed_s * 1e6:.1f} us per array + "
                f"{self.copy_bps / 1e9:.2f} GB/s, a MYO page {self.page_s * 1e6:.1f} us")


def _median_call_s(fn, n: int) -> float:
    fn()  # warm: the first call faults pages in and wakes the card
    return statistics.median(timeit.repeat(fn, number=1, repeat=n))


def _transfer_s(card: Card, nbytes: int, n: int) -> float:
    """Median time of one array crossing each way (an `in` call and an `out` call, halved) as the
    trainer's clauses move most arrays: into a card buffer made for the call and freed after it
    (alloc_if, free_if), so the card's first touch of that memory is counted as training pays it."""
    a = np.ones(nbytes // 4, dtype=np.float32)
    there = _median_call_s(lambda: card.call(None, transfers=[In(a)]), n)
    back = _median_call_s(lambda: card.call(None, transfers=[Out(a)]), n)
    return (there + back) / 2


def _beyond_kernel_s(card: Card, n: int) -> float:
    """Median wall time of a KERNEL_S call minus the kernel's own time as the card measured it."""
    card.call("off_test_spin", KERNEL_S)
    extra = []
    for _ in range(n):
        t = time.perf_counter()
        card.call("off_test_spin", KERNEL_S)
        extra.append(time.perf_counter() - t - card.stats()["last"]["compute_s"])
    return statistics.median(extra)


MYO_PAGES = 256  # per array: the card reads x and reads and writes y, the host wrote both


def _kernel_s(card: Card, x, y, reps: int) -> tuple[float, float]:
    """Median card time of an axpy over x and y after the host wrote both, and the MYO pages it moved."""
    times, pages = [], []
    for _ in range(reps):
        x[:] = 1.0
        y[:] = 2.0
        before = _pages_moved(card)
        card.call("off_test_axpy", x.size, 0.5, x, y)
        times.append(card.stats()["last"]["compute_s"])
        pages.append(_pages_moved(card) - before)
    return statistics.median(times), statistics.median(pages)


def _pages_moved(card: Card) -> int:
    s = card.coherence_stats()
    return s["myo_pages_to_card"] + s["myo_pages_from_card"]


def _page_s(threads: int, reps: int) -> float:
    """Card time per MYO page moved (since the card fetches a run of pages at one fault, per page, not per fault): the same kernel on the same data under MYO and shared memory."""
    out = []
    for coherence in ("myo", "shared"):
        with Card(threads=threads, link="none", arena_bytes=16 << 20, coherence=coherence) as card:
            x, y = (card.shared_zeros(MYO_PAGES * 1024) for _ in range(2))
            out.append(_kernel_s(card, x, y, reps))
    (myo, pages), (shared, _) = out
    return max(myo - shared, 0.0) / pages if pages else 0.0


def measure_machine(threads: int = 1, calls: int = 300) -> Machine:
    """Open a card with the `none` link and measure (about half a second)."""
    with Card(threads=threads, link="none", arena_bytes=16 << 20) as card:
        empty = _median_call_s(lambda: card.call("off_test_nop"), calls)
        call = _beyond_kernel_s(card, calls // 3)
        small = _transfer_s(card, SMALL_BYTES, calls // 2)
        large = _transfer_s(card, LARGE_BYTES, max(calls // 30, 5))
    per_byte = max(large - small, 1e-12) / (LARGE_BYTES - SMALL_BYTES)
    fixed = max(small - empty - SMALL_BYTES * per_byte, 0.0)
    return Machine(call_s=call, copy_fixed_s=fixed, copy_bps=1.0 / per_byte, page_s=_page_s(threads, 9),
                   empty_s=empty)
