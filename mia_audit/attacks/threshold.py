"""Threshold attacks on one output signal (ML-Leaks adversary 3, Yeom et al., Song & Mittal).

The decision threshold comes from the attacker's own population records, which are known
non-members: it is the score that only ``threshold_fpr`` of them exceed, the way ML-Leaks picks
a percentile of the target's outputs on data the attacker owns. Evaluation records never choose it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mia_audit import signals
from mia_audit.attacks.base import AttackContext, AttackResult

MIN_POPULATION = 20


@dataclass(frozen=True)
class ThresholdSignal:
    attack_id: str
    title: str
    signal: str
    score: Callable[[np.ndarray, np.ndarray], np.ndarray]


THRESHOLD_SIGNALS: tuple[ThresholdSignal, ...] = (
    ThresholdSignal(
        "threshold.loss",
        "Loss threshold (Yeom et al. 2018)",
        "cross-entropy loss",
        lambda p, y: -signals.loss(p, y),
    ),
    ThresholdSignal(
        "threshold.confidence",
        "Maximum-posterior threshold (ML-Leaks adversary 3)",
        "maximum posterior",
        lambda p, y: signals.max_confidence(p),
    ),
    ThresholdSignal(
        "threshold.entropy",
        "Prediction-entropy threshold (ML-Leaks adversary 3)",
        "prediction entropy",
        lambda p, y: -signals.entropy(p),
    ),
    ThresholdSignal(
        "threshold.modified_entropy",
        "Modified-entropy threshold (Song & Mittal 2021)",
        "modified entropy",
        lambda p, y: -signals.modified_entropy(p, y),
    ),
)


def population_threshold(population_scores: np.ndarray, fpr: float) -> float | None:
    """The score that a share ``fpr`` of the attacker's non-member records reach or exceed."""
    if len(population_scores) < MIN_POPULATION:
        return None
    return float(np.quantile(population_scores, 1.0 - fpr, method="higher"))


def run_threshold_attack(spec: ThresholdSignal, ctx: AttackContext) -> AttackResult:
    start = time.perf_counter()
    scores = spec.score(ctx.eval_probs, ctx.eval_labels)
    population = spec.score(ctx.population_probs, ctx.population_labels)
    threshold = population_threshold(population, ctx.threshold_fpr)
    n_pop = len(ctx.population_idx)
    if threshold is None:
        rule = f"no threshold: only {n_pop} population records (at least {MIN_POPULATION} needed)"
    else:
        rule = (
            f"member if the score reaches the {1 - ctx.threshold_fpr:.0%} quantile of the attacker's "
            f"{n_pop} population records (expected false-positive rate {ctx.threshold_fpr:.0%})"
        )
    uses_label = spec.attack_id in ("threshold.loss", "threshold.modified_entropy")
    assumptions = (
        "black-box query access to the target's output probabilities",
        "knows the true label of each record" if uses_label else "does not need the true label",
        f"owns {n_pop} records from the target's data distribution that were not used for training",
        "no shadow models, no knowledge of the architecture",
    )
    return AttackResult(
        id=spec.attack_id,
        family="threshold",
        title=spec.title,
        scores=np.asarray(scores, dtype=np.float64),
        threshold=threshold,
        threshold_rule=rule,
        assumptions=assumptions,
        queries=0,
        duration_s=time.perf_counter() - start,
        signal=spec.signal,
    )
