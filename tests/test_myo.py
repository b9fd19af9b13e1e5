"""MYO coherence: each side its own copy of the arena, kept coherent page by page."""

import time

import numpy as np
import pytest

import dnn
from dnn.offload import Card

PAGE = 4096
POLICIES = ["myo-on-demand", "myo-on-acquire"]


def pages(card):
    s = card.stats()
    return s["myo_pages_to_card"], s["myo_pages_from_card"]


@pytest.mark.parametrize("k", [1, 3, 8])
def test_a_kernel_touching_k_pages_moves_exactly_k_pages(k):
    with Card(coherence="myo-on-demand") as card:
        x = card.shared_zeros(16 * PAGE // 4)  # page-aligned under myo
        y = card.shared_zeros(16 * PAGE // 4)
        x[:] = 1
        card.call("off_test_nop")  # entry releases x and y; the card touches neither
        to0, from0 = pages(card)
        assert to0 == 0, "nothing moves before it is touched"
        card.call("off_test_axpy", k * PAGE // 4, 2.0, x, y)  # reads k pages of x, reads+writes k of y
        to1, from1 = pages(card)
        assert to1 == 2 * k and from1 == 0
        assert y[: k * PAGE // 4].sum() == 2 * k * PAGE // 4  # the host fetches the k pages of y ...
        assert pages(card)[1] == k
        assert y.sum() == 2 * k * PAGE // 4 and pages(card)[1] == k  # ... and only those


def test_on_acquire_moves_all_dirty_pages_at_the_boundaries():
    with Card(coherence="myo-on-acquire") as card:
        x = card.shared_zeros(4 * PAGE // 4)
        y = card.shared_zeros(4 * PAGE // 4)
        card.call("off_test_nop")
        base_to, base_from = pages(card)
        x[:] = 1  # 4 dirty pages on the host
        card.call("off_test_axpy", PAGE // 4, 1.0, x, y)  # the card writes one page of y
        to, frm = pages(card)
        assert to - base_to == 4 and frm - base_from == 1
        assert y[: PAGE // 4].sum() == PAGE // 4


@pytest.mark.parametrize("coherence", POLICIES)
def test_writes_are_seen_at_the_boundaries_and_not_before(coherence):
    with Card(coherence=coherence) as card:
        x = card.shared_zeros(1024)
        y = card.shared_zeros(1024)
        x[:] = 1
        card.call("off_test_nop")
        # host -> card: what the host writes between offloads, the next offload sees
        x[:] = 5
        assert card.call("off_test_sleep_sum", 0.0, 1024, x)[0] == 5 * 1024
        # card -> host: nothing while the offload runs, everything once it has ended
        sig = card.call_async("off_test_fill_sleep", 1024, 7.0, y, 0.3)
        time.sleep(0.1)
        assert y.sum() == 0, "the host saw card writes before the offload ended"
        card.wait(sig)
        assert y.sum() == 7 * 1024


def test_on_acquire_releases_a_snapshot():
    """On-acquire copies the host's pages at offload entry: a write the host makes while the
    offload runs is not what the card reads (on-demand leaves that a data race, as MYO did)."""
    with Card(coherence="myo-on-acquire") as card:
        x = card.shared_zeros(1024)
        x[:] = 1
        sig = card.call_async("off_test_sleep_sum", 0.2, 1024, x)
        x[:] = 5
        assert card.wait(sig)[0] == 1024
        assert card.call("off_test_sleep_sum", 0.0, 1024, x)[0] == 5 * 1024


def test_race_detector_flags_a_same_page_conflict():
    with Card(coherence="myo", race_check=True) as card:
        y = card.shared_zeros(1024)
        card.call("off_test_nop")
        sig = card.call_async("off_test_fill", 512, 3.0, y)  # the card writes y[0:512] ...
        y[600] = 1.0  # ... and the host writes the same page meanwhile
        with pytest.raises(dnn.KernelError, match=r"data race in Cilk shared memory: page \d+"):
            card.wait(sig)
        assert card.stats()["myo_races"] == 1


def test_different_pages_are_no_race():
    with Card(coherence="myo", race_check=True) as card:
        y = card.shared_zeros(1024)
        z = card.shared_zeros(1024)  # its own page under myo
        card.call("off_test_nop")
        sig = card.call_async("off_test_fill", 1024, 3.0, y)
        z[:] = 2.0
        card.wait(sig)
        assert y.sum() == 3 * 1024 and z.sum() == 2 * 1024 and card.stats()["myo_races"] == 0


def test_shared_coherence_moves_no_pages():
    with Card() as card:
        x = card.shared_zeros(1024)
        card.call("off_test_fill", 1024, 1.0, x)
        assert pages(card) == (0, 0) and card.stats()["coherence_s"] == 0


def test_unknown_coherence_is_refused():
    with pytest.raises(ValueError, match="unknown coherence 'mesi'"):
        Card(coherence="mesi")


@pytest.mark.parametrize("coherence", POLICIES)
def test_training_under_myo_matches_shared(small_dataset, coherence):
    """The whole path (HDF5 reader with prefetch into arena buffers, training, evaluation):
    bit-identical weights, and the chunk data is what moves."""
    from dnn.network import Arch
    from dnn.session import run_training
    from dnn.trainer import Config

    def run(coh):
        cfg = Config(Arch.parse("20-32-5", "relu"), mode="implicit", bunch=16, chunk=128, threads=1, lr=0.1, seed=3,
                     coherence=coh)
        return run_training(cfg, small_dataset, 2, quiet=True, keep_trainer=True)

    shared, myo = run("shared"), run(coherence)
    assert np.array_equal(shared["_weights"], myo["_weights"])
    assert myo["test_accuracy"] == shared["test_accuracy"]
    chunk_bytes = 2 * (300 + 100) * (20 * 4 + 4)  # two epochs of train + test rows
    assert myo["myo_bytes_to_card"] >= chunk_bytes
