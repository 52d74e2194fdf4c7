from __future__ import annotations

import numpy as np
import pytest

from mia_audit.data.labels import map_labels
from mia_audit.errors import ModelDataMismatchError


def test_exact_and_textual_matches() -> None:
    assert map_labels(np.array([1, 0, 2]), (0, 1, 2)).indices.tolist() == [1, 0, 2]
    assert map_labels(np.array(["1", "0"]), (0, 1)).indices.tolist() == [1, 0]
    assert map_labels(np.array([1.0, 0.0]), (np.int64(0), np.int64(1))).indices.tolist() == [1, 0]
    mapping = map_labels(np.array(["dog", "cat"]), ("cat", "dog"))
    assert mapping.indices.tolist() == [1, 0] and mapping.note is None


def test_text_labels_for_index_classes_use_sorted_order_with_a_note() -> None:
    mapping = map_labels(np.array([">50K", "<=50K", ">50K"]), (0, 1))
    assert mapping.indices.tolist() == [1, 0, 1]
    assert mapping.note is not None and "<=50K→0" in mapping.note


def test_unknown_labels_are_one_clear_line() -> None:
    with pytest.raises(ModelDataMismatchError) as info:
        map_labels(np.array(["cat", "emu"]), ("cat", "dog"))
    assert "'emu'" in str(info.value) and "--label-col" in str(info.value)
    with pytest.raises(ModelDataMismatchError):
        map_labels(np.array([0, 1, 2]), (0, 1))
