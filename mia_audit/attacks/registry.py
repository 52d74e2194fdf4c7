"""Which attacks exist, what each needs, and which ones a run selects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from mia_audit.attacks.base import AttackContext, AttackResult
from mia_audit.attacks.boundary import run_boundary_attack
from mia_audit.attacks.label_only import run_gap_attack
from mia_audit.attacks.supervised import run_supervised
from mia_audit.attacks.threshold import THRESHOLD_SIGNALS, run_threshold_attack
from mia_audit.errors import ConfigError
from mia_audit.models.base import OutputKind
from mia_audit.result import SkippedAttack


@dataclass(frozen=True)
class AttackSpec:
    id: str
    family: str
    needs_probabilities: bool
    needs_population: bool
    run: Callable[[AttackContext], AttackResult]
    # Auditor-only attacks also get the evaluation records' membership (cross-fitted inside).
    # Auditor-only attacks: also get the membership truth and the results of the attacks run before.
    run_with_truth: Callable[[AttackContext, np.ndarray, Sequence[AttackResult]], AttackResult] | None = None


def _unused(ctx: AttackContext) -> AttackResult:
    raise TypeError("this attack needs the ground truth: call run_with_truth")


def _lazy(module: str, name: str) -> Callable[[AttackContext], AttackResult]:
    """Import an attack that needs torch only when it runs, so the CLI starts fast."""

    def run(ctx: AttackContext) -> AttackResult:
        import importlib

        return getattr(importlib.import_module(module), name)(ctx)

    return run


def _shadow_attack(name: str, *args: str) -> Callable[[AttackContext], AttackResult]:
    """Import the shadow machinery (and torch) only when a shadow attack actually runs."""

    def run(ctx: AttackContext) -> AttackResult:
        from mia_audit.attacks import shadow

        runner = getattr(shadow, name)
        return (runner(*args) if args else runner)(ctx)

    return run


REFERENCE_MODULE = "mia_audit.attacks.reference"
CALIBRATED_IDS = ("calibrated.loss", "calibrated.confidence", "calibrated.entropy", "calibrated.modified_entropy")

ATTACKS: tuple[AttackSpec, ...] = (
    *(AttackSpec(s.attack_id, "threshold", True, True, partial(run_threshold_attack, s)) for s in THRESHOLD_SIGNALS),
    AttackSpec("shadow.shokri", "shadow", True, True, _shadow_attack("run_shokri")),
    AttackSpec("shadow.one", "shadow", True, True, _shadow_attack("run_one_shadow")),
    AttackSpec("shadow.combined", "shadow", True, True, _shadow_attack("run_combined")),
    *(AttackSpec(i, "shadow", True, True, _shadow_attack("make_calibrated_attack", i)) for i in CALIBRATED_IDS),
    AttackSpec("shadow.risk_score", "shadow", True, True, _shadow_attack("run_risk_score")),
    AttackSpec("lira.offline", "reference", True, True, _lazy(REFERENCE_MODULE, "run_lira_offline")),
    AttackSpec("lira.online", "reference", True, True, _lazy(REFERENCE_MODULE, "run_lira_online")),
    AttackSpec("rmia", "reference", True, True, _lazy(REFERENCE_MODULE, "run_rmia")),
    AttackSpec("transfer", "transfer", True, False, _lazy("mia_audit.attacks.transfer", "run_transfer_attack")),
    AttackSpec("label_only.gap", "label_only", False, False, run_gap_attack),
    AttackSpec("label_only.boundary", "label_only", False, False, run_boundary_attack),
    AttackSpec("supervised", "supervised", True, False, _unused, run_with_truth=run_supervised),
)


def attack_ids() -> tuple[str, ...]:
    return tuple(spec.id for spec in ATTACKS)


def _selects(name: str, spec: AttackSpec) -> bool:
    """A name selects an attack by family, by id, or by a dotted prefix of its id ('calibrated')."""
    return name in (spec.family, spec.id) or spec.id.startswith(name + ".")


def resolve_selection(requested: tuple[str, ...] | None) -> tuple[AttackSpec, ...]:
    """Turn ``--attacks`` (ids, id prefixes or family names) into attack specs, in registry order."""
    if not requested:
        return ATTACKS
    unknown = [r for r in requested if not any(_selects(r, spec) for spec in ATTACKS)]
    if unknown:
        families = sorted({spec.family for spec in ATTACKS})
        raise ConfigError(
            f"unknown attack {', '.join(repr(u) for u in unknown)}; choose ids or families from: "
            f"{', '.join(families)}, {', '.join(attack_ids())}."
        )
    return tuple(s for s in ATTACKS if any(_selects(r, s) for r in requested))


def plan_attacks(
    requested: tuple[str, ...] | None, output_kind: OutputKind, n_population: int
) -> tuple[tuple[AttackSpec, ...], tuple[SkippedAttack, ...]]:
    """Split the selected attacks into those that can run on these inputs and those skipped (with why)."""
    runnable: list[AttackSpec] = []
    skipped: list[SkippedAttack] = []
    for spec in resolve_selection(requested):
        if spec.needs_probabilities and output_kind is OutputKind.LABELS:
            skipped.append(
                SkippedAttack(spec.id, "the model returns only labels; this attack needs output probabilities")
            )
        elif spec.needs_population and n_population == 0:
            skipped.append(SkippedAttack(spec.id, "no population records for the attacker"))
        else:
            runnable.append(spec)
    return tuple(runnable), tuple(skipped)
