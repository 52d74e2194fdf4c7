"""A regressor's utility, worked out by hand: R² = 1 − SSE/SST and the mean squared error, per side."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mia_audit.audit import regression_utility


def test_r2_and_squared_error_by_hand() -> None:
    values = np.array([1.0, 2.0, 3.0, 0.0, 2.0, 9.0])
    predictions = np.array([1.0, 2.0, 4.0, 1.0, 1.0, 0.0])
    records = SimpleNamespace(
        is_member=np.array([True, True, True, False, False, False]),
        is_heldout=np.array([False, False, False, True, True, False]),  # the last record: population, left out
    )
    u = regression_utility(predictions, values, records)  # type: ignore[arg-type]
    # members: SSE 1, SST 2 → R² 0.5, MSE 1/3; held out: SSE 2, SST 2 → R² 0, MSE 1
    assert (u.train_accuracy, u.test_accuracy, u.generalization_gap) == pytest.approx((0.5, 0.0, 0.5))
    assert (u.train_loss, u.test_loss, u.n_train, u.n_test) == pytest.approx((1 / 3, 1.0, 3, 2))
    assert (u.measure, u.loss) == ("R²", "squared error")


def test_constant_values_give_r2_zero_not_a_division_by_zero() -> None:
    records = SimpleNamespace(
        is_member=np.array([True, True, False, False]), is_heldout=np.array([False, False, True, True])
    )
    u = regression_utility(np.array([1.0, 2.0, 3.0, 3.0]), np.full(4, 3.0), records)  # type: ignore[arg-type]
    assert u.train_accuracy == 0.0 and u.test_accuracy == 0.0 and u.train_loss == pytest.approx(2.5)
