"""A regression audit's labels: finite numbers or one clear error; quarters of the values for the breakdown."""

from __future__ import annotations

import numpy as np
import pytest

from mia_audit.data.labels import map_labels, numeric_targets, value_ranges
from mia_audit.errors import DataContractError, ModelDataMismatchError


def test_numbers_in_any_spelling_are_read() -> None:
    raw = np.array(["1.5", 2, 3.25, "-4"], dtype=object)
    np.testing.assert_array_equal(numeric_targets(raw, "y"), [1.5, 2.0, 3.25, -4.0])


@pytest.mark.parametrize("bad", ["high", None, float("nan"), float("inf")])
def test_anything_but_a_finite_number_is_a_data_error(bad: object) -> None:
    with pytest.raises(DataContractError, match=r"label column 'price' has 1 values that are not finite numbers"):
        numeric_targets(np.array([1.0, bad, 3.0], dtype=object), "price")


def test_quarters_worked_out_by_hand() -> None:
    # Quartiles of 1..8 (linear interpolation): 2.75, 4.5, 6.25.
    index, names = value_ranges(np.arange(1.0, 9.0))
    np.testing.assert_array_equal(index, [0, 0, 1, 1, 2, 2, 3, 3])
    assert names == ("under 2.75", "2.75 to under 4.5", "4.5 to under 6.25", "6.25 or more")


def test_repeated_values_give_fewer_ranges_and_none_empty() -> None:
    index, names = value_ranges(np.array([0.0, 0.0, 0.0, 1.0]))  # quartiles 0, 0, 0.25
    assert names == ("under 0.25", "0.25 or more") and index.tolist() == [0, 0, 0, 1]
    index, names = value_ranges(np.full(5, 3.0))
    assert names == ("all values",) and index.tolist() == [0] * 5


def test_regression_values_given_to_a_classifier_get_the_hint() -> None:
    with pytest.raises(ModelDataMismatchError, match="if the model predicts numbers, pass --task regression"):
        map_labels(np.array([151.0, 75.5, 141.0]), (0, 1))
    with pytest.raises(ModelDataMismatchError) as caught:
        map_labels(np.array(["cat", "dog"]), ("bird", "fish"))
    assert "--task regression" not in str(caught.value)
