from __future__ import annotations

from factories import attack_report

from mia_audit.judge.risk import assess_risk, attack_level


def test_levels_follow_the_rules() -> None:
    assert attack_level(attack_report(auc=0.95, auc_ci=(0.93, 0.97)))[0] == "critical"
    assert attack_level(attack_report(tpr=0.25, tpr_ci=(0.21, 0.29)))[0] == "critical"
    assert attack_level(attack_report(auc=0.80, auc_ci=(0.77, 0.83)))[0] == "high"
    assert attack_level(attack_report(tpr=0.06, tpr_ci=(0.04, 0.08)))[0] == "high"
    assert attack_level(attack_report(auc=0.62, auc_ci=(0.58, 0.66)))[0] == "medium"
    assert attack_level(attack_report(auc=0.55, auc_ci=(0.51, 0.59)))[0] == "low"


def test_noise_does_not_raise_the_level() -> None:
    # AUC above the bound but its interval includes chance: a tiny sample, not evidence.
    assert attack_level(attack_report(auc=0.65, auc_ci=(0.45, 0.85), n=20))[0] == "low"
    # TPR at 1% FPR above the bound but its interval reaches down to the FPR itself.
    assert attack_level(attack_report(tpr=0.03, tpr_ci=(0.005, 0.07)))[0] == "low"
    # With 500 non-members, 1% FPR is 5 false positives: the FPR could be as high as 2.33%
    # (Clopper-Pearson upper bound of 5/500), so a TPR interval starting at 2.0% is not evidence.
    assert attack_level(attack_report(tpr=0.04, tpr_ci=(0.020, 0.06)))[0] == "low"
    assert attack_level(attack_report(tpr=0.04, tpr_ci=(0.024, 0.06)))[0] == "medium"


def test_strongest_attack_and_reasons() -> None:
    risk = assess_risk(
        [
            attack_report("threshold.entropy", auc=0.62, auc_ci=(0.58, 0.66)),
            attack_report("threshold.loss", auc=0.81, auc_ci=(0.78, 0.84)),
            attack_report("threshold.confidence", auc=0.77, auc_ci=(0.74, 0.80)),
        ]
    )
    assert risk.level == "high"
    assert risk.strongest_attack == "threshold.loss"
    assert "AUC 0.810" in risk.reasons[0]
    assert "also at high: threshold.confidence" in risk.reasons[1]
    assert "500 members" in risk.reasons[-1]


SETTLED_LOW = {"auc": 0.52, "auc_ci": (0.49, 0.55), "tpr": 0.01, "tpr_ci": (0.004, 0.018), "n": 2000}


def test_auditor_only_attacks_are_left_out_unless_included() -> None:
    reports = [
        attack_report("threshold.loss", **SETTLED_LOW),  # type: ignore[arg-type]
        attack_report("supervised", auc=0.95, auc_ci=(0.93, 0.97)),
    ]
    assert assess_risk(reports).level == "low"
    assert assess_risk(reports, frozenset({"supervised"})).level == "critical"


def test_no_attacks_is_inconclusive_never_low() -> None:
    risk = assess_risk([])
    assert risk.level == "inconclusive" and risk.at_least == "low" and risk.strongest_attack is None
    assert "no attack" in risk.reasons[0]


def test_a_low_level_with_wide_intervals_is_inconclusive() -> None:
    """Five members: AUC [0.23, 1.0] cannot exclude critical."""
    few = attack_report("threshold.loss", auc=0.62, auc_ci=(0.23, 1.0), tpr=0.0, tpr_ci=(0.0, 0.52), n=5)
    risk = assess_risk([few])
    assert (risk.level, risk.at_least) == ("inconclusive", "low")
    assert "cannot exclude critical" not in risk.reasons[0] and "reach the bounds of critical" in risk.reasons[0]
    assert risk.settle is not None and "members" in risk.settle


def test_unmeasurable_tpr_is_inconclusive() -> None:
    small = attack_report("threshold.loss", auc=0.52, auc_ci=(0.49, 0.55), tpr=None, tpr_ci=None, n=60)
    risk = assess_risk([small])
    assert risk.level == "inconclusive" and "cannot be measured on 60 non-members" in risk.reasons[0]
    assert risk.settle == "at least 100 members and 100 non-members"


def test_records_to_settle_follow_the_square_root_law() -> None:
    """AUC 0.70 [0.66, 0.76] is medium but reaches high's 0.75: about 720 records would settle it."""
    medium = attack_report("threshold.loss", auc=0.70, auc_ci=(0.66, 0.76), tpr=0.03, tpr_ci=(0.024, 0.04), n=500)
    risk = assess_risk([medium])
    assert (risk.level, risk.at_least) == ("inconclusive", "medium")
    # upper 0.76 - 0.70 = 0.06 must shrink to under 0.75 - 0.70 = 0.05: n × (0.06 / 0.05)² = 720.
    assert risk.settle is not None and risk.settle.startswith("about 720 members and 720 non-members")


def test_a_settled_level_and_the_top_level_are_conclusive() -> None:
    assert assess_risk([attack_report("a", **SETTLED_LOW)]).level == "low"  # type: ignore[arg-type]
    critical = attack_report("a", auc=0.95, auc_ci=(0.60, 1.0), tpr=0.3, tpr_ci=(0.25, 0.35))
    assert assess_risk([critical]).level == "critical"  # nothing above critical
