"""The auditor's supervised attack: cross-fitting by construction, and its strength."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from e2e_data import overfit_case

from mia_audit.attacks.context import AttackContext
from mia_audit.attacks.interface import AttackResult, run_attack
from mia_audit.attacks.supervised import (
    N_REPEATS,
    SupervisedAttack,
    cross_fit,
    fold_assignment,
    repeated_cross_fit,
    supervised_features,
)
from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.errors import ConfigError
from mia_audit.judge.metrics import auc


def test_no_record_is_scored_by_a_model_that_saw_it() -> None:
    rng = np.random.default_rng(0)
    is_member = rng.random(103) < 0.5
    folds = fold_assignment(is_member, 5, rng)
    X = np.arange(103, dtype=float)[:, None]
    seen: list[tuple[set[int], set[int]]] = []

    def spy(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
        seen.append(({int(v) for v in X_train[:, 0]}, {int(v) for v in X_eval[:, 0]}))
        assert set(train_idx) == {int(v) for v in X_train[:, 0]}
        return np.zeros(len(X_eval))

    scores = cross_fit(X, is_member.astype(int), folds, spy)
    assert len(seen) == 5 and not np.isnan(scores).any()
    for trained_on, scored in seen:
        assert not trained_on & scored
    assert set().union(*(s for _, s in seen)) == set(range(103))
    # Folds are stratified: members spread evenly.
    counts = np.bincount(folds[is_member], minlength=5)
    assert counts.max() - counts.min() <= 1


def test_repeated_cross_fits_use_different_splits_and_never_score_a_seen_record() -> None:
    is_member = np.arange(100) < 50
    X = np.arange(100, dtype=float)[:, None]
    splits: list[frozenset[int]] = []

    def spy(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
        scored = {int(v) for v in X_eval[:, 0]}
        assert not scored & {int(v) for v in X_train[:, 0]}
        splits.append(frozenset(scored))
        return np.full(len(X_eval), float(len(splits)))

    scores = repeated_cross_fit(X, is_member, np.random.default_rng(0), spy)
    assert len(splits) == 5 * N_REPEATS and len(set(splits)) == len(splits)
    # Each record's score is the mean of one fit per repeat: fits 1–5, 6–10, 11–15.
    assert np.all((scores > 1) & (scores < 15))


def test_features_shape() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    X = supervised_features(probs, np.array([0, 1]))
    assert X.shape == (2, 3 + 1 + 3)
    assert X[1, 3] == pytest.approx(-np.log(0.1))


def test_supervised_is_strong_but_out_of_the_risk_level(tmp_path) -> None:  # type: ignore[no-untyped-def]
    case = overfit_case(tmp_path)
    spec = DataSpec(data=case.data)
    result = audit(case.model, spec, AuditConfig(seed=0, trust_model=True, attacks=("threshold", "supervised")))
    supervised = result.attack("supervised")
    best_real = max(a.metrics.auc for a in result.attacks if a.id != "supervised")
    assert supervised.metrics.auc >= best_real - 0.02
    assert "NO REAL ATTACKER" in supervised.assumptions[0]
    assert result.risk.strongest_attack != "supervised"
    # Alone, it sets no level unless asked for; asked for, it is the strongest attack.
    alone = AuditConfig(seed=0, trust_model=True, attacks=("supervised",))
    assert audit(case.model, spec, alone).risk.strongest_attack is None
    included = audit(case.model, spec, replace(alone, risk_include=frozenset({"supervised"})))
    assert included.risk.strongest_attack == "supervised" and included.risk.level != "low"


def test_risk_from_accepts_only_auditor_attacks() -> None:
    with pytest.raises(ConfigError, match="risk_from takes auditor-only attacks"):
        AuditConfig(risk_include=frozenset({"threshold.loss"}))


def _earlier(attack_id: str, family: str, scores: np.ndarray) -> AttackResult:
    return AttackResult(attack_id, family, attack_id, scores, None, "", (), 0, 0.0)


def test_earlier_attacks_scores_are_stacked_so_the_estimate_is_not_below_them() -> None:
    """Outputs that carry nothing (the same posterior for every record) and an earlier attack whose
    score does: the supervised estimate reaches that attack's AUC, not chance."""
    rng = np.random.default_rng(0)
    n = 800
    is_member = np.arange(n) < n // 2
    ctx = AttackContext(
        probs=np.tile([0.6, 0.3, 0.1], (n, 1)),
        labels=np.zeros(n, dtype=np.int64),
        eval_idx=np.arange(n),
        population_idx=np.arange(0),
        features=pd.DataFrame({"x": np.zeros(n)}),
        target=None,  # type: ignore[arg-type]  # the supervised attack only reads the outputs
        seed=0,
    )
    strong = _earlier("rmia", "reference", is_member + rng.normal(0, 0.7, n))
    auditor = _earlier("supervised", "supervised", is_member.astype(float))  # never stacked
    alone = run_attack(SupervisedAttack(), ctx, is_member)
    stacked = run_attack(SupervisedAttack(), ctx, is_member, (strong, auditor))
    assert abs(auc(alone.scores, is_member) - 0.5) < 1e-9
    assert auc(stacked.scores, is_member) >= auc(strong.scores, is_member) - 0.02
    assert stacked.notes[0].endswith("and the scores of rmia (as ranks)")


def test_a_large_evaluation_set_gets_one_split(monkeypatch: pytest.MonkeyPatch) -> None:
    import mia_audit.attacks.supervised as supervised

    monkeypatch.setattr(supervised, "ONE_REPEAT_RECORDS", 99)
    calls: list[int] = []

    def spy(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
        calls.append(len(X_eval))
        return np.zeros(len(X_eval))

    repeated_cross_fit(np.zeros((100, 1)), np.arange(100) < 50, np.random.default_rng(0), spy)
    assert len(calls) == 5  # 100 records > 99: one split of five folds, not three


def test_a_fold_fits_on_a_capped_seeded_subsample(monkeypatch: pytest.MonkeyPatch) -> None:
    from mia_audit.attacks import supervised

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 2)), rng.integers(0, 2, 600)
    X[:, 0] += y
    monkeypatch.setattr(supervised, "MAX_FIT_ROWS", 200)
    fit_predict = supervised._boosting(0, [True, False])
    first = fit_predict(X[:500], y[:500], X[500:], np.arange(500))
    assert first.shape == (100,) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, fit_predict(X[:500], y[:500], X[500:], np.arange(500)))
    monkeypatch.setattr(supervised, "MAX_FIT_ROWS", 10**6)
    assert not np.array_equal(first, fit_predict(X[:500], y[:500], X[500:], np.arange(500)))
