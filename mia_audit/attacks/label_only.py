"""Label-only attacks: they need nothing but the predicted class."""

from __future__ import annotations

import time

import numpy as np

from mia_audit.attacks.base import AttackContext, AttackResult


def run_gap_attack(ctx: AttackContext) -> AttackResult:
    """Member if the target classifies the record correctly (Yeom et al. 2018's gap attack).

    Its balanced accuracy is ½ + (train accuracy − test accuracy)/2, so it shows what the
    generalisation gap alone gives away.
    """
    start = time.perf_counter()
    correct = (np.argmax(ctx.eval_probs, axis=1) == ctx.eval_labels).astype(np.float64)
    return AttackResult(
        id="label_only.gap",
        family="label_only",
        title="Gap attack: correctly classified means member (Yeom et al. 2018)",
        scores=correct,
        threshold=0.5,
        threshold_rule="member if the target's predicted class equals the true label",
        assumptions=(
            "sees only the predicted class (label-only access)",
            "knows the true label of each record",
            "no data from the target's distribution, no shadow models",
        ),
        queries=len(ctx.eval_idx),
        duration_s=time.perf_counter() - start,
        signal="correct classification",
    )
