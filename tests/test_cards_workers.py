"""CHAOS workers on every card (`--workers N --cards C`, dnn/cards.py): each card's workers train
hogwild through that card's slice of the chunk, and the cards' weights and momentum are averaged
once per chunk, weighted by the images each card trained.

With one worker per card each card is sequential per-image SGD, so the whole run is deterministic
and equals local SGD computed here from one-card host runs: each half of the chunk trained alone
from the same weights, then 0.5 a + 0.5 b in float32 (the sum kernel's arithmetic, no FMA)."""

import json

import numpy as np
import pytest

import dnn
from dnn.network import Arch
from dnn.offload import lib
from dnn.trainer import Config, Trainer

ARCH = Arch.parse("20-16-12-5", "tanh")
ROWS = 96


def rows_of(n):
    rng = np.random.default_rng(0)
    return rng.random((n, 20), dtype=np.float32), rng.integers(0, 5, n).astype(np.int32)


def chunks(mode, cards, workers, count=2, **kw):
    """Train `count` chunks of the same rows, then evaluate: (params, moment, results of each chunk,
    evaluation, images per card and worker, counters)."""
    x, y = rows_of(ROWS)
    cfg = Config(ARCH, mode=mode, bunch=1, chunk=128, threads=1, cards=cards, workers=workers, seed=3, lr=0.05, **kw)
    with Trainer(cfg, 20, 5) as t:
        buf = t.buffers[0]
        buf.x[:ROWS], buf.y[:ROWS] = x, y
        trained = [t.train_chunk(buf, ROWS) for _ in range(count)]
        evaluated = t.evaluate_chunk(buf, ROWS)
        t.sync_weights()
        b = t.net.blocks
        return b["params"].copy(), b["moment"].copy(), trained, evaluated, t.worker_images("train"), t.stats()


def local_sgd_reference(count=2):
    """Two cards of one worker each, computed from one-card host runs: per chunk, each half trained
    alone (sequential per-image SGD) from the same weights and momentum, then their mean."""
    x, y = rows_of(ROWS)
    half = ROWS // 2
    cfg = Config(ARCH, mode="host", bunch=1, chunk=128, threads=1, workers=1, seed=3, lr=0.05)
    with Trainer(cfg, 20, 5) as t:
        params, moment = t.net.blocks["params"].copy(), t.net.blocks["moment"].copy()
        for _ in range(count):
            ends = []
            for lo in (0, half):
                t.net.blocks["params"][...], t.net.blocks["moment"][...] = params, moment
                buf = t.buffers[0]
                buf.x[:half], buf.y[:half] = x[lo:lo + half], y[lo:lo + half]
                t.train_chunk(buf, half)
                ends.append((t.net.blocks["params"].copy(), t.net.blocks["moment"].copy()))
            w = np.float32(0.5)
            params = w * ends[0][0] + w * ends[1][0]
            moment = w * ends[0][1] + w * ends[1][1]
    return params, moment


@pytest.fixture(scope="module")
def reference():
    return local_sgd_reference()


@pytest.mark.parametrize("mode", ["implicit", "explicit"])
def test_one_worker_per_card_is_local_sgd_between_the_cards_to_the_bit(reference, mode):
    params, moment, trained, _, taken, _ = chunks(mode, 2, 1)
    assert np.array_equal(params, reference[0]) and np.array_equal(moment, reference[1])
    assert taken == [[ROWS], [ROWS]]  # 48 images per card per chunk, two chunks
    assert all(r[lib.DNN_R_IMAGES] == ROWS for r in trained)


def test_cards_1_with_workers_is_the_one_card_workers_run():
    """--cards 1 --workers 1 in a card mode: sequential per-image SGD, as the one-card workers run."""
    one, host = chunks("implicit", 1, 1), chunks("host", 1, 1)
    assert np.array_equal(one[0], host[0]) and np.array_equal(one[1], host[1]) and one[4] == [[2 * ROWS]]


