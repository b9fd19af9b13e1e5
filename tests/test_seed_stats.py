"""Accuracy over seeds (dnn/seed_stats.py, tools/bench_chaos_torch.py --seeds): the statistics
against values worked out by hand and against a textbook paired t interval, and the report's
differences taken the right way round."""

import math
import sys
from pathlib import Path

import pytest

from dnn.seed_stats import Paired, mean_sd, paired, t975, verdict

# Student's sleep data (Cushny and Peebles): the extra hours of sleep of ten patients under two
# drugs. The paired 95 % interval of the mean difference is [0.7001, 2.4599] (R: t.test(paired=TRUE)).
DRUG_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
DRUG_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]


def bench_tool():
    """tools/bench_chaos_torch.py as a module (tools/ is not a package)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import bench_chaos_torch

    return bench_chaos_torch


def test_t_quantiles_tabulated_and_conservative_between():
    assert t975(1) == 12.706
    assert t975(4) == 2.776
    assert t975(35) == t975(30) == 2.042  # the next lower tabulated df: a wider interval, never narrower
    assert t975(10_000) == 1.980
    with pytest.raises(ValueError):
        t975(0)


def test_mean_and_sample_sd():
    m, sd = mean_sd([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5
    assert sd == pytest.approx(math.sqrt(5 / 3))
    assert math.isnan(mean_sd([3.0])[1])


def test_paired_interval_matches_the_textbook():
    p = paired(DRUG_2, DRUG_1)
    assert p.mean == pytest.approx(1.58)
    assert p.sd == pytest.approx(1.2299, abs=1e-4)
    assert (p.low, p.high) == (pytest.approx(0.7001, abs=1e-3), pytest.approx(2.4599, abs=1e-3))


def test_paired_is_a_minus_b_and_needs_the_same_seeds():
    p = paired([85.0, 84.0, 86.0], [84.8, 84.1, 85.7])
    assert p.diffs == pytest.approx([0.2, -0.1, 0.3])
    half = 4.303 * p.sd / math.sqrt(3)
    assert (p.low, p.high) == (pytest.approx(p.mean - half), pytest.approx(p.mean + half))
    with pytest.raises(ValueError):
        paired([1.0, 2.0], [1.0])
    one = paired([85.0], [84.0])
    assert one.low == -math.inf and one.high == math.inf and one.within(0.5) == (False, False)


@pytest.mark.parametrize("mean, low, high, strong, weak, says, systematic", [
    (0.1, -0.3, 0.4, True, True, "interval lies inside", False),
    (-0.2, -0.4, -0.1, True, True, "interval lies inside", True),
    (-0.3, -0.7, 0.1, False, True, "not shown", False),
    (-0.8, -1.2, -0.6, False, False, "whole 95 % interval", True),
    (0.6, 0.2, 1.0, False, False, "not equal in the mean", True),
    (0.6, -0.2, 1.4, False, False, "not equal in the mean", False),
])
def test_equal_within_margin_strong_and_weak(mean, low, high, strong, weak, says, systematic):
    p = Paired([], mean, 0.0, low, high)
    assert p.within(0.5) == (strong, weak)
    assert says in verdict(p, 0.5)
    assert ("systematic" in verdict(p, 0.5)) == systematic


def test_seeds_report_takes_chaos_minus_each_method():
    bench = bench_tool()
    def run(acc):
        return {"images_per_s": 100.0, "accuracy": [0.5, acc]}

    by_seed = {s: {bench.SEQUENTIAL: run(0.850), bench.CHAOS: run(0.840 + s / 1000),
                   bench.torch_name(1): run(0.850), bench.HOGWILD: run(0.845)} for s in (1, 2, 3)}
    lines = bench.seeds_report(by_seed)
    chaos_minus_torch = next(line for line in lines if line.startswith(f"| {bench.torch_name(1)} |"))
    assert "-0.90 -0.80 -0.70 | -0.80 | 0.10 |" in chaos_minus_torch
    assert "| mean | **85.00** | **84.20** | **85.00** | **84.50** |" in lines


def test_one_seed_report_without_torch_leaves_out_the_speed_ratio():
    bench = bench_tool()
    runs = {bench.SEQUENTIAL: {"images_per_s": 8000.0, "accuracy": [0.8120]},
            bench.CHAOS: {"images_per_s": 7700.0, "accuracy": [0.8189]}}
    lines = bench.one_seed_report(runs, 1)
    assert lines[-1] == f"\nlast-epoch accuracy difference: +0.69 points ({bench.SEQUENTIAL})"
    with_torch = bench.one_seed_report(runs | {bench.HOGWILD: {"images_per_s": 700.0, "accuracy": [0.8007]}}, 1)
    assert with_torch[-1].startswith("\nCHAOS / faster PyTorch: 11.0x")


def test_saved_runs_of_several_files_join_by_seed_and_refuse_a_clash(tmp_path):
    import json

    bench = bench_tool()
    shape = {"arch": "chaos-small", "data": "d.h5", "epochs": 1, "threads": 2, "torch_threads": 1}

    def saved(name, seeds, **other):
        path = tmp_path / name
        runs = {str(s): {bench.CHAOS: {"images_per_s": 1.0, "accuracy": [s / 100]}} for s in seeds}
        path.write_text(json.dumps(shape | other | {"runs": runs}))
        return str(path)

    joined = bench.saved_runs([saved("b.json", [9, 3]), saved("a.json", [1])])
    assert list(joined) == [1, 3, 9] and joined[9][bench.CHAOS]["accuracy"] == [0.09]
    with pytest.raises(SystemExit, match=r"seed 1 has \['CHAOS, 2 workers'\] in more than one file"):
        bench.saved_runs([saved("a.json", [1]), saved("c.json", [1, 2])])
    with pytest.raises(SystemExit, match="another experiment"):
        bench.saved_runs([saved("a.json", [1]), saved("d.json", [2], epochs=3)])
    with pytest.raises(SystemExit, match="another experiment"):
        bench.saved_runs([saved("a.json", [1]), saved("e.json", [2], lr_gamma=0.1)])


def test_saved_runs_join_a_seeds_methods_from_dnn_and_torch_files(tmp_path, capsys):
    """dnn's runs (--no-torch) and PyTorch's (--torch-only) of the same seeds make one report; a seed
    one of them has not reached yet is left out, and said so."""
    import json

    bench = bench_tool()
    shape = {"arch": "chaos-small", "data": "d.h5", "epochs": 2, "threads": 2, "lr_gamma": 0.1}

    def saved(name, method, seeds, **other):
        path = tmp_path / name
        runs = {str(s): {method: {"images_per_s": 1.0, "accuracy": [0.8, s / 100]}} for s in seeds}
        path.write_text(json.dumps(shape | other | {"runs": runs}))
        return str(path)

    dnn_file = saved("dnn.json", bench.CHAOS, [1, 2, 3], torch_threads=None)
    torch_file = saved("torch.json", bench.HOGWILD, [2, 1], torch_threads=1, torch_methods="hogwild")
    joined = bench.saved_runs([dnn_file, torch_file])
    assert list(joined) == [1, 2]
    assert set(joined[2]) == {bench.CHAOS, bench.HOGWILD} and joined[2][bench.HOGWILD]["accuracy"][-1] == 0.02
    assert "seeds [3] lack some of the methods" in capsys.readouterr().err
    report = "\n".join(bench.seeds_report(joined))
    assert f"| {bench.HOGWILD} | +0.00 +0.00 | +0.00 |" in report
    with pytest.raises(SystemExit, match="no seed has CHAOS's runs"):  # PyTorch's file alone
        bench.main(["--report", torch_file])
