"""Accuracy over several seeds: per method the mean and standard deviation, and the paired
difference of two methods run on the same seeds, with a 95 % interval of its mean from Student's t
distribution.

Paired, because each seed fixes what the methods share (initial weights, order of the images):
the difference per seed removes what the seed does to both, and what is left is what the methods
do differently, run-to-run noise included.

"Equal accuracy within a margin" is judged two ways, and both are reported:
  * strong: the 95 % interval of the mean difference lies inside ±margin (an equivalence test at
    2.5 % on each side: the data exclude a difference as large as the margin);
  * weak: the mean difference alone lies inside ±margin (the interval may reach past it, so the
    data do not exclude a larger difference).

scipy is not a dependency: the two-sided 95 % quantiles of t are tabulated (from any statistics
table); between tabulated degrees of freedom the next lower one is used, which widens the interval
a little, never narrows it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

# Two-sided 95 % (upper 97.5 %) quantiles of Student's t by degrees of freedom.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
        26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
Z975 = 1.960  # the limit for infinitely many degrees of freedom


def t975(df: int) -> float:
    """The upper 97.5 % quantile of t with df degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"t needs at least one degree of freedom, not {df}")
    if df > max(T975):
        return T975[max(T975)]
    return T975[max(d for d in T975 if d <= df)]


def mean_sd(values: list[float]) -> tuple[float, float]:
    """(mean, sample standard deviation); the deviation is nan for fewer than two values."""
    if not values:
        raise ValueError("no values")
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return m, sd


class Paired(NamedTuple):
    """The differences a - b over seeds, their mean and sd, and the 95 % interval of the mean."""

    diffs: list[float]
    mean: float
    sd: float
    low: float
    high: float

    def within(self, margin: float) -> tuple[bool, bool]:
        """(strong, weak): the interval inside ±margin; the mean inside ±margin."""
        return -margin <= self.low and self.high <= margin, abs(self.mean) <= margin


def paired(a: list[float], b: list[float]) -> Paired:
    """a and b: one value per seed, in the same seed order. With one seed the interval is
    unbounded (nothing says how much a difference varies)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need the same seeds: {len(a)} against {len(b)}")
    diffs = [x - y for x, y in zip(a, b)]
    m, sd = mean_sd(diffs)
    half = t975(len(diffs) - 1) * sd / math.sqrt(len(diffs)) if len(diffs) > 1 else math.inf
    return Paired(diffs, m, sd, m - half, m + half)


def verdict(p: Paired, margin: float) -> str:
    """Which reading of "equal within margin" the data support, and whether they show a difference
    at all (the interval clear of zero: systematic, not noise)."""
    strong, weak = p.within(margin)
    side = "below" if p.mean < 0 else "above"
    if strong:
        said = f"equal within ±{margin:g}: the 95 % interval lies inside it"
    elif weak:
        said = f"mean within ±{margin:g}, but the 95 % interval reaches past it: not shown"
    elif p.high < -margin or p.low > margin:
        said = f"{side} by more than {margin:g}: the whole 95 % interval lies past it"
    else:
        said = f"mean {side} by more than {margin:g}: not equal in the mean"
    systematic = p.high < 0 or p.low > 0
    return said + (f"; {side} throughout the interval: a systematic difference" if systematic else "")
