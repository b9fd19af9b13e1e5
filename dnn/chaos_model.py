"""The performance model of CHAOS (Viebke and Pllana, equations (1) and (2)), fitted on measured runs.

    T(p, i, t, e) = T_prep + e * (i * (F + B) + t * F) / (S * min(p, cores)) * (1 + M(p))

  T_prep  the sequential preparation (data opened, card started, network made): measured
  F, B    forward and backward operation counts of one image (the network's FLOPs)
  i, t, e training images, validation + test images, epochs
  S       the speed of one core (FLOP/s), from one-worker runs
  M(p)    memory contention with p workers: how much slower than linear the fit runs at p were

Beside it the naive baseline the paper improves on: the one-worker time scaled by the work and
divided by the worker count (no preparation term, no contention). Accuracy is the paper's
α = |measured - predicted| / predicted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean


@dataclass(frozen=True)
class Obs:
    """One measured run: workers, training images, evaluated images, epochs, FLOPs per image for
    training (F + B) and for evaluation (F), seconds of the whole run and of its epochs."""

    workers: int
    images: int
    eval_images: int
    epochs: int
    train_flops: float
    eval_flops: float
    total_s: float
    epochs_s: float

    @property
    def work(self) -> float:
        return self.epochs * (self.images * self.train_flops + self.eval_images * self.eval_flops)


@dataclass
class ChaosModel:
    cores: int
    prep_s: float = 0.0
    speed: float = 0.0  # FLOP/s of one core
    contention: dict = field(default_factory=dict)  # workers -> M(p)

    @classmethod
    def fit(cls, runs: list[Obs], cores: int) -> "ChaosModel":
        m = cls(cores)
        m.prep_s = mean(r.total_s - r.epochs_s for r in runs)
        ones = [r for r in runs if r.workers == 1]
        if not ones:
            raise ValueError("the fit needs a one-worker run: the speed of one core comes from it")
        m.speed = sum(r.work for r in ones) / sum(r.epochs_s for r in ones)
        for p in sorted({r.workers for r in runs}):
            at = [r for r in runs if r.workers == p]
            ideal = sum(r.work for r in at) / (m.speed * min(p, cores))
            m.contention[p] = sum(r.epochs_s for r in at) / ideal - 1.0
        return m

    def contention_at(self, p: int) -> float:
        """M(p): measured where fitted; past the largest fitted count, that count's value (an assumption,
        said so in the report)."""
        if p in self.contention:
            return self.contention[p]
        known = sorted(self.contention)
        below = [k for k in known if k <= p]
        return self.contention[below[-1] if below else known[0]]

    def predict(self, p: int, images: int, eval_images: int, epochs: int, train_flops: float, eval_flops: float,
                cores: int | None = None) -> float:
        cores = cores or self.cores
        work = epochs * (images * train_flops + eval_images * eval_flops)
        return self.prep_s + work / (self.speed * min(p, cores)) * (1.0 + self.contention_at(p))


def naive(one_worker: Obs, r: Obs, cores: int) -> float:
    """The one-worker run's time scaled by the work and divided by the workers (up to the cores)."""
    return one_worker.total_s * r.work / one_worker.work / min(r.workers, cores)


def alpha(measured: float, predicted: float) -> float:
    return abs(measured - predicted) / predicted
