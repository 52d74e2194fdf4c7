"""What an attack declares, what it returns, and the two shapes of attack.

An attack module holds one or more attacks and a module-level ``ATTACKS`` tuple. Each attack is an
object with ``info`` (its :class:`AttackInfo`: id, family, title, what the attacker is assumed to
know) and a ``run`` method:

* a :class:`RealisticAttack` runs on the :class:`~mia_audit.attacks.context.AttackContext` alone: the
  target's outputs, the records' features and labels, the attacker's own population records and the
  shared attacker-side work. The evaluation records' membership is not in the context, so a
  realistic attack cannot see it;
* an :class:`AuditorAttack` (``info.auditor_only``) is also handed the evaluation membership and
  the results of the attacks that ran before it, in its signature, where a reader sees it.

Both return an :class:`AttackOutput`: scores and how to read them, never a metric. The pipeline adds
the id, family and title from ``info`` and the duration, measures the scores, and judges them.
This module imports nothing heavy, so that listing the attacks is fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.attacks.regression_context import RegressionContext

# What an attacker may be assumed to have; an attack's ``knows`` names a subset (the report's matrix).
KNOWLEDGE = (
    "output probabilities",
    "predicted values",
    "predicted label only",
    "true labels",
    "population records",
    "another dataset",
    "architecture",
    "training-set size",
    "audit records (unlabelled)",
    "membership of other records",
)
# What a model does; an attack declares the tasks it applies to (``AttackInfo.tasks``).
TASKS = ("classification", "regression")
CLASSIFICATION = frozenset({"classification"})


@dataclass(frozen=True)
class AttackInfo:
    """An attack's identity and the knowledge it assumes; known before anything runs."""

    id: str
    family: str
    title: str
    knows: frozenset[str]
    needs_probabilities: bool = True
    needs_population: bool = True
    auditor_only: bool = False
    # The option keys (mia_audit.options) whose values this attack reads from ``ctx.options``.
    options: tuple[str, ...] = ()
    # A regression attack runs on a ``RegressionContext`` (the target's predicted values), others on an
    # ``AttackContext``; one id may name a classification and a regression attack.
    tasks: frozenset[str] = CLASSIFICATION

    def __post_init__(self) -> None:
        unknown = self.knows - set(KNOWLEDGE)
        if unknown:
            raise ValueError(f"{self.id}: unknown knowledge {sorted(unknown)}; use the names in KNOWLEDGE")
        if not self.tasks or not self.tasks <= set(TASKS):
            raise ValueError(f"{self.id}: tasks must be a non-empty subset of {TASKS}, got {sorted(self.tasks)}")


@dataclass(frozen=True)
class AttackOutput:
    """One attack's verdict on the evaluation records (in ``ctx.eval_idx`` order), higher = more likely member.

    ``threshold`` is the attack's own decision rule (score >= threshold means member), chosen without the
    evaluation records' membership; ``threshold_rule`` says how. ``title`` replaces ``info.title`` when the
    run adds a detail (the number of shadow models). ``queries`` counts the target queries it made or read.
    """

    scores: np.ndarray
    threshold: float | None
    threshold_rule: str
    assumptions: tuple[str, ...]
    queries: int
    signal: str | None = None
    notes: tuple[str, ...] = ()
    title: str | None = None
    # Positions (into the evaluation records) of a seeded subsample the attack scored, chosen without
    # their membership; ``scores`` is NaN elsewhere and the metrics are measured on the subsample. None: all.
    evaluated: np.ndarray | None = None


@dataclass(frozen=True)
class AttackResult:
    """An attack's output with its identity and duration, as the judge and the report read it."""

    id: str
    family: str
    title: str
    scores: np.ndarray
    threshold: float | None
    threshold_rule: str
    assumptions: tuple[str, ...]
    queries: int
    duration_s: float
    signal: str | None = None
    notes: tuple[str, ...] = field(default=())
    evaluated: np.ndarray | None = None
    knowledge: tuple[str, ...] = ()  # ``info.knows`` in ``KNOWLEDGE`` order

    @property
    def complete(self) -> bool:
        """Whether every evaluation record was scored (not a subsample)."""
        return self.evaluated is None

    @classmethod
    def of(cls, info: AttackInfo, output: AttackOutput, duration_s: float) -> AttackResult:
        return cls(
            id=info.id,
            family=info.family,
            title=output.title or info.title,
            scores=np.asarray(output.scores, dtype=np.float64),
            threshold=output.threshold,
            threshold_rule=output.threshold_rule,
            assumptions=output.assumptions,
            queries=output.queries,
            duration_s=duration_s,
            signal=output.signal,
            notes=output.notes,
            evaluated=None if output.evaluated is None else np.asarray(output.evaluated, dtype=np.int64),
            knowledge=tuple(k for k in KNOWLEDGE if k in info.knows),
        )


class RealisticAttack(Protocol):
    """An attack a real adversary could run: it never sees the evaluation membership."""

    @property
    def info(self) -> AttackInfo: ...

    def run(self, ctx: AttackContext) -> AttackOutput: ...


class AuditorAttack(Protocol):
    """An attack only the auditor can run: it is handed the evaluation membership (``info.auditor_only``)."""

    @property
    def info(self) -> AttackInfo: ...

    def run(self, ctx: AttackContext, is_member: np.ndarray, earlier: Sequence[AttackResult]) -> AttackOutput: ...


@dataclass(frozen=True)
class FunctionAttack:
    """A realistic attack made of its ``info`` and a function of the context."""

    info: AttackInfo
    function: Callable[[AttackContext], AttackOutput]

    def run(self, ctx: AttackContext) -> AttackOutput:
        return self.function(ctx)


class RegressionAttack(Protocol):
    """A realistic attack on a regressor (``info.tasks`` holds "regression"): it sees a ``RegressionContext``."""

    @property
    def info(self) -> AttackInfo: ...

    def run(self, ctx: RegressionContext) -> AttackOutput: ...


@dataclass(frozen=True)
class RegressionFunctionAttack:
    """A regression attack made of its ``info`` and a function of the regression context."""

    info: AttackInfo
    function: Callable[[RegressionContext], AttackOutput]

    def run(self, ctx: RegressionContext) -> AttackOutput:
        return self.function(ctx)


Attack = RealisticAttack | AuditorAttack | RegressionAttack


def run_attack(
    attack: Attack,
    ctx: AttackContext | RegressionContext,
    is_member: np.ndarray | None = None,
    earlier: Sequence[AttackResult] = (),
) -> AttackResult:
    """Run and time one attack; only an auditor-only attack is handed the evaluation membership."""
    start = time.perf_counter()
    if ctx.task == "regression":
        output = cast(RegressionAttack, attack).run(cast("RegressionContext", ctx))
    elif attack.info.auditor_only:
        if is_member is None:
            raise TypeError(f"{attack.info.id} is auditor-only: pass the evaluation membership")
        output = cast(AuditorAttack, attack).run(cast("AttackContext", ctx), is_member, tuple(earlier))
    else:
        output = cast(RealisticAttack, attack).run(cast("AttackContext", ctx))
    return AttackResult.of(attack.info, output, time.perf_counter() - start)
