"""--junit: one test case per gate rule, failures exactly where the gate failed, readable by parsers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from mia_audit.judge.baseline import Baseline, compare_with_baseline
from mia_audit.judge.gate import GateConfig, evaluate_gate
from mia_audit.report.junit import render_junit, write_junit
from mia_audit.result import AuditResult, GateResult


def _with_gate(result: AuditResult, config: GateConfig, baseline: AuditResult | None = None) -> AuditResult:
    from dataclasses import replace

    comparison = None
    if baseline is not None:
        comparison = compare_with_baseline(
            Baseline("old/report.json", baseline), result.attacks, result.risk.strongest_attack
        )
    return replace(result, gate=evaluate_gate(config, result.risk, result.attacks, comparison), baseline=comparison)


ALL_RULES = GateConfig(fail_on="critical", max_auc=0.7, max_tpr_at_fpr={"0.01": 0.5, "0.001": 0.001}, max_epsilon=9.0)


def _cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    return {case.get("name", ""): case for case in suite.findall("testcase")}


def test_one_testcase_per_rule_with_failures_matching_the_gate(audit_result: AuditResult) -> None:
    result = _with_gate(audit_result, ALL_RULES, baseline=audit_result)
    xml = render_junit(result)
    cases = _cases(xml)
    assert list(cases) == [
        "fail_on",
        "max_auc",
        "max_tpr_at_fpr.0.01",
        "max_tpr_at_fpr.0.001",
        "max_epsilon",
        "baseline",
    ]
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {r.name for r in result.gate.rules if not r.passed} == {"max_auc", "max_tpr_at_fpr.0.001"}
    assert result.gate.passed is False
    suite = ET.fromstring(xml.encode()).find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "6" and suite.get("failures") == "2" and suite.get("errors") == "0"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["risk.level"] == "high" and props["gate.passed"] == "false"
    assert props["baseline"] == "old/report.json"
    auc = cases["max_auc"]
    failure = auc.find("failure")
    assert failure is not None and "threshold.loss: AUC 0.780 > max 0.700" in failure.get("message", "")
    out = auc.findtext("system-out") or ""
    assert "limit: 0.7000" in out and "observed: 0.7796 (threshold.loss)" in out
    assert "within intervals" in (cases["baseline"].findtext("system-out") or "")


def test_passing_gate_has_no_failure(audit_result: AuditResult) -> None:
    result = _with_gate(audit_result, GateConfig(fail_on="critical", max_auc=0.99))
    cases = _cases(render_junit(result))
    assert list(cases) == ["fail_on", "max_auc"]
    assert all(case.find("failure") is None and case.find("skipped") is None for case in cases.values())


def test_no_gate_is_one_skipped_case(make_result: Callable[..., AuditResult]) -> None:
    result = make_result(gate=GateResult(False, True, ("no gate configured",)))
    cases = _cases(render_junit(result))
    assert list(cases) == ["gate"]
    skipped = cases["gate"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no gate configured"


def test_a_failed_gate_without_rules_still_fails(make_result: Callable[..., AuditResult]) -> None:
    result = make_result(gate=GateResult(True, False, ("risk level high reaches --fail-on high",)))
    cases = _cases(render_junit(result))
    assert cases["gate"].find("failure") is not None


def test_junitparser_reads_it(audit_result: AuditResult, tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    result = _with_gate(audit_result, ALL_RULES)
    path = write_junit(result, tmp_path / "ci" / "mia-audit.xml")
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1 and suites[0].name == "mia-audit gate"
    cases = {case.name: case for case in suites[0]}
    assert set(cases) == {r.name for r in result.gate.rules}
    for rule in result.gate.rules:
        assert cases[rule.name].is_passed is rule.passed
        assert cases[rule.name].classname == "mia-audit.gate"
    assert suites[0].failures == sum(not r.passed for r in result.gate.rules)
