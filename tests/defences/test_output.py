"""Output-side defences: each transformation keeps what it promises (hypothesis), and its costs are the
hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mia_audit.defences.output import (
    expected_calibration_error,
    fitted_temperature,
    label_only,
    log_loss,
    output_defences,
    rounded,
    soften,
    top_k,
    utility,
)


@st.composite
def probabilities(draw: st.DrawFn) -> np.ndarray:
    n, c = draw(st.integers(1, 20)), draw(st.integers(2, 8))
    raw = draw(arrays(np.float64, (n, c), elements=st.floats(0.01, 10.0)))
    return raw / raw.sum(axis=1, keepdims=True)


@given(probabilities(), st.integers(1, 8))
@settings(max_examples=80, deadline=None)
def test_top_k_keeps_the_k_largest_values_and_the_prediction(p: np.ndarray, k: int) -> None:
    out = top_k(p, k)
    assert np.all((out == 0) | (out == p))
    assert np.all((out > 0).sum(axis=1) == min(k, p.shape[1]))
    kept_min = np.where(out > 0, out, np.inf).min(axis=1)
    dropped_max = np.where(out == 0, p, -np.inf).max(axis=1)
    assert np.all(kept_min >= dropped_max)
    assert np.array_equal(np.argmax(out, axis=1), np.argmax(p, axis=1))


@given(probabilities(), st.sampled_from([1.0, 1.5, 3.0, 20.0]))
@settings(max_examples=80, deadline=None)
def test_softening_keeps_the_prediction_and_lowers_the_confidence(p: np.ndarray, t: float) -> None:
    out = soften(p, t)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    # The top class is kept wherever it is one (a tie within float rounding may go either way).
    top2 = np.sort(p, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-9
    assert np.array_equal(np.argmax(out, axis=1)[clear], np.argmax(p, axis=1)[clear])
    assert np.all(out.max(axis=1) <= p.max(axis=1) + 1e-12)
    if t == 1.0:
        np.testing.assert_allclose(out, p, rtol=1e-12)


@given(probabilities())
@settings(max_examples=60, deadline=None)
def test_label_only_is_the_one_hot_prediction_and_rounding_stays_within_half_a_unit(p: np.ndarray) -> None:
    one_hot = label_only(p)
    assert np.all(one_hot.sum(axis=1) == 1.0) and np.array_equal(np.argmax(one_hot, axis=1), np.argmax(p, axis=1))
    for d in (1, 2):
        assert np.all(np.abs(rounded(p, d) - p) <= 0.5 * 10.0**-d + 1e-12)


def test_golden_values() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    np.testing.assert_array_equal(top_k(p, 1), [[0.7, 0, 0], [0, 0.6, 0]])
    np.testing.assert_array_equal(rounded(np.array([[0.64, 0.36]]), 1), [[0.6, 0.4]])
    # T = 2 on (0.8, 0.2): sqrt(0.8) / (sqrt(0.8) + sqrt(0.2)) = 2 / 3.
    np.testing.assert_allclose(soften(np.array([[0.8, 0.2]]), 2.0), [[2 / 3, 1 / 3]])
    # Log-loss of the true classes 0.7 and 0.6: (−ln 0.7 − ln 0.6) / 2.
    assert log_loss(p, np.array([0, 1])) == pytest.approx((-math.log(0.7) - math.log(0.6)) / 2)


def test_expected_calibration_error_by_hand() -> None:
    # Two records at confidence 0.9 (bin 13 of 15), one right, one wrong: |0.5 − 0.9| = 0.4 on 2 of 4 records;
    # two at 0.6 (bin 9), both right: |1 − 0.6| = 0.4 on 2 of 4. ECE = 0.4.
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    assert expected_calibration_error(p, np.array([0, 1, 0, 0])) == pytest.approx(0.4)


def test_the_fitted_temperature_softens_an_overconfident_model_and_leaves_a_calibrated_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    right = rng.random(2000) < 0.7  # 70% accuracy, announced with 99.9% confidence
    predicted = np.where(right, labels, 1 - labels)
    overconfident = np.where(predicted[:, None] == np.arange(2), 0.999, 0.001)
    t = fitted_temperature(overconfident, labels)
    assert t > 2.0
    softened = soften(overconfident, t)
    assert abs(softened.max(axis=1).mean() - 0.7) < 0.05  # confidence now near the accuracy
    cost = utility(overconfident, softened, labels)
    assert cost.accuracy_change == 0.0 and cost.log_loss_change < -1.0 and cost.calibration_error_change < -0.2
    calibrated = np.where(predicted[:, None] == np.arange(2), 0.7, 0.3)
    assert fitted_temperature(calibrated, labels) == 1.0


def test_the_six_output_defences_are_named_as_report_json_expects() -> None:
    ids = [d.id for d in output_defences(2.5)]
    assert ids == [
        "output.top1",
        "output.top3",
        "output.round1",
        "output.round2",
        "output.temperature",
        "output.label_only",
    ]
    p = np.array([[0.5, 0.3, 0.2]])
    assert all(d.transform(p).shape == p.shape for d in output_defences(2.5))
    assert "2.5" in output_defences(2.5)[4].setting
