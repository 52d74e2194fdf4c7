"""LiRA and RMIA end to end on the bundled sample models: stronger than the loss threshold on a
leaky model, near chance on a regularised one, reproducible, and blind to membership."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.result import AuditResult

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
REFERENCE = ("lira.offline", "lira.online", "rmia")


def _run(model: str, seed: int = 0) -> AuditResult:
    config = AuditConfig(attacks=("lira", "rmia", "threshold.loss"), seed=seed)
    return audit(SAMPLES / model, DataSpec(data=SAMPLES / "sample_audit.csv"), config)


@pytest.fixture(scope="module")
def leaky() -> AuditResult:
    return _run("mlp_leaky.onnx")


def _tpr(result: AuditResult, attack_id: str) -> float:
    value = result.attack(attack_id).metrics.tpr_at_fpr["0.01"]
    assert value is not None
    return value


def test_reference_attacks_beat_the_loss_threshold_at_low_fpr(leaky: AuditResult) -> None:
    loss = _tpr(leaky, "threshold.loss")
    for attack_id in REFERENCE:
        report = leaky.attack(attack_id)
        # Beyond the interval: the loss attack's TPR lies below the reference attack's lower bound.
        lower = report.metrics.tpr_at_fpr_ci["0.01"]
        assert lower is not None and lower[0] > loss, (attack_id, lower, loss)
        assert report.metrics.auc > leaky.attack("threshold.loss").metrics.auc
        assert report.threshold is not None and report.queries == 0


def test_same_seed_same_numbers(leaky: AuditResult) -> None:
    again = _run("mlp_leaky.onnx")
    for attack_id in REFERENCE:
        assert again.attack(attack_id).metrics.auc == leaky.attack(attack_id).metrics.auc
    assert np.array_equal(np.array(again.records.scores["rmia"]), np.array(leaky.records.scores["rmia"]))  # type: ignore[union-attr]


def test_near_chance_when_members_are_records_the_model_never_saw(tmp_path: Path) -> None:
    from e2e_data import exchangeable_case

    case = exchangeable_case(tmp_path, n=1200)
    config = AuditConfig(attacks=("lira", "rmia"), seed=0)
    result = audit(case.model, DataSpec(data=case.data), config)
    for attack_id in REFERENCE:
        lo, hi = result.attack(attack_id).metrics.auc_ci
        assert lo < 0.5 < hi or abs(result.attack(attack_id).metrics.auc - 0.5) < 0.05, (attack_id, lo, hi)


def test_the_split_never_depends_on_membership() -> None:
    import inspect

    from mia_audit.training.reference_pool import reference_split

    params = set(inspect.signature(reference_split).parameters)
    assert not params & {"is_member", "member", "membership", "labels"}, params
