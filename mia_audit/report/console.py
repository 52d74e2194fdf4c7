"""The terminal: progress while the audit runs, then the summary (attacks by strength, the risk
level with its reasons, the gate verdict) and, with ``--verbose``, the details behind it.

Colour is decoration only: every state is also spelled out, so the summary reads the same on a
console without colour (CI logs, pipes). Nothing here forces a terminal: rich writes no escape
codes when the output is not one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from mia_audit.report.templates import (
    attacks_by_strength,
    ci,
    dur,
    eps,
    epsilon_reading,
    headline_sentence,
    num,
    short_defence,
    tpr,
    what_to_do,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, Task
    from rich.text import Text

    from mia_audit.result import AuditResult, BaselineComparison, MetricComparison

Step = Callable[[str], AbstractContextManager[None]]

LEVEL_STYLES = {
    "low": "bold green",
    "medium": "bold yellow",
    "high": "bold dark_orange",
    "critical": "bold white on red",
    "inconclusive": "bold magenta",
}


def print_summary(result: AuditResult, console: Console) -> None:
    """Print the summary of ``result`` on ``console``."""
    from rich.text import Text

    _print_attacks(result, console)
    for skipped in result.skipped:
        console.print(Text(f"skipped {skipped.id}: {skipped.reason}", style="dim"))

    for warning in result.warnings:
        console.print(Text.assemble(("warning: ", "bold yellow"), warning), soft_wrap=True)
    level = result.risk.level
    line = Text("Risk level: ")
    line.append(level.upper(), style=LEVEL_STYLES.get(level, "bold"))
    if result.risk.reasons:
        line.append(" — " + "; ".join(result.risk.reasons))
    console.print(line)
    if result.risk.settle:
        console.print(Text(f"To settle it: {result.risk.settle}."), soft_wrap=True)
    if result.epsilon is not None:
        e = result.epsilon
        chosen = " / ".join(dict.fromkeys(h.attack_id for h in e.halves))
        text = f"ε lower bound (split-half, {e.level:.0%}): {eps(e.epsilon)} — by {chosen}"
        console.print(Text(text), soft_wrap=True)
        console.print(Text(epsilon_reading(result), style="dim"), soft_wrap=True)
    if result.vulnerability is not None:
        flags = result.vulnerability.flag_summary()
        if flags:
            console.print(Text(flags + " (per-class and per-group section of the report)"))

    if result.defences:
        console.print(Text(defences_line(result)), soft_wrap=True)
    if result.attacks:
        console.print(Text("What to do: " + what_to_do(result)), soft_wrap=True)
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
    if result.baseline is not None:
        console.print(Text(baseline_line(result.baseline)), soft_wrap=True)
    console.print(verdict)


def defences_line(result: AuditResult) -> str:
    """Each measured defence's residual level and the members its best attack still finds, on one line."""
    parts = []
    for d in result.defences:
        best = d.best
        found = tpr(best.tpr_at_fpr.get("0.01")) if best is not None else "—"
        parts.append(f"{short_defence(d.id)} {d.risk_level.upper()} ({found})")
    return "Defences measured (residual risk; members the best attack finds at 1% FPR): " + "; ".join(parts)


