"""Threshold attacks on one output signal (ML-Leaks adversary 3, Yeom et al., Song & Mittal).

The decision threshold comes from the attacker's own population records, which are known
non-members: it is the score that only ``threshold_fpr`` of them exceed, the way ML-Leaks picks
a percentile of the target's outputs on data the attacker owns. Evaluation records never choose it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import signals
from mia_audit.attacks.interface import AttackInfo, AttackOutput
from mia_audit.attacks.kit import threshold_and_rule

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext

_KNOWS = frozenset({"output probabilities", "population records"})


@dataclass(frozen=True)
class ThresholdAttack:
    """Member if one signal of the output passes the quantile of the same signal on population records."""

    info: AttackInfo
    signal: str
    score: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def run(self, ctx: AttackContext) -> AttackOutput:
        scores = self.score(ctx.eval_probs, ctx.eval_labels)
        population = self.score(ctx.population_probs, ctx.population_labels)
        n_pop = len(ctx.population_idx)
        fpr = ctx.options.threshold_fpr
        threshold, rule = threshold_and_rule(population, fpr, f"the attacker's {n_pop} population records")
        uses_label = "true labels" in self.info.knows
        assumptions = (
            "black-box query access to the target's output probabilities",
            "knows the true label of each record" if uses_label else "does not need the true label",
            f"owns {n_pop} records from the target's data distribution that were not used for training",
            "no shadow models, no knowledge of the architecture",
        )
        return AttackOutput(
            scores=np.asarray(scores, dtype=np.float64),
            threshold=threshold,
            threshold_rule=rule,
            assumptions=assumptions,
            queries=0,
            signal=self.signal,
        )


def _attack(
    attack_id: str, title: str, signal: str, score: Callable[[np.ndarray, np.ndarray], np.ndarray], *, label: bool
) -> ThresholdAttack:
    knows = _KNOWS | {"true labels"} if label else _KNOWS
    info = AttackInfo(attack_id, "threshold", title, frozenset(knows), options=("threshold_fpr",))
    return ThresholdAttack(info, signal, score)


def _oriented(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return partial(signals.membership_score, name)


# id, title, what the signal is, its name in signals.SIGNALS, whether it reads the true label
_SIGNALS = (
    ("threshold.loss", "Loss threshold (Yeom et al. 2018)", "cross-entropy loss", "loss", True),
    (
        "threshold.confidence",
        "Maximum-posterior threshold (ML-Leaks adversary 3)",
        "maximum posterior",
        "max_confidence",
        False,
    ),
    (
        "threshold.entropy",
        "Prediction-entropy threshold (ML-Leaks adversary 3)",
        "prediction entropy",
        "entropy",
        False,
    ),
    (
        "threshold.modified_entropy",
        "Modified-entropy threshold (Song & Mittal 2021)",
        "modified entropy",
        "modified_entropy",
        True,
    ),
)

ATTACKS = tuple(_attack(i, title, what, _oriented(name), label=label) for i, title, what, name, label in _SIGNALS)
