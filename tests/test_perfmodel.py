"""dnn.perfmodel with the machine's measured costs, the probe that measures them, and the held-out
report's reasons (dnn.compare_heldout)."""

import numpy as np
import pytest

from dnn.compare_heldout import held_out_lines, why
from dnn.perfmodel import Model, Run, held_out_errors
from dnn.perfmodel_probe import Machine, measure_machine

RATE, CALL_S, BUNCH_S, CHUNK_S, FAULT_S = 30e9, 40e-6, 300e-6, 2e-3, 25e-6
CALLS = {"chunk": (6, 0), "bunch": (123, 120), "op": (963, 120)}  # calls, bunches the host drives


def _runs(pages=0):
    """Made-up runs that follow the model exactly: every granularity, two modes (one moving MYO pages)."""
    runs = []
    for g, (calls, bunches) in CALLS.items():
        for mode, n in (("implicit", 0), ("implicit-myo", pages)):
            compute = 3e10 / RATE + n * FAULT_S
            runs.append(Run(arch="a", threads=1, flops=3e10, calls=calls, chunks=3, transfers=0, bytes=0, myo_pages=n,
                            bunches=bunches, wall_s=compute + calls * CALL_S + bunches * BUNCH_S + 3 * CHUNK_S,
                            compute_s=compute, mode=mode, granularity=g))
    return runs


def test_a_left_out_granularity_is_predicted_from_the_measured_call_cost():
    """Leave out op: its 963 calls are priced by the probe, its bunches by what bunch granularity
    showed; fitted without the probe, calls and bunches could not be told apart."""
    machine = Machine(call_s=CALL_S, copy_fixed_s=0.0, copy_bps=1e10, page_s=FAULT_S)
    rows = {r["held_out"]: r for r in held_out_errors(_runs(), machine)}
    assert set(rows) >= {"granularity=chunk", "granularity=bunch", "granularity=op"}
    assert rows["granularity=bunch"]["model"] < 1e-9 and rows["granularity=op"]["model"] < 1e-9
    # Bunch and op runs alone cannot tell per-chunk from per-bunch host time (both have 3 chunks
    # and 120 bunches): it goes per bunch, and the chunk runs' 6 ms of chunk time is missed.
    assert 1e-3 < rows["granularity=chunk"]["model"] < 0.01
    assert rows["granularity=op"]["naive"] > 0.01  # the naive guess cannot see the calls
    m = Model.fit([r for r in _runs() if r.granularity != "op"], pooled=True, machine=machine)
    assert (m.call_s, m.bunch_s, m.chunk_s) == pytest.approx((CALL_S, BUNCH_S, CHUNK_S), rel=1e-6)


def test_a_left_out_myo_mode_takes_the_measured_fault_cost():
    machine = Machine(call_s=CALL_S, copy_fixed_s=0.0, copy_bps=1e10, page_s=FAULT_S)
    rows = {r["held_out"]: r for r in held_out_errors(_runs(pages=20000), machine)}
    assert rows["mode=implicit-myo"]["model"] < 1e-9
    assert rows["mode=implicit-myo"]["unseen_pages"] == 20000
    # A probe that priced pages at nothing leaves them out, and the report says why.
    blind = held_out_errors(_runs(pages=20000), Machine(CALL_S, 0.0, 1e10, page_s=0.0))
    row = next(r for r in blind if r["held_out"] == "mode=implicit-myo")
    assert row["model"] > 0.10
    text = why(row)
    assert text.startswith("most of it is compute (") and "under by 0.50 s" in text
    assert "no fitted run moved MYO pages, these move up to 20,000" in text


def test_only_configurations_above_the_goal_carry_a_reason_and_the_verdict_follows_the_numbers():
    parts = {"compute": (1.0, 1.0), "transfer": (0.5, 0.1), "calls and host": (0.1, 0.1)}
    good = {"held_out": "mode=implicit", "runs": 2, "model": 0.04, "naive": 0.3, "parts": parts}
    bad = {"held_out": "mode=explicit-copy", "runs": 2, "model": 0.40, "naive": 0.3, "parts": parts,
           "bytes_beyond": 140.0}
    lines = held_out_lines([[good, bad]] * 3, None, spread=0.25)
    text = "\n".join(lines)
    assert "- mode=implicit (2 runs): model 4.0%, naive 30.0%\n" in text
    assert ("- mode=explicit-copy (2 runs): model 40.0%, naive 30.0%; above 10%: most of it is transfer (0.50 s "
            "predicted against 0.10 s measured per run, over by 0.40 s); they move up to 140x the bytes") in text
    assert "model 22.0%, naive 30.0%: the model does NOT meet the goal" in text
    assert text.endswith("varied by a median 25.0% (largest less smallest, over their median): more than the 10% "
                         "goal, so no model of the work alone could meet it on these runs.")
    ok = held_out_lines([[good]], None)
    assert ok[-1].endswith("the model meets the goal (at most 10% and below the naive baseline).")


def test_the_spread_between_repetitions_is_per_run_and_the_machine_a_median():
    from dnn.compare_heldout import median_machine, repeat_spread

    rep = lambda a, b: [{"mode": "implicit", "granularity": "op", "link": "none", "wall_s": a},  # noqa: E731
                        {"mode": "implicit", "granularity": "op", "link": "1,12", "wall_s": b}]
    assert repeat_spread([rep(1.0, 4.0), rep(1.1, 4.0), rep(1.2, 4.0)]) == pytest.approx(0.2 / 1.1 / 2)  # median of 0.2 / 1.1 and 0
    assert repeat_spread([rep(1.0, 2.0)]) is None
    machines = [Machine(1e-5, 0.0, 1e9), None, Machine(3e-5, 1e-6, 3e9), Machine(2e-5, 0.0, 2e9)]
    assert median_machine(machines) == Machine(2e-5, 0.0, 2e9)
    assert median_machine([None]) is None


def test_the_probe_measures_the_machine():
    m = measure_machine(calls=60)
    assert m.call_s > 0 and m.empty_s > 0 and m.copy_fixed_s >= 0
    assert 1e7 < m.copy_bps < 1e13
    assert m.page_s > 0  # a MYO page costs card time the shared run does not pay
    assert "per array" in m.describe() and np.isfinite(m.call_s)
