"""Several cards on one host: the runtime's device numbers and shared arena, and `--cards N` data
parallelism (dnn/cards.py).

The tolerance of the equality with one card: the only difference is how the rows of a bunch are
grouped in the gradient sums (card by card, then across cards, weighted by each card's share of the
rows), so each step's gradient differs by a few float32 roundings of the row sums. After 20 bunches
the weights stay within 1e-5 of the largest weight (measured: 2e-7, about two ulps of it).
"""

import numpy as np
import pytest

import dnn
from dnn.cards import split_rows
from dnn.network import Arch
from dnn.offload import Card, number_of_devices
from dnn.session import run_training
from dnn.trainer import Config, Trainer

TOLERANCE = 1e-5  # of the largest weight, after 20 bunches (see above)


# ---- the runtime: several cards, one arena -----------------------------------------------------


def test_sibling_cards_are_processes_of_their_own_sharing_one_arena():
    with Card(threads=1) as a, Card(threads=1, arena_of=a) as b:
        assert a.pid != b.pid and {a.device, b.device} == {0, 1} and number_of_devices() >= 2
        x = a.shared_zeros(1000)
        y = b.shared_zeros(1000)
        assert b.is_shared(x) and a.is_shared(y)
        b.call("off_test_fill", 1000, 2.5, x)       # card 1 writes what card 0's arena holds
        a.call("off_test_axpy", 1000, 2.0, x, y)    # card 0 reads it: y += 2 x
        assert (y == 5.0).all()
        b.call("off_test_fill", 10, 1.0, x)
        assert b.stats()["calls"] == 2 and a.stats()["calls"] == 1  # each card its own counters


def test_a_device_number_is_taken_until_its_card_stops():
    with Card(threads=1, device=7) as a:
        assert a.device == 7
        with pytest.raises(dnn.DnnValueError, match="card 7 is open already"):
            Card(threads=1, device=7)
    with Card(threads=1, device=7) as again:
        assert again.device == 7


def test_a_stopped_card_or_myo_cannot_share_its_arena():
    a = Card(threads=1)
    with pytest.raises(dnn.DnnValueError, match="only with shared coherence"):
        Card(threads=1, arena_of=a, coherence="myo")
    a.close()
    with pytest.raises(dnn.DnnValueError, match="closed"):
        Card(threads=1, arena_of=a)


def test_the_arena_outlives_the_card_that_made_it():
    a = Card(threads=1)
    b = Card(threads=1, arena_of=a)
    x = a.shared_zeros(100)
    a.close()
    b.call("off_test_fill", 100, 3.0, x)
    assert (x == 3.0).all()
    b.close()


# ---- data parallelism ---------------------------------------------------------------------------


def test_split_rows_is_even_and_in_order():
    assert split_rows(10, 3) == [(0, 3), (3, 3), (6, 4)]
    assert sum(m for _, m in split_rows(7, 7)) == 7


def _train(mode, cards, granularity="bunch", **kw):
    rng = np.random.default_rng(0)
    x, y = rng.random((480, 20), dtype=np.float32), rng.integers(0, 4, 480).astype(np.int32)
    cfg = Config(Arch.parse("20-32-16-4"), mode=mode, granularity=granularity, bunch=48, chunk=480, threads=1,
                 cards=cards, lr=0.1, seed=5, **kw)
    with Trainer(cfg, 20, 4) as t:
        buf = t.buffers[0]
        buf.x[:480], buf.y[:480] = x, y
        total = t.train_chunk(buf, 480) + t.train_chunk(buf, 480)
        t.sync_weights()
        return t.net.blocks["params"].copy(), total, t.stats()


@pytest.mark.parametrize("mode", ["implicit", "explicit"])
@pytest.mark.parametrize("cards", [2, 3])
def test_cards_train_the_weights_of_one_card_and_repeat_bit_for_bit(mode, cards):
    one, one_total, _ = _train("host", 1)
    got, total, stats = _train(mode, cards)
    assert np.abs(got - one).max() <= TOLERANCE * np.abs(one).max()
    assert not np.array_equal(got, one)  # the rows really were split (else the test proves nothing)
    assert np.array_equal(got, _train(mode, cards)[0])
    assert total[dnn.offload.lib.DNN_R_BUNCHES] == one_total[dnn.offload.lib.DNN_R_BUNCHES] == 20
    assert total[dnn.offload.lib.DNN_R_IMAGES] == 960
    assert stats["cards"] == cards and len({p["calls"] > 0 for p in stats["per_card"]}) == 1


def test_explicit_cards_move_their_gradients_over_their_links_and_implicit_ones_do_not():
    grads = 4 * ((20 * 32 + 32) + (32 * 16 + 16) + (16 * 4 + 4))
    _, _, explicit = _train("explicit", 2)
    _, _, implicit = _train("implicit", 2)
    for card in explicit["per_card"]:  # 20 bunches: the gradients back, then the sum in, each bunch
        assert card["bytes_from_card"] >= 20 * grads and card["bytes_to_card"] >= 20 * grads
    assert implicit["bytes_to_card"] == implicit["bytes_from_card"] == 0


@pytest.mark.parametrize("kw,message", [
    (dict(mode="host"), "need --mode implicit or explicit"),
    (dict(cards=1, sync="chunk"), "--sync chunk .* needs --distributed"),
    (dict(mode="explicit", explicit_weights="copy"), "--explicit-weights resident"),
    (dict(coherence="myo"), "--coherence shared"),
    (dict(bunch=1), "cannot be split"),
    (dict(cards=0), "must be positive"),
])
def test_cards_refuse_what_they_cannot_do(kw, message):
    base = dict(arch=Arch.parse("20-5"), mode="implicit", bunch=16, chunk=128, cards=2)
    with pytest.raises(dnn.DnnValueError, match=message):
        Config(**(base | kw)).validate()


def test_two_cards_learn_evaluate_and_resume(tmp_path, small_dataset):
    cfg = dict(arch=Arch.parse("20-32-5", "relu"), mode="implicit", bunch=16, chunk=128, threads=1, lr=0.1, seed=3,
               cards=2)
    full = run_training(Config(**cfg), small_dataset, 4, quiet=True, keep_trainer=True)
    assert full["test_accuracy"][-1] >= 0.9
    ck = tmp_path / "ck.h5"
    run_training(Config(**cfg), small_dataset, 2, checkpoint=str(ck), quiet=True)
    resumed = run_training(Config(**cfg), small_dataset, 4, resume=str(ck), quiet=True, keep_trainer=True)
    assert np.array_equal(full["_weights"], resumed["_weights"])


def test_a_card_that_dies_fails_the_bunch_and_no_call_is_left_in_flight():
    import os
    import signal

    cfg = Config(Arch.parse("20-32-4"), mode="implicit", bunch=48, chunk=96, threads=1, cards=2, seed=5)
    with Trainer(cfg, 20, 4) as t:
        buf = t.buffers[0]
        buf.x[:96], buf.y[:96] = 0.5, 1
        t.train_chunk(buf, 96)
        sibling = t.executor.cards[1].card
        os.kill(sibling.pid, signal.SIGKILL)
        with pytest.raises(dnn.CardDiedError):
            t.train_chunk(buf, 96)
        # Card 0's call of that bunch was waited for: it takes the next call (else OFF_EBUSY).
        assert t.evaluate_chunk(buf, 96)[dnn.offload.lib.DNN_R_IMAGES] == 96
