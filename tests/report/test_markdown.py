"""summary.md: under 40 lines, and every number in it is report.json's."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.judge.baseline import Baseline, compare_with_baseline
from mia_audit.report.json_report import write_json
from mia_audit.report.markdown import render_markdown
from mia_audit.result import AuditResult, GateResult, SkippedAttack

FIXTURE = Path(__file__).parent / "fixtures" / "location30_report.json"
ROW = re.compile(
    r"^\| (?:\*\*)?`(?P<id>[^`]+)`(?:\*\*)?(?P<strongest> \(strongest\))? "
    r"\| (?P<auc>\S+) \[(?P<lo>\S+), (?P<hi>\S+)\] "
    r"\| (?P<tpr>\S+) \[(?P<tlo>\S+), (?P<thi>\S+)\] \| (?P<eps>\S+) \|$"
)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def check_against_json(summary: str, report: dict[str, object]) -> None:
    """The heading, the risk, the gate and every attack row read exactly what report.json holds."""
    risk, gate = report["risk"], report["gate"]  # type: ignore[index]
    lines = summary.splitlines()
    assert len(lines) < 40, len(lines)
    assert f"mia-audit: {risk['level'].upper()} membership-inference risk" in lines[0]  # type: ignore[index]
    assert f"**Risk level: {risk['level'].upper()}**" in summary  # type: ignore[index]
    gate_line = next(line for line in lines if line.startswith("**Gate"))
    if not gate["configured"]:  # type: ignore[index]
        assert "not configured" in gate_line
    else:
        assert ("PASSED" if gate["passed"] else "FAILED") in gate_line  # type: ignore[index]
    attacks = {a["id"]: a for a in report["attacks"]}  # type: ignore[attr-defined, index]
    rows = [m for m in (ROW.match(line) for line in lines) if m]
    assert rows, summary
    for row in rows:
        attack = attacks[row["id"]]
        assert row["auc"] == f"{attack['auc']:.3f}"
        assert (row["lo"], row["hi"]) == tuple(f"{v:.3f}" for v in attack["auc_ci"])
        assert row["tpr"] == _pct(attack["tpr_at_fpr"]["0.01"])
        assert (row["tlo"], row["thi"]) == tuple(_pct(v) for v in attack["tpr_at_fpr_ci"]["0.01"])
        assert (row["strongest"] is not None) == (row["id"] == risk["strongest_attack"])  # type: ignore[index]
    assert rows[0]["id"] == risk["strongest_attack"]  # type: ignore[index]


def _json_of(result: AuditResult, tmp_path: Path) -> dict[str, object]:
    write_json(result, tmp_path / "report.json")
    return json.loads((tmp_path / "report.json").read_text())  # type: ignore[no-any-return]


def test_the_summary_of_the_fixture_matches_its_json(audit_result: AuditResult, tmp_path: Path) -> None:
    summary = render_markdown(audit_result)
    check_against_json(summary, _json_of(audit_result, tmp_path))
    assert "**Gate: ❌ FAILED** — threshold.loss AUC 0.780 &gt; --max-auc 0.70" in summary
    assert "### What to do" in summary and "Skipped: `lira.online`, `label_only.boundary`" in summary
    assert "Defences measured" in summary


def test_mia_audit_report_writes_the_summary_of_a_report_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(FIXTURE), "--out", str(tmp_path), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    check_against_json(summary, json.loads(FIXTURE.read_text()))
    assert "14 more attacks in the report." in summary


def test_free_text_cannot_inject_html_or_break_the_table(make_result: Callable[..., AuditResult]) -> None:
    base = make_result()
    hostile = replace(base.risk, reasons=("<script>alert(1)</script> | x",))
    summary = render_markdown(replace(base, risk=hostile))
    assert "<script>" not in summary and "&lt;script&gt;" in summary and "\\| x" in summary


def test_a_passed_gate_and_a_baseline(make_result: Callable[..., AuditResult]) -> None:
    base = make_result(gate=GateResult(True, True, ("every rule held",)))
    comparison = compare_with_baseline(Baseline("old.json", base), base.attacks, base.risk.strongest_attack)
    summary = render_markdown(replace(base, baseline=comparison))
    assert "**Gate: ✅ PASSED** — every rule held" in summary
    assert "Against the baseline `old.json`: not worse." in summary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    warnings=st.lists(st.text(min_size=1, max_size=400), max_size=30),
    skipped=st.integers(0, 40),
    reasons=st.lists(st.text(min_size=1, max_size=300), max_size=10),
)
def test_never_forty_lines(
    make_result: Callable[..., AuditResult], warnings: list[str], skipped: int, reasons: list[str]
) -> None:
    base = make_result()
    result = replace(
        base,
        warnings=tuple(warnings),
        skipped=tuple(SkippedAttack(f"attack.{i}", "why") for i in range(skipped)),
        risk=replace(base.risk, reasons=tuple(reasons)),
    )
    assert len(render_markdown(result).splitlines()) < 40
