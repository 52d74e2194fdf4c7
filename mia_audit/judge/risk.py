"""From attack metrics to a risk level with its reasons. Pure functions, no I/O.

An attack raises the level when its TPR at 1% FPR or its AUC reaches a rule's bound, and only
when it is distinguishable from chance: the AUC interval lies above 0.5, or the TPR interval lies
above the upper Clopper–Pearson bound of the false-positive rate itself (with 400 non-members,
"1% FPR" rests on 4 false positives and could be 2.5%). Noise on a small sample, and the
optimism of picking the best ROC point, cannot raise the level on their own.

A level is only as good as its evidence. The verdict is ``inconclusive`` (with the level it shows at
least) when the strongest attack's AUC or TPR interval reaches the bound of a higher level, when TPR
at 1% FPR cannot be measured on so few non-members, or when no attack could run: a gate set on the
level must not pass on evidence that cannot exclude a worse one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mia_audit.attacks.registry import auditor_only_ids
from mia_audit.judge.metrics import clopper_pearson
from mia_audit.result import INCONCLUSIVE, RISK_LEVELS, AttackReport, Risk, RiskRule

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


def assess_risk(
    attacks: Sequence[AttackReport], include: frozenset[str] = frozenset(), dropped: Sequence[str] = ()
) -> Risk:
    """The level the counted attacks support; ``dropped`` (attacks --max-time left out) keeps it from settling
    below critical: what did not run could have shown more."""
    risk = _assess(attacks, include)
    if not dropped or risk.at_least == "critical":
        return risk
    why = (
        f"inconclusive: --max-time dropped {len(dropped)} attacks ({', '.join(dropped)}); those that ran show "
        f"at least {risk.at_least}, the others could show more"
    )
    settle = "a run without --max-time (or with more time), so that every attack runs"
    if risk.settle:
        settle = f"{settle}; and {risk.settle}"
    return Risk(INCONCLUSIVE, risk.strongest_attack, (why, *risk.reasons), risk.rules, risk.at_least, settle)


def _assess(attacks: Sequence[AttackReport], include: frozenset[str]) -> Risk:
    counted = counted_attacks(attacks, include)
    if not counted:
        nothing = "inconclusive: no attack could run on these inputs, so no leakage was measured"
        return Risk(INCONCLUSIVE, None, (nothing,), RISK_RULES, "low", "inputs the attacks can run on (see skipped)")
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
    question = open_question(strongest, level)
    if question is None:
        return Risk(level, strongest.id, tuple(reasons), RISK_RULES, level)
    why, settle = question
    return Risk(INCONCLUSIVE, strongest.id, (why, *reasons), RISK_RULES, level, settle)


# TPR at 1% FPR needs at least this many non-members to be measured at all (one false positive).
MIN_NONMEMBERS_FOR_TPR = 100


def open_question(report: AttackReport, level: str) -> tuple[str, str] | None:
    """Why the evidence cannot settle ``level`` (a higher level it cannot exclude), and what would settle it."""
    above = [r for r in reversed(RISK_RULES) if RISK_LEVELS.index(r.level) > RISK_LEVELS.index(level)]
    if not above:
        return None
    m = report.metrics
    tpr, tpr_ci = m.tpr_at_fpr.get("0.01"), m.tpr_at_fpr_ci.get("0.01")
    if tpr is None or tpr_ci is None:
        why = (
            f"inconclusive: TPR at 1% FPR cannot be measured on {m.n_nonmembers} non-members, so the evidence "
            f"shows at least {level} but cannot exclude {above[-1].level}"
        )
        return why, f"at least {MIN_NONMEMBERS_FOR_TPR} members and {MIN_NONMEMBERS_FOR_TPR} non-members"
    reached = [r for r in above if m.auc_ci[1] >= r.min_auc or tpr_ci[1] >= r.min_tpr_at_1pct_fpr]
    if not reached:
        return None
    worst = reached[-1]
    why = (
        f"inconclusive: {report.id} shows at least {level}, but its intervals (AUC up to {m.auc_ci[1]:.3f}, "
        f"TPR at 1% FPR up to {tpr_ci[1]:.1%}) reach the bounds of {worst.level} (AUC {worst.min_auc:.2f}, "
        f"TPR {worst.min_tpr_at_1pct_fpr:.0%})"
    )
    return why, _records_to_settle(report, above[0])


def _records_to_settle(report: AttackReport, rule: RiskRule) -> str:
    """How many records would settle the level, if the estimates stayed where they are.

    Interval half-widths shrink as 1/√n. An estimate below ``rule``'s bound is settled when its upper
    bound falls below it; one at or above the bound (not yet distinguishable from chance) when its
    lower bound rises above chance, and the level may then rise.
    """
    m = report.metrics
    n = min(m.n_members, m.n_nonmembers)
    tpr, tpr_ci = m.tpr_at_fpr.get("0.01"), m.tpr_at_fpr_ci.get("0.01")
    # What "distinguishable from chance" means for each (see _significant_auc and _significant_tpr).
    _, fpr_high = clopper_pearson(math.floor(0.01 * m.n_nonmembers + 1e-9), m.n_nonmembers)
    auc_check = (m.auc, m.auc_ci, rule.min_auc, 0.5)
    tpr_check = (tpr, tpr_ci, rule.min_tpr_at_1pct_fpr, fpr_high)
    needed, rises = [], False
    for point, ci, bound, chance in (auc_check, tpr_check):
        if point is None or ci is None or ci[1] < bound:
            continue
        if point < bound:
            needed.append(n * ((ci[1] - point) / (bound - point)) ** 2)
        elif point > chance:
            rises = True
            needed.append(n * ((point - ci[0]) / (point - chance)) ** 2)
    total = max(math.ceil(max(needed, default=n) / 10) * 10, n + 10)
    goal = f"would show whether it reaches {rule.level}" if rises else f"would bring the intervals below {rule.level}"
    return (
        f"about {total} members and {total} non-members (now {m.n_members} and {m.n_nonmembers}), if the "
        f"estimates stay where they are, {goal}"
    )
