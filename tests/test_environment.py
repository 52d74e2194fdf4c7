"""side_by_side keeps the order and the results of fitting one after another, on any thread budget."""

from __future__ import annotations

import threading

import numpy as np

from mia_audit.environment import limited_threads, side_by_side


def _fit(seed: int) -> tuple[float, str]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mia_audit.environment import one_openmp_thread

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    with one_openmp_thread():
        model = HistGradientBoostingClassifier(max_iter=20, random_state=seed).fit(X, y)
    return float(model.predict_proba(X)[:, 1].sum()), threading.current_thread().name


def test_side_by_side_equals_one_after_another_in_order() -> None:
    one_by_one = [_fit(seed)[0] for seed in range(5)]
    with limited_threads(2):
        together = side_by_side(_fit, list(range(5)))
    assert [score for score, _ in together] == one_by_one
    assert any(name.startswith("fits") for _, name in together)


def test_one_thread_budget_runs_on_the_calling_thread() -> None:
    with limited_threads(1):
        together = side_by_side(_fit, [0, 1])
    assert {name for _, name in together} == {threading.current_thread().name}


def test_the_fits_imports_happen_before_the_threads_start() -> None:
    # Two threads importing a package for the first time can see it half-initialised (sklearn.base did).
    import sys

    sys.modules.pop("colorsys", None)
    with limited_threads(2):
        seen = side_by_side(lambda _: "colorsys" in sys.modules, [0, 1], imports=("colorsys",))
    assert seen == [True, True]
