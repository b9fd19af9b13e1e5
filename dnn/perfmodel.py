"""A performance model of offloaded training, fitted from measured runs (after Viebke and
Pllana: time = computation + memory/transfer terms, each fitted from measurements).

For one run, with F training FLOPs, C offload calls, K chunks, N bunches the host drives one by
one, P MYO pages moved, T arrays moved and B bytes moved:

    wall = F / rate(arch, threads) + P * page_s   computation on the card
         + C * call_s                              fixed cost of an offload call (post, wake, reply)
         + N * bunch_s + K * chunk_s               host work per bunch and per chunk that is not hidden
         + link(T, B)                              the link: max(real copy time, T * latency + B / bandwidth)

(with overlap, transfers cross while kernels run: computation and link count as their max).

Each quantity is a count of the run's work, the same whatever the machine's load; the costs are
what carries across configurations. With the machine's own costs measured
(dnn.perfmodel_probe.Machine: a call beyond its kernel, the channel's copies per array and per byte,
a MYO page moved), `Model.fit(runs, pooled=True, machine=m)` fits only what no probe gives: one compute
rate per network shape and thread count, the cost per MYO page where the runs moved pages, and the host's
time per bunch and per chunk. So a granularity, mode or network left out of the fit is predicted
from its counted work (`held_out_errors`). Without a machine, `call_s` and `chunk_s` are fitted by
least squares over the runs' remaining time and the copy rate from their measured transfer time;
without `pooled`, rates are per mode and granularity too. The link term of a configuration that
was not run is what its bus would take (`knc-pcie`, `pcie3-x16`, `pcie4-x16` or `BW_GBs,LAT_us`),
but never less than the machine's own copies need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .offload import ffi, lib


def link_params(spec: str) -> tuple[float, float]:
    """(bandwidth bytes/s, latency s) of a link profile or BW,LAT spec; bandwidth 0 = unlimited."""
    out = ffi.new("off_link *")
    if lib.off_link_parse(spec.encode(), out) != 0:
        raise ValueError(ffi.string(lib.off_last_error()).decode())
    return out.bandwidth, out.latency


@dataclass
class Run:
    """What the model needs of one measured run (all totals over the run)."""

    arch: str
    threads: int
    flops: float
    calls: int
    chunks: int
    transfers: int
    bytes: int
    wall_s: float
    compute_s: float
    transfer_real_s: float = 0.0
    transfer_s: float = 0.0  # link time as measured (real copies, or the modelled link's waits)
    link: str = "none"
    mode: str = ""         # compute rates are fitted per mode and granularity: MYO's write
    granularity: str = ""  # MYO pages slow its kernels, more the more often it synchronises
    overlap: bool = False  # transfers cross while kernels run (explicit-overlap): time = max, not sum
    myo_pages: int = 0     # MYO pages moved (each fetched to or written back from the card, tracked as it went)
    bunches: int = 0       # bunches the host drives one by one (bunch and op granularity; 0 at chunk)


@dataclass
class Model:
    rate: dict = field(default_factory=dict)  # (arch, threads, mode, granularity) -> FLOP/s
    call_s: float = 0.0
    chunk_s: float = 0.0
    bunch_s: float = 0.0                       # host work per bunch it drives (beyond the calls)
    copy_bps: float = 0.0                      # the machine's real copy rate over the channel
    copy_fixed_s: float = 0.0                  # and its fixed cost per array moved
    page_s: float = 0.0                       # pooled: card time per MYO page moved

    @classmethod
    def fit(cls, runs: list[Run], pooled: bool = False, machine=None) -> "Model":
        """machine (dnn.perfmodel_probe.Machine): the call and copy costs measured on the machine, taken
        as known; then only the compute rate, the page cost and the per-bunch and per-chunk host
        time are fitted. Without it the call and copy costs are fitted too."""
        m = cls()
        groups: dict = {}
        for r in runs:
            groups.setdefault(m._rate_key(r, r.threads, pooled), []).append(r)
        for key, rs in groups.items():
            m.rate[key] = sum(r.flops for r in rs) / max(sum(r.compute_s for r in rs), 1e-12)
        if pooled:
            m._fit_pages(groups)
        if machine is not None and not any(r.myo_pages for r in runs):
            m.page_s = machine.page_s  # no fitted run tells the pages' cost: take the measured one
        moved = [r for r in runs if r.bytes > 0 and r.transfer_real_s > 0]
        if machine is not None:
            m.copy_fixed_s, m.copy_bps = machine.copy_fixed_s, machine.copy_bps
        elif moved:
            # real copy time = fixed_s * arrays + bytes / bps (least squares, both non-negative)
            a = np.array([[r.transfers, r.bytes] for r in moved], dtype=float)
            t = np.array([r.transfer_real_s for r in moved])
            coef = np.linalg.lstsq(a, t, rcond=None)[0] if np.linalg.matrix_rank(a) == 2 else [0.0, 0.0]
            if coef[0] >= 0 and coef[1] > 0:
                m.copy_fixed_s, m.copy_bps = float(coef[0]), 1.0 / float(coef[1])
            else:
                m.copy_bps = sum(r.bytes for r in moved) / sum(r.transfer_real_s for r in moved)
        rest = np.array([r.wall_s - m._busy(r.compute_s, r.transfer_real_s, r.overlap) for r in runs])
        if not runs:
            return m
        if machine is None:
            # Remaining time = call_s * calls + chunk_s * chunks (least squares, non-negative).
            m.call_s, m.chunk_s = _nonnegative_fit(np.array([[r.calls, r.chunks] for r in runs], dtype=float), rest)
        else:
            # The calls' cost is measured; what remains is host work per chunk and per bunch the
            # host drives. Where the runs cannot tell them apart (all at one granularity) it goes
            # per bunch: a chunk-granularity run drives none, and its host does little.
            m.call_s = machine.call_s
            rest = rest - m.call_s * np.array([r.calls for r in runs], dtype=float)
            m.chunk_s, m.bunch_s = _nonnegative_fit(np.array([[r.chunks, r.bunches] for r in runs], dtype=float),
                                                    rest)
        return m

    @staticmethod
    def _rate_key(r: Run, threads: int, pooled: bool) -> tuple:
        return (r.arch, threads, "", "") if pooled else (r.arch, threads, r.mode, r.granularity)

    def _fit_pages(self, groups: dict) -> None:
        """compute = flops / rate[group] + pages * page_s, one least-squares fit over all groups;
        kept only if every term comes out positive (otherwise the plain rates stand)."""
        rs = [(k, r) for k, g in groups.items() for r in g]
        if not any(r.myo_pages for _, r in rs):
            return
        keys = list(groups)
        a = np.zeros((len(rs), len(keys) + 1))
        for row, (k, r) in enumerate(rs):
            a[row, keys.index(k)] = r.flops
            a[row, -1] = r.myo_pages
        if np.linalg.matrix_rank(a) < a.shape[1]:
            return
        coef = np.linalg.lstsq(a, np.array([r.compute_s for _, r in rs]), rcond=None)[0]
        if (coef <= 0).any():
            return
        self.rate = {k: 1.0 / c for k, c in zip(keys, coef[:-1])}
        self.page_s = float(coef[-1])

    @staticmethod
    def _busy(compute: float, transfer: float, overlap: bool) -> float:
        """Card compute and link time as they add up: in sequence, or side by side (overlap)."""
        return max(compute, transfer) if overlap else compute + transfer

    def link_s(self, r: Run, link: str) -> float:
        bw, lat = link_params(link)
        modelled = r.transfers * lat + (r.bytes / bw if bw > 0 else 0.0)
        real = r.transfers * self.copy_fixed_s + (r.bytes / self.copy_bps if self.copy_bps > 0 else 0.0)
        return max(modelled, real)

    def predict(self, r: Run, link: str | None = None, threads: int | None = None) -> dict:
        """Time and its split for run r's work on another link and/or thread count."""
        link = link or r.link
        key = self._rate_key(r, threads or r.threads, False)
        if key not in self.rate:
            key = self._rate_key(r, threads or r.threads, True)
        if key not in self.rate:
            raise KeyError(f"no measured {r.mode or 'run'} of {r.arch} with {key[1]} thread(s) to take a "
                           "compute rate from")
        compute = r.flops / self.rate[key] + r.myo_pages * self.page_s
        overhead = r.calls * self.call_s + r.chunks * self.chunk_s + r.bunches * self.bunch_s
        transfer = self.link_s(r, link)
        return {"wall_s": self._busy(compute, transfer, r.overlap) + overhead, "compute_s": compute,
                "overhead_s": overhead,
                "transfer_s": transfer}


