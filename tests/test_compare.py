"""dnn.compare: the identical-weights check, the performance model, and a small real run."""

import json

import numpy as np
import pytest

from dnn import compare, compare_model
from dnn.perfmodel import Model, Run, link_params, mean_abs_error


def test_identical_check_flags_a_perturbed_run():
    w = np.arange(10, dtype=np.float32)
    runs = [{"mode": m, "granularity": "chunk", "link": "none", "_weights": w.copy()} for m in ("host", "implicit")]
    assert compare.check_identical(runs) == []
    bad = w.copy()
    bad[3] = np.nextafter(bad[3], np.float32(100))  # one ulp
    runs.append({"mode": "explicit-copy", "granularity": "op", "link": "knc-pcie", "_weights": bad})
    assert compare.check_identical(runs) == ["explicit-copy/op/knc-pcie"]


def test_model_recovers_known_parameters():
    rate, call_s, chunk_s, copy_bps = 50e9, 30e-6, 2e-3, 9e9
    rng = np.random.default_rng(0)
    runs = []
    for calls, chunks, nbytes in [(6, 6, 0), (120, 6, 4e8), (960, 6, 0), (480, 12, 2e9), (60, 3, 1e8)]:
        flops = rng.uniform(1e10, 5e10)
        compute = flops / rate
        real = nbytes / copy_bps
        runs.append(Run(arch="a", threads=1, flops=flops, calls=calls, chunks=chunks, transfers=calls * 4,
                        bytes=int(nbytes), wall_s=compute + calls * call_s + chunks * chunk_s + real,
                        compute_s=compute, transfer_real_s=real))
    m = Model.fit(runs)
    assert m.rate[("a", 1, "", "")] == pytest.approx(rate, rel=1e-9)
    assert m.call_s == pytest.approx(call_s, rel=1e-6)
    assert m.chunk_s == pytest.approx(chunk_s, rel=1e-6)
    assert m.copy_bps == pytest.approx(copy_bps, rel=1e-9)
    # A throttled link slower than the copies: the model's link term takes over.
    bw, lat = link_params("knc-pcie")
    r = runs[3]
    assert m.predict(r, link="knc-pcie")["transfer_s"] == pytest.approx(r.transfers * lat + r.bytes / bw)
    assert mean_abs_error(m, runs) < 1e-9
    # ... and where the machine's copies are slower than the modelled bus, they set the time.
    assert m.predict(r, link="200,0")["transfer_s"] == pytest.approx(r.bytes / copy_bps)


def test_model_overlap_counts_the_longer_of_compute_and_link():
    m = Model(rate={("a", 1, "explicit-overlap", "chunk"): 1e9}, call_s=1e-3)
    r = Run(arch="a", threads=1, flops=2e9, calls=10, chunks=5, transfers=4, bytes=int(6.4e9), wall_s=0,
            compute_s=2.0, mode="explicit-overlap", granularity="chunk", overlap=True)
    p = m.predict(r, link="knc-pcie")  # 1 s across the link, 2 s of compute: hidden
    assert p["wall_s"] == pytest.approx(2.0 + 10e-3)
    r.bytes = int(19.2e9)  # 3 s across the link: the link sets the pace
    assert m.predict(r, link="knc-pcie")["wall_s"] == pytest.approx(3.0 + 4 * 12e-6 + 10e-3)


def test_links_list_keeps_bandwidth_latency_pairs_together():
    assert compare.split_links("none,knc-pcie,1,12") == ["none", "knc-pcie", "1,12"]
    assert compare.split_links("0.5,20;pcie3-x16") == ["0.5,20", "pcie3-x16"]


def test_link_params():
    assert link_params("none") == (0.0, 0.0)
    assert link_params("6.4,12") == pytest.approx((6.4e9, 12e-6))
    with pytest.raises(ValueError, match="unknown link"):
        link_params("warp")


