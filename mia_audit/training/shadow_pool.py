"""A pool of K shadow models of one family on random halves of the shadow data, with their outputs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice, train_shadow_models
from mia_audit.training.shadow_data import ShadowData


@dataclass(frozen=True)
class ShadowPool:
    """K trained shadows, their known in/out split, and their outputs on every shadow record."""

    data: ShadowData
    choice: FamilyChoice
    in_masks: np.ndarray
    out_masks: np.ndarray
    probs: np.ndarray
    train_size: int
    duration_s: float

    def rows(self, models: range | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Attack training rows: (posteriors, true labels, in=1/out=0) over the chosen shadows."""
        probs, labels, member = [], [], []
        for k in models if models is not None else range(len(self.in_masks)):
            for mask, flag in ((self.in_masks[k], 1), (self.out_masks[k], 0)):
                probs.append(self.probs[k, mask])
                labels.append(self.data.labels[mask])
                member.append(np.full(int(mask.sum()), flag))
        return np.vstack(probs), np.concatenate(labels), np.concatenate(member)


def build_shadow_pool(
    data: ShadowData,
    choice: FamilyChoice,
    n_models: int,
    target_train_size: int,
    rng: np.random.Generator,
    classes: Sequence[object],
    encoder: FeatureEncoder,
    *,
    seed: int,
    device: str,
) -> ShadowPool:
    """Train ``n_models`` shadows, each on its own random half of ``data`` (the rest of the half is its OUT)."""
    start = time.perf_counter()
    n = len(data.features)
    # Shadows imitate the target's training-set size (the auditor knows it) when the data allow.
    size = max(1, min(target_train_size, n // 2))
    in_masks = np.zeros((n_models, n), dtype=bool)
    out_masks = np.zeros((n_models, n), dtype=bool)
    for k in range(n_models):
        order = rng.permutation(n)
        in_masks[k, order[:size]] = True
        out_masks[k, order[size : 2 * size]] = True
    models = train_shadow_models(
        choice, data.features, data.labels, in_masks, classes, encoder, seed=seed, device=device
    )
    return ShadowPool(
        data=data,
        choice=choice,
        in_masks=in_masks,
        out_masks=out_masks,
        probs=models.predict_proba(data.features),
        train_size=size,
        duration_s=time.perf_counter() - start,
    )
