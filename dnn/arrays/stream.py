"""A stream of requests to the card: queued in order, run asynchronously, one after another.

Each request is one offload call (a kernel and the transfers that ride with it, or transfers
alone). post() puts it at the end of the queue and returns; a worker thread hands the requests
to the card in order, each as soon as the one before has finished (the card's call lane holds
one), so the host runs on several operations ahead. A request that carries in-data is the one
exception: post() returns only once that data has crossed, so the host may change its arrays
afterwards, as with one offload call. sync() waits until the queue is empty.

A request that fails stops the stream: the requests queued after it are dropped unrun (they
may read what it should have written), and the next sync() or post() raises its error. Every
finished request leaves a record with the card's counters for that call: bytes each way,
transfer, compute and wait time.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

from .. import errors
from ..offload import lib

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
class _Request:
    op: str
    kernel: str | None
    args: tuple
    transfers: list
    keep: list
    fresh: list = field(default_factory=list)  # CardBuffers this call allocates on the card
    on_done: list = field(default_factory=list)  # callables run once it finished well
    sent: threading.Event | None = None  # set once its in-data crossed (requests carrying in-data)


class Stream:
    def __init__(self, card):
        self.card = card
        self.records: list[Record] = []
        self._queue: collections.deque[_Request] = collections.deque()
        self._running = False  # the worker holds a request
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False
        self._unsynced = False  # posted since the last sync()

    def post(self, op: str, kernel: str | None, args=(), transfers=(), keep=(), fresh=(), on_done=()) -> None:
        """Queue one call. `fresh` buffers are allocated by it (forgotten again if it fails);
        `on_done` runs when it has finished without error."""
        transfers = list(transfers)
        carries_in = any(t.direction & lib.OFF_IN for t in transfers)
        req = _Request(op, kernel, tuple(args), transfers, list(keep), list(fresh), list(on_done),
                       threading.Event() if carries_in else None)
        with self._changed:
            self._raise_error()
            if self._closed:
                raise errors.DnnValueError("the card is closed")
            for buf in req.fresh:
                buf.on_card = True
            self._queue.append(req)
            self._unsynced = True
            self._start_worker()
            self._changed.notify_all()
        if req.sent is not None:
            req.sent.wait()

    def sync(self) -> None:
        """Wait until every posted request has run; raises the error of a failed one."""
        with self._changed:
            while (self._queue or self._running) and self._error is None:
                self._changed.wait()
            self._unsynced = False
            self._raise_error()

    @property
    def pending(self) -> int:
        """Requests queued and not yet handed to the card."""
        with self._changed:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        """Requests were posted since the last sync() (finished or not: sync() says when)."""
        with self._changed:
            return self._unsynced

    def close(self) -> None:
        """Run what is queued, then stop the worker (the card itself stays open)."""
        try:
            self.sync()
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()
            if self._worker is not None:
                self._worker.join()
                self._worker = None

    # -- the worker ---------------------------------------------------------------------------
    def _raise_error(self) -> None:
        """(lock held) Raise a failed request's error once; the stream runs again afterwards."""
        err, self._error = self._error, None
        if err is not None:
            raise err

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="dnn-arrays-stream", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            req = dropped = None  # hold no request's arrays while waiting: they may be freed
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if not self._queue:
                    return
                req = self._queue.popleft()
                self._running = True
            try:
                self._run(req)
            except BaseException as err:  # noqa: BLE001 - handed to the poster's next sync()
                with self._changed:
                    dropped = [req, *self._queue]
                    self._queue.clear()
                    for r in dropped:
                        for buf in r.fresh:  # the card freed (or never made) these buffers
                            buf.on_card = False
                    self._error = err
                for r in dropped:  # posters waiting for data that will never cross
                    if r.sent is not None:
                        r.sent.set()
            finally:
                with self._changed:
                    self._running = False
                    self._changed.notify_all()

    def _run(self, req: _Request) -> None:
        try:
            signal = self.card.call_async(req.kernel, *req.args, transfers=req.transfers)
        finally:
            if req.sent is not None:  # crossed, or failed (the error waits for sync)
                req.sent.set()
        self.card.wait(signal)
        last = self.card.stats()["last"]
        self.records.append(Record(req.op, 1, *(last[k] for k in COUNTERS)))
        for fn in req.on_done:
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
