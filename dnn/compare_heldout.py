"""dnn.compare's report of the performance model on held-out configurations: each configuration's
error beside the naive baseline's (median over the repetitions), and for each above the goal,
where its error lies and what the fit could not have seen, every clause from the numbers."""

from __future__ import annotations

import numpy as np

GOAL = 0.10


def held_out_lines(held: list[list[dict]], machines: list) -> list[str]:
    """held: per repetition, dnn.perfmodel.held_out_errors' rows (the same configurations in the
    same order); machines: what dnn.perfmodel_probe measured before each repetition (or None)."""
    n = len(held)
    lines = []
    measured = [m for m in machines if m is not None]
    if measured:
        lines.append(f"\nMeasured on the machine before each repetition (median of {len(measured)}), taken as known by "
                     f"the held-out fits: {_median_machine(measured)}.")
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
    return lines


def why(row: dict) -> str:
    """The part of the prediction furthest from what was measured (mean seconds per run), and what
    the fitted runs did not show: MYO page faults, or far more bytes than any of them moved."""
    name, (pred, meas) = max(row["parts"].items(), key=lambda kv: abs(kv[1][0] - kv[1][1]))
    text = (f"most of it is {name} ({pred:.2f} s predicted against {meas:.2f} s measured per run, "
            f"{'over' if pred > meas else 'under'} by {abs(pred - meas):.2f} s)")
    if row.get("unseen_faults"):
        text += (f"; no fitted run had MYO page faults, these have up to {row['unseen_faults']:,}, priced at the "
                 "measured cost per fault")
    if row.get("bytes_beyond", 0) > 2:
        text += (f"; they move up to {row['bytes_beyond']:.0f}x the bytes of any fitted run, priced at the measured "
                 "copy rate")
    return text


def _median_machine(machines: list) -> str:
    from .perfmodel_probe import Machine

    fields = Machine.__dataclass_fields__
    return Machine(**{f: float(np.median([getattr(m, f) for m in machines])) for f in fields}).describe()
