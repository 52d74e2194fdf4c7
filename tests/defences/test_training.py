"""Training-side defences on proxies of the bundled leaky MLP: every proxy is measured with the audit's
attacks, and DP-SGD at ε = 1 pulls the attack back to chance where the undefended proxy leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mia_audit.audit import AuditConfig, DataSpec, audit
from mia_audit.defences.measure import PROXY_NOTE
from mia_audit.result import AuditResult, DefenceResult

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
IDS = (
    "training.baseline",
    "training.l2",
    "training.dropout",
    "training.early_stopping",
    "training.stacking",
    "training.dp_sgd_eps8",
    "training.dp_sgd_eps1",
)


@pytest.fixture(scope="module")
def result() -> AuditResult:
    config = AuditConfig(seed=0, attacks=("threshold.loss", "label_only.gap"), defences="training")
    return audit(SAMPLES / "mlp_leaky.onnx", DataSpec(data=SAMPLES / "sample_audit.csv"), config)


def _by_id(result: AuditResult) -> dict[str, DefenceResult]:
    return {d.id: d for d in result.defences}


def test_every_training_defence_is_measured_on_a_proxy(result: AuditResult) -> None:
    assert tuple(d.id for d in result.defences) == IDS
    for d in result.defences:
        assert d.kind == "training" and PROXY_NOTE in d.notes
        assert {a.id for a in d.attacks} == {"threshold.loss", "label_only.gap"}
        assert all(a.rerun for a in d.attacks)
        assert 0.0 <= d.utility.test_accuracy <= 1.0
    assert _by_id(result)["training.baseline"].utility.accuracy_change == 0.0


def test_dp_sgd_at_epsilon_1_pulls_the_attack_back_to_chance(result: AuditResult) -> None:
    found = _by_id(result)
    baseline = next(a for a in found["training.baseline"].attacks if a.id == "threshold.loss")
    private = next(a for a in found["training.dp_sgd_eps1"].attacks if a.id == "threshold.loss")
    assert baseline.auc_ci[0] > 0.6  # the undefended proxy memorises like the target
    assert private.auc_ci[0] <= 0.5 <= private.auc_ci[1] or abs(private.auc - 0.5) < 0.05
    assert "ε = 1.00" in found["training.dp_sgd_eps1"].setting or "ε = 0.9" in found["training.dp_sgd_eps1"].setting


def test_a_forest_gets_the_defences_its_family_allows_and_says_which_it_does_not(tmp_path: Path) -> None:
    from e2e_data import overfit_case

    case = overfit_case(tmp_path)
    config = AuditConfig(seed=0, trust_model=True, attacks=("threshold.loss",), defences="training")
    forest = audit(case.model, DataSpec(data=case.data), config)
    assert [d.id for d in forest.defences] == ["training.baseline", "training.stacking"]
    assert "clone of the target (RandomForestClassifier)" in forest.defences[0].setting
    notes = " ".join(forest.notes)
    assert "dropout and DP-SGD train neural networks" in notes and "no weight penalty" in notes
    assert "does not train in rounds" in notes
    baseline = forest.defences[0].attacks[0]
    assert baseline.auc_ci[0] > 0.6  # a clone of a memorising forest memorises too
