"""A stream of requests to the card: posted in order, run asynchronously, one at a time.

Each request is one offload call (a kernel and the transfers that ride with it, or transfers
alone). post() returns as soon as the call is on its way; the host runs on while the card
works, and the next post() first finishes the one before (the card's call lane holds one
request). sync() waits for the last. Every finished request leaves a record with the card's
counters for that call: bytes each way, transfer, compute and wait time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COUNTERS = ("bytes_to_card", "bytes_from_card", "transfer_s", "compute_s", "wait_s", "wall_s")


@dataclass
class Record:
    """What one request cost, from the card runtime's counters of its call."""

    op: str
    calls: int = 1
    bytes_to_card: int = 0
    bytes_from_card: int = 0
    transfer_s: float = 0.0
    compute_s: float = 0.0
    wait_s: float = 0.0
    wall_s: float = 0.0


@dataclass
class _InFlight:
    op: str
    signal: int
    keep: list
    fresh: list = field(default_factory=list)  # CardBuffers this call allocates on the card
    on_done: list = field(default_factory=list)  # callables run once it finished well


class Stream:
    def __init__(self, card):
        self.card = card
        self._flight: _InFlight | None = None
        self.records: list[Record] = []

    def post(self, op: str, kernel: str | None, args=(), transfers=(), keep=(), fresh=(), on_done=()) -> None:
        """Queue one call. `fresh` buffers are allocated by it (forgotten again if it fails);
        `on_done` runs when it has finished without error."""
        self._finish()
        for buf in fresh:
            buf.on_card = True
        try:
            signal = self.card.call_async(kernel, *args, transfers=list(transfers))
        except BaseException:
            for buf in fresh:
                buf.on_card = False
            raise
        self._flight = _InFlight(op, signal, list(keep), list(fresh), list(on_done))

    def sync(self) -> None:
        """Wait until every posted request has run; raises the error of a failed one."""
        self._finish()

    @property
    def busy(self) -> bool:
        return self._flight is not None

    def _finish(self) -> None:
        f, self._flight = self._flight, None
        if f is None:
            return
        try:
            self.card.wait(f.signal)
        except BaseException:
            for buf in f.fresh:  # the card freed what it had allocated for the failed call
                buf.on_card = False
            raise
        last = self.card.stats()["last"]
        self.records.append(Record(f.op, 1, *(last[k] for k in COUNTERS)))
        for fn in f.on_done:
            fn()

    # -- counters ---------------------------------------------------------------------------
    def counters(self) -> dict[str, Record]:
        """The records summed per operation name."""
        names = dict.fromkeys(r.op for r in self.records)
        return {n: _summed(n, [r for r in self.records if r.op == n]) for n in names}

    def totals(self) -> Record:
        return _summed("all", self.records)

    def reset(self) -> None:
        self.sync()
        self.records.clear()


def _summed(name: str, records) -> Record:
    t = Record(name, 0)
    for r in records:
        t.calls += r.calls
        for k in COUNTERS:
            setattr(t, k, getattr(t, k) + getattr(r, k))
    return t
