"""The allreduce of data parallelism as the scaling model prices it, fitted to a measured MPI_Allreduce.

For K ranks summing S bytes of gradients with a ring (or, at K = 2, MPICH's reduce_scatter_allgather,
which sends the same bytes in the same two steps), each rank spends

    t(S, K) = 2(K-1) a  +  2(K-1)/K S / B  +  (K-1)/K S / R

  a  the latency of one message (a step of the ring: post, match, hand-shake),
  B  the link's bandwidth: the bytes one rank receives per second (2(K-1)/K S in all: half in the
     reduce-scatter, half in the all-gather); on one host, MPICH's copy between the processes (one
     process_vm_readv per message: CMA, its single copy from 8 KiB up),
  R  the reduce rate: the bytes per second a rank adds into its share ((K-1)/K S in all), the
     host's own arithmetic, which a faster network does not speed up.

On one host the copy has two regimes: while the ranks' buffers stay in the caches (a 1-3 MB
allreduce of float32 on this machine) it runs several times faster, and with less fixed cost, than
once they spill to memory. So a model may carry a second set of the three parameters (`small`) for
sizes up to `switch_bytes`. A network is one regime (`on_link`): a link is no faster for what a cache
holds, and the host's reduce rate is kept.

`fit` finds one regime's parameters from measurements at some sizes: R from the reduction timed on
its own, then a and B by least squares over the allreduce times (relative errors, so the small sizes
count as much as the large). `fit_two_regimes` splits the sizes in two at every place that leaves two
or more on each side, fits each side with `fit`, and keeps the split of least error; the switch lies
halfway (geometrically) between the two sizes the split falls between. `deviations` checks a model
against other sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AllreduceModel:
    latency_s: float     # a, per message
    bandwidth: float     # B, bytes per second received by each rank
    reduce_rate: float   # R, bytes per second summed by each rank
    small: "AllreduceModel | None" = None  # the cache regime, for sizes up to switch_bytes
    switch_bytes: float = 0.0

    def seconds(self, nbytes: float, k: int) -> float:
        """Time of one allreduce of nbytes over k ranks."""
        if self.small is not None and nbytes <= self.switch_bytes:
            return self.small.seconds(nbytes, k)
        if k < 2:
            return 0.0
        steps, share = 2 * (k - 1), (k - 1) / k * nbytes
        return steps * self.latency_s + 2 * share / self.bandwidth + share / self.reduce_rate

    def on_link(self, bandwidth: float, latency_s: float) -> "AllreduceModel":
        """The same hosts on another network (one regime: the one of large sizes' reduce rate)."""
        return AllreduceModel(latency_s, bandwidth, self.reduce_rate)


def fit(sizes, allreduce_s, reduce_s, k: int = 2) -> AllreduceModel:
    """The model's parameters from allreduce times of `sizes` bytes over k ranks, and the times of
    reducing each rank's share of them ((k-1)/k of each size) alone."""
    sizes, t, tr = (np.asarray(v, float) for v in (sizes, allreduce_s, reduce_s))
    if len(sizes) < 2:
        raise ValueError("fitting latency and bandwidth needs at least two sizes")
    share = (k - 1) / k * sizes
    # 1/R minimising the relative errors of share/R against the reductions timed alone.
    per_byte = np.sum(share / tr) / np.sum((share / tr) ** 2)
    rest = t - share * per_byte
    # a and 1/B: 2(k-1) a + 2 share / B = rest, each row weighted by 1/t (relative errors).
    design = np.column_stack([np.full_like(sizes, 2 * (k - 1)), 2 * share]) / t[:, None]
    (lat, inv_bw), *_ = np.linalg.lstsq(design, rest / t, rcond=None)
    if lat < 0:  # no latency the data can see: bandwidth alone
        lat, inv_bw = 0.0, float(np.sum(2 * share * rest / t**2) / np.sum((2 * share / t) ** 2))
    return AllreduceModel(float(lat), 1.0 / float(inv_bw), 1.0 / float(per_byte))


def fit_two_regimes(sizes, allreduce_s, reduce_s, k: int = 2) -> AllreduceModel:
    """The cache regime and the memory regime, each fitted by `fit` on its side of the split of the
    sizes whose relative errors are least (two sizes or more on each side)."""
    order = np.argsort(np.asarray(sizes, float))
    sizes, t, tr = (np.asarray(v, float)[order] for v in (sizes, allreduce_s, reduce_s))
    if len(sizes) < 4:
        raise ValueError("fitting two regimes needs at least four sizes")
    best = None
    for i in range(2, len(sizes) - 1):
        small, large = fit(sizes[:i], t[:i], tr[:i], k), fit(sizes[i:], t[i:], tr[i:], k)
        model = AllreduceModel(large.latency_s, large.bandwidth, large.reduce_rate, small,
                               float(np.sqrt(sizes[i - 1] * sizes[i])))
        err = float(np.sum(deviations(model, sizes, t, k) ** 2))
        if best is None or err < best[0]:
            best = (err, model)
    return best[1]


def deviations(model: AllreduceModel, sizes, allreduce_s, k: int = 2) -> np.ndarray:
    """model / measured - 1 at each size."""
    return np.array([model.seconds(s, k) / t - 1 for s, t in zip(sizes, allreduce_s)])
