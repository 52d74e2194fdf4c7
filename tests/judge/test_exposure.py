"""The most exposed records: order, NaN handling, and feature values only when asked."""

from __future__ import annotations

import math

import pandas as pd

from mia_audit.judge.exposure import most_exposed
from mia_audit.result import RecordScores


def _records() -> RecordScores:
    return RecordScores(
        source=("members", "holdout", "members", "holdout", "members"),
        row_index=(10, 11, 12, 13, 14),
        member=(1, 0, 1, 0, 1),
        label=("a", "b", "a", "b", "b"),
        scores={"x": (0.2, math.nan, 0.9, 0.5, 0.9)},
    )


def test_highest_first_ties_in_order_nan_last() -> None:
    top = most_exposed(_records(), "x")
    assert [r.row_index for r in top] == [12, 14, 13, 10, 11]
    assert [r.rank for r in top] == [1, 2, 3, 4, 5]
    assert top[0].member == 1 and top[0].label == "a" and top[0].features is None


def test_limit_and_unknown_attack() -> None:
    assert len(most_exposed(_records(), "x", n=2)) == 2
    assert most_exposed(_records(), "missing") == ()


def test_features_only_when_given() -> None:
    frame = pd.DataFrame({"age": [30, 41, 52, 63, 74], "city": list("vwxyz")})
    top = most_exposed(_records(), "x", frame, n=1)
    assert top[0].features == {"age": "52", "city": "x"}
