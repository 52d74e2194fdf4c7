from __future__ import annotations

import pytest
from factories import attack_report

from mia_audit.errors import ConfigError
from mia_audit.judge.gate import GateConfig, evaluate_gate
from mia_audit.result import Risk

HIGH = Risk("high", "threshold.loss", ("r",))
ATTACKS = [attack_report(auc=0.8, auc_ci=(0.77, 0.83), tpr=0.06, tpr_ci=(0.04, 0.08), epsilon=1.2)]


def test_no_gate_passes_unconfigured() -> None:
    gate = evaluate_gate(GateConfig(), HIGH, ATTACKS)
    assert not gate.configured and gate.passed


@pytest.mark.parametrize(
    ("config", "passed"),
    [
        (GateConfig(fail_on="high"), False),
        (GateConfig(fail_on="medium"), False),
        (GateConfig(fail_on="critical"), True),
        (GateConfig(max_auc=0.79), False),
        (GateConfig(max_auc=0.8), True),
        (GateConfig(max_tpr_at_fpr={"0.01": 0.05}), False),
        (GateConfig(max_tpr_at_fpr={"0.01": 0.10}), True),
        (GateConfig(max_epsilon=1.0), False),
        (GateConfig(max_epsilon=2.0), True),
        (GateConfig(fail_on="critical", max_auc=0.7), False),
    ],
)
def test_rules(config: GateConfig, passed: bool) -> None:
    gate = evaluate_gate(config, HIGH, ATTACKS)
    assert gate.configured and gate.passed is passed and gate.reasons


def test_failure_reason_names_attack_and_limit() -> None:
    gate = evaluate_gate(GateConfig(max_auc=0.7), HIGH, ATTACKS)
    assert gate.reasons == ("threshold.loss: AUC 0.800 > max 0.700",)


@pytest.mark.parametrize(
    "kwargs",
    [{"fail_on": "severe"}, {"max_auc": 1.5}, {"max_tpr_at_fpr": {"0.05": 0.1}}, {"max_tpr_at_fpr": {"0.01": 2.0}}],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        GateConfig(**kwargs)  # type: ignore[arg-type]


def test_one_rule_per_setting_with_the_worst_value() -> None:
    attacks = [*ATTACKS, attack_report("label_only.gap", auc=0.6, tpr=None, tpr_ci=None, epsilon=None)]
    config = GateConfig(fail_on="critical", max_auc=0.7, max_tpr_at_fpr={"0.001": 0.1, "0.01": 0.1}, max_epsilon=2.0)
    gate = evaluate_gate(config, HIGH, attacks)
    assert [r.name for r in gate.rules] == [
        "fail_on",
        "max_auc",
        "max_tpr_at_fpr.0.01",
        "max_tpr_at_fpr.0.001",
        "max_epsilon",
    ]
    by_name = {r.name: r for r in gate.rules}
    assert by_name["fail_on"].observed == "high" and by_name["fail_on"].limit == "critical"
    assert by_name["max_auc"].observed == 0.8 and by_name["max_auc"].attack == "threshold.loss"
    assert not by_name["max_auc"].passed and gate.reasons == ("threshold.loss: AUC 0.800 > max 0.700",)
    assert by_name["max_tpr_at_fpr.0.01"].observed == 0.06 and by_name["max_tpr_at_fpr.0.01"].passed
    unresolved = by_name["max_tpr_at_fpr.0.001"]
    assert unresolved.passed and unresolved.observed is None and "not resolvable" in unresolved.reasons[0]
    assert by_name["max_epsilon"].observed == 1.2 and by_name["max_epsilon"].passed


def test_passing_gate_lists_every_rule_as_reason() -> None:
    gate = evaluate_gate(GateConfig(max_auc=0.9, max_epsilon=2.0), HIGH, ATTACKS)
    assert gate.passed
    assert gate.reasons == ("every attack's AUC ≤ 0.900", "every ε lower bound (per attack and split-half) ≤ 2.00")


def test_negative_max_epsilon_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^max_epsilon must not be negative"):
        GateConfig(max_epsilon=-0.1)


def test_max_epsilon_also_checks_the_split_half_bound() -> None:
    from mia_audit.result import EpsilonEstimate

    split = EpsilonEstimate(epsilon=3.1, level=0.95, halves=(), candidates=("threshold.loss",))
    gate = evaluate_gate(GateConfig(max_epsilon=2.0), HIGH, ATTACKS, epsilon=split)
    assert not gate.passed
    assert gate.reasons == ("split-half bound: ε lower bound 3.10 > max 2.00",)
    assert gate.rules[0].observed == 3.1 and gate.rules[0].attack == "split-half bound"
    assert evaluate_gate(GateConfig(max_epsilon=3.5), HIGH, ATTACKS, epsilon=split).passed


def _inconclusive(at_least: str = "medium") -> Risk:
    return Risk("inconclusive", "threshold.loss", ("inconclusive: …",), (), at_least, "about 900 members")


def test_an_inconclusive_verdict_fails_a_configured_gate() -> None:
    gate = evaluate_gate(GateConfig(fail_on="high"), _inconclusive(), ATTACKS)
    assert gate.configured and not gate.passed and gate.inconclusive
    failed = [r for r in gate.rules if not r.passed]
    assert [r.name for r in failed] == ["conclusive"]  # medium is below high: only the verdict's doubt fails
    assert "--allow-inconclusive" in failed[0].reasons[0] and "about 900 members" in failed[0].reasons[0]


def test_allow_inconclusive_judges_the_level_shown_at_least() -> None:
    allowed = GateConfig(fail_on="high", allow_inconclusive=True)
    assert evaluate_gate(allowed, _inconclusive("medium"), ATTACKS).passed
    assert not evaluate_gate(allowed, _inconclusive("high"), ATTACKS).passed


def test_no_gate_still_reports_an_inconclusive_verdict() -> None:
    gate = evaluate_gate(GateConfig(), _inconclusive(), ATTACKS)
    assert not gate.configured and gate.passed and gate.inconclusive
