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


def test_auditor_only_attacks_are_left_out_unless_included() -> None:
    reports = [attack_report("threshold.loss", auc=0.52), attack_report("supervised", auc=0.95, auc_ci=(0.93, 0.97))]
    assert assess_risk(reports).level == "low"
    assert assess_risk(reports, frozenset({"supervised"})).level == "critical"


def test_no_attacks_is_low_with_a_reason() -> None:
    risk = assess_risk([])
    assert risk.level == "low" and risk.strongest_attack is None and "no attack" in risk.reasons[0]