def test_compare_runs_and_writes_its_outputs(tmp_path, small_dataset):
    out = tmp_path / "cmp"
    rc = compare.main(["--data", str(small_dataset), "--arch", "20-16-5", "--granularity", "chunk,op",
                       "--links", "none,knc-pcie", "--bunch", "16", "--out", str(out)])
    assert rc == 0
    doc = json.loads((out / "compare.json").read_text())
    assert doc["meta"]["identical"].startswith("All runs ended with bit-identical weights")
    runs = doc["runs"]
    # host once; implicit, implicit-myo, explicit-copy, -resident per link; explicit-overlap at chunk only
    assert len(runs) == 2 * (1 + 4 * 2) + 2
    for key in compare.COLUMNS + ["chunks", "transfers", "images"]:
        assert all(key in r for r in runs), key
    by = {(r["mode"], r["granularity"], r["link"]): r for r in runs}
    assert by[("implicit", "op", "none")]["bytes_to_card"] == 0
    assert by[("implicit-myo", "op", "none")]["myo_bytes_to_card"] > 0  # MYO moves pages
    assert by[("explicit-copy", "op", "none")]["bytes_to_card"] > by[("explicit-copy", "chunk", "none")]["bytes_to_card"]
    assert (by[("explicit-overlap", "chunk", "knc-pcie")]["bytes_to_card"]
            == by[("explicit-resident", "chunk", "knc-pcie")]["bytes_to_card"])
    assert "FLOP per byte" in doc["meta"]["explanation"]
    assert "mean absolute error" in doc["meta"]["model_text"]
    for png in ("split.png", "granularity.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "compare.csv").read_text().startswith("mode,granularity,link")


def _made_up(mode, g, link, wall, nbytes=0):
    """A result row as dnn.compare makes one: what the wall time was not computing went to transfers."""
    return {"mode": mode, "granularity": g, "link": link, "wall_s": wall, "bytes_to_card": nbytes,
            "bytes_from_card": 0, "images": 1000, "compute_s": 0.8 * wall, "transfer_s": 0.2 * wall if nbytes else 0.0}


def test_conclusions_follow_the_numbers_when_explicit_wins():
    from dnn.network import Arch

    rows = [_made_up("implicit", "bunch", "none", 1.0), _made_up("explicit-resident", "bunch", "none", 0.9, 10**6),
            _made_up("implicit", "bunch", "1,12", 1.0), _made_up("explicit-resident", "bunch", "1,12", 0.95, 10**6),
            _made_up("explicit-copy", "bunch", "1,12", 3.0, 10**8)]
    text = compare.explain(rows, Arch.parse("20-16-5", "relu"))
    assert "explicit-resident wins all 1 link and granularity combinations shown" in text
    assert "On 1,12 at bunch granularity explicit-resident is fastest (0.95 s)" in text
    assert "implicit takes 1.05x its time" in text
    assert "On none" not in text  # nothing happens on the none link: it is not what is explained
    assert "The slowest run is explicit-copy/bunch/1,12 at 3.00 s." in text
    assert "wins everywhere" not in text


def test_conclusions_say_when_no_mode_wins_everywhere():
    from dnn.network import Arch

    rows = [_made_up("implicit", "chunk", "knc-pcie", 1.0), _made_up("explicit-resident", "chunk", "knc-pcie", 1.2),
            _made_up("implicit", "op", "knc-pcie", 2.0), _made_up("explicit-resident", "op", "knc-pcie", 1.5)]
    text = compare.explain(rows, Arch.parse("20-16-5", "relu"))
    assert "No mode wins everywhere: implicit wins 1 of 2, explicit-resident wins 1 of 2" in text


def test_held_out_configurations_are_predicted_and_beside_the_naive_baseline():
    from dnn.perfmodel import held_out_errors

    rate, call_s = 40e9, 50e-6
    runs = []
    for g, calls in (("chunk", 10), ("bunch", 100), ("op", 800)):
        for mode, flops in (("implicit", 4e10), ("explicit-resident", 4e10)):
            runs.append(Run(arch="a", threads=1, flops=flops, calls=calls, chunks=10, transfers=0, bytes=0,
                            wall_s=flops / rate + calls * call_s, compute_s=flops / rate, mode=mode, granularity=g))
    rows = held_out_errors(runs)
    assert {r["held_out"] for r in rows} == {"granularity=chunk", "granularity=bunch", "granularity=op",
                                              "mode=explicit-resident", "mode=implicit"}
    op = next(r for r in rows if r["held_out"] == "granularity=op")
    assert op["model"] < 1e-6 < op["naive"]  # the call cost scales with calls; the naive guess cannot see it


def test_pooled_fit_separates_compute_from_myo_pages():
    """One rate per network, the MYO pages moved as their own term: a mode left out is predicted from its
    counted work, and a granularity fitted alone charges its unexplained time per chunk."""
    rate, page_s = 30e9, 20e-6
    runs = [Run(arch="a", threads=1, flops=f, calls=c, chunks=6, transfers=0, bytes=0, myo_pages=n,
                wall_s=f / rate + n * page_s + 6 * 1e-3, compute_s=f / rate + n * page_s, mode=m, granularity="bunch")
            for f, n, m, c in [(3e10, 0, "implicit", 120), (6e10, 0, "implicit", 120), (3e10, 20000, "implicit-myo", 120),
                               (4e10, 5000, "implicit-myo", 120)]]
    m = Model.fit(runs, pooled=True)
    assert m.rate[("a", 1, "", "")] == pytest.approx(rate, rel=1e-6)
    assert m.page_s == pytest.approx(page_s, rel=1e-6)
    assert m.call_s == 0 and m.chunk_s == pytest.approx(1e-3, rel=1e-6)  # calls and chunks cannot be told apart


def test_compare_runs_cards_as_a_dimension(tmp_path, small_dataset):
    """--cards 1,2: two-card rows for the modes that split a bunch, labelled with their count;
    bit identity is asked of runs on as many cards, and two cards are near one card, not equal."""
    out = tmp_path / "cmp"
    rc = compare.main(["--data", str(small_dataset), "--arch", "20-16-5", "--granularity", "chunk,op",
                       "--links", "none", "--bunch", "16", "--cards", "1,2", "--out", str(out)])
    assert rc == 0
    doc = json.loads((out / "compare.json").read_text())
    runs = doc["runs"]
    two = sorted((r["mode"], r["granularity"]) for r in runs if r["cards"] == 2)
    assert two == [("explicit-resident", "chunk"), ("explicit-resident", "op"), ("implicit", "chunk"),
                   ("implicit", "op")]
    assert len([r for r in runs if r["cards"] == 1]) == 2 * (1 + 4) + 1
    meta = doc["meta"]
    assert meta["cards"] == [1, 2]
    assert meta["identical"].startswith("All runs ended with bit-identical weights (one card thread, each against "
                                        "the runs on as many cards).")
    distance = float(meta["identical"].split("by at most ")[1].split(" ")[0])
    assert 0 < distance <= 1e-4  # the rows really were split, and only rounding tells the weights apart
    assert "On 2 cards implicit/op/none takes" in meta["explanation"]
    assert (out / "compare.csv").read_text().startswith("mode,granularity,link,cards,")
    assert "| implicit | op | none | 2 |" in (out / "compare.md").read_text()


def test_identity_is_checked_among_runs_on_as_many_cards():
    w = np.arange(10, dtype=np.float32)
    near = w + np.float32(1e-6)
    runs = [{"mode": "implicit", "granularity": "chunk", "link": "none", "cards": 1, "_weights": w},
            {"mode": "implicit", "granularity": "chunk", "link": "none", "cards": 2, "_weights": near},
            {"mode": "explicit-resident", "granularity": "chunk", "link": "none", "cards": 2, "_weights": near.copy()}]
    assert compare.check_identical(runs) == []
    runs.append({"mode": "explicit-resident", "granularity": "op", "link": "none", "cards": 2, "_weights": w})
    assert compare.check_identical(runs) == ["explicit-resident/op/none/2 cards"]
    assert compare.distance_from_one_card(runs) == pytest.approx(1e-6 / 9, rel=1e-2)


@pytest.mark.parametrize("argv,words", [
    (["--cards", "2", "--modes", "host,explicit-copy"], "several cards run only --modes implicit,explicit-resident"),
    (["--cards", "0,1"], "at least 1"),
    (["--cards", "two"], "give card counts"),
    (["--cards", "1,4", "--bunch", "2"], "cannot be split over --cards 4"),
    (["--workers", "0,2"], "worker counts must be at least 1"),
    (["--workers", "two"], "give worker counts"),
])
def test_cards_refused_before_any_run(tmp_path, small_dataset, argv, words):
    with pytest.raises(compare.DnnValueError, match=words):
        compare.main(["--data", str(small_dataset), "--arch", "20-16-5", "--out", str(tmp_path / "c"), *argv])
    assert not (tmp_path / "c").exists()


def test_only_the_default_out_folder_grows_its_parents(tmp_path):
    from dnn.compare_outputs import check_out
    from dnn.outputs import OutputError

    deep = tmp_path / "out" / "compare"
    assert check_out(str(deep), given=False) == deep and not (tmp_path / "out").exists()  # made when written
    with pytest.raises(OutputError, match="does not exist; create the folder first"):
        check_out(str(deep))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="file is not a folder"):
        check_out(str(tmp_path / "file" / "sub" / "compare"), given=False)


