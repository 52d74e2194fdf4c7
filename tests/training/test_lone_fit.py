"""A lone scikit-learn fit (shadow.combined's one forest) uses every core, and gives the same model."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from mia_audit.environment import available_cores
from mia_audit.training.families import _fit_parallel


def test_a_lone_forest_uses_every_core_and_the_same_trees() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] > 0).astype(int)
    every = np.ones((1, len(y)), dtype=bool)
    (lone,) = _fit_parallel([RandomForestClassifier(20)], X, y, every, 3).models
    pair = _fit_parallel([RandomForestClassifier(20)] * 2, X, y, np.repeat(every, 2, axis=0), 3).models
    assert lone.n_jobs == (available_cores() if available_cores() > 1 else None)
    assert pair[0].n_jobs is None  # two fits side by side: one core each
    np.testing.assert_array_equal(lone.predict_proba(X), pair[0].predict_proba(X))  # both seeded 3
