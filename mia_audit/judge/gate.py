"""The CI gate: from a result and configured limits to pass or fail, rule by rule.

Every configured rule becomes one ``GateRule`` (the JUnit report shows one test case per rule);
the gate passes when all of them hold. Limits apply to the attacks counted for the risk level,
so auditor-only attacks stay out unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mia_audit.errors import ConfigError, invalid_option
from mia_audit.result import (
    FPR_LEVELS,
    INCONCLUSIVE,
    RISK_LEVELS,
    AttackReport,
    BaselineComparison,
    EpsilonEstimate,
    GateResult,
    GateRule,
    MetricComparison,
    Risk,
)


@dataclass(frozen=True)
class GateConfig:
    fail_on: str | None = None
    max_auc: float | None = None
    max_tpr_at_fpr: dict[str, float] = field(default_factory=dict)
    max_epsilon: float | None = None
    # Judge an inconclusive verdict by the level it shows at least, instead of failing the gate.
    allow_inconclusive: bool = False

    def __post_init__(self) -> None:
        if self.fail_on is not None and self.fail_on not in RISK_LEVELS:
            raise invalid_option("fail_on", f"must be one of {', '.join(RISK_LEVELS)}", self.fail_on)
        if self.max_auc is not None and not 0.0 <= self.max_auc <= 1.0:
            raise invalid_option("max_auc", "must lie between 0 and 1", self.max_auc)
        for fpr, limit in self.max_tpr_at_fpr.items():
            if fpr not in FPR_LEVELS:
                raise ConfigError(f"max_tpr_at_fpr key '{fpr}' is not one of {', '.join(FPR_LEVELS)}.")
            if not 0.0 <= limit <= 1.0:
                raise ConfigError(f"max_tpr_at_fpr['{fpr}'] must lie between 0 and 1, got {limit}.")
        if self.max_epsilon is not None and self.max_epsilon < 0.0:
            raise invalid_option("max_epsilon", "must not be negative", self.max_epsilon)

    @property
    def configured(self) -> bool:
        return (
            self.fail_on is not None
            or self.max_auc is not None
            or bool(self.max_tpr_at_fpr)
            or self.max_epsilon is not None
        )


def evaluate_gate(
    config: GateConfig,
    risk: Risk,
    attacks: Sequence[AttackReport],
    baseline: BaselineComparison | None = None,
    epsilon: EpsilonEstimate | None = None,
) -> GateResult:
    """Check every configured rule against the attacks counted for risk; all must hold to pass.

    ``max_epsilon`` applies to every attack's own ε bound and to the audit's split-half bound.
    """
    rules: list[GateRule] = []
    if config.fail_on is not None:
        rules.append(_fail_on_rule(config.fail_on, risk))
    if config.max_auc is not None:
        rules.append(_max_auc_rule(config.max_auc, attacks))
    for fpr, limit in sorted(config.max_tpr_at_fpr.items(), key=lambda kv: -float(kv[0])):
        rules.append(_max_tpr_rule(fpr, limit, attacks))
    if config.max_epsilon is not None:
        rules.append(_max_epsilon_rule(config.max_epsilon, attacks, epsilon))
    if baseline is not None:
        rules.append(baseline_rule(baseline))
    inconclusive = risk.level == INCONCLUSIVE
    if not rules:
        return GateResult(False, True, ("no gate configured",), inconclusive=inconclusive)
    if inconclusive:
        rules.append(_conclusive_rule(risk, config.allow_inconclusive))
    failed = [r for r in rules if not r.passed]
    reasons = tuple(line for r in (failed or rules) for line in r.reasons)
    return GateResult(True, not failed, reasons, tuple(rules), inconclusive)


def _conclusive_rule(risk: Risk, allowed: bool) -> GateRule:
    """An inconclusive verdict fails a configured gate: it cannot exclude a worse level."""
    if allowed:
        line = f"the verdict is inconclusive (at least {risk.at_least}); allowed by --allow-inconclusive"
    else:
        line = (
            f"the verdict is inconclusive: the evidence shows at least {risk.at_least} but cannot exclude a higher "
            f"level; settle it with {risk.settle or 'more records'}, or pass --allow-inconclusive"
        )
    limit = "allowed" if allowed else "required"
    return GateRule("conclusive", limit, allowed, risk.level, risk.strongest_attack, (line,))


def _worst(values: Sequence[tuple[AttackReport, float]]) -> tuple[float | None, str | None]:
    if not values:
        return None, None
    report, value = max(values, key=lambda pair: pair[1])
    return value, report.id


def _fail_on_rule(fail_on: str, risk: Risk) -> GateRule:
    """Judged on the level the evidence shows at least; an inconclusive verdict is its own rule."""
    level = risk.at_least if risk.level == INCONCLUSIVE else risk.level
    bad = RISK_LEVELS.index(level) >= RISK_LEVELS.index(fail_on)
    shown = f"{risk.level} (at least {level})" if level != risk.level else level
    line = f"risk level {shown} {'reaches' if bad else 'is below'} --fail-on {fail_on}"
    return GateRule("fail_on", fail_on, not bad, risk.level, risk.strongest_attack, (line,))


def _max_auc_rule(limit: float, attacks: Sequence[AttackReport]) -> GateRule:
    values = [(a, a.metrics.auc) for a in attacks]
    over = [(a, v) for a, v in values if v > limit]
    worst, attack = _worst(values)
    if over:
        reasons = tuple(f"{a.id}: AUC {v:.3f} > max {limit:.3f}" for a, v in over)
    else:
        reasons = (f"every attack's AUC ≤ {limit:.3f}",)
    return GateRule("max_auc", limit, not over, worst, attack, reasons)


def _max_tpr_rule(fpr: str, limit: float, attacks: Sequence[AttackReport]) -> GateRule:
    values = [(a, t) for a in attacks if (t := a.metrics.tpr_at_fpr.get(fpr)) is not None]
    over = [(a, v) for a, v in values if v > limit]
    worst, attack = _worst(values)
    if over:
        reasons = tuple(f"{a.id}: TPR {v:.3f} at FPR {fpr} > max {limit:.3f}" for a, v in over)
    elif values:
        reasons = (f"every attack's TPR at FPR {fpr} ≤ {limit:.3f}",)
    else:
        reasons = (f"TPR at FPR {fpr} is not resolvable with this many non-members; nothing exceeds {limit:.3f}",)
    return GateRule(f"max_tpr_at_fpr.{fpr}", limit, not over, worst, attack, reasons)


def _max_epsilon_rule(limit: float, attacks: Sequence[AttackReport], epsilon: EpsilonEstimate | None) -> GateRule:
    values = [(a.id, e) for a in attacks if (e := a.metrics.epsilon_lower_bound) is not None]
    if epsilon is not None:
        values.append(("split-half bound", epsilon.epsilon))
    over = [(name, v) for name, v in values if v > limit]
    worst, attack = max(values, key=lambda pair: pair[1])[::-1] if values else (None, None)
    if over:
        reasons = tuple(f"{name}: ε lower bound {v:.2f} > max {limit:.2f}" for name, v in over)
    else:
        reasons = (f"every ε lower bound (per attack and split-half) ≤ {limit:.2f}",)
    return GateRule("max_epsilon", limit, not over, worst, attack, reasons)


def baseline_rule(comparison: BaselineComparison) -> GateRule:
    """Fails when the compared attack's AUC or TPR interval lies wholly above the baseline's."""
    where = f"baseline {comparison.path}"
    if comparison.current_attack is None or comparison.baseline_attack is None:
        empty = "this audit" if comparison.current_attack is None else "the baseline"
        line = f"nothing to compare with {where}: no attack ran in {empty}"
        return GateRule("baseline", comparison.path, True, None, comparison.current_attack, (line,))
    pair = comparison.current_attack
    if comparison.baseline_attack != comparison.current_attack:
        pair = f"{comparison.current_attack} (vs {comparison.baseline_attack})"
    worse = [m for m in comparison.metrics if m.status == "worse"]
    if worse:
        reasons = tuple(f"{pair} got worse than {where}: {_metric_change(m)}" for m in worse)
    else:
        detail = "; ".join(_metric_change(m) for m in comparison.metrics) or "no comparable metric"
        reasons = (f"{pair} is not worse than {where} beyond the intervals: {detail}",)
    observed = comparison.metrics[0].current if comparison.metrics else None
    return GateRule("baseline", comparison.path, not worse, observed, comparison.current_attack, reasons)


def _metric_change(m: MetricComparison) -> str:
    name = "AUC" if m.metric == "auc" else f"TPR at FPR {m.metric.rsplit('.', 1)[-1]}"
    return f"{name} {_value(m.current, m.current_ci)} now vs {_value(m.baseline, m.baseline_ci)} before ({m.status})"


def _value(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "n/r"
    if ci is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
