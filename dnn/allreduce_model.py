"""The allreduce of data parallelism as the scaling model prices it, fitted to a measured MPI_Allreduce.

For K ranks summing S bytes of gradients with a ring (or, at K = 2, MPICH's reduce_scatter_allgather,
which sends the same bytes in the same two steps), each rank spends

    t(S, K) = 2(K-1) a  +  2(K-1)/K S / B  +  (K-1)/K S / R

  a  the latency of one message (a step of the ring: post, match, hand-shake),
  B  the link's bandwidth: the bytes one rank receives per second (2(K-1)/K S in all: half in the
     reduce-scatter, half in the all-gather); on one host, MPICH's copy between the processes,
  R  the reduce rate: the bytes per second a rank adds into its share ((K-1)/K S in all), the
     host's own arithmetic, which a faster network does not speed up.

`fit` finds the three machine parameters from measurements at some sizes: R from the reduction
timed on its own, then a and B by least squares over the allreduce times (relative errors, so the
small sizes count as much as the large). `deviations` checks the model against other sizes. A
network is the same model with another link (`on_link`): the host's reduce rate stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AllreduceModel:
    latency_s: float     # a, per message
    bandwidth: float     # B, bytes per second received by each rank
    reduce_rate: float   # R, bytes per second summed by each rank

    def seconds(self, nbytes: float, k: int) -> float:
        """Time of one allreduce of nbytes over k ranks."""
        if k < 2:
            return 0.0
        steps, share = 2 * (k - 1), (k - 1) / k * nbytes
        return steps * self.latency_s + 2 * share / self.bandwidth + share / self.reduce_rate

    def on_link(self, bandwidth: float, latency_s: float) -> "AllreduceModel":
        """The same hosts on another network."""
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


def deviations(model: AllreduceModel, sizes, allreduce_s, k: int = 2) -> np.ndarray:
    """model / measured - 1 at each size."""
    return np.array([model.seconds(s, k) / t - 1 for s, t in zip(sizes, allreduce_s)])
