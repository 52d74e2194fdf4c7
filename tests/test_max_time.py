"""``--max-time``: once the time has passed, the expensive attacks not yet started are dropped with a note,
the cheap ones still run, and the verdict cannot settle below critical on what did run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_data import AuditCase, overfit_case
from factories import attack_report
from typer.testing import CliRunner

from mia_audit.attacks.registry import CHEAP
from mia_audit.cli import app
from mia_audit.judge.risk import assess_risk

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("max_time"))


def test_a_tiny_max_time_drops_every_expensive_attack(case: AuditCase, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["scan", str(case.model), "--data", str(case.data), "--out", str(out), "--trust-model"]
    result = runner.invoke(app, [*args, "--max-time", "0.001", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert {a["id"] for a in report["attacks"]} == set(CHEAP)
    dropped = [s for s in report["skipped_attacks"] if "--max-time 0.001 s" in s["reason"]]
    assert {s["id"] for s in dropped} >= {"shadow.shokri", "lira.online", "label_only.boundary", "supervised"}
    # The defences come after every attack: past the limit they are left out, and the report says so.
    assert report["defences"] == []
    assert any("defences not measured: --max-time 0.001 s had passed" in n for n in report["notes"])
    risk = report["risk"]
    assert risk["level"] in ("inconclusive", "critical")
    if risk["level"] == "inconclusive":
        assert "--max-time dropped" in risk["reasons"][0] and "without --max-time" in risk["settle"]


def test_dropped_attacks_keep_a_lower_level_from_settling() -> None:
    high = attack_report("lira.online", auc=0.8, auc_ci=(0.77, 0.83), tpr=0.08, tpr_ci=(0.06, 0.1))
    assert assess_risk([high]).level == "high"
    risk = assess_risk([high], dropped=("shadow.shokri",))
    assert (risk.level, risk.at_least) == ("inconclusive", "high")
    assert risk.reasons[0].startswith("inconclusive: --max-time dropped 1 attacks (shadow.shokri)")
    critical = attack_report("lira.online", auc=0.97, auc_ci=(0.96, 0.98), tpr=0.6, tpr_ci=(0.55, 0.65))
    assert assess_risk([critical], dropped=("shadow.shokri",)).level == "critical"  # nothing higher to miss


def test_max_time_must_be_positive(case: AuditCase) -> None:
    result = runner.invoke(app, ["scan", str(case.model), "--data", str(case.data), "--max-time", "0"])
    assert result.exit_code == 2 and "--max-time must be positive" in result.output
