"""dnn.compare's report of the performance model on held-out configurations: each configuration's
error beside the naive baseline's (median over the repetitions), and for each above the goal,
where its error lies and what the fit could not have seen, every clause from the numbers."""

from __future__ import annotations

import numpy as np

GOAL = 0.10


def held_out_lines(held: list[list[dict]], machine=None, spread: float | None = None) -> list[str]:
    """held: per repetition, dnn.perfmodel.held_out_errors' rows (the same configurations in the
    same order); machine: the costs the fits took as known (median_machine); spread: how much the
    same run's wall time varied between repetitions (repeat_spread)."""
    n = len(held)
    lines = []
    if machine is not None:
        lines.append(f"\nMeasured on the machine after each repetition (the median is taken as known by the "
                     f"held-out fits): {machine.describe()}.")
    lines.append(f"\nHeld-out configurations (all runs of one granularity, mode or network left out of the fit and "
                 f"predicted), median of {n} repetition(s):")
    for k, row in enumerate(held[0]):
        rows = [h[k] for h in held if k < len(h)]
        m_err = float(np.median([r["model"] for r in rows]))
        b_err = float(np.median([r["naive"] for r in rows]))
        line = f"- {row['held_out']} ({row['runs']} runs): model {100 * m_err:.1f}%, naive {100 * b_err:.1f}%"
        if m_err > GOAL:
            typical = min(rows, key=lambda r: abs(r["model"] - m_err))  # the repetition at the median
            line += f"; above {100 * GOAL:.0f}%: " + why(typical)
        lines.append(line)
    m_all = np.median([np.mean([x["model"] for x in h]) for h in held if h])
    b_all = np.median([np.mean([x["naive"] for x in h]) for h in held if h])
    verdict = ("meets the goal (at most 10% and below the naive baseline)" if m_all <= GOAL and m_all < b_all else
               "does NOT meet the goal of at most 10% and clearly below the naive baseline")
    lines.append(f"Held-out mean absolute error: model {100 * m_all:.1f}%, naive {100 * b_all:.1f}%: the model "
                 f"{verdict}.")
    if spread is not None:
        lines.append(f"Between repetitions the same run's wall time varied by a median {100 * spread:.1f}% (largest "
                     "less smallest, over their median)" + (f": more than the {100 * GOAL:.0f}% goal, so no model of "
                     "the work alone could meet it on these runs." if spread > GOAL else "."))
    return lines


def repeat_spread(reps: list[list[dict]]) -> float | None:
    """Median over the runs of (largest - smallest) / median wall time of the same run (mode,
    granularity, link, cards, workers) across repetitions; None with one repetition."""
    if len(reps) < 2:
        return None
    times: dict = {}
    for rep in reps:
        for r in rep:
            key = (r["mode"], r["granularity"], r["link"], r.get("cards", 1), r.get("workers", 0))
            times.setdefault(key, []).append(r["wall_s"])
    spreads = [(max(t) - min(t)) / float(np.median(t)) for t in times.values() if len(t) > 1]
    return float(np.median(spreads)) if spreads else None


def why(row: dict) -> str:
    """The part of the prediction furthest from what was measured (mean seconds per run), and what
    the fitted runs did not show: MYO pages moved, or far more bytes than any of them moved."""
    name, (pred, meas) = max(row["parts"].items(), key=lambda kv: abs(kv[1][0] - kv[1][1]))
    text = (f"most of it is {name} ({pred:.2f} s predicted against {meas:.2f} s measured per run, "
            f"{'over' if pred > meas else 'under'} by {abs(pred - meas):.2f} s)")
    if row.get("unseen_pages"):
        text += (f"; no fitted run moved MYO pages, these move up to {row['unseen_pages']:,}, priced at the "
                 "measured cost per page")
    if row.get("bytes_beyond", 0) > 2:
        text += (f"; they move up to {row['bytes_beyond']:.0f}x the bytes of any fitted run, priced at the measured "
                 "copy rate")
    return text


def median_machine(machines: list):
    """Each cost the median of the probes' (None: nothing was measured). One probe takes a fraction
    of a second, so a busy moment can double a cost; the median over the repetitions is steadier."""
    from .perfmodel_probe import Machine

    measured = [m for m in machines if m is not None]
    if not measured:
        return None
    return Machine(**{f: float(np.median([getattr(m, f) for m in measured])) for f in Machine.__dataclass_fields__})