def _print_attacks(result: AuditResult, console: Console) -> None:
    """The table of the attacks a real attacker could run, the auditor-only ones each on a line, the headline."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from mia_audit.attacks.registry import auditor_only_ids

    strongest = result.risk.strongest_attack
    ranked = attacks_by_strength(result)
    only_auditor = auditor_only_ids()  # they use the evaluation membership; kept in the table if --risk-from chose one
    realistic = [r for r in ranked if r.id not in only_auditor or r.id == strongest]
    auditor = [r for r in ranked if r not in realistic]
    if result.attacks:
        table = Table(
            title="Membership-inference attacks, by TPR at 1% FPR (the risk level's measure), then AUC",
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
        for report in realistic:
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
        for report in auditor:
            m = report.metrics
            said = (
                f"Auditor only, not a real attacker (it knows the membership of other records): {report.id} "
                f"AUC {num(m.auc)} {ci(m.auc_ci)}, TPR@1%FPR {tpr(m.tpr_at_fpr.get('0.01'))}; "
                "it bounds what the outputs reveal and does not set the risk level."
            )
            console.print(Text(said, style="dim"), soft_wrap=True)
        if strongest is not None:
            console.print(Text(f"* strongest attack. {headline_sentence(result)}"))
    else:
        console.print("No attack ran.")


def verdict_line(result: AuditResult) -> str:
    """The one line ``--quiet`` prints: the risk level and, when a gate is set, its verdict."""
    gate = result.gate
    verdict = "" if not gate.configured else (" — gate passed" if gate.passed else " — gate FAILED")
    return f"risk: {result.risk.level}{verdict}"


def baseline_line(comparison: BaselineComparison) -> str:
    """One line on how the strongest attack compares with the baseline report."""
    head = f"Baseline {comparison.path}: "
    if comparison.current_attack is None or comparison.baseline_attack is None:
        return head + "nothing to compare (no attack ran in one of the two audits)"
    pair = comparison.current_attack
    if comparison.baseline_attack != comparison.current_attack:
        pair += f" vs {comparison.baseline_attack}"
    parts = "; ".join(_metric_text(m) for m in comparison.metrics)
    return head + f"{pair}: {parts} — {'WORSE' if comparison.worse else 'not worse'}"


def _metric_text(m: MetricComparison) -> str:
    name = "AUC" if m.metric == "auc" else "TPR@1%FPR"
    return f"{name} {num(m.current)} {ci(m.current_ci)} now vs {num(m.baseline)} {ci(m.baseline_ci)} ({m.status})"


def print_details(result: AuditResult, console: Console) -> None:
    """The ``--verbose`` part: where the settings came from, each attack's assumptions and notes,
    every gate rule with its numbers, and the run's notes."""
    from rich.text import Text

    source = result.run.config.get("config_source")
    if isinstance(source, dict):
        settings = source.get("settings", {})
        given = ", ".join(f"{k} from {v}" for k, v in settings.items() if v != "default") or "all defaults"
        console.print(Text(f"Settings: {given}; config file: {source.get('file') or 'none'}"), soft_wrap=True)
    console.print(Text(f"Seed {result.run.seed}; population: {result.data.population_source}"), soft_wrap=True)
    for report in attacks_by_strength(result):
        console.print(Text(f"{report.id} — {report.title}", style="bold"))
        lines = [f"assumes: {'; '.join(report.assumptions) or 'nothing stated'}"]
        if report.threshold_rule:
            lines.append(f"threshold: {report.threshold_rule}")
        lines.append(f"queries: {report.queries}; time: {dur(report.duration_s)}")
        lines.extend(f"note: {note}" for note in report.notes)
        for line in lines:
            console.print(Text("  " + line), soft_wrap=True)
    for rule in result.gate.rules:
        state = "passed" if rule.passed else "FAILED"
        observed = "n/r" if rule.observed is None else num(rule.observed, 4)
        line = f"Gate rule {rule.name}: limit {num(rule.limit, 4)}, observed {observed} — {state}"
        console.print(Text(line), soft_wrap=True)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@contextlib.contextmanager
def progress(console: Console, *, quiet: bool = False) -> Iterator[Step]:
    """A ``step(description)`` context manager for the audit, shown while it runs.

    On a terminal: a live rich progress list, one line per step with a spinner and its elapsed
    time, and a bar while the step trains models or sends noisy neighbours to the target
    (``mia_audit.progress``). Elsewhere (CI logs, pipes): one plain ``✓ step (1.2 s)`` line as each
    step ends. ``quiet`` shows nothing.
    """
    if quiet:
        yield _silent
    elif not console.is_terminal:
        yield _plain(console)
    else:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        live = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            _elapsed_column(),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[doing]}", style="dim"),
            console=console,
        )
        with live:
            yield _live(live)


@contextlib.contextmanager
def _silent(_: str) -> Iterator[None]:
    yield


def _plain(console: Console) -> Step:
    @contextlib.contextmanager
    def step(description: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        console.print(f"✓ {description} ({dur(time.perf_counter() - start)})", highlight=False, markup=False)

    return step


def _live(live: Progress) -> Step:
    @contextlib.contextmanager
    def step(description: str) -> Iterator[None]:
        from mia_audit.progress import reporting

        task = live.add_task(description, total=None, doing="")

        def report(what: str, done: int, total: int) -> None:
            live.update(task, total=total, completed=done, doing=what)

        try:
            with reporting(report):
                yield
        except BaseException:
            live.update(task, description=f"{description} [red](failed)[/]")
            live.stop_task(task)
            raise
        live.update(task, total=1, completed=1, doing="")

    return step


def _elapsed_column() -> ProgressColumn:
    from rich.progress import ProgressColumn

    class Elapsed(ProgressColumn):
        """Seconds the step has taken so far, frozen when it ends."""

        def render(self, task: Task) -> Text:
            from rich.text import Text

            seconds = task.finished_time if task.finished else task.elapsed
            return Text(f"({dur(seconds or 0.0)})", style="dim")

    return Elapsed()
