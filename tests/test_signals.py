from __future__ import annotations

import math

import numpy as np
import pytest

from mia_audit import signals
from mia_audit.signals import (
    MEMBER_HIGHER,
    PROB_FLOOR,
    SIGNALS,
    entropy,
    logit_confidence,
    loss,
    margin,
    max_confidence,
    membership_score,
    modified_entropy,
    top_k,
    true_class_confidence,
)

# Row 0: true class 0 with p = 0.7. Row 1: true class 2 with p = 0.3, wrong prediction (class 1).
PROBS = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
LABELS = np.array([0, 2])

EXTREME = np.array(
    [
        [1.0, 0.0, 0.0],  # certain and right
        [0.0, 1.0, 0.0],  # certain and wrong
        [0.0, 0.5, 0.5],  # true class has p = 0
    ]
)
EXTREME_LABELS = np.array([0, 0, 0])


def test_golden_values_by_hand() -> None:
    # loss: -ln 0.7 = 0.356675, -ln 0.3 = 1.203973
    assert loss(PROBS, LABELS) == pytest.approx([0.356675, 1.203973], abs=1e-6)
    assert true_class_confidence(PROBS, LABELS) == pytest.approx([0.7, 0.3])
    # entropy row 0: 0.7·0.356675 + 0.2·1.609438 + 0.1·2.302585 = 0.249672 + 0.321888 + 0.230259
    assert entropy(PROBS)[0] == pytest.approx(0.801819, abs=1e-6)
    # Mentr row 0: 0.3·(-ln 0.7) + 0.2·(-ln 0.8) + 0.1·(-ln 0.9) = 0.107002 + 0.044629 + 0.010536
    # Mentr row 1: 0.7·(-ln 0.3) + 0.2·(-ln 0.8) + 0.5·(-ln 0.5) = 0.842781 + 0.044629 + 0.346574
    assert modified_entropy(PROBS, LABELS) == pytest.approx([0.162167, 1.233984], abs=1e-6)
    # logit: ln(0.7 / 0.3) = 0.847298 and ln(0.3 / 0.7) = -0.847298
    assert logit_confidence(PROBS, LABELS) == pytest.approx([0.847298, -0.847298], abs=1e-6)
    # margin: 0.7 - 0.2 and 0.3 - 0.5
    assert margin(PROBS, LABELS) == pytest.approx([0.5, -0.2])
    assert max_confidence(PROBS) == pytest.approx([0.7, 0.5])


def test_entropy_treats_zero_log_zero_as_zero() -> None:
    assert entropy(np.array([[1.0, 0.0]]))[0] == 0.0
    assert entropy(np.array([[0.5, 0.5]]))[0] == pytest.approx(math.log(2))


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signals_are_finite_for_extreme_probabilities(name: str) -> None:
    values = SIGNALS[name](EXTREME, EXTREME_LABELS)
    assert values.shape == (3,)
    assert np.all(np.isfinite(values))
    assert np.all(np.isfinite(membership_score(name, EXTREME, EXTREME_LABELS)))


def test_loss_is_bounded_by_the_floor() -> None:
    assert loss(EXTREME, EXTREME_LABELS)[2] == pytest.approx(-math.log(PROB_FLOOR))
    assert loss(EXTREME, EXTREME_LABELS)[0] == 0.0


def test_logit_confidence_keeps_growing_when_p_rounds_to_one() -> None:
    # 1 - 1e-k rounds to 1.0 for k >= 17, but the other classes still carry the information.
    eps = 10.0 ** -np.arange(1, 25)
    rows = np.column_stack([1.0 - eps, eps / 2, eps / 2])
    rows = np.vstack([rows, [1.0, 0.0, 0.0]])
    values = logit_confidence(rows, np.zeros(len(rows), dtype=int))
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) > 0)
    # ln((1 - 1e-20) / 1e-20) = 20 ln 10
    assert values[19] == pytest.approx(20 * math.log(10))


def test_membership_score_is_higher_for_confident_correct_row() -> None:
    probs = np.array([[0.98, 0.01, 0.01], [0.4, 0.35, 0.25]])
    labels = np.array([0, 0])
    for name in SIGNALS:
        score = membership_score(name, probs, labels)
        assert score[0] > score[1], name


def test_orientation_flips_only_lower_is_member_signals() -> None:
    for name, higher in MEMBER_HIGHER.items():
        raw = SIGNALS[name](PROBS, LABELS)
        oriented = membership_score(name, PROBS, LABELS)
        assert oriented == pytest.approx(raw if higher else -raw), name
    assert set(MEMBER_HIGHER) == set(SIGNALS)
    assert MEMBER_HIGHER["loss"] is False
    assert MEMBER_HIGHER["confidence"] is True
    assert MEMBER_HIGHER["entropy"] is False
    assert MEMBER_HIGHER["modified_entropy"] is False
    assert MEMBER_HIGHER["logit"] is True
    assert MEMBER_HIGHER["margin"] is True


def test_no_negative_zero_in_scores() -> None:
    score = membership_score("loss", EXTREME, EXTREME_LABELS)
    assert not np.signbit(score[0])


def test_top_k_sorts_and_pads() -> None:
    assert top_k(np.array([[0.1, 0.6, 0.3]]), k=2).tolist() == [[0.6, 0.3]]
    assert top_k(np.array([[0.3, 0.7]])).tolist() == [[0.7, 0.3, 0.0]]
    with pytest.raises(ValueError):
        top_k(PROBS, k=0)


def test_float32_input_is_accepted() -> None:
    values = loss(PROBS.astype(np.float32), LABELS)
    assert values.dtype == np.float64
    assert values == pytest.approx([0.356675, 1.203973], abs=1e-6)


@pytest.mark.parametrize(
    ("probs", "labels"),
    [
        (PROBS, np.array([0])),  # mismatched length
        (PROBS[0], np.array([0])),  # 1-D probs
        (PROBS, np.array([0, 3])),  # label out of range
        (PROBS, np.array([0.5, 1.0])),  # not class indices
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), np.array([0, 1])),
        (np.array([[1.5, -0.5], [0.5, 0.5]]), np.array([0, 1])),
    ],
)
def test_invalid_inputs_raise(probs: np.ndarray, labels: np.ndarray) -> None:
    with pytest.raises(ValueError):
        loss(probs, labels)


def test_entropy_signal_checks_labels_and_unknown_names_raise() -> None:
    with pytest.raises(ValueError):
        membership_score("entropy", PROBS, np.array([0]))
    with pytest.raises(ValueError, match="unknown signal"):
        membership_score("nope", PROBS, LABELS)


def test_margin_and_logit_need_two_classes() -> None:
    one_class = np.ones((2, 1))
    with pytest.raises(ValueError):
        margin(one_class, np.zeros(2, dtype=int))
    with pytest.raises(ValueError):
        signals.logit_confidence(one_class, np.zeros(2, dtype=int))
