"""Shokri's attack model: chosen on held-out shadows, never on the evaluation records."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mia_audit.attacks.attack_model import (
    Candidate,
    Rows,
    candidates,
    choose,
    fit_attack_model,
    full_features,
)


def _shadow_rows(n_shadows: int, per_side: int = 200, seed: int = 0) -> list[Rows]:
    """Shadows whose members differ from non-members only in the *second* class's posterior: a
    per-class logistic model on the true class's and the top other posterior cannot see it."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_shadows):
        member = np.r_[np.ones(per_side), np.zeros(per_side)]
        probs = rng.dirichlet([5.0, 1.0, 1.0], size=2 * per_side)
        high, low = probs[:, 1:].max(axis=1), probs[:, 1:].min(axis=1)
        # Members put the larger of the two small posteriors on class 1, non-members on class 2.
        probs[:, 1], probs[:, 2] = np.where(member == 1, high, low), np.where(member == 1, low, high)
        out.append((probs, np.zeros(2 * per_side, dtype=np.int64), member))
    return out


def _stack(shadows: list[Rows]) -> Callable[[range], Rows]:
    def rows(models: range) -> Rows:
        chosen = [shadows[k] for k in models]
        probs, labels, member = (np.concatenate([part[i] for part in chosen]) for i in range(3))
        return probs, labels, member

    return rows


def test_only_real_records_and_few_classes_bring_a_flexible_candidate() -> None:
    assert [c.name for c in candidates(True, 10, 0)] == ["logistic", "boosting"]
    assert [c.name for c in candidates(False, 10, 0)] == ["logistic"]
    assert [c.name for c in candidates(True, 1000, 0)] == ["logistic"]


def test_the_choice_is_made_on_held_out_shadows_only() -> None:
    shadows = _shadow_rows(8)
    asked: list[range] = []

    def rows(models: range) -> Rows:
        asked.append(models)
        return _stack(shadows)(models)

    best, validation, held = choose(candidates(True, 3, 0), rows, 8)
    assert held == 2 and asked == [range(0, 6), range(6, 8)]
    assert best.name == "boosting" and [v[0] for v in validation] == ["logistic", "boosting"]
    tpr = {name: value or 0.0 for name, value, _ in validation}
    assert tpr["boosting"] > tpr["logistic"] + 0.2


def test_ties_keep_the_first_candidate_and_one_shadow_means_no_choice() -> None:
    def constant(train: Rows, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return np.zeros(len(labels))

    options = (Candidate("a", "first", constant), Candidate("b", "second", constant))
    assert choose(options, _stack(_shadow_rows(4)), 4)[0].name == "a"
    best, validation, held = choose(options, _stack(_shadow_rows(1)), 1)
    assert best.name == "a" and validation == () and held == 0


def test_the_winner_is_refitted_on_every_shadow_and_scores_the_evaluation() -> None:
    shadows = _shadow_rows(8)
    target = _shadow_rows(1, seed=9)[0]
    fit = fit_attack_model(candidates(True, 3, 0), _stack(shadows), 8, target[0], target[1])
    assert fit.name == "boosting" and fit.scores.shape == (400,)
    assert np.mean(fit.scores[:200]) > np.mean(fit.scores[200:]) + 0.3
    assert "chosen on 2 held-out shadows" in fit.describe()


def test_full_features_hold_the_vector_the_label_and_the_logit() -> None:
    probs = np.array([[0.5, 0.3, 0.2]])
    X = full_features(probs, np.array([1]))
    assert np.allclose(X[0, :3], np.log(probs[0])) and list(X[0, 3:6]) == [0, 1, 0]
    assert np.isclose(X[0, 6], np.log(0.3)) and np.isclose(X[0, 7], np.log(0.3) - np.log(0.7))


def test_boosting_fits_on_a_capped_subsample_of_many_shadow_rows(monkeypatch: object) -> None:
    """Past MAX_BOOSTING_ROWS the fit draws a seeded subsample: the same scores run to run, and still
    the signal the logistic model cannot see."""
    import mia_audit.attacks.attack_model as attack_model

    monkeypatch.setattr(attack_model, "MAX_BOOSTING_ROWS", 1_000)  # type: ignore[attr-defined]
    seen: list[int] = []
    features = attack_model.full_features

    def counted(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        seen.append(len(labels))
        return features(probs, labels)

    monkeypatch.setattr(attack_model, "full_features", counted)  # type: ignore[attr-defined]
    train = _stack(_shadow_rows(8))(range(8))  # 3,200 rows
    probs, labels, member = _stack(_shadow_rows(1, seed=9))(range(1))
    fit = attack_model.boosting(0)
    first, again = fit(train, probs, labels), fit(train, probs, labels)
    assert seen == [1_000, 400, 1_000, 400]  # fitted on the subsample, scored on every evaluation row
    np.testing.assert_array_equal(first, again)
    from mia_audit.stats import auc

    assert auc(first, member.astype(bool)) > 0.9
