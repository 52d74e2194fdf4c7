from __future__ import annotations

import numpy as np

from mia_audit.attacks.interface import AttackResult
from mia_audit.judge.distribution import display_scale, signal_distribution


def test_loss_like_scores_use_minus_log10() -> None:
    values, label = display_scale(np.array([-1.0, -0.01, -1e-4]), "loss")
    assert np.allclose(values, [0.0, 2.0, 4.0]) and label == "−log10(loss)"


def test_confidences_use_logit_and_binary_scores_stay() -> None:
    values, label = display_scale(np.array([0.5, 0.9, 0.1]), "confidence")
    assert np.allclose(values, [0.0, np.log(9), -np.log(9)]) and label == "logit(confidence)"
    values, label = display_scale(np.array([0.0, 1.0, 1.0]), "correct")
    assert values.tolist() == [0.0, 1.0, 1.0] and label == "correct"


def test_histogram_counts_every_record_once() -> None:
    rng = np.random.default_rng(0)
    scores = -rng.exponential(size=200)
    member = np.arange(200) < 120
    result = AttackResult("a", "f", "t", scores, None, "", (), 0, 0.0, signal="loss")
    dist = signal_distribution(result, member)
    assert sum(dist.members) == 120 and sum(dist.nonmembers) == 80
    assert len(dist.bin_edges) == len(dist.members) + 1
