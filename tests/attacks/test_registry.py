from __future__ import annotations

import pytest

from mia_audit.attacks.registry import plan_attacks, resolve_selection
from mia_audit.errors import ConfigError
from mia_audit.models.base import OutputKind


def ids(requested: tuple[str, ...]) -> list[str]:
    return [a.info.id for a in resolve_selection(requested)]


def test_selection_by_id_family_and_prefix() -> None:
    assert ids(("threshold.loss",)) == ["threshold.loss"]
    assert ids(("threshold",)) == [
        "threshold.loss",
        "threshold.confidence",
        "threshold.entropy",
        "threshold.modified_entropy",
    ]
    assert ids(("calibrated",)) == [
        "calibrated.loss",
        "calibrated.confidence",
        "calibrated.entropy",
        "calibrated.modified_entropy",
    ]
    # 'threshold.loss' must not select 'threshold.loss_something' by accident, nor 'thresh' anything.
    with pytest.raises(ConfigError, match="unknown attack 'thresh'"):
        resolve_selection(("thresh",))


def test_label_only_targets_skip_probability_attacks_with_a_reason() -> None:
    runnable, skipped = plan_attacks(("threshold", "label_only"), OutputKind.LABELS, 100)
    assert [a.info.id for a in runnable] == [s for s in ids(("label_only",))]
    assert all("only labels" in s.reason for s in skipped) and len(skipped) == 4


def test_attacks_needing_a_population_are_skipped_without_one() -> None:
    runnable, skipped = plan_attacks(("threshold.loss", "label_only.gap"), OutputKind.PROBABILITIES, 0)
    assert [a.info.id for a in runnable] == ["label_only.gap"]
    assert skipped[0].id == "threshold.loss" and "population" in skipped[0].reason


def test_all_selects_every_attack() -> None:
    assert ids(("all",)) == ids(()) and len(ids(("all",))) >= 19