@pytest.mark.parametrize("mode", ["implicit", "explicit"])
def test_several_workers_on_several_cards_split_the_images_and_keep_the_cards_equal(mode):
    params, _, trained, evaluated, taken, stats = chunks(mode, 2, 3)
    assert len(taken) == 2 and all(len(card) == 3 for card in taken)
    assert [sum(card) for card in taken] == [ROWS, ROWS]  # each card its half of both chunks
    assert evaluated[lib.DNN_R_IMAGES] == ROWS and np.isfinite(params).all()
    assert stats["cards"] == 2 and all(p["calls"] > 0 for p in stats["per_card"])
    if mode == "explicit":  # the weights and momentum went up and back over every card's link each chunk
        both = 2 * 4 * params.size
        assert all(p["bytes_from_card"] >= 2 * both and p["bytes_to_card"] >= 2 * both for p in stats["per_card"])


def test_two_cards_of_workers_learn_and_report_images_per_card(small_dataset, tmp_path, capsys):
    from dnn.train import main

    metrics = tmp_path / "m.json"
    assert main(["--data", str(small_dataset), "--arch", "20-16-5", "--workers", "2", "--cards", "2", "--threads",
                 "1", "--epochs", "3", "--quiet", "--metrics", str(metrics), "--lr", "0.02", "--momentum", "0"]) == 0
    m = json.loads(metrics.read_text())
    assert m["train_loss"][-1] < m["train_loss"][0]
    assert m["test_accuracy"][-1] > 0.6  # five learnable classes: chance is 0.2
    per_card = m["worker_images_per_card"]
    assert len(per_card) == 2 and all(len(card) == 2 for card in per_card)
    assert [sum(card) for card in per_card] == [3 * 150, 3 * 150]
    assert m["worker_images"] == per_card[0] + per_card[1]
    assert "2 cards x 2 workers (images each: card 0:" in capsys.readouterr().out


@pytest.mark.parametrize("kw,message", [
    (dict(distributed=True), "--workers with --distributed averages the weights once per chunk: give --sync chunk"),
    (dict(mode="host"), "need --mode implicit or explicit"),
    (dict(mode="explicit", explicit_weights="copy"), "--explicit-weights resident"),
    (dict(coherence="myo"), "--coherence shared"),
    (dict(bunch=4), "--bunch 1"),
])
def test_workers_on_cards_refuse_what_they_cannot_do(kw, message):
    base = dict(arch=ARCH, mode="implicit", bunch=1, chunk=128, cards=2, workers=2)
    with pytest.raises(dnn.DnnValueError, match=message):
        Config(**(base | kw)).validate()


def test_compare_runs_workers_on_several_cards_and_shows_their_images(tmp_path, small_dataset):
    from dnn import compare

    out = tmp_path / "cmp"
    assert compare.main(["--data", str(small_dataset), "--arch", "20-16-5", "--granularity", "chunk", "--threads",
                         "1", "--modes", "host,implicit,explicit-resident", "--links", "none", "--bunch", "16",
                         "--cards", "1,2", "--workers", "1,2", "--out", str(out)]) == 0
    doc = json.loads((out / "compare.json").read_text())
    chaos = {(r["mode"], r["cards"], r["workers"]): r for r in doc["runs"] if r["workers"]}
    assert set(chaos) == ({("host", 1, n) for n in (1, 2)}
                          | {(m, k, n) for m in ("implicit", "explicit-resident") for k in (1, 2) for n in (1, 2)})
    for (_, k, n), r in chaos.items():
        assert [len(card) for card in r["worker_images_per_card"]] == [n] * k
        assert sum(map(sum, r["worker_images_per_card"])) == r["images"]
    assert "implicit/chunk/none/2 cards/2 workers: card 0:" in (out / "compare.md").read_text()


def test_compare_sets_a_chaos_run_on_cards_against_its_own_kind():
    from dnn import compare

    rows = [{"mode": "implicit", "granularity": "chunk", "link": "none", "cards": k, "workers": w, "wall_s": t}
            for k, w, t in ((1, 0, 1.0), (2, 0, 0.8), (1, 2, 4.0), (2, 2, 2.0), (2, 1, 3.0))]
    assert compare.several_cards(rows) == [
        "On 2 cards implicit/chunk/none takes 0.80 s, 1.25x the speed of one card.",
        "On 2 cards implicit/chunk/none/2 workers takes 2.00 s, 2.00x the speed of one card."]
    assert compare.several_workers(rows) == [
        "With 2 CHAOS workers implicit/chunk/none/2 cards takes 2.00 s, 1.50x the speed of one worker."]
