"""Too little evidence never reads as safe: the verdict is inconclusive, and a configured gate fails on it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mia_audit.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"


def _few(tmp_path: Path, n: int = 5) -> Path:
    frame = pd.read_csv(SAMPLES / "sample_audit.csv")
    few = pd.concat([frame[frame.member == 1].head(n), frame[frame.member == 0].head(2 * n)])
    path = tmp_path / "few.csv"
    few.to_csv(path, index=False)
    return path


def _scan(tmp_path: Path, data: Path, *args: str) -> tuple[int, dict[str, object], str]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["scan", str(SAMPLES / "mlp_leaky.onnx"), "--data", str(data), "--out", str(out), "--format", "json", *args],
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result.exit_code, report, result.output


def test_five_members_are_inconclusive_and_fail_a_gate(tmp_path: Path) -> None:
    code, report, output = _scan(tmp_path, _few(tmp_path), "--attacks", "threshold", "--fail-on", "critical")
    risk, gate = report["risk"], report["gate"]
    assert risk["level"] == "inconclusive" and gate["inconclusive"] is True  # type: ignore[index]
    assert code == 1 and gate["passed"] is False  # type: ignore[index]
    assert "Risk level: INCONCLUSIVE" in output and "To settle it:" in output
    assert [r["name"] for r in gate["rules"] if not r["passed"]] == ["conclusive"]  # type: ignore[index]


def test_allow_inconclusive_passes_on_the_level_shown(tmp_path: Path) -> None:
    args = ("--attacks", "threshold", "--fail-on", "critical", "--allow-inconclusive")
    code, report, _ = _scan(tmp_path, _few(tmp_path), *args)
    assert code == 0 and report["risk"]["level"] == "inconclusive"  # type: ignore[index]
    assert report["risk"]["at_least"] != "critical"  # type: ignore[index]


def test_nothing_ran_is_inconclusive_never_low(tmp_path: Path) -> None:
    """A label-only target (its graph outputs the class only) and only probability attacks: all skipped."""
    from fixtures_models import build_torch_label_only_onnx

    frame = pd.read_csv(SAMPLES / "sample_audit.csv")
    members = frame[frame.member == 1]
    path = tmp_path / "labels.onnx"
    build_torch_label_only_onnx(path, members.drop(columns=["label", "member"]).to_numpy(), members["label"].to_numpy())
    out = tmp_path / "out"
    args = ["--data", str(SAMPLES / "sample_audit.csv"), "--attacks", "threshold", "--fail-on", "critical"]
    result = CliRunner().invoke(app, ["scan", str(path), *args, "--out", str(out), "--format", "json"])
    report = json.loads((out / "report.json").read_text())
    assert len(report["skipped_attacks"]) == 4 and not report["attacks"]
    assert report["risk"]["level"] == "inconclusive" and report["risk"]["at_least"] == "low"
    assert result.exit_code == 1  # a gate never passes on nothing
