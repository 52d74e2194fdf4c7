"""The reference models of the regression attacks: K regressors and their predictions for every record.

The split is the classification pool's (``reference_pool.reference_split`` for the online attacks,
``population_split`` for the offline ones): it depends only on the seed and the record indices, never
on which audit records are members. The family copies the target where it can (a clone of a
scikit-learn regressor; the MLP, forest or boosting read off an ONNX or PyTorch graph). MLPs train as
one batched network on the standardised target (mean and spread of the population's values, which
the attacker owns). How long they train decides how closely they fit their training values, so each
stops once its predictions on population records it never saw are as spread out as the target's
(the mean squared standardised prediction: it grows as a network fits ever finer detail, noise
included), within the compute budget of ``matched_mlp``; ``--reference-epochs N`` trains every
model N epochs instead. Predictions are put back on the target's scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice, train_regressors
from mia_audit.training.reference_config import ReferenceConfig
from mia_audit.training.reference_pool import ReferenceSplit, describe_pool, model_matrix

# An MLP regressor's step size: scikit-learn's MLPRegressor default (the classification pool's larger
# step makes squared-error training diverge on unscaled features).
REGRESSION_LR = 1e-3
# Adam's first steps from a zero output layer overshoot the mean fit: on diabetes (166 records a model,
# 2 steps an epoch) the predictions' spread reached the target's at step 24, fell back by step 100 and
# rose steadily from step 200. The spread is not compared before this many steps.
WARMUP_STEPS = 300


@dataclass(frozen=True)
class RegressionPool:
    """K reference regressors' prediction for every record, and how they were made."""

    predictions: np.ndarray  # (K, n_records)
    split: ReferenceSplit
    choice: FamilyChoice
    train_size: int
    duration_s: float
    epochs: tuple[int, ...] | None = None
    matched: int = 0

    @property
    def in_mask(self) -> np.ndarray:
        return self.split.in_mask

    @property
    def n_models(self) -> int:
        return int(self.in_mask.shape[0])

    def describe(self) -> str:
        return describe_pool(self, "their predictions spread like the target's")


def build_regression_pool(
    frame: pd.DataFrame,
    targets: np.ndarray,
    target_predictions: np.ndarray,
    split: ReferenceSplit,
    choice: FamilyChoice,
    config: ReferenceConfig,
    encoder: FeatureEncoder,
    *,
    seed: int,
    device: str = "cpu",
) -> RegressionPool:
    """Train the K regressors of ``split`` on ``frame``/``targets`` and predict every record; MLPs train as
    long as it takes to match ``target_predictions`` (the target's) on the split's check records."""
    start = time.perf_counter()
    masks = split.in_mask
    epochs: tuple[int, ...] | None = None
    matched = 0
    if choice.family == "mlp":
        trained = _mlp_predictions(frame, targets, target_predictions, split, choice, config, encoder, seed, device)
        predictions, choice, epochs, matched = trained
    else:
        predictions = train_regressors(choice, frame, targets, masks, encoder, seed=seed)
    return RegressionPool(
        predictions=predictions,
        split=split,
        choice=choice,
        train_size=int(masks.sum(axis=1).max()),
        duration_s=time.perf_counter() - start,
        epochs=epochs,
        matched=matched,
    )


@dataclass(frozen=True)
class _Scale:
    """The target's values standardised by the population's mean and spread (the attacker's own records)."""

    center: float
    spread: float

    @classmethod
    def of(cls, values: np.ndarray) -> _Scale:
        return cls(float(np.mean(values)), float(np.std(values)) or 1.0)

    def forward(self, values: np.ndarray) -> np.ndarray:
        return (values - self.center) / self.spread

    def back(self, values: np.ndarray) -> np.ndarray:
        return values * self.spread + self.center


def _mlp_predictions(
    frame: pd.DataFrame,
    targets: np.ndarray,
    target_predictions: np.ndarray,
    split: ReferenceSplit,
    choice: FamilyChoice,
    config: ReferenceConfig,
    encoder: FeatureEncoder,
    seed: int,
    device: str,
) -> tuple[np.ndarray, FamilyChoice, tuple[int, ...], int]:
    """Reference MLP regressors, each trained until its predictions on population records it never saw
    spread as widely as the target's (``--reference-epochs`` N: N epochs each)."""
    from mia_audit.training.matched_mlp import ConfidenceMatch, epoch_budget, train_matched_mlps

    scale = _Scale.of(targets[split.check_idx])
    masks = split.in_mask
    spec = replace(choice.mlp, lr=REGRESSION_LR)
    X = model_matrix(encoder, frame)
    widths = [X.shape[1], *spec.hidden, 1]
    budget = epoch_budget(len(masks), int(masks.sum(axis=1).max()), widths, spec.batch_size)
    spread = np.square(scale.forward(target_predictions[split.check_idx]))
    steps_per_epoch = -(-int(masks.sum(axis=1).max()) // spec.batch_size)
    first = -(-WARMUP_STEPS // steps_per_epoch)
    match = None if config.epochs else ConfidenceMatch(split.check_idx, spread, statistic="spread", first_check=first)
    result = train_matched_mlps(
        X, scale.forward(targets), masks, 1, spec, max_epochs=config.epochs or config.max_epochs or budget,
        match=match, seed=seed, device=device,
    )  # fmt: skip
    predictions = scale.back(result.net.logits(X)[:, :, 0])
    return (
        predictions,
        replace(choice, mlp=replace(spec, epochs=max(result.epochs))),
        result.epochs,
        sum(result.matched),
    )
