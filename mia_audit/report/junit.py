"""``--junit FILE``: the gate as JUnit XML, one test case per gate rule, for CI systems to show.

The layout follows the common JUnit schema that Jenkins, GitLab, GitHub test reporters and
junitparser read: ``<testsuites>`` around one ``<testsuite name="mia-audit gate">`` whose
``<properties>`` carry the audit's headline facts; each ``<testcase>`` (class ``mia-audit.gate``,
name = the rule, e.g. ``max_auc`` or ``max_tpr_at_fpr.0.01``) holds a ``<failure>`` when the rule
is violated and the numbers in ``<system-out>``. Without a configured gate the suite holds one
skipped test case, ``gate``, so the CI view still says why nothing was checked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from mia_audit.result import AuditResult, GateRule

SUITE = "mia-audit gate"
CLASSNAME = "mia-audit.gate"


def render_junit(result: AuditResult) -> str:
    """The JUnit XML document for ``result``'s gate (a string with an XML declaration)."""
    rules = result.gate.rules
    failures = sum(not r.passed for r in rules) if rules else int(not result.gate.passed)
    root = ET.Element("testsuites", name="mia-audit", tests=str(max(len(rules), 1)), failures=str(failures))
    suite = ET.SubElement(
        root,
        "testsuite",
        name=SUITE,
        tests=str(max(len(rules), 1)),
        failures=str(failures),
        errors="0",
        skipped="0" if result.gate.configured else "1",
        time=f"{result.run.duration_s:.3f}",
        timestamp=result.run.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in _suite_properties(result):
        ET.SubElement(properties, "property", name=name, value=value)
    if not rules:  # no gate, or a report read back from a version that kept no rules
        case = ET.SubElement(suite, "testcase", classname=CLASSNAME, name="gate", time="0")
        if not result.gate.configured:
            ET.SubElement(case, "skipped", message="no gate configured")
        elif not result.gate.passed:
            ET.SubElement(case, "failure", message="; ".join(result.gate.reasons), type="GateFailure")
    for rule in rules:
        _testcase(suite, rule, result)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(result: AuditResult, path: Path) -> Path:
    """Write the JUnit XML to ``path`` (UTF-8), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_junit(result), encoding="utf-8")
    return path


def _suite_properties(result: AuditResult) -> list[tuple[str, str]]:
    strongest = result.strongest
    props = [
        ("mia_audit.version", result.tool.version),
        ("model", result.model.path),
        ("model.sha256", result.model.sha256),
        ("seed", str(result.run.seed)),
        ("risk.level", result.risk.level),
        ("risk.strongest_attack", result.risk.strongest_attack or ""),
        ("gate.passed", str(result.gate.passed).lower()),
    ]
    if strongest is not None:
        m = strongest.metrics
        props.append(("strongest.auc", f"{m.auc:.4f}"))
        tpr = m.tpr_at_fpr.get("0.01")
        props.append(("strongest.tpr_at_fpr.0.01", "n/r" if tpr is None else f"{tpr:.4f}"))
    if result.baseline is not None:
        props.append(("baseline", result.baseline.path))
    return props


def _testcase(suite: ET.Element, rule: GateRule, result: AuditResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=CLASSNAME, name=rule.name, time="0")
    if not rule.passed:
        failure = ET.SubElement(case, "failure", message="; ".join(rule.reasons), type="GateFailure")
        failure.text = "\n".join(rule.reasons)
    out = ET.SubElement(case, "system-out")
    out.text = "\n".join(_numbers(rule, result))


def _numbers(rule: GateRule, result: AuditResult) -> list[str]:
    lines = [
        f"rule: {rule.name}",
        f"limit: {_fmt(rule.limit)}",
        f"observed: {_fmt(rule.observed)}" + (f" ({rule.attack})" if rule.attack else ""),
        f"verdict: {'passed' if rule.passed else 'FAILED'}",
        *rule.reasons,
    ]
    if rule.name == "baseline" and result.baseline is not None:
        comparison = result.baseline
        lines.append(
            f"compared: {comparison.current_attack} now vs {comparison.baseline_attack} in the baseline "
            f"({comparison.matched_by}; baseline run {comparison.baseline_started_at})"
        )
        for m in comparison.metrics:
            lines.append(
                f"{m.metric}: {_ci(m.current, m.current_ci)} now, {_ci(m.baseline, m.baseline_ci)} before — {m.status}"
            )
        lines.extend(comparison.notes)
    return lines


def _fmt(value: float | str | None) -> str:
    if value is None:
        return "n/r"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _ci(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "n/r"
    return f"{value:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")
