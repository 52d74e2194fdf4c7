"""Mitigations follow the findings: gap, model family, output kind, risk level and ε."""

from __future__ import annotations

from factories import attack_report

from mia_audit.judge.mitigations import CONSIDER, NOT_INDICATED, RECOMMENDED, recommend
from mia_audit.result import EpsilonEstimate, Utility


def _utility(gap: float) -> Utility:
    return Utility(0.8 + gap, 0.8, gap, 0.2, 0.5, 100, 100)


def _by_id(items: tuple) -> dict:  # type: ignore[type-arg]
    return {m.id: m for m in items}


def test_large_gap_recommends_regularisation_with_the_numbers() -> None:
    out = _by_id(recommend("high", _utility(0.15), "probabilities", "mlp", None, ()))
    reg = out["regularisation"]
    assert reg.priority == RECOMMENDED and "gap +15.0%" in reg.finding and "dropout" in reg.action
    assert out["model_stacking"].priority == NOT_INDICATED  # dropout applies to networks
    assert out["output_hardening"].priority == RECOMMENDED
    assert out["differential_privacy"].priority == RECOMMENDED


def test_trees_get_stacking_and_tree_regularisation() -> None:
    out = _by_id(recommend("medium", _utility(0.01), "probabilities", "forest", None, ()))
    assert out["model_stacking"].priority == CONSIDER
    assert "tree depth" in out["regularisation"].action
    assert out["regularisation"].priority == CONSIDER  # small gap, but leakage measured


def test_low_risk_and_label_only_model() -> None:
    label_attack = attack_report("label_only.gap", auc=0.61)
    out = _by_id(recommend("low", _utility(0.0), "labels", "linear", None, (label_attack,)))
    assert out["regularisation"].priority == NOT_INDICATED
    assert out["output_hardening"].priority == NOT_INDICATED
    assert "label_only.gap reached AUC 0.610" in out["output_hardening"].caveat
    assert out["differential_privacy"].priority == CONSIDER


def test_epsilon_is_quoted() -> None:
    eps = EpsilonEstimate(epsilon=2.5, level=0.95, halves=(), candidates=("a",))
    out = _by_id(recommend("high", _utility(0.1), "probabilities", "mlp", eps, ()))
    assert "2.50" in out["differential_privacy"].finding


def test_stacking_and_regularisation_agree_on_dropout_for_every_family() -> None:
    """Neither advice contradicts the other: dropout is offered exactly where the stacking note says it applies."""
    for family, applies in (("mlp", "applies instead"), ("forest", "does not apply"), ("unknown", "if it is a neural")):
        out = _by_id(recommend("high", _utility(0.15), "probabilities", family, None, ()))
        note, action = out["model_stacking"].finding, out["regularisation"].action
        assert applies in note, family
        if "does not apply" in note:
            assert "dropout" not in action, family
        else:
            assert "dropout" in action, family
