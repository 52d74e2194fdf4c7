"""A pool of K shadow models of one family on random halves of the shadow data, with their outputs.

MLP shadows on records with known target outputs (population records) train on the attacker's one
MLP engine, ``reference_pool.train_matched_pool``: each stops once it is as confident as the target
on population records it did not train on, like the reference models of lira.* and rmia. Shadows on
made-up records (``--shadow-data noisy|marginal|model``) or with ``--shadow-epochs`` train a fixed
number of epochs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mia_audit.data.files import FLOAT32_CELLS
from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice, train_shadow_models
from mia_audit.training.reference_pool import (
    MAX_CHECK_ROWS,
    MatchedBudget,
    confidence_match,
    model_matrix,
    train_matched_pool,
)
from mia_audit.training.shadow_data import ShadowData

if TYPE_CHECKING:
    from mia_audit.training.mlp import MLPOutputs


@dataclass(frozen=True)
class ShadowPool:
    """K trained shadows, their known in/out split, and their outputs on every shadow record.

    ``predict`` gives the shadows' outputs ``(K, n, C)`` on any records.
    """

    data: ShadowData
    choice: FamilyChoice
    in_masks: np.ndarray
    out_masks: np.ndarray
    probs: np.ndarray
    train_size: int
    duration_s: float
    epochs: tuple[int, ...] | None = None
    matched: int = 0
    predict: Callable[[pd.DataFrame], np.ndarray] | None = None

    @property
    def n_models(self) -> int:
        return int(self.in_masks.shape[0])

    def released(self, transform: Callable[[np.ndarray], np.ndarray]) -> ShadowPool:
        """The same shadows behind an API that releases ``transform(probabilities)`` (an output defence)."""
        probs = np.stack([transform(p) for p in self.probs]).astype(self.probs.dtype, copy=False)
        predict = self.predict
        if predict is not None:
            inner = predict

            def predict(frame: pd.DataFrame) -> np.ndarray:
                return np.stack([transform(p) for p in inner(frame)])

        return replace(self, probs=probs, predict=predict)

    def rows(self, models: range | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Attack training rows: (posteriors, true labels, in=1/out=0) over the chosen shadows."""
        return self._stacked(lambda probs, _: probs, models, np.vstack)

    def signal_rows(
        self, signal: Callable[[np.ndarray, np.ndarray], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``rows()`` with a per-row ``signal(probs, labels)`` in place of the posteriors, computed a shadow's
        rows at a time: the stacked posteriors (1.3 GB for 16 shadows of 250,000 records) never exist."""
        return self._stacked(signal, None, np.concatenate)

    def _stacked(
        self,
        view: Callable[[np.ndarray, np.ndarray], np.ndarray],
        models: range | None,
        stack: Callable[[list[np.ndarray]], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``view(posteriors, labels)`` of each chosen shadow's IN rows, then its OUT rows, stacked."""
        values, labels, member = [], [], []
        for k in models if models is not None else range(len(self.in_masks)):
            for mask, flag in ((self.in_masks[k], 1), (self.out_masks[k], 0)):
                values.append(view(self.probs[k, mask], self.data.labels[mask]))
                labels.append(self.data.labels[mask])
                member.append(np.full(int(mask.sum()), flag))
        return stack(values), np.concatenate(labels), np.concatenate(member)


@dataclass(frozen=True)
class Matching:
    """What matched shadows need: the target's outputs on each shadow record, and how long they may train."""

    target_probs: np.ndarray
    budget: MatchedBudget


def shadow_masks(n: int, n_models: int, target_train_size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Each shadow's IN rows (a random subset of the target's training size, at most half the records)
    and as many OUT rows from the rest."""
    size = max(1, min(target_train_size, n // 2))
    in_masks = np.zeros((n_models, n), dtype=bool)
    out_masks = np.zeros((n_models, n), dtype=bool)
    for k in range(n_models):
        order = rng.permutation(n)
        in_masks[k, order[:size]] = True
        out_masks[k, order[size : 2 * size]] = True
    return in_masks, out_masks


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
    matching: Matching | None = None,
) -> ShadowPool:
    """Train ``n_models`` shadows, each on its own random subset of ``data`` (as many OUT rows beside it).

    With ``matching``, MLP shadows stop once as confident as the target (see the module docstring)."""
    start = time.perf_counter()
    in_masks, out_masks = shadow_masks(len(data.features), n_models, target_train_size, rng)
    epochs: tuple[int, ...] | None = None
    matched = 0
    predict = None
    if choice.family == "mlp" and matching is not None:
        X = model_matrix(encoder, data.features)
        check = np.sort(rng.permutation(len(X))[:MAX_CHECK_ROWS])
        # A shadow needs population records it did not train on to be compared with the target there.
        can_match = matching.budget.epochs is None and bool((~in_masks[:, check]).any(axis=1).all())
        match = confidence_match(matching.target_probs, check) if can_match else None
        trained = train_matched_pool(
            X, data.labels, in_masks, match, choice, matching.budget, len(classes), seed=seed, device=device
        )
        choice, epochs, matched = trained.choice, trained.epochs, trained.matched
        probs = _all_rows(trained.predict, len(X))
        predict = _frame_predictor(trained.net, encoder)
    else:
        models = train_shadow_models(
            choice, data.features, data.labels, in_masks, classes, encoder, seed=seed, device=device
        )
        probs = models.predict_proba(data.features)
        predict = models.predict_proba
    if probs.size > FLOAT32_CELLS:
        # As the audit's features past the same size: 16 shadows' posteriors on 500,000 population records
        # of 20 classes are 1.3 GB in float64, and attack models stack them once more.
        probs = probs.astype(np.float32)
    return ShadowPool(
        data=data,
        choice=choice,
        in_masks=in_masks,
        out_masks=out_masks,
        probs=probs,
        train_size=int(in_masks[0].sum()),
        duration_s=time.perf_counter() - start,
        epochs=epochs,
        matched=matched,
        predict=predict,
    )


def _frame_predictor(net: MLPOutputs | None, encoder: FeatureEncoder) -> Callable[[pd.DataFrame], np.ndarray] | None:
    if net is None:
        return None
    return lambda frame: np.asarray(net.predict_proba(model_matrix(encoder, frame)), dtype=np.float64)


def _all_rows(predict: Callable[[np.ndarray], np.ndarray], n: int, chunk: int = 8192) -> np.ndarray:
    """Every model's outputs on every row, a chunk of rows at a time: ``(K, n, C)``."""
    parts = [np.asarray(predict(np.arange(b, min(n, b + chunk)))) for b in range(0, n, chunk)]
    return np.concatenate(parts, axis=1)
