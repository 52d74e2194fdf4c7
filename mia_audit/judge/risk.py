"""From attack metrics to a risk level with its reasons. Pure functions, no I/O.

An attack raises the level when its TPR at 1% FPR or its AUC reaches a rule's bound, and only
when it is distinguishable from chance: the AUC interval lies above 0.5, or the TPR interval lies
above the upper Clopper–Pearson bound of the false-positive rate itself (with 400 non-members,
"1% FPR" rests on 4 false positives and could be 2.5%). Noise on a small sample, and the
optimism of picking the best ROC point, cannot raise the level on their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mia_audit.attacks.registry import auditor_only_ids
from mia_audit.judge.metrics import clopper_pearson
from mia_audit.result import RISK_LEVELS, AttackReport, Risk, RiskRule

RISK_RULES: tuple[RiskRule, ...] = (
    RiskRule(
        "critical",
        0.20,
        0.90,
        "a fifth of the training records can be singled out almost without false accusations",
    ),
    RiskRule("high", 0.05, 0.75, "a confident attacker identifies a clear share of the training records"),
    RiskRule("medium", 0.02, 0.60, "membership is measurably inferable, though mostly not with confidence"),
)


def _significant_auc(report: AttackReport) -> bool:
    return report.metrics.auc_ci[0] > 0.5


def _significant_tpr(report: AttackReport) -> bool:
    ci = report.metrics.tpr_at_fpr_ci.get("0.01")
    if ci is None:
        return False
    n = report.metrics.n_nonmembers
    _, fpr_high = clopper_pearson(math.floor(0.01 * n + 1e-9), n)
    return ci[0] > fpr_high


def attack_level(report: AttackReport) -> tuple[str, str | None]:
    """The level one attack supports, and the reason in words (None for low)."""
    m = report.metrics
    tpr = m.tpr_at_fpr.get("0.01")
    for rule in RISK_RULES:
        if tpr is not None and tpr >= rule.min_tpr_at_1pct_fpr and _significant_tpr(report):
            ci = m.tpr_at_fpr_ci["0.01"]
            assert ci is not None
            return rule.level, (
                f"{report.id}: TPR {tpr:.1%} [{ci[0]:.1%}, {ci[1]:.1%}] at 1% FPR "
                f"≥ {rule.min_tpr_at_1pct_fpr:.0%} ({rule.level}: {rule.rationale})"
            )
        if m.auc >= rule.min_auc and _significant_auc(report):
            return rule.level, (
                f"{report.id}: AUC {m.auc:.3f} [{m.auc_ci[0]:.3f}, {m.auc_ci[1]:.3f}] "
                f"≥ {rule.min_auc:.2f} ({rule.level}: {rule.rationale})"
            )
    return "low", None


def counted_attacks(attacks: Sequence[AttackReport], include: frozenset[str] = frozenset()) -> list[AttackReport]:
    # Attacks that use knowledge no real attacker has stay out of the level unless asked for.
    auditor_only = auditor_only_ids()
    return [a for a in attacks if a.id not in auditor_only or a.id in include]


def _strength(report: AttackReport) -> tuple[int, float, float]:
    level, _ = attack_level(report)
    tpr = report.metrics.tpr_at_fpr.get("0.01")
    return RISK_LEVELS.index(level), report.metrics.auc, tpr if tpr is not None else -1.0


def assess_risk(attacks: Sequence[AttackReport], include: frozenset[str] = frozenset()) -> Risk:
    counted = counted_attacks(attacks, include)
    if not counted:
        return Risk("low", None, ("no attack could run on these inputs, so no leakage was measured",), RISK_RULES)
    strongest = max(counted, key=_strength)
    level, reason = attack_level(strongest)
    m = strongest.metrics
    reasons: list[str] = []
    if reason is not None:
        reasons.append(reason)
        others = sorted({a.id for a in counted if attack_level(a)[0] == level} - {strongest.id})
        if others:
            reasons.append(f"also at {level}: {', '.join(others)}")
    else:
        reasons.append(
            f"strongest attack {strongest.id} reaches AUC {m.auc:.3f} "
            f"[{m.auc_ci[0]:.3f}, {m.auc_ci[1]:.3f}], below every risk rule or not distinguishable from chance"
        )
    reasons.append(
        f"measured on {m.n_members} members and {m.n_nonmembers} non-members; a black-box audit gives "
        "a lower bound on leakage, stronger attacks may do better"
    )
    return Risk(level, strongest.id, tuple(reasons), RISK_RULES)
