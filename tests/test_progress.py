"""Long loops report their progress to whoever installed a reporter, and to no one otherwise."""

from __future__ import annotations

import numpy as np

from mia_audit import progress
from mia_audit.training.matched_mlp import train_matched_mlps
from mia_audit.training.mlp import MLPSpec, train_batched_mlp


def test_advance_reaches_the_innermost_reporter_only_while_installed() -> None:
    outer: list[tuple[str, int, int]] = []
    inner: list[tuple[str, int, int]] = []
    progress.advance("nobody listens", 1, 2)  # no reporter: nothing happens
    with progress.reporting(lambda *a: outer.append(a)):
        progress.advance("a", 1, 4)
        with progress.reporting(lambda *a: inner.append(a)):
            progress.advance("b", 9, 4)  # clamped to the total
            progress.advance("c", 1, 0)  # no total: not reported
        progress.advance("a", 2, 4)
    progress.advance("after", 1, 2)
    assert outer == [("a", 1, 4), ("a", 2, 4)] and inner == [("b", 4, 4)]


def test_training_reports_every_epoch() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)), rng.integers(0, 2, 64)
    masks = np.ones((2, 64), dtype=bool)
    seen: list[tuple[str, int, int]] = []
    with progress.reporting(lambda *a: seen.append(a)):
        train_batched_mlp(X, y, masks, 2, MLPSpec(hidden=(4,), epochs=3), seed=0)
        train_matched_mlps(X, y, masks, 2, MLPSpec(hidden=(4,)), max_epochs=2, match=None, seed=0)
    assert [(done, total) for _, done, total in seen] == [(1, 3), (2, 3), (3, 3), (1, 2), (2, 2)]
    assert seen[0][0] == "training 2 models" and seen[-1][0] == "training 2 models (at most 2 epochs)"
