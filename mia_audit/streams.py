"""Named random streams: each random choice of a run draws from its own stream of the run's seed.

``rng(seed, Stream.X, *more)`` is ``numpy.random.default_rng([seed, X, *more])``: streams with different
names never share draws, and adding a stream cannot shift the numbers of another. The values are
fixed forever: changing one changes the numbers of every report made with that seed.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    SHADOW_DATA = 1  # shadow training records (noisy, marginal or model-synthesised)
    SHADOW_SPLITS = 2  # which shadow records each shadow model trains on
    REFERENCE_SPLITS = 5  # the online reference pool's IN/OUT halves of the audit records
    OFFLINE_SPLITS = 6  # lira.offline's own population-only pool
    SUPERVISED_FOLDS = 7  # the supervised auditor's cross-fitting folds
    PROPERTY_SAMPLE = 8  # records sampled per group for the distance-based properties
    TRANSFER_SUBSAMPLE = 32  # rows kept of a large --transfer-data table
    TRANSFER_SHADOWS = 33  # halves and attack rows of each transfer-corpus task
    BOUNDARY = 0xB0D  # label_only.boundary: noise draws, threshold records, reference subsets
    BOUNDARY_RECORDS = 0xB0E  # the evaluation records label_only.boundary scores when there are too many
    EPSILON_SPLIT = 0xE95  # the split-half ε bound's two halves
    DEFENCE_PROXY = 0xDEF  # training-side defences: proxy splits, initial weights, DP-SGD batches and noise


def rng(seed: int, stream: Stream, *more: int) -> np.random.Generator:
    """The generator of one named stream (and optional sub-stream numbers) of ``seed``."""
    return np.random.default_rng([int(seed), int(stream), *more])


def split_rng(seed: int) -> np.random.Generator:
    """The audit split (population share of the holdout, balanced evaluation set) draws from the seed itself,
    as it has since the first release: no other stream does, and changing it would change every report."""
    return np.random.default_rng(seed)
