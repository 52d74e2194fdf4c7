"""The terminal summary: readable without colour, complete with it."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console

from mia_audit.report.console import print_summary
from mia_audit.result import AuditResult, GateResult, Risk

ATTACK_IDS = (
    "threshold.loss",
    "threshold.confidence",
    "threshold.entropy",
    "threshold.modified_entropy",
)


def _render(result: AuditResult, *, colour: bool = False, width: int = 100) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
    )
    print_summary(result, console)
    return buf.getvalue()


def test_plain_console_lists_attacks_level_and_gate(audit_result: AuditResult) -> None:
    out = _render(audit_result, width=80)
    assert "\x1b[" not in out  # no escape codes on a non-terminal
    for attack_id in ATTACK_IDS:
        assert attack_id in out
    lines = out.splitlines()
    positions = [
        next(i for i, line in enumerate(lines) if a + " " in line + " ")
        for a in ("threshold.loss", "threshold.modified_entropy", "threshold.confidence", "threshold.entropy")
    ]
    assert positions == sorted(positions)  # strongest first
    assert "0.780" in out and "[0.768, 0.792]" in out
    assert "n/r" not in out.split("Risk level")[0] or "threshold.entropy" in out
    assert "Risk level: HIGH" in out
    assert "threshold.loss finds 10.8% of members at 1% FPR" in out
    assert "Gate: FAILED" in out
    assert "skipped lira.online" in out


def test_colour_console_styles_the_level(audit_result: AuditResult) -> None:
    out = _render(audit_result, colour=True)
    assert "\x1b[" in out
    assert "HIGH" in out and "FAILED" in out


def test_console_without_attacks_or_gate(make_result: Callable[..., AuditResult]) -> None:
    result = make_result(
        attacks=(),
        risk=Risk(level="low", strongest_attack=None, reasons=()),
        gate=GateResult(configured=False, passed=True, reasons=()),
    )
    out = _render(result)
    assert "No attack ran." in out
    assert "Risk level: LOW" in out
    assert "Gate: not configured" in out
