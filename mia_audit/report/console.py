"""The terminal summary: attacks by strength, the risk level with its reasons, the gate verdict.

Colour is decoration only: every state is also spelled out, so the summary reads the same on a
console without colour (CI logs, pipes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mia_audit.report.templates import (
    attacks_by_strength,
    ci,
    eps,
    headline_sentence,
    num,
    tpr,
)

if TYPE_CHECKING:
    from rich.console import Console

    from mia_audit.result import AuditResult

LEVEL_STYLES = {
    "low": "bold green",
    "medium": "bold yellow",
    "high": "bold dark_orange",
    "critical": "bold white on red",
}


def print_summary(result: AuditResult, console: Console) -> None:
    """Print the summary of ``result`` on ``console``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    strongest = result.risk.strongest_attack
    if result.attacks:
        table = Table(
            title="Membership-inference attacks (strongest first)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            header_style="bold",
            pad_edge=False,
            collapse_padding=True,
        )
        # On a narrow console the CI wraps and ids fold; nothing is cut off with an ellipsis.
        table.add_column("Attack", overflow="fold", min_width=16)
        table.add_column("AUC", justify="right", no_wrap=True)
        table.add_column("95% CI", justify="right", min_width=7)
        table.add_column("TPR@1%FPR", justify="right", no_wrap=True)
        table.add_column("Advantage", justify="right", no_wrap=True)
        table.add_column("ε ≥", justify="right", no_wrap=True)
        for report in attacks_by_strength(result):
            m = report.metrics
            name = Text(report.id, style="bold" if report.id == strongest else "")
            if report.id == strongest:
                name.append(" *", style="bold")
            table.add_row(
                name,
                num(m.auc),
                ci(m.auc_ci),
                tpr(m.tpr_at_fpr.get("0.01")),
                num(m.advantage),
                eps(m.epsilon_lower_bound),
            )
        console.print(table)
        if strongest is not None:
            console.print(Text(f"* strongest attack. {headline_sentence(result)}"))
    else:
        console.print("No attack ran.")
    for skipped in result.skipped:
        console.print(Text(f"skipped {skipped.id}: {skipped.reason}", style="dim"))

    level = result.risk.level
    line = Text("Risk level: ")
    line.append(level.upper(), style=LEVEL_STYLES.get(level, "bold"))
    if result.risk.reasons:
        line.append(" — " + "; ".join(result.risk.reasons))
    console.print(line)

    gate = result.gate
    verdict = Text("Gate: ")
    if not gate.configured:
        verdict.append("not configured", style="dim")
    elif gate.passed:
        verdict.append("PASSED", style="bold green")
    else:
        verdict.append("FAILED", style="bold red")
    if gate.configured and gate.reasons:
        verdict.append(" — " + "; ".join(gate.reasons))
    console.print(verdict)