def _nonnegative_fit(a: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two coefficients >= 0 with the least squared residual of y = a @ coef. Where the runs cannot
    tell the two columns apart, the time goes to the second: for (calls, chunks), per chunk (a
    call's own fixed cost is tens of microseconds, and charging it all per call would multiply it
    by the calls of a finer granularity the fit never saw)."""
    best, best_res = (0.0, 0.0), float(y @ y)
    for cols in ([0, 1], [1], [0]):
        sub = a[:, cols]
        if np.linalg.matrix_rank(sub) < len(cols):
            continue
        coef = np.linalg.lstsq(sub, y, rcond=None)[0]
        if (coef < 0).any():
            continue
        res = float(np.sum((sub @ coef - y) ** 2))
        if res < best_res * (1 - 1e-9):
            full = [0.0, 0.0]
            for c, v in zip(cols, coef):
                full[c] = float(v)
            best, best_res = (full[0], full[1]), res
    return best


def mean_abs_error(model: Model, runs: list[Run]) -> float:
    """Mean |predicted - measured| / measured wall time over runs (each predicted on its own link)."""
    errs = [abs(model.predict(r)["wall_s"] - r.wall_s) / r.wall_s for r in runs]
    return float(np.mean(errs)) if errs else float("nan")


def naive_error(known: list[Run], runs: list[Run]) -> float:
    """The baseline a model must beat: each run takes the known runs' mean time per FLOP on its
    link (same network and threads), as if mode and granularity did not matter."""
    errs = []
    for r in runs:
        same = [k for k in known if (k.link, k.arch, k.threads) == (r.link, r.arch, r.threads)] or known
        guess = r.flops * sum(k.wall_s for k in same) / sum(k.flops for k in same)
        errs.append(abs(guess - r.wall_s) / r.wall_s)
    return float(np.mean(errs)) if errs else float("nan")


HELD_OUT = ("granularity", "mode", "arch")


def held_out_errors(runs: list[Run], machine=None) -> list[dict]:
    """Leave out each whole configuration (every run of one granularity, one mode or one network),
    fit the pooled model on the rest, on every link, and predict what was left out: the model's
    mean absolute error beside the naive baseline's, and where the error lies (see _where_wrong).
    machine: the measured call and copy costs (Model.fit). Dimensions with one value are skipped."""
    out = []
    for attr in HELD_OUT:
        values = sorted({getattr(r, attr) for r in runs})
        if len(values) < 2:
            continue
        for v in values:
            known = [r for r in runs if getattr(r, attr) != v]
            left = [r for r in runs if getattr(r, attr) == v]
            try:
                model = Model.fit(known, pooled=True, machine=machine)
                err = mean_abs_error(model, left)
            except KeyError:  # a network or thread count nothing else measured
                continue
            out.append({"held_out": f"{attr}={v}", "runs": len(left), "model": err,
                        "naive": naive_error(known, left), **_where_wrong(model, known, left)})
    return out


def _where_wrong(model: Model, known: list[Run], left: list[Run]) -> dict:
    """The error of each part of the prediction (card compute, link, calls and host work), mean
    predicted and measured seconds per run, and what the fit could not have seen: MYO pages
    when no fitted run had any, bytes beyond the most any fitted run moved."""
    parts = {"compute": [0.0, 0.0], "transfer": [0.0, 0.0], "calls and host": [0.0, 0.0]}
    for r in left:
        p = model.predict(r)
        measured_transfer = r.transfer_s or r.transfer_real_s
        parts["compute"][0] += p["compute_s"] / len(left)
        parts["compute"][1] += r.compute_s / len(left)
        parts["transfer"][0] += p["transfer_s"] / len(left)
        parts["transfer"][1] += measured_transfer / len(left)
        parts["calls and host"][0] += p["overhead_s"] / len(left)
        parts["calls and host"][1] += (r.wall_s - Model._busy(r.compute_s, measured_transfer, r.overlap)) / len(left)
    most_known = max((r.bytes for r in known), default=0)
    return {"parts": {k: tuple(v) for k, v in parts.items()},
            "unseen_pages": max(r.myo_pages for r in left) if not any(r.myo_pages for r in known) else 0,
            "bytes_beyond": max(r.bytes for r in left) / most_known if most_known else 0.0}
