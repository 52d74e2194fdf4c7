"""Shadow-model attacks on real fitted targets, and Song & Mittal's calibration by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from e2e_data import exchangeable_case, overfit_case

from mia_audit.attacks.shadow import best_threshold, class_thresholds, risk_scores
from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.training.config import ShadowConfig

SHADOW_IDS = ("shadow.shokri", "shadow.one", "shadow.combined")
# What the tests on the overfitted forest read: the shadow attacks, the ones calibrated on the same
# shadows, and the loss attack they are compared with. The other attacks would only add minutes.
OVERFIT_IDS = ("threshold.loss", *SHADOW_IDS, "calibrated.loss", "calibrated.modified_entropy", "shadow.risk_score")
FAST = ShadowConfig(n_models=4)


def _config(attacks: tuple[str, ...]) -> AuditConfig:
    return AuditConfig(seed=0, trust_model=True, attacks=attacks, shadow=FAST)


@pytest.fixture(scope="module")
def overfit_result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    case = overfit_case(tmp_path_factory.mktemp("shadow-overfit"))
    return audit(case.model, DataSpec(data=case.data), _config(OVERFIT_IDS))


def test_shadow_attacks_beat_chance_and_track_the_loss_attack(overfit_result) -> None:  # type: ignore[no-untyped-def]
    loss_auc = overfit_result.attack("threshold.loss").metrics.auc
    for attack_id in SHADOW_IDS:
        auc = overfit_result.attack(attack_id).metrics.auc
        assert auc > 0.6, (attack_id, auc)
        assert abs(auc - loss_auc) < 0.1, (attack_id, auc, loss_auc)


def test_shadow_attacks_state_their_knowledge(overfit_result) -> None:  # type: ignore[no-untyped-def]
    shokri = overfit_result.attack("shadow.shokri")
    text = " ".join(shokri.assumptions)
    assert "clone" in text and "shadow data" in text and "training-set size" in text
    assert any(n.startswith("attack model: ") for n in shokri.notes)
    combined = " ".join(overfit_result.attack("shadow.combined").assumptions)
    assert "does not know the target's architecture" in combined


def test_calibrated_and_risk_score_attacks_run(overfit_result) -> None:  # type: ignore[no-untyped-def]
    ids = {a.id for a in overfit_result.attacks}
    assert {"calibrated.loss", "calibrated.modified_entropy", "shadow.risk_score"} <= ids
    assert overfit_result.attack("calibrated.modified_entropy").metrics.auc > 0.6
    rec = overfit_result.records
    assert rec is not None and "shadow.risk_score" in rec.scores
    assert all(0.0 <= s <= 1.0 for s in rec.scores["shadow.risk_score"])


def test_non_memorising_target_stays_near_chance(tmp_path: Path) -> None:
    case = exchangeable_case(tmp_path, n=1600)
    result = audit(case.model, DataSpec(data=case.data), _config(SHADOW_IDS))
    assert {a.id for a in result.attacks} == set(SHADOW_IDS)
    for attack_id in SHADOW_IDS:
        assert abs(result.attack(attack_id).metrics.auc - 0.5) < 0.06, attack_id


def test_same_seed_same_numbers(tmp_path: Path) -> None:
    case = overfit_case(tmp_path, n_members=150, n_holdout=300)
    spec = DataSpec(data=case.data)
    # MLP shadows (seeded torch training); 20 epochs instead of the 2,000-step default: repeatability,
    # not strength, is checked here.
    shadow = replace(FAST, family="mlp", epochs=20)
    config = AuditConfig(seed=3, trust_model=True, attacks=("shadow",), shadow=shadow)
    a, b = audit(case.model, spec, config), audit(case.model, spec, config)
    assert len(a.attacks) == 8 and {*SHADOW_IDS, "calibrated.loss", "shadow.risk_score"} <= {x.id for x in a.attacks}
    assert [x.metrics for x in a.attacks] == [x.metrics for x in b.attacks]
    assert a.records is not None and b.records is not None and a.records.scores == b.records.scores


def test_best_threshold_by_hand() -> None:
    # in: 0.9, 0.8, 0.4; out: 0.5, 0.3, 0.1. Thresholds and TPR-FPR:
    # t=0.9: 1/3-0; t=0.8: 2/3-0; t=0.5: 2/3-1/3; t=0.4: 1-1/3; t=0.3: 1-2/3. Best 2/3 at t=0.8 and t=0.4:
    # the first (highest) wins.
    scores = np.array([0.9, 0.8, 0.4, 0.5, 0.3, 0.1])
    member = np.array([1, 1, 1, 0, 0, 0])
    assert best_threshold(scores, member) == 0.8


def test_class_thresholds_fall_back_to_the_global_one() -> None:
    scores = np.array([0.9, 0.1, 0.6, 0.2, 0.5])
    labels = np.array([0, 0, 1, 1, 2])
    member = np.array([1, 0, 1, 0, 1])
    thresholds = class_thresholds(scores, labels, member, 3)
    assert thresholds[0] == 0.9 and thresholds[1] == 0.6
    assert thresholds[2] == best_threshold(scores, member)  # class 2 has no out rows


def test_risk_scores_follow_the_shadow_histograms() -> None:
    rng = np.random.default_rng(0)
    members = rng.normal(1.0, 0.5, 400)
    outs = rng.normal(-1.0, 0.5, 400)
    values = np.r_[members, outs]
    member = np.r_[np.ones(400), np.zeros(400)]
    labels = np.zeros(800, dtype=int)
    r = risk_scores(values, labels, member, np.array([2.0, 0.0, -2.0]), np.zeros(3, dtype=int))
    assert r[0] > 0.95 and r[2] < 0.05 and 0.2 < r[1] < 0.8


def test_risk_scores_in_one_bin_are_ordered_by_the_signal_and_no_further() -> None:
    """Ties within a histogram bin break in the signal's order; the bins' order stays."""
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(1.0, 0.5, 400), rng.normal(-1.0, 0.5, 400)]
    member = np.r_[np.ones(400), np.zeros(400)]
    labels = np.zeros(800, dtype=int)
    top = values.max()
    inside = np.array([top + 1.0, top + 2.0, top + 3.0])  # all beyond the last edge: one bin
    r = risk_scores(values, labels, member, inside, np.zeros(3, dtype=int))
    assert r[0] < r[1] < r[2] and r[2] - r[0] < 1e-6
    below = risk_scores(values, labels, member, np.array([0.0]), np.zeros(1, dtype=int))
    assert below[0] < r[0] - 1e-3


def test_clone_of_an_integer_labelled_forest(tmp_path: Path) -> None:
    import pickle

    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd"))
    frame["label"] = rng.integers(0, 3, 500)
    frame["member"] = (np.arange(500) < 150).astype(int)
    members = frame[frame.member == 1]
    forest = RandomForestClassifier(20, random_state=0).fit(members[list("abcd")], members["label"])
    (tmp_path / "forest.pkl").write_bytes(pickle.dumps(forest))
    frame.to_csv(tmp_path / "audit.csv", index=False)
    config = AuditConfig(seed=0, trust_model=True, attacks=("shadow.shokri",), shadow=FAST)
    result = audit(tmp_path / "forest.pkl", DataSpec(data=tmp_path / "audit.csv"), config)
    assert result.attack("shadow.shokri").metrics.auc > 0.6
