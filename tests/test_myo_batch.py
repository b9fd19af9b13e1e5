"""MYO on-demand without a fault per page: a fault on a page the host released at this offload's
entry fetches the run of such pages in its allocation at once (myo_fetch.c), and the card does not
track again the pages it released that the host has not fetched (myo_own.c). Both keep what moves
and what each side sees as page-by-page on-demand would."""

import numpy as np
import pytest

from dnn.offload import Card

PAGE = 4096
FLOATS = PAGE // 4
TRACKING = ["uffd", "mprotect"]


def counts(card):
    s = card.stats()
    return s["myo_pages_to_card"], s["myo_pages_from_card"], s["myo_faults_card"]


@pytest.fixture(params=TRACKING)
def tracking(request, monkeypatch):
    monkeypatch.setenv("DNN_MYO_TRACKING", request.param)
    return request.param


def test_a_fault_on_a_pending_page_fetches_its_run_up_to_the_allocation_edge(tracking):
    with Card(coherence="myo-on-demand") as card:
        x = card.shared_zeros(8 * FLOATS - 16)  # ends 64 bytes short of a page: y's header fills it,
        y = card.shared_zeros(8 * FLOATS)       # so y's pages follow x's with no page between
        assert y.ctypes.data == x.ctypes.data + 8 * PAGE
        card.call("off_test_nop")
        x[:] = 1
        y[:] = 2  # x and y are both released at the next entry
        to0, _, faults0 = counts(card)
        assert card.call("off_test_sleep_sum", 0.0, FLOATS, x)[0] == FLOATS  # touches x's first page
        to1, _, faults1 = counts(card)
        assert (to1 - to0, faults1 - faults0) == (8, 1), "x's 8 pages in one fault, none of y's"
        assert card.call("off_test_sleep_sum", 0.0, x.size, x)[0] == x.size
        assert counts(card)[0] == to1, "x crossed whole at the first fault"
        # y was released at an earlier entry and is no longer pending: page by page, as on-demand.
        assert card.call("off_test_sleep_sum", 0.0, FLOATS, y)[0] == 2 * FLOATS
        assert counts(card)[0] == to1 + 1


def test_a_run_stops_at_pages_released_at_an_earlier_entry(tracking):
    with Card(coherence="myo-on-demand") as card:
        x = card.shared_zeros(8 * FLOATS)
        card.call("off_test_nop")
        x[:] = 1
        card.call("off_test_nop")  # x released; the card touches none of it
        x[4 * FLOATS:] = 3  # pages 4-7 released again at the next entry
        to0 = counts(card)[0]
        assert card.call("off_test_sleep_sum", 0.0, FLOATS, x[5 * FLOATS:])[0] == 3 * FLOATS
        assert counts(card)[0] - to0 == 4, "pages 4-7 in one move, not pages 0-3"
        assert card.call("off_test_sleep_sum", 0.0, x.size, x)[0] == 4 * FLOATS + 4 * 3 * FLOATS
        assert counts(card)[0] - to0 == 8


def test_a_run_takes_a_stashed_page_from_the_stash(tracking):
    """The host writes one page of the run after releasing it and before the card's fault: the
    card reads the released contents of that page with the rest, and the write at the next offload."""
    with Card(coherence="myo-on-demand") as card:
        x = card.shared_zeros(8 * FLOATS)
        card.call("off_test_nop")
        x[:] = 1
        to0, _, faults0 = counts(card)
        sig = card.call_async("off_test_sleep_sum", 0.5, x.size, x)
        x[3 * FLOATS:4 * FLOATS] = 5
        assert card.wait(sig)[0] == x.size, "the card saw a write made after the release"
        to1, _, faults1 = counts(card)
        assert (to1 - to0, faults1 - faults0) == (8, 1)
        assert card.call("off_test_sleep_sum", 0.0, x.size, x)[0] == 7 * FLOATS + 5 * FLOATS
        assert counts(card)[0] - to1 == 1


def test_a_page_the_card_rewrites_crosses_only_when_the_host_looks(tracking):
    with Card(coherence="myo-on-demand") as card:
        y = card.shared_zeros(FLOATS)
        card.call("off_test_nop")
        faults0 = counts(card)[2]
        for value in (1.0, 2.0, 3.0):
            card.call("off_test_fill", FLOATS, value, y)
        assert counts(card)[1] == 0
        # One fault in all (the fetch, which with mprotect also tracks the first write); a
        # tracked page would take a write fault on every call under mprotect.
        assert counts(card)[2] - faults0 == 1
        assert y.sum() == 3 * FLOATS and counts(card)[1] == 1
        card.call("off_test_fill", FLOATS, 4.0, y)  # written after the host's fetch: released again
        assert y.sum() == 4 * FLOATS and counts(card)[1] == 2


def test_a_card_write_after_the_host_fetched_during_the_offload_is_not_lost(tracking):
    with Card(coherence="myo-on-demand") as card:
        y = card.shared_zeros(FLOATS)
        card.call("off_test_nop")
        card.call("off_test_fill", FLOATS, 1.0, y)
        card.call("off_test_fill", FLOATS, 2.0, y)
        sig = card.call_async("off_test_sleep_fill", 0.5, FLOATS, 3.0, y)
        assert y.sum() == 2 * FLOATS  # fetched while the card sleeps
        card.wait(sig)
        assert y.sum() == 3 * FLOATS, "the card's write after the host's fetch was lost"


def test_a_host_write_to_a_page_the_card_released_reaches_the_card_and_is_no_race(tracking):
    with Card(coherence="myo", race_check=True) as card:
        y = card.shared_zeros(FLOATS)
        card.call("off_test_nop")
        card.call("off_test_fill", FLOATS, 1.0, y)
        card.call("off_test_fill", FLOATS, 2.0, y)
        sig = card.call_async("off_test_sleep", 0.2)  # the card leaves y alone
        y[:] = 5  # the host fetches y and writes it while the offload runs
        card.wait(sig)
        assert card.call("off_test_sleep_sum", 0.0, FLOATS, y)[0] == 5 * FLOATS
        card.call("off_test_fill", FLOATS, 6.0, y)
        assert np.all(y == 6) and card.stats()["myo_races"] == 0


def test_a_run_is_charged_to_the_link_as_one_transfer_of_all_its_bytes():
    """One latency for the run, and bandwidth for every byte of it: the modelled time is at least
    that (and the run's pages count as moved)."""
    with Card(coherence="myo-on-demand", link="0.1,2000") as card:  # 100 MB/s, 2 ms per transfer
        x = card.shared_zeros(16 * FLOATS)
        card.call("off_test_nop")
        x[:] = 1
        card.reset_stats()  # the byte and time totals; fault counts are for the card's life
        faults0 = counts(card)[2]
        assert card.call("off_test_sleep_sum", 0.0, FLOATS, x)[0] == FLOATS
        s = card.stats()
        assert s["myo_bytes_to_card"] == 16 * PAGE and s["myo_faults_card"] - faults0 == 1
        assert s["myo_transfer_s"] >= 2e-3 + 16 * PAGE / 0.1e9
