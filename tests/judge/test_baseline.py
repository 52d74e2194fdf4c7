"""--baseline: the strongest attack against an earlier report, worse only beyond both intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_data import AuditCase, overfit_case
from factories import attack_report
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.errors import InputFileError
from mia_audit.judge.baseline import Baseline, compare_with_baseline, load_baseline
from mia_audit.judge.gate import GateConfig, evaluate_gate
from mia_audit.result import (
    AttackReport,
    AuditResult,
    DataSummary,
    GateResult,
    ModelSummary,
    Risk,
    RunInfo,
    ToolInfo,
    Utility,
)

runner = CliRunner()


def _result(attacks: list[AttackReport], strongest: str | None, data_sha: str = "d1") -> AuditResult:
    return AuditResult(
        tool=ToolInfo("mia-audit", "0.0.9"),
        run=RunInfo("2025-01-01T00:00:00+00:00", 1.0, 0, "mia-audit scan", {}),
        model=ModelSummary("m.onnx", "m1", "onnx", 2, 3, "probabilities", 10, ("0", "1")),
        data=DataSummary(10, 10, 0, "holdout share", {"data": data_sha}, {"data": "a.csv"}, "y", ("a",), 5, 5, True),
        utility=Utility(1.0, 0.5, 0.5, 0.1, 0.9, 10, 10),
        attacks=tuple(attacks),
        skipped=(),
        properties={},
        risk=Risk("high", strongest, ()),
        gate=GateResult(False, True, ("no gate configured",)),
        signal_distribution=None,
    )


OLD = _result(
    [
        attack_report("threshold.loss", auc=0.70, auc_ci=(0.66, 0.74), tpr=0.04, tpr_ci=(0.02, 0.06)),
        attack_report("shadow.shokri", auc=0.72, auc_ci=(0.68, 0.76), tpr=0.05, tpr_ci=(0.03, 0.07)),
    ],
    "shadow.shokri",
)


def _compare(current: AttackReport, old: AuditResult = OLD, **kwargs: Any) -> Any:
    return compare_with_baseline(Baseline("old.json", old), [current], current.id, **kwargs)


def test_same_attack_within_intervals_is_not_worse() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.73, auc_ci=(0.69, 0.77), tpr=0.05, tpr_ci=(0.03, 0.07)))
    assert comparison.matched_by == "same attack"
    assert comparison.baseline_attack == "threshold.loss"
    assert [m.status for m in comparison.metrics] == ["within intervals", "within intervals"]
    assert not comparison.worse


def test_auc_interval_wholly_above_is_worse() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.80, auc_ci=(0.75, 0.85), tpr=0.05, tpr_ci=(0.03, 0.07)))
    assert comparison.worse
    assert comparison.metrics[0].metric == "auc" and comparison.metrics[0].status == "worse"
    assert comparison.metrics[0].baseline_ci == (0.66, 0.74) and comparison.metrics[0].current_ci == (0.75, 0.85)


def test_tpr_interval_wholly_above_is_worse_even_with_auc_overlapping() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.71, auc_ci=(0.67, 0.75), tpr=0.12, tpr_ci=(0.08, 0.16)))
    assert [m.status for m in comparison.metrics] == ["within intervals", "worse"]
    assert comparison.worse


def test_touching_intervals_are_not_worse() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.78, auc_ci=(0.74, 0.82), tpr=0.04, tpr_ci=(0.02, 0.06)))
    assert comparison.metrics[0].status == "within intervals" and not comparison.worse


def test_better_is_reported() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.55, auc_ci=(0.51, 0.59), tpr=0.01, tpr_ci=(0.0, 0.015)))
    assert [m.status for m in comparison.metrics] == ["better", "better"] and not comparison.worse


def test_unresolvable_tpr_is_not_compared() -> None:
    comparison = _compare(attack_report("threshold.loss", auc=0.70, auc_ci=(0.66, 0.74), tpr=None, tpr_ci=None))
    assert comparison.metrics[1].status == "not comparable" and not comparison.worse


def test_attack_missing_from_the_baseline_falls_back_to_its_strongest() -> None:
    comparison = _compare(attack_report("rmia", auc=0.90, auc_ci=(0.87, 0.93), tpr=0.3, tpr_ci=(0.25, 0.35)))
    assert comparison.matched_by == "strongest vs strongest"
    assert comparison.baseline_attack == "shadow.shokri" and comparison.worse


def test_nothing_to_compare() -> None:
    comparison = compare_with_baseline(Baseline("old.json", OLD), [], None)
    assert comparison.matched_by == "nothing to compare" and not comparison.worse and comparison.metrics == ()
    empty = compare_with_baseline(Baseline("old.json", _result([], None)), [attack_report()], "threshold.loss")
    assert empty.matched_by == "nothing to compare" and not empty.worse
    gate = evaluate_gate(GateConfig(), Risk("low", None, ()), [], comparison)
    assert gate.configured and gate.passed and "nothing to compare" in gate.reasons[0]


def test_notes_on_model_and_data() -> None:
    current = attack_report("threshold.loss", auc=0.70, auc_ci=(0.66, 0.74))
    notes = _compare(current, model_sha256="m1", data_sha256={"data": "other"}).notes
    assert any("same model file" in n for n in notes) and any("different records" in n for n in notes)
    assert _compare(current, model_sha256="m2", data_sha256={"data": "d1"}).notes == ()


def test_gate_fails_on_a_worse_baseline_with_the_numbers() -> None:
    current = attack_report("threshold.loss", auc=0.80, auc_ci=(0.75, 0.85), tpr=0.05, tpr_ci=(0.03, 0.07))
    gate = evaluate_gate(GateConfig(max_auc=0.9), Risk("high", "threshold.loss", ()), [current], _compare(current))
    assert gate.configured and not gate.passed
    assert [r.name for r in gate.rules] == ["max_auc", "baseline"]
    assert gate.rules[0].passed and not gate.rules[1].passed
    assert gate.reasons == (
        "threshold.loss got worse than baseline old.json: "
        "AUC 0.800 [0.750, 0.850] now vs 0.700 [0.660, 0.740] before (worse)",
    )


def test_load_baseline_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="--baseline: report file not found"):
        load_baseline(tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text('{"name": "something else"}')
    with pytest.raises(InputFileError, match=r"--baseline: .* is not a mia-audit report\.json"):
        load_baseline(other)
    other.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputFileError, match=r"not a mia-audit report\.json"):
        load_baseline(other)
    with pytest.raises(InputFileError, match="--baseline: cannot read"):
        load_baseline(tmp_path)


# ----------------------------------------------------------------- through the CLI


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("baseline"))


def _scan(case: AuditCase, out: Path, *args: str) -> Any:
    return runner.invoke(
        app,
        [
            "scan",
            str(case.model),
            "--trust-model",
            "--data",
            str(case.data),
            "--out",
            str(out),
            "--format",
            "json",
            "--attacks",
            "threshold",
            "--seed",
            "0",
            *args,
        ],
    )


@pytest.fixture(scope="module")
def first_report(case: AuditCase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first")
    result = _scan(case, out)
    assert result.exit_code == 0, result.output
    return out / "report.json"


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text())


def test_rerun_with_the_same_seed_passes(case: AuditCase, first_report: Path, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--baseline", str(first_report))
    assert result.exit_code == 0, result.output
    report = _report(tmp_path)
    comparison = report["baseline"]
    assert comparison["path"] == str(first_report)
    assert comparison["matched_by"] == "same attack" and comparison["worse"] is False
    assert comparison["current_attack"] == comparison["baseline_attack"] == report["risk"]["strongest_attack"]
    assert [m["status"] for m in comparison["metrics"]] == ["within intervals", "within intervals"]
    assert any("same model file" in n for n in comparison["notes"])
    assert report["gate"]["configured"] and report["gate"]["passed"]
    assert [r["name"] for r in report["gate"]["rules"]] == ["baseline"]
    assert report["run"]["config"]["baseline"] == str(first_report)
    assert "Baseline" in result.stdout and "not worse" in result.stdout


def test_worse_than_baseline_exits_1(case: AuditCase, first_report: Path, tmp_path: Path) -> None:
    old = json.loads(first_report.read_text())
    for attack in old["attacks"]:  # an earlier, much less leaky model
        attack.update(auc=0.55, auc_ci=[0.51, 0.59])
        attack["tpr_at_fpr"]["0.01"] = 0.01
        attack["tpr_at_fpr_ci"]["0.01"] = [0.0, 0.03]
    lower = tmp_path / "old.json"
    lower.write_text(json.dumps(old))
    out = tmp_path / "out"
    result = _scan(case, out, "--baseline", str(lower))
    assert result.exit_code == 1, result.output
    report = _report(out)
    assert report["baseline"]["worse"] is True
    assert {m["status"] for m in report["baseline"]["metrics"]} == {"worse"}
    assert report["gate"]["passed"] is False
    assert all("got worse than baseline" in r for r in report["gate"]["reasons"])
    assert "Gate: FAILED" in result.stdout and "WORSE" in result.stdout


def test_baseline_without_the_attack_compares_strongest(case: AuditCase, first_report: Path, tmp_path: Path) -> None:
    old = json.loads(first_report.read_text())
    for attack in old["attacks"]:
        attack["id"] = "old." + attack["id"]
    old["risk"]["strongest_attack"] = "old." + old["risk"]["strongest_attack"]
    renamed = tmp_path / "old.json"
    renamed.write_text(json.dumps(old))
    result = _scan(case, tmp_path / "out", "--baseline", str(renamed))
    assert result.exit_code == 0, result.output
    assert _report(tmp_path / "out")["baseline"]["matched_by"] == "strongest vs strongest"


@pytest.mark.parametrize("content", ['{"tool": "pytest", "results": []}', "not json at all", "[1, 2]"])
def test_not_a_mia_audit_report_exits_2(case: AuditCase, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "other.json"
    bad.write_text(content)
    result = _scan(case, tmp_path / "out", "--baseline", str(bad))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --baseline:") and "not a mia-audit report.json" in lines[0]
    assert not (tmp_path / "out").exists()


def test_missing_baseline_exits_2(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path / "out", "--baseline", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "--baseline: report file not found" in result.stderr


def test_report_over_the_baseline_exits_2(case: AuditCase, first_report: Path, tmp_path: Path) -> None:
    copy = tmp_path / "report.json"
    copy.write_text(first_report.read_text())
    result = _scan(case, tmp_path, "--baseline", str(copy))
    assert result.exit_code == 2 and "overwrite your input" in result.stderr
    assert copy.read_text() == first_report.read_text()