def test_chaos_runs_are_planned_per_mode_on_one_card_and_kept_out_of_the_model():
    """--workers adds (mode, chunk, link, 1 card, N workers) runs; the mode comparison and the
    performance model see only the bunch runs."""
    runs = compare.plan(["host", "implicit"], ["chunk", "op"], ["none"], [1], [1, 3])
    assert [r for r in runs if r[4]] == [("host", "chunk", "-", 1, 1), ("implicit", "chunk", "none", 1, 1),
                                         ("host", "chunk", "-", 1, 3), ("implicit", "chunk", "none", 1, 3)]
    rows = [{"mode": "implicit", "granularity": "chunk", "link": "none", "cards": 1, "workers": w} for w in (0, 1)]
    assert compare_model.on_one_card(rows) == rows[:1]


def test_chaos_workers_are_set_against_one_worker():
    rows = [{"mode": "implicit", "granularity": "chunk", "link": "none", "workers": w, "wall_s": t}
            for w, t in ((0, 1.0), (1, 3.0), (3, 2.0))]
    assert compare.several_workers(rows) == ["With 3 CHAOS workers implicit/chunk/none takes 2.00 s, "
                                             "1.50x the speed of one worker."]


def test_conclusions_explain_the_none_link_only_when_nothing_else_ran():
    from dnn.network import Arch

    rows = [_made_up("implicit", "op", "none", 2.0), _made_up("explicit-copy", "op", "none", 1.6, 10**7)]
    text = compare.explain(rows, Arch.parse("20-16-5", "relu"))
    assert text.startswith("explicit-copy wins all 1 link and granularity combinations shown.")
    assert "On none at op granularity explicit-copy is fastest (1.60 s), 1.25x ahead of implicit" in text
    assert "The slowest run is implicit/op/none at 2.00 s." in text
