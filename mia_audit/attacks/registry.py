"""Which attacks exist, and which of them a run selects.

``MODULES`` lists the attack modules in run order; each exports ``ATTACKS``. Adding an attack is one
module and one line here. Attack modules import only light modules at import time (numpy and the
interface), so listing the attacks does not load pandas, scipy, scikit-learn or torch. The supervised
auditor runs last: it stacks the scores of the attacks before it.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from mia_audit.errors import ConfigError
from mia_audit.result import SkippedAttack

if TYPE_CHECKING:
    from mia_audit.attacks.interface import Attack, AttackInfo
    from mia_audit.models.base import OutputKind

MODULES = (
    "mia_audit.attacks.threshold",
    "mia_audit.attacks.shadow",
    "mia_audit.attacks.reference",
    "mia_audit.attacks.stacked",
    "mia_audit.attacks.transfer",
    "mia_audit.attacks.label_only",
    "mia_audit.attacks.boundary",
    "mia_audit.attacks.supervised",
    "mia_audit.attacks.regression",
)


# The attacks of ``--profile quick`` (for every commit): those that need no shadow or reference training
# beyond a few models, as ids, prefixes or families; a name that does not apply to a task is left out.
QUICK = ("threshold", "calibrated", "lira.online", "rmia", "label_only.gap")
PROFILES = ("quick", "standard", "thorough")
# Attacks that neither train models nor query the target: --max-time never drops them.
CHEAP = ("threshold.loss", "threshold.confidence", "threshold.entropy", "threshold.modified_entropy", "label_only.gap")


@cache
def all_attacks() -> tuple[Attack, ...]:
    """Every registered attack of every task, in run order."""
    attacks: tuple[Attack, ...] = tuple(a for m in MODULES for a in importlib.import_module(m).ATTACKS)
    keys = [(a.info.id, task) for a in attacks for task in a.info.tasks]
    duplicated = sorted({f"{i} ({t})" for i, t in keys if keys.count((i, t)) > 1})
    if duplicated:
        raise RuntimeError(f"attack ids registered twice: {duplicated}")
    return attacks


def attacks_for(task: str) -> tuple[Attack, ...]:
    """The attacks that apply to models of ``task`` (classification or regression), in run order."""
    return tuple(a for a in all_attacks() if task in a.info.tasks)


def infos() -> tuple[AttackInfo, ...]:
    return tuple(a.info for a in all_attacks())


def attack_ids() -> tuple[str, ...]:
    """Every attack id once (an id may name a classification and a regression attack)."""
    return tuple(dict.fromkeys(info.id for info in infos()))


def auditor_only_ids() -> frozenset[str]:
    """Attacks that use knowledge no real attacker has (the evaluation membership)."""
    return frozenset(info.id for info in infos() if info.auditor_only)


def _selects(name: str, info: AttackInfo) -> bool:
    """A name selects an attack by family, by id, or by a dotted prefix of its id ('calibrated')."""
    return name in ("all", info.family, info.id) or info.id.startswith(name + ".")


def resolve_selection(
    requested: tuple[str, ...] | None, task: str = "classification", profile: str = "standard"
) -> tuple[Attack, ...]:
    """Turn ``--attacks`` (ids, id prefixes, family names or ``all``) into attacks of ``task``, in registry order;
    without ``--attacks``, the profile's (every attack, or :data:`QUICK`)."""
    attacks = attacks_for(task)
    if not requested:
        if profile == "quick":
            return tuple(a for a in attacks if any(_selects(name, a.info) for name in QUICK))
        return attacks
    unknown = [r for r in requested if not any(_selects(r, a.info) for a in attacks)]
    if unknown:
        raise ConfigError(_unknown_attacks(unknown, attacks, task))
    return tuple(a for a in attacks if any(_selects(r, a.info) for r in requested))


def _unknown_attacks(unknown: list[str], attacks: tuple[Attack, ...], task: str) -> str:
    names = ", ".join(repr(u) for u in unknown)
    families = sorted({a.info.family for a in attacks})
    ids = ", ".join(dict.fromkeys(a.info.id for a in attacks))
    other = [u for u in unknown if any(_selects(u, a.info) for a in all_attacks())]
    if other:
        return f"attack {names} does not apply to {task} models; for --task {task} choose from: {ids}."
    return f"unknown attack {names}; choose ids or families from: {', '.join(families)}, {ids}."


def plan_attacks(
    requested: tuple[str, ...] | None,
    output_kind: OutputKind,
    n_population: int,
    task: str = "classification",
    profile: str = "standard",
) -> tuple[tuple[Attack, ...], tuple[SkippedAttack, ...]]:
    """Split the selected attacks into those that can run on these inputs and those skipped (with why)."""
    runnable: list[Attack] = []
    skipped: list[SkippedAttack] = []
    for attack in resolve_selection(requested, task, profile):
        info = attack.info
        if info.needs_probabilities and output_kind == "labels":
            reason = "the model returns only labels; this attack needs output probabilities"
            skipped.append(SkippedAttack(info.id, reason))
        elif info.needs_population and n_population == 0:
            skipped.append(SkippedAttack(info.id, "no population records for the attacker"))
        else:
            runnable.append(attack)
    return tuple(runnable), tuple(skipped)
