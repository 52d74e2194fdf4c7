"""``summary.md``: the verdict for people in a pipeline, in under 40 lines of GitHub-flavoured Markdown.

Written for a GitHub job summary (``$GITHUB_STEP_SUMMARY``) and a merge-request comment: the risk level
and why, the gate, the strongest attacks with their intervals, and what to do. Every number is the
one report.json holds, formatted as the console and the HTML report format it.
"""

from __future__ import annotations

from pathlib import Path

from mia_audit.report.templates import (
    attacks_by_strength,
    ci,
    eps,
    headline_sentence,
    model_name,
    num,
    short_defence,
    tpr,
    what_to_do,
)
from mia_audit.result import AttackReport, AuditResult

TOP_ATTACKS = 5
LEVEL_MARKS = {"low": "🟢", "medium": "🟡", "high": "🟠", "critical": "🔴", "inconclusive": "🟣"}
REPORT_FILES = "`report.html` and `report.pdf`; every number is in `report.json`"


def write_markdown(result: AuditResult, path: Path) -> None:
    path.write_text(render_markdown(result), encoding="utf-8")


def render_markdown(result: AuditResult) -> str:
    lines = [
        f"## {LEVEL_MARKS.get(result.risk.level, '')} mia-audit: {result.risk.level.upper()} membership-inference risk",
        "",
        _scope(result),
        "",
        _risk_line(result),
        "",
        _gate_line(result),
        "",
        f"> {_text(headline_sentence(result))}",
        "",
        *_attack_table(result),
        *_also(result),
        "### What to do",
        "",
        _text(what_to_do(result)) if result.attacks else "Run the audit with at least one attack.",
        "",
        f"<sub>The full report: {REPORT_FILES}.</sub>",
    ]
    return "\n".join(lines) + "\n"


def _scope(result: AuditResult) -> str:
    model, data = result.model, result.data
    profile = result.run.config.get("profile") if result.run.config else None
    parts = [
        f"`{model_name(model.path)}` (sha256 `{model.sha256[:12]}…`)",
        f"{data.eval_members:,} members and {data.eval_nonmembers:,} non-members",
        *([f"profile {profile}"] if profile else []),
        f"seed {result.run.seed}",
        f"{result.tool.name} {result.tool.version}",
    ]
    return ", ".join(parts) + "."


def _risk_line(result: AuditResult) -> str:
    risk = result.risk
    reasons = f" — {_text('; '.join(risk.reasons))}" if risk.reasons else ""
    settle = f" To settle it: {_text(risk.settle)}." if risk.settle else ""
    return f"**Risk level: {risk.level.upper()}**{reasons}{settle}"


def _gate_line(result: AuditResult) -> str:
    gate = result.gate
    if not gate.configured:
        return "**Gate:** not configured (`--fail-on`, `--max-auc`, `--max-tpr-at-fpr`, `--max-epsilon`)."
    verdict = "✅ PASSED" if gate.passed else "❌ FAILED"
    reasons = f" — {_text('; '.join(gate.reasons))}" if gate.reasons else ""
    return f"**Gate: {verdict}**{reasons}"


def _attack_table(result: AuditResult) -> list[str]:
    from mia_audit.attacks.registry import auditor_only_ids

    strongest = result.risk.strongest_attack
    ranked = [r for r in attacks_by_strength(result) if r.id not in auditor_only_ids() or r.id == strongest]
    if not ranked:
        return []
    rows = [_row(report, report.id == strongest) for report in ranked[:TOP_ATTACKS]]
    more = len(ranked) - TOP_ATTACKS
    tail = [f"{more} more attack{'s' if more > 1 else ''} in the report."] if more > 0 else []
    header = ["| Attack | AUC [95% CI] | TPR at 1% FPR [95% CI] | ε ≥ |", "|---|--:|--:|--:|"]
    return [*header, *rows, "", *tail, *([""] if tail else [])]


def _row(report: AttackReport, strongest: bool) -> str:
    m = report.metrics
    name = f"**`{report.id}`** (strongest)" if strongest else f"`{report.id}`"
    low = m.tpr_at_fpr.get("0.01")
    interval = m.tpr_at_fpr_ci.get("0.01")
    tpr_text = tpr(low) + (f" [{tpr(interval[0])}, {tpr(interval[1])}]" if interval else "")
    return f"| {name} | {num(m.auc)} {ci(m.auc_ci)} | {tpr_text} | {eps(m.epsilon_lower_bound)} |"


def _also(result: AuditResult) -> list[str]:
    """One line each, where they apply: skipped attacks, warnings, measured defences, the baseline."""
    lines = []
    if result.skipped:
        lines.append(f"- Skipped: {', '.join(f'`{s.id}`' for s in result.skipped)} (the report says why).")
    if result.warnings:
        lines.append(f"- ⚠️ {len(result.warnings)} warning{'s' if len(result.warnings) > 1 else ''}: "
                     f"{_text(_shorten(result.warnings[0]))}")  # fmt: skip
    if result.defences:
        parts = []
        for d in result.defences:
            best = d.best
            found = tpr(best.tpr_at_fpr.get("0.01")) if best is not None else "—"
            parts.append(f"{short_defence(d.id)} {d.risk_level.upper()} ({found})")
        lines.append(f"- Defences measured (residual risk; members found at 1% FPR): {_text('; '.join(parts))}.")
    if result.baseline is not None:
        b = result.baseline
        lines.append(f"- Against the baseline `{b.path}`: {'**worse**' if b.worse else 'not worse'}.")
    return [*lines, ""] if lines else []


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text(text: str) -> str:
    """Free text as one line of Markdown that renders as written: no HTML, no table cells."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
