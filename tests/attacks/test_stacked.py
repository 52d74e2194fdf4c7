"""The stacked attack's monotone attack model fits on a capped, seeded subsample of many stand-in rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import mia_audit.attacks.stacked as stacked


def test_the_fit_sees_at_most_max_fit_rows_and_is_repeatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stacked, "MAX_FIT_ROWS", 500)
    seen: list[int] = []
    fit = HistGradientBoostingClassifier.fit

    def counted(self: Any, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
        seen.append(len(X))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", counted)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_000, 3))
    y = X[:, 0] + rng.normal(0, 0.5, 2_000) > 0
    first, again = stacked.fit_monotone(X, y, 0), stacked.fit_monotone(X, y, 0)
    stacked.fit_monotone(X[:300], y[:300], 0)
    assert seen == [500, 500, 300]  # capped above MAX_FIT_ROWS, every row below it
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    assert first.score(X, y) > 0.7
