"""The attacker's one MLP engine: population shadows stop once as confident as the target, and
lira.offline's population-trained models are those shadows (no second pool)."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from mia_audit import signals
from mia_audit.attacks.context import AttackContext, AttackOptions, SharedWork
from mia_audit.models.loader import load_model
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig

N_EVAL, N_POPULATION, N_MEMBERS = 200, 400, 100


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    X, y = make_classification(
        n_samples=N_EVAL + N_POPULATION, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    features = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(X.shape[1])])
    target = LogisticRegression(C=10.0, max_iter=500).fit(features.iloc[:N_MEMBERS], y[:N_MEMBERS])
    path = Path(tmp_path_factory.mktemp("pool")) / "logreg.pkl"
    path.write_bytes(pickle.dumps(target))
    model = load_model(path, trust_model=True)
    return {"features": features, "labels": y.astype(np.int64), "model": model, "probs": model.predict_proba(features)}


def _context(parts: dict[str, object], shadow: ShadowConfig, reference: ReferenceConfig) -> AttackContext:
    return AttackContext(
        probs=parts["probs"],  # type: ignore[arg-type]
        labels=parts["labels"],  # type: ignore[arg-type]
        eval_idx=np.arange(N_EVAL),
        population_idx=np.arange(N_EVAL, N_EVAL + N_POPULATION),
        features=parts["features"],  # type: ignore[arg-type]
        target=parts["model"],  # type: ignore[arg-type]
        seed=0,
        train_size=N_MEMBERS,
        options=AttackOptions(shadow=shadow, reference=reference),
    )


SHADOWS = ShadowConfig(family="mlp", n_models=4)
OFFLINE = ReferenceConfig(family="mlp", n_models=4, offline_models="population")


def test_population_shadows_stop_once_as_confident_as_the_target(parts: dict[str, object]) -> None:
    pool = _context(parts, SHADOWS, OFFLINE).main_shadow_pool()
    assert pool.epochs is not None and len(pool.epochs) == 4
    assert pool.matched == 4, pool.epochs  # a logistic regression's confidence is within an MLP's reach
    assert pool.probs.shape == (4, N_POPULATION, 3)
    np.testing.assert_allclose(pool.probs.sum(axis=2), 1.0, atol=1e-6)
    assert (pool.in_masks.sum(axis=1) == N_MEMBERS).all() and not (pool.in_masks & pool.out_masks).any()


def test_fixed_shadow_epochs_train_exactly_that_long(parts: dict[str, object]) -> None:
    fixed = ShadowConfig(family="mlp", n_models=2, epochs=3)
    pool = _context(parts, fixed, OFFLINE).main_shadow_pool()
    assert pool.epochs is None and pool.choice.mlp.epochs == 3


def test_lira_offline_population_models_are_the_shadows(parts: dict[str, object]) -> None:
    ctx = _context(parts, SHADOWS, OFFLINE)
    shadows = ctx.main_shadow_pool()
    offline = ctx.reference_pool(offline=True)
    population = ctx.population_idx
    assert not offline.in_mask[:, ctx.eval_idx].any()
    np.testing.assert_array_equal(offline.in_mask[:, population], shadows.in_masks)
    # The same trained models: their view of the population is the shadows' outputs.
    for k in range(shadows.n_models):
        expected = signals.logit_confidence(shadows.probs[k], ctx.population_labels)
        np.testing.assert_allclose(offline.logit[k, population], expected, rtol=1e-6, atol=1e-6)
    assert offline.epochs == shadows.epochs


def test_lira_offline_trains_its_own_pool_when_the_settings_differ(parts: dict[str, object]) -> None:
    ctx = _context(parts, SHADOWS, ReferenceConfig(family="mlp", n_models=6, offline_models="population"))
    offline = ctx.reference_pool(offline=True)
    assert offline.n_models == 6 and not offline.in_mask[:, ctx.eval_idx].any()


def test_signal_rows_equal_the_signal_of_the_stacked_rows(parts: dict[str, object]) -> None:
    pool = _context(parts, SHADOWS, OFFLINE).main_shadow_pool()
    probs, labels, member = pool.rows()
    values, labels_2, member_2 = pool.signal_rows(signals.logit_confidence)
    np.testing.assert_array_equal(values, signals.logit_confidence(probs, labels))
    np.testing.assert_array_equal(labels_2, labels)
    np.testing.assert_array_equal(member_2, member)


def test_a_capped_pool_trains_on_at_most_the_cap(parts: dict[str, object]) -> None:
    ctx = _context(parts, SHADOWS, OFFLINE)
    choice = ctx.family("logreg", ctx.shadow_mlp())
    capped, full = ctx.shadow_pool(choice, 1, max_train=30), ctx.shadow_pool(choice, 1)
    assert capped.train_size == 30 and full.train_size == N_MEMBERS
    assert capped is not full


def test_a_population_too_small_to_hold_records_out_trains_the_budget(parts: dict[str, object]) -> None:
    short = ReferenceConfig(family="mlp", n_models=4, max_epochs=20)  # the budget, kept short for the test
    ctx = _context(parts, SHADOWS, short)
    tiny = replace(ctx, population_idx=np.array([N_EVAL]), shared=SharedWork())
    pool = tiny.main_shadow_pool()
    assert pool.matched == 0 and pool.epochs == (20,) * 4 and pool.probs.shape == (4, 1, 3)
