from __future__ import annotations

import pytest
from factories import attack_report

from mia_audit.errors import ConfigError
from mia_audit.gate import GateConfig, evaluate_gate
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
