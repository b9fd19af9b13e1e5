"""The CHAOS performance model (dnn/chaos_model.py): fitted on runs made from known parameters, it
gives those parameters back and predicts other runs exactly; the naive baseline does not."""

import dataclasses

import pytest

from dnn.chaos_model import ChaosModel, Obs, alpha, naive

PREP, SPEED, CORES = 0.5, 2e9, 2
CONTENTION = {1: 0.0, 2: 0.1, 4: 0.3}


def made(p, images, epochs):
    work = epochs * (images * 3e6 + 1000 * 1e6)
    epochs_s = work / (SPEED * min(p, CORES)) * (1 + CONTENTION[p])
    return Obs(p, images, 1000, epochs, 3e6, 1e6, PREP + epochs_s, epochs_s)


def test_fit_recovers_the_parameters_and_predicts_held_out_runs():
    model = ChaosModel.fit([made(p, 2000, 1) for p in CONTENTION], CORES)
    assert model.prep_s == pytest.approx(PREP)
    assert model.speed == pytest.approx(SPEED)
    assert model.contention == pytest.approx(CONTENTION)
    for p in CONTENTION:
        r = made(p, 8000, 3)
        assert alpha(r.total_s, model.predict(p, 8000, 1000, 3, 3e6, 1e6)) < 1e-9
    one = made(1, 2000, 1)
    assert alpha(made(4, 8000, 3).total_s, naive(one, made(4, 8000, 3), CORES)) > 0.1


def test_counts_past_the_fitted_ones_take_the_largest_fitted_contention():
    model = ChaosModel.fit([made(p, 2000, 1) for p in CONTENTION], CORES)
    assert model.contention_at(16) == pytest.approx(CONTENTION[4])
    with pytest.raises(ValueError, match="one-worker run"):
        ChaosModel.fit([made(2, 2000, 1)], CORES)


EVAL_SPEED, EVAL_CONTENTION = 5e9, {1: 0.0, 2: 0.02, 4: 0.05}


def made_split(p, images, eval_images, epochs):
    """A run whose evaluation (forward only) runs at a speed and contention of its own."""
    train_s = epochs * images * 3e6 / (SPEED * min(p, CORES)) * (1 + CONTENTION[p])
    eval_s = epochs * eval_images * 1e6 / (EVAL_SPEED * min(p, CORES)) * (1 + EVAL_CONTENTION[p])
    return Obs(p, images, eval_images, epochs, 3e6, 1e6, PREP + train_s + eval_s, train_s + eval_s, eval_s)


def test_evaluation_timed_apart_is_fitted_apart_and_predicts_other_eval_shares():
    model = ChaosModel.fit([made_split(p, 2000, 1000, 1) for p in CONTENTION], CORES)
    assert model.speed == pytest.approx(SPEED)
    assert model.eval_speed == pytest.approx(EVAL_SPEED)
    assert model.eval_contention == pytest.approx(EVAL_CONTENTION)
    for p in CONTENTION:  # ten times the evaluated images per training image of the fit
        r = made_split(p, 1000, 5000, 2)
        assert alpha(r.total_s, model.predict(p, 1000, 5000, 2, 3e6, 1e6)) < 1e-9
    # the same runs fitted with one speed for both parts miss the other share
    lumped = ChaosModel.fit([dataclasses.replace(made_split(p, 2000, 1000, 1), eval_s=None) for p in CONTENTION],
                            CORES)
    r = made_split(2, 1000, 5000, 2)
    assert alpha(r.total_s, lumped.predict(2, 1000, 5000, 2, 3e6, 1e6)) > 0.05
