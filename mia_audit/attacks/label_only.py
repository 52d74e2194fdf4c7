"""Label-only attacks: they need nothing but the predicted class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mia_audit.attacks.interface import AttackInfo, AttackOutput

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext


class GapAttack:
    """Member if the target classifies the record correctly (Yeom et al. 2018's gap attack).

    Its balanced accuracy is ½ + (train accuracy − test accuracy)/2, so it shows what the
    generalisation gap alone gives away.
    """

    info = AttackInfo(
        "label_only.gap",
        "label_only",
        "Gap attack: correctly classified means member (Yeom et al. 2018)",
        frozenset({"predicted label only", "true labels"}),
        needs_probabilities=False,
        needs_population=False,
    )

    def run(self, ctx: AttackContext) -> AttackOutput:
        correct = (np.argmax(ctx.eval_probs, axis=1) == ctx.eval_labels).astype(np.float64)
        return AttackOutput(
            scores=correct,
            threshold=0.5,
            threshold_rule="member if the target's predicted class equals the true label",
            assumptions=(
                "sees only the predicted class (label-only access)",
                "knows the true label of each record",
                "no data from the target's distribution, no shadow models",
            ),
            queries=len(ctx.eval_idx),
            signal="correct classification",
        )


ATTACKS = (GapAttack(),)
