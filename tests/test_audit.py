"""The pipeline end to end on real fitted models: attacks work, stay honest, and are reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from e2e_data import exchangeable_case, overfit_case
from sklearn.metrics import roc_auc_score

from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.result.codec import to_dict

BASIC = ("threshold", "label_only.gap")
THRESHOLD_IDS = ("threshold.loss", "threshold.confidence", "threshold.entropy", "threshold.modified_entropy")


@pytest.fixture(scope="module")
def overfit(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return overfit_case(tmp_path_factory.mktemp("overfit"))


def test_threshold_attacks_beat_chance_on_an_overfitted_model(overfit) -> None:  # type: ignore[no-untyped-def]
    result = audit(overfit.model, DataSpec(data=overfit.data), AuditConfig(seed=0, trust_model=True, attacks=BASIC))
    ids = [a.id for a in result.attacks]
    assert ids == [*THRESHOLD_IDS, "label_only.gap"]
    for attack_id in THRESHOLD_IDS:
        assert result.attack(attack_id).metrics.auc > 0.6, attack_id
    assert result.risk.level in ("medium", "high", "critical")
    # Every record queried exactly once, in one pass.
    assert result.model.queries == len(overfit.frame)
    assert result.data.eval_members == result.data.eval_nonmembers == 300
    assert result.utility.generalization_gap > 0.2


def test_loss_auc_matches_an_independent_computation(overfit) -> None:  # type: ignore[no-untyped-def]
    import skops.io as sio

    result = audit(overfit.model, DataSpec(data=overfit.data), AuditConfig(seed=0, trust_model=True, attacks=BASIC))
    rec = result.records
    assert rec is not None
    frame = overfit.frame
    model = sio.load(overfit.model, trusted=sio.get_untrusted_types(file=overfit.model))
    rows = frame.iloc[list(rec.row_index)]
    probs = model.predict_proba(rows[[c for c in frame.columns if c.startswith("f")]])
    true_p = probs[np.arange(len(rows)), np.searchsorted(model.classes_, rows["label"])]
    expected = roc_auc_score(rows["member"], np.log(np.clip(true_p, 1e-12, 1)))
    assert result.attack("threshold.loss").metrics.auc == pytest.approx(expected, abs=1e-3)


def test_thresholds_never_see_evaluation_records(overfit) -> None:  # type: ignore[no-untyped-def]
    """Changing evaluation members' outputs must not move the threshold: it comes from the population."""
    a = audit(overfit.model, DataSpec(data=overfit.data), AuditConfig(seed=0, trust_model=True, attacks=BASIC))
    b = audit(
        overfit.model,
        DataSpec(data=overfit.data),
        AuditConfig(seed=0, threshold_fpr=0.2, trust_model=True, attacks=BASIC),
    )
    for attack_id in THRESHOLD_IDS:
        fpr = a.attack(attack_id).metrics.fpr_at_threshold
        assert fpr is not None and fpr < 0.25  # expected 10% on fresh non-members, with slack for n=300
        assert a.attack(attack_id).threshold != b.attack(attack_id).threshold


def test_exchangeable_members_stay_near_chance(tmp_path: Path) -> None:
    case = exchangeable_case(tmp_path)
    result = audit(case.model, DataSpec(data=case.data), AuditConfig(seed=0, attacks=BASIC))
    for report in result.attacks:
        assert abs(report.metrics.auc - 0.5) < 0.05, (report.id, report.metrics.auc)
    # Chance-level attacks: the evidence shows low; on this few records it may not exclude medium yet.
    assert result.risk.at_least == "low" and result.risk.level in ("low", "inconclusive")


def test_same_seed_same_numbers(overfit) -> None:  # type: ignore[no-untyped-def]
    def numbers(seed: int) -> list[object]:
        d = to_dict(
            audit(overfit.model, DataSpec(data=overfit.data), AuditConfig(seed=seed, trust_model=True, attacks=BASIC))
        )
        return [{k: v for k, v in a.items() if k != "duration_s"} for a in d["attacks"]]

    assert numbers(7) == numbers(7)
    assert numbers(7) != numbers(8)


def test_gap_attack_balanced_accuracy_is_the_gap_formula(overfit) -> None:  # type: ignore[no-untyped-def]
    result = audit(
        overfit.model, DataSpec(data=overfit.data), AuditConfig(seed=0, attacks=("label_only.gap",), trust_model=True)
    )
    gap = result.attack("label_only.gap")
    rec = result.records
    assert rec is not None
    member = np.array(rec.member, dtype=bool)
    correct = np.array(rec.scores["label_only.gap"]) == 1.0
    train_acc, test_acc = correct[member].mean(), correct[~member].mean()
    assert gap.metrics.accuracy == pytest.approx(0.5 + (train_acc - test_acc) / 2)


