"""The performance model of CHAOS (Viebke and Pllana, equations (1) and (2)), fitted on measured runs.

    T(p, i, t, e) = T_prep + e * i * (F + B) / (S * min(p, cores)) * (1 + M(p))
                           + e * t * F / (S_eval * min(p, cores)) * (1 + M_eval(p))

  T_prep  the sequential preparation (data opened, card started, network made): measured
  F, B    forward and backward operation counts of one image (the network's FLOPs)
  i, t, e training images, validation + test images, epochs
  S       the speed of one core (FLOP/s) in training, from one-worker runs
  M(p)    memory contention with p workers: how much slower than linear the fit runs at p were

The paper's terms (3) training and (4)-(5) forward-only evaluation are kept apart when the runs say
how long their evaluation took (Obs.eval_s): evaluation runs at a speed of its own (S_eval, its own
contention M_eval(p)), not at training's speed scaled by the FLOP ratio F / (F + B). Runs that do not
say are fitted with one speed and one contention for both, as equation (1) writes them.

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
    training (F + B) and for evaluation (F), seconds of the whole run and of its epochs, and of the
    epochs the seconds spent evaluating (None: not measured apart)."""

    workers: int
    images: int
    eval_images: int
    epochs: int
    train_flops: float
    eval_flops: float
    total_s: float
    epochs_s: float
    eval_s: float | None = None

    @property
    def train_work(self) -> float:
        return self.epochs * self.images * self.train_flops

    @property
    def eval_work(self) -> float:
        return self.epochs * self.eval_images * self.eval_flops

    @property
    def work(self) -> float:
        return self.train_work + self.eval_work


def _parts(r: Obs, split: bool) -> dict[str, tuple[float, float]]:
    """{part: (FLOPs, seconds)} of a run: training and evaluation apart, or together as 'train'."""
    if not split:
        return {"train": (r.work, r.epochs_s)}
    return {"train": (r.train_work, r.epochs_s - r.eval_s), "eval": (r.eval_work, r.eval_s)}


@dataclass
class ChaosModel:
    cores: int
    prep_s: float = 0.0
    speed: float = 0.0  # FLOP/s of one core (training; training and evaluation when not split)
    contention: dict = field(default_factory=dict)  # workers -> M(p)
    eval_speed: float | None = None  # FLOP/s of one core evaluating; None: not split
    eval_contention: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, runs: list[Obs], cores: int) -> "ChaosModel":
        m = cls(cores)
        m.prep_s = mean(r.total_s - r.epochs_s for r in runs)
        ones = [r for r in runs if r.workers == 1]
        if not ones:
            raise ValueError("the fit needs a one-worker run: the speed of one core comes from it")
        split = all(r.eval_s is not None for r in runs)
        for part in ("train", "eval") if split else ("train",):
            work = lambda at: sum(_parts(r, split)[part][0] for r in at)  # noqa: E731
            secs = lambda at: sum(_parts(r, split)[part][1] for r in at)  # noqa: E731
            speed = work(ones) / secs(ones)
            contention = {}
            for p in sorted({r.workers for r in runs}):
                at = [r for r in runs if r.workers == p]
                contention[p] = secs(at) / (work(at) / (speed * min(p, cores))) - 1.0
            if part == "train":
                m.speed, m.contention = speed, contention
            else:
                m.eval_speed, m.eval_contention = speed, contention
        return m

    @staticmethod
    def _at(table: dict, p: int) -> float:
        if p in table:
            return table[p]
        known = sorted(table)
        below = [k for k in known if k <= p]
        return table[below[-1] if below else known[0]]

    def contention_at(self, p: int) -> float:
        """M(p): measured where fitted; past the largest fitted count, that count's value (an assumption,
        said so in the report)."""
        return self._at(self.contention, p)

    def predict(self, p: int, images: int, eval_images: int, epochs: int, train_flops: float, eval_flops: float,
                cores: int | None = None) -> float:
        lanes = min(p, cores or self.cores)
        train, evaluate = epochs * images * train_flops, epochs * eval_images * eval_flops
        if self.eval_speed is None:
            return self.prep_s + (train + evaluate) / (self.speed * lanes) * (1.0 + self.contention_at(p))
        return (self.prep_s + train / (self.speed * lanes) * (1.0 + self.contention_at(p))
                + evaluate / (self.eval_speed * lanes) * (1.0 + self._at(self.eval_contention, p)))


def naive(one_worker: Obs, r: Obs, cores: int) -> float:
    """The one-worker run's time scaled by the work and divided by the workers (up to the cores)."""
    return one_worker.total_s * r.work / one_worker.work / min(r.workers, cores)


def alpha(measured: float, predicted: float) -> float:
    return abs(measured - predicted) / predicted
