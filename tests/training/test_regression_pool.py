"""The reference regressors: every family fits its IN records more closely than its OUT records, and the
MLPs stop once their predictions spread like the target's (after the warm-up)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.tree import DecisionTreeRegressor

from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice, train_regressors
from mia_audit.training.matched_mlp import ConfidenceMatch, train_matched_mlps
from mia_audit.training.mlp import MLPSpec
from mia_audit.training.reference_config import ReferenceConfig
from mia_audit.training.reference_pool import reference_split
from mia_audit.training.regression_pool import WARMUP_STEPS, build_regression_pool

N = 400


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_friedman1(n_samples=N, n_features=5, noise=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]), y


def _masks(k: int = 4) -> np.ndarray:
    order = np.random.default_rng(0).permutation(N)
    masks = np.zeros((k, N), dtype=bool)
    for j in range(k):
        masks[j, order[j * 50 : j * 50 + 200]] = True
    return masks


def _in_out_error(predictions: np.ndarray, y: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    error = np.square(predictions - y[None, :])
    return float(error[masks].mean()), float(error[~masks].mean())


@pytest.mark.parametrize(
    "choice",
    [
        FamilyChoice("clone", "test", estimator=DecisionTreeRegressor(random_state=0)),
        FamilyChoice("rf", "test", n_estimators=20),
        FamilyChoice("gbm", "test", n_estimators=50, max_depth=4),
        FamilyChoice("logreg", "test"),
    ],
    ids=["clone", "rf", "gbm", "linear"],
)
def test_each_family_fits_its_own_records_more_closely(
    data: tuple[pd.DataFrame, np.ndarray], choice: FamilyChoice
) -> None:
    frame, y = data
    masks = _masks()
    predictions = train_regressors(choice, frame, y, masks, FeatureEncoder.fit(frame), seed=0)
    assert predictions.shape == (4, N) and np.isfinite(predictions).all()
    inside, outside = _in_out_error(predictions, y, masks)
    assert inside < outside or choice.family == "logreg"  # a linear model on 200 records hardly overfits
    if choice.family in ("clone", "rf"):
        assert inside < 0.5 * outside  # trees memorise


def test_mlp_regressors_train_by_squared_error_from_a_zero_output(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data
    X = FeatureEncoder.fit(frame).transform(frame)
    ys = (y - y.mean()) / y.std()
    masks = _masks(2)
    spec = MLPSpec(hidden=(32,), lr=1e-2)
    start = train_matched_mlps(X, ys, masks, 1, spec, max_epochs=1, match=None, seed=0)
    trained = train_matched_mlps(X, ys, masks, 1, spec, max_epochs=200, match=None, seed=0)
    assert np.abs(start.net.logits(X)).max() < 0.5  # one epoch from predicting zero (the mean)
    inside, outside = _in_out_error(trained.net.logits(X)[:, :, 0], ys, masks)
    assert inside < 0.5 * outside


def test_the_spread_match_waits_for_the_warm_up_then_stops_at_the_target(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data
    X = FeatureEncoder.fit(frame).transform(frame)
    ys = (y - y.mean()) / y.std()
    masks = _masks(2)
    check = np.flatnonzero(~masks.any(axis=0))
    # A target whose predictions on the check rows spread like the true values (mean square ~1).
    match = ConfidenceMatch(check, np.square(ys[check]), statistic="spread", first_check=20)
    result = train_matched_mlps(X, ys, masks, 1, MLPSpec(hidden=(32,), lr=1e-2), max_epochs=400, match=match, seed=0)
    assert all(20 <= e < 400 for e in result.epochs) and all(result.matched)
    spread = np.square(result.net.logits(X)[:, check, 0]).mean(axis=1)
    assert np.all(spread >= 0.9 * np.square(ys[check]).mean())
    with pytest.raises(ValueError, match="confidence or spread"):
        ConfidenceMatch(check, ys[check], statistic="variance")


def test_the_pool_predicts_every_record_and_describes_itself(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data
    eval_idx, population_idx = np.arange(200), np.arange(200, N)
    split = reference_split(N, eval_idx, population_idx, 100, 4, np.random.default_rng(0))
    choice = FamilyChoice("mlp", "test", mlp=MLPSpec(hidden=(16,)))
    target = y + np.random.default_rng(1).normal(0, 0.5, N)  # a target that fits the values loosely
    pool = build_regression_pool(
        frame, y, target, split, choice, ReferenceConfig(n_models=4), FeatureEncoder.fit(frame), seed=0
    )
    assert pool.predictions.shape == (4, N) and pool.epochs is not None and len(pool.epochs) == 4
    steps_per_epoch = -(-pool.train_size // 128)
    first_check = -(-WARMUP_STEPS // steps_per_epoch)
    assert min(pool.epochs) >= min(first_check, max(pool.epochs))  # no model stopped during the warm-up
    assert pool.describe().startswith("4 reference models (MLP (16,) relu")
    stopped = f", {pool.matched} stopped once their predictions spread like the target's"
    assert pool.describe().endswith(" epochs" + stopped if pool.matched else " epochs")
    inside, outside = _in_out_error(pool.predictions, y, pool.in_mask)
    assert inside < outside
