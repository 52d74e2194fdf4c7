"""Which measured defence the report names: the lowest definite level, then the least cost; an
inconclusive level never counts as lowered."""

from __future__ import annotations

from dataclasses import replace

from mia_audit.defences.choice import best_trade_off, least_leaky, lowers
from mia_audit.result import DefenceAttack, DefenceResult, DefenceUtility


def _defence(defence_id: str, level: str, accuracy_change: float, log_loss_change: float, tpr: float) -> DefenceResult:
    attack = DefenceAttack("rmia", 0.5 + tpr, (0.45 + tpr, 0.55 + tpr), {"0.01": tpr}, 100, 100)
    return DefenceResult(
        id=defence_id,
        kind="output",
        setting=defence_id,
        utility=DefenceUtility(0.8 + accuracy_change, accuracy_change, 1.0, log_loss_change),
        attacks=(attack,),
        risk_level=level,
        strongest_attack="rmia",
    )


def test_lowers_needs_a_definite_level_below_the_undefended_one() -> None:
    assert lowers(_defence("a", "medium", 0, 0, 0.03), "high")
    assert not lowers(_defence("a", "high", 0, 0, 0.06), "high")
    assert not lowers(_defence("a", "inconclusive", 0, 0, 0.06), "critical")
    assert not lowers(_defence("a", "low", 0, 0, 0.0), "inconclusive")


def test_the_lowest_level_wins_then_the_smallest_accuracy_loss_then_log_loss() -> None:
    cheap_medium = _defence("cheap", "medium", 0.0, 0.1, 0.03)
    costly_low = _defence("costly", "low", -0.05, 2.0, 0.0)
    assert best_trade_off([cheap_medium, costly_low], "critical") is costly_low
    same_level = _defence("same", "low", 0.0, 3.0, 0.0)
    assert best_trade_off([costly_low, same_level], "critical") is same_level  # accuracy before log-loss
    cheaper = replace(same_level, id="cheaper", utility=replace(same_level.utility, log_loss_change=0.5))
    assert best_trade_off([same_level, cheaper], "critical") is cheaper
    assert best_trade_off([_defence("x", "critical", 0, 0, 0.3)], "critical") is None


def test_least_leaky_is_the_fewest_members_found() -> None:
    a, b = _defence("a", "critical", 0, 0, 0.4), _defence("b", "critical", 0, 0, 0.25)
    assert least_leaky([a, b]) is b
    assert least_leaky([]) is None


def test_a_training_defence_is_compared_with_the_undefended_proxy_not_the_model() -> None:
    baseline = replace(_defence("training.baseline", "high", 0, 0, 0.1), kind="training")
    stacking = replace(_defence("training.stacking", "medium", -0.1, -0.4, 0.03), kind="training")
    # The model is critical, the proxy only high: medium lowers the proxy's level, and the baseline never counts.
    assert best_trade_off([baseline, stacking], "critical") is stacking
    still_high = replace(stacking, risk_level="high")
    assert best_trade_off([baseline, still_high], "critical") is None
    assert least_leaky([baseline, still_high]) is still_high
