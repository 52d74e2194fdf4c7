"""The terminal summary: readable without colour, complete with it."""

from __future__ import annotations

import dataclasses
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
    assert "ε lower bound (split-half, 95%): 3.66 — by threshold.loss / threshold.modified_entropy" in out


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


def _console(buf: io.StringIO, *, terminal: bool) -> Console:
    return Console(file=buf, width=100, force_terminal=terminal, color_system="standard" if terminal else None)


def test_progress_off_a_terminal_prints_one_plain_line_per_step() -> None:
    from mia_audit.report.console import progress

    buf = io.StringIO()
    with progress(_console(buf, terminal=False)) as step:
        with step("Attack 1/2 threshold.loss"):
            pass
        with step("Attack 2/2 threshold.entropy"):
            pass
    lines = buf.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["✓ Attack 1/2 threshold.loss", "✓ Attack 2/2 threshold.entropy"]
    assert all(line.endswith(" s)") for line in lines)
    assert "\x1b[" not in buf.getvalue()


def test_progress_on_a_terminal_is_live_and_keeps_each_step() -> None:
    from mia_audit.report.console import progress

    buf = io.StringIO()
    with progress(_console(buf, terminal=True)) as step:
        with step("Loading model and data"):
            pass
        with step("Attack 1/1 threshold.loss"):
            pass
    out = buf.getvalue()
    assert "\x1b[" in out  # live display
    assert "Loading model and data" in out and "Attack 1/1 threshold.loss" in out and "✓" in out


def test_progress_marks_a_failed_step_and_lets_the_error_through() -> None:
    from mia_audit.report.console import progress

    buf = io.StringIO()
    try:
        with progress(_console(buf, terminal=True)) as step, step("Attack 1/1 shadow.shokri"):
            raise ValueError("boom")
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the error was swallowed")
    assert "(failed)" in buf.getvalue()


def test_quiet_progress_prints_nothing() -> None:
    from mia_audit.report.console import progress

    buf = io.StringIO()
    with progress(_console(buf, terminal=True), quiet=True) as step, step("Attack 1/1 threshold.loss"):
        pass
    assert buf.getvalue() == ""


def test_verdict_line(make_result: Callable[..., AuditResult]) -> None:
    from mia_audit.report.console import verdict_line

    assert verdict_line(make_result()) == "risk: high — gate FAILED"
    passed = make_result(gate=GateResult(True, True, ("ok",)))
    assert verdict_line(passed) == "risk: high — gate passed"
    assert verdict_line(make_result(gate=GateResult(False, True, ()))) == "risk: high"


def test_details_and_baseline_line(make_result: Callable[..., AuditResult]) -> None:
    from dataclasses import replace

    from mia_audit.judge.baseline import Baseline, compare_with_baseline
    from mia_audit.judge.gate import GateConfig, evaluate_gate
    from mia_audit.report.console import print_details

    base = make_result()
    comparison = compare_with_baseline(Baseline("old.json", base), base.attacks, base.risk.strongest_attack)
    gate = evaluate_gate(GateConfig(max_auc=0.99), base.risk, base.attacks, comparison)
    config = {**base.run.config, "config_source": {"file": "pyproject.toml", "settings": {"max_auc": "file"}}}
    result = replace(base, gate=gate, baseline=comparison, run=replace(base.run, config=config))
    summary = _render(result)
    assert "Baseline old.json: threshold.loss: AUC 0.780 [0.768, 0.792] now vs 0.780 [0.768, 0.792]" in summary
    assert "not worse" in summary
    buf = io.StringIO()
    print_details(result, Console(file=buf, width=60, color_system=None))
    details = buf.getvalue()
    assert "Settings: max_auc from file; config file: pyproject.toml" in details  # soft-wrapped, not cut
    assert "assumes: black-box access to output probabilities" in details
    assert "note: score = −loss" in details
    assert "Gate rule max_auc: limit 0.9900, observed 0.7796 — passed" in details
    assert "Gate rule baseline: limit old.json" in details


def test_rows_follow_the_metric_the_title_names_and_the_auditor_gets_its_own_line(audit_result: AuditResult) -> None:
    best = max(audit_result.attacks, key=lambda a: a.metrics.auc)
    auditor = dataclasses.replace(best, id="supervised", family="supervised", title="Auditor's supervised attack")
    result = dataclasses.replace(audit_result, attacks=(*audit_result.attacks, auditor))
    out = _render(result, width=140)
    table = out.split("Auditor only")[0]
    assert "by TPR at 1% FPR" in table.splitlines()[0]
    rows = [line for line in table.splitlines() if line.strip().startswith("threshold.")]
    tprs = [float(line.split("%")[0].split()[-1]) for line in rows]
    assert tprs == sorted(tprs, reverse=True)
    assert "supervised" not in table  # not a row among the attacks a real attacker could run
    assert "Auditor only, not a real attacker" in out and "supervised AUC" in out


def test_page_one_advice_is_printed_and_never_reassures_an_inconclusive_verdict(audit_result: AuditResult) -> None:
    from mia_audit.report.templates import what_to_do

    out = _render(audit_result, width=140)
    assert "What to do: " + what_to_do(audit_result)[:40] in out
    risk = Risk(
        level="inconclusive", strongest_attack=None, reasons=(), at_least="medium", settle="about 2,000 records"
    )
    unsure = dataclasses.replace(audit_result, risk=risk)
    advice = what_to_do(unsure)
    assert "at least medium" in advice and "about 2,000 records" in advice and "little" not in advice.split("Do not")[0]
    low = dataclasses.replace(audit_result, risk=Risk(level="low", strongest_attack=None, reasons=()))
    assert "little membership leakage" in what_to_do(low) and "not a guarantee" in what_to_do(low)


def test_console_names_each_measured_defence_with_its_level_and_the_best_trade_off(
    audit_result: AuditResult, make_result: Callable[..., AuditResult]
) -> None:
    text = " ".join(_render(audit_result, width=400).split())
    line = "Defences measured (residual risk; members the best attack finds at 1% FPR): "
    assert line + "top-1 MEDIUM (3.1%); label only LOW (0.0%)" in text
    assert "Measured on this model: release the predicted label only lowers the risk level to LOW" in text
    assert "Defences measured" not in _render(make_result(defences=()), width=400)