def _onnx_case(tmp_path: Path, builder_name: str) -> tuple[Path, Path]:
    import fixtures_models as fm
    import pandas as pd

    X, y = fm.classification_data(n=900, n_features=8, n_classes=3, seed=3)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(label=y)
    frame["member"] = (np.arange(len(frame)) < 150).astype(int)
    model = tmp_path / "model.onnx"
    members = frame.member == 1
    getattr(fm, builder_name)(model, X[members], y[members])
    data = tmp_path / "audit.csv"
    frame.to_csv(data, index=False)
    return model, data


def test_torch_onnx_mlp_end_to_end(tmp_path: Path) -> None:
    model, data = _onnx_case(tmp_path, "build_torch_mlp_onnx")
    result = audit(model, DataSpec(data=data), AuditConfig(seed=0, attacks=BASIC))
    assert result.model.format == "onnx" and result.model.output_kind == "probabilities"
    assert result.attack("threshold.loss").metrics.auc > 0.6


def test_label_only_onnx_runs_label_attacks_and_skips_the_rest(tmp_path: Path) -> None:
    model, data = _onnx_case(tmp_path, "build_torch_label_only_onnx")
    result = audit(model, DataSpec(data=data), AuditConfig(seed=0, attacks=("threshold", "label_only")))
    assert result.model.output_kind == "labels"
    assert [a.id for a in result.attacks] == ["label_only.gap", "label_only.boundary"]
    assert {s.id for s in result.skipped} == set(THRESHOLD_IDS)
    assert all("only labels" in s.reason for s in result.skipped)
    # One shared pass over every record, plus the boundary attack's own neighbour queries.
    assert result.model.queries == 900 + result.attack("label_only.boundary").queries
    assert result.attack("label_only.boundary").metrics.auc > 0.5


def test_multi_input_skl2onnx_pipeline_with_string_columns(tmp_path: Path) -> None:
    import fixtures_models as fm

    frame, y = fm.mixed_frame(n=600, seed=2)
    members = np.arange(len(frame)) < 200
    model = tmp_path / "pipeline.onnx"
    fm.build_skl2onnx_pipeline(model, frame[members], y[members])
    data = tmp_path / "audit.csv"
    frame.assign(target=y, member=members.astype(int)).to_csv(data, index=False)
    result = audit(model, DataSpec(data=data), AuditConfig(seed=0, attacks=BASIC))
    assert result.model.queries == len(frame)
    assert len(result.attacks) == 5


def test_non_members_of_classes_the_model_never_learned_are_left_out(tmp_path: Path) -> None:
    import pandas as pd
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["label"] = np.where(frame.a > 0, "up", "down")
    frame["member"] = (np.arange(400) < 150).astype(int)
    rare = frame.index[(frame.member == 0)][:7]
    frame.loc[rare, "label"] = "rare"  # a class no training member has
    members = frame[frame.member == 1]
    sio.dump(LogisticRegression().fit(members[["a", "b"]], members["label"]), tmp_path / "m.skops")
    frame.to_csv(tmp_path / "audit.csv", index=False)
    result = audit(tmp_path / "m.skops", DataSpec(data=tmp_path / "audit.csv"), AuditConfig(seed=0, attacks=BASIC))
    assert any("7 non-member records are left out" in n and "rare" in n for n in result.notes)
    assert result.data.members == 150 and result.data.holdout == 243


def test_the_environment_and_threads_are_recorded(overfit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mia_audit.environment import PACKAGES
    from mia_audit.result.codec import dumps, from_dict

    config = AuditConfig(seed=0, attacks=("threshold.loss",), trust_model=True, threads=1)
    result = audit(overfit.model, DataSpec(data=overfit.data), config)
    env = result.run.environment
    assert {"python", "platform", "threads", "device", *PACKAGES} <= set(env)
    assert env["threads"] == 1 and env["device"] == "cpu" and env["numpy"] == np.__version__
    assert result.run.config["threads"] == 1
    import json

    assert from_dict(json.loads(dumps(result))).run.environment == env


def test_an_unreadable_architecture_is_a_warning_not_a_table_note() -> None:
    from dataclasses import replace as changed

    from mia_audit.attacks.interface import AttackResult
    from mia_audit.audit import _warnings
    from mia_audit.models.architecture import InferredArchitecture
    from mia_audit.training.config import ShadowConfig

    class Unreadable:
        estimator = None
        architecture = InferredArchitecture("unknown", reason="no dense layer or tree ensemble in the graph")

    def result(attack_id: str, family: str) -> AttackResult:
        return AttackResult(attack_id, family, attack_id, np.zeros(2), None, "", (), 0, 0.0)

    shadow, threshold = result("shadow.shokri", "shadow"), result("threshold.loss", "threshold")
    (warning,) = _warnings(Unreadable(), [threshold, shadow], AuditConfig())  # type: ignore[arg-type]
    assert "no dense layer or tree ensemble" in warning and "--shadow-family" in warning
    assert "--reference-family" not in warning  # no reference attack ran
    assert _warnings(Unreadable(), [threshold], AuditConfig()) == ()  # type: ignore[arg-type]
    named = changed(AuditConfig(), shadow=ShadowConfig(family="rf"))
    assert _warnings(Unreadable(), [shadow], named) == ()  # type: ignore[arg-type]
