"""dnn.allreduce_model: the ring's cost, and the fit of its machine parameters to measured times."""

import numpy as np
import pytest

from dnn.allreduce_model import AllreduceModel, deviations, fit, fit_two_regimes

MACHINE = AllreduceModel(latency_s=50e-6, bandwidth=2e9, reduce_rate=6e9)
SIZES = np.array([1, 5, 20, 100, 200]) * 1e6


def test_the_ring_moves_2_k_minus_1_over_k_of_the_bytes_in_2_k_minus_1_steps():
    s = 100e6
    for k in (2, 4, 64):
        share = (k - 1) / k * s
        assert MACHINE.seconds(s, k) == pytest.approx(2 * (k - 1) * 50e-6 + 2 * share / 2e9 + share / 6e9)
    assert MACHINE.seconds(s, 1) == 0.0


def test_the_fit_recovers_the_machine_from_its_times_and_predicts_other_sizes():
    rng = np.random.default_rng(0)
    noisy = [MACHINE.seconds(s, 2) * (1 + 0.02 * rng.standard_normal()) for s in SIZES]
    reduce_alone = [s / 2 / MACHINE.reduce_rate for s in SIZES]
    got = fit(SIZES, noisy, reduce_alone)
    assert got.reduce_rate == pytest.approx(6e9)
    assert got.bandwidth == pytest.approx(2e9, rel=0.05)
    assert got.latency_s == pytest.approx(50e-6, rel=0.3)
    held_out = np.array([2, 30, 150]) * 1e6
    assert np.abs(deviations(got, held_out, [MACHINE.seconds(s, 2) for s in held_out])).max() < 0.05


def test_a_latency_the_times_cannot_see_is_none_not_negative():
    no_latency = AllreduceModel(0.0, 1e9, 4e9)
    times = [no_latency.seconds(s, 2) - 0.5e-3 for s in SIZES]  # a fixed time less: a < 0 by least squares
    got = fit(SIZES, times, [s / 2 / 4e9 for s in SIZES])
    assert got.latency_s == 0.0 and 0.9e9 < got.bandwidth < 1.5e9


def test_a_network_keeps_the_hosts_reduce_rate():
    net = MACHINE.on_link(12.5e9, 2e-6)
    assert (net.bandwidth, net.latency_s, net.reduce_rate) == (12.5e9, 2e-6, 6e9)


# ---- two regimes: the ranks' buffers in the caches, then in memory ---------------------------------

CACHED = AllreduceModel(latency_s=60e-6, bandwidth=2e9, reduce_rate=6e9,
                        small=AllreduceModel(latency_s=5e-6, bandwidth=6e9, reduce_rate=12e9), switch_bytes=3.5e6)
FIT_TWO = np.array([1, 2, 3, 5, 20, 100, 200]) * 1e6


def test_a_size_up_to_the_switch_is_priced_by_the_cache_regime():
    assert CACHED.seconds(3e6, 2) == CACHED.small.seconds(3e6, 2)
    assert CACHED.seconds(4e6, 2) == AllreduceModel(60e-6, 2e9, 6e9).seconds(4e6, 2)
    assert CACHED.seconds(1e6, 1) == CACHED.seconds(100e6, 1) == 0.0


def test_two_regimes_are_found_where_one_cannot_fit():
    rng = np.random.default_rng(1)
    times = [CACHED.seconds(s, 2) * (1 + 0.02 * rng.standard_normal()) for s in FIT_TWO]
    reduce_alone = [s / 2 / (12e9 if s <= 3.5e6 else 6e9) for s in FIT_TWO]
    got = fit_two_regimes(FIT_TWO, times, reduce_alone)
    assert 3e6 < got.switch_bytes < 5e6
    assert got.small.bandwidth == pytest.approx(6e9, rel=0.1) and got.bandwidth == pytest.approx(2e9, rel=0.05)
    held_out = np.array([1.5, 4, 7, 30, 150]) * 1e6
    truth = [CACHED.seconds(s, 2) for s in held_out]
    assert np.abs(deviations(got, held_out, truth)).max() < 0.06
    one = fit(FIT_TWO, times, reduce_alone)  # one regime on the same times misses the small sizes
    assert np.abs(deviations(one, held_out, truth)).max() > 0.15


def test_a_network_has_one_regime():
    net = CACHED.on_link(12.5e9, 2e-6)
    assert net.small is None and net.seconds(1e6, 2) == pytest.approx(2 * 2e-6 + 1e6 / 12.5e9 + 0.5e6 / 6e9)
