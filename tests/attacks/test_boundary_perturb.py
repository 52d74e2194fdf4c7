"""The boundary attack's noisy neighbours: sparse flip draws, the code-matrix perturbation and the
frame it becomes."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mia_audit.attacks.boundary import FLIP_GRID, Noise, _perturb, bernoulli_cells
from mia_audit.training.encoding import FeatureEncoder


def _mixed(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"b{i}": rng.integers(0, 2, n).astype(float) for i in range(5)})
    frame.insert(2, "age", rng.normal(40, 10, n).round(1))
    frame.insert(4, "city", rng.choice(["Oslo", "Lima", "Pune"], n))
    frame["flag"] = rng.integers(0, 2, n)
    frame["const"] = 1.0  # one value only: never flipped
    return frame


def _neighbours(encoder: FeatureEncoder, frame: pd.DataFrame, noise: Noise, seed: int, q: int = 1) -> pd.DataFrame:
    codes = np.repeat(encoder.codes(frame), q, axis=0)
    mask = _perturb(encoder, codes, noise, np.random.default_rng(seed))
    return encoder.replace_codes(frame, mask, codes, repeats=q)


@given(n=st.integers(0, 5_000), p=st.sampled_from([0.0, 0.0025, 0.01, 0.04, 0.3, 1.0]), seed=st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_bernoulli_cells_are_sorted_distinct_positions_in_range(n: int, p: float, seed: int) -> None:
    cells = bernoulli_cells(n, p, np.random.default_rng(seed))
    assert cells.dtype == np.int64
    assert np.all(np.diff(cells) > 0) and (cells.size == 0 or (cells[0] >= 0 and cells[-1] < n))
    if p == 0.0:
        assert cells.size == 0
    if p == 1.0:
        np.testing.assert_array_equal(cells, np.arange(n))


@pytest.mark.parametrize("p", [0.0025, 0.01, 0.04, 0.2])
def test_bernoulli_cells_flip_each_cell_with_probability_p(p: float) -> None:
    n = 400_000
    cells = bernoulli_cells(n, p, np.random.default_rng(11))
    sd = np.sqrt(n * p * (1 - p))
    assert abs(cells.size - n * p) < 4 * sd
    # Spread evenly: each quarter of the range gets its share.
    quarters = np.bincount(cells * 4 // n, minlength=4)
    assert np.all(np.abs(quarters - n * p / 4) < 4 * np.sqrt(n / 4 * p))


def test_lower_flip_levels_change_a_subset_of_the_cells_of_higher_ones() -> None:
    """Common random numbers: the calibration compares flip levels on the same draws."""
    found = [set(bernoulli_cells(100_000, p, np.random.default_rng(5)).tolist()) for p in FLIP_GRID]
    for lower, higher in pairwise(found):
        assert lower < higher


@pytest.mark.parametrize("noise", [Noise(0.16, 0.04), Noise(0.0, 0.2), Noise(0.3, 0.0)])
def test_each_kind_of_column_moves_at_its_own_level(noise: Noise) -> None:
    frame = _mixed(2000)
    encoder = FeatureEncoder.fit(frame)
    moved = _neighbours(encoder, frame, noise, seed=7)
    assert (moved.dtypes == frame.dtypes).all() and list(moved.columns) == list(frame.columns)
    assert moved["const"].eq(1.0).all()
    flips = [(moved[c] != frame[c]).mean() for c in ("b0", "b1", "b2", "b3", "b4", "flag")]
    sd = np.sqrt(noise.flip * (1 - noise.flip) / len(frame))
    assert all(abs(share - noise.flip) < 5 * sd + 1e-12 for share in flips), flips
    assert set(moved["city"]) <= {"Oslo", "Lima", "Pune"}
    city = (moved["city"] != frame["city"]).mean()
    assert abs(city - noise.flip) < 5 * sd + 1e-12
    if noise.sigma:
        spread = (moved["age"] - frame["age"]).std() / frame["age"].std()
        assert abs(spread - noise.sigma) < 0.25 * noise.sigma
    else:
        assert moved["age"].equals(frame["age"])


def test_repeated_rows_keep_each_records_own_values_outside_the_noise() -> None:
    frame = _mixed(30)
    encoder = FeatureEncoder.fit(frame)
    q = 6
    moved = _neighbours(encoder, frame, Noise(0.0, 0.0), seed=1, q=q)
    expected = frame.iloc[np.repeat(np.arange(30), q)].reset_index(drop=True)
    pd.testing.assert_frame_equal(moved, expected)


def test_one_matrix_replacement_equals_column_by_column() -> None:
    """A frame of one number dtype is replaced as a matrix: the same frame as ``replace_cells``."""
    rng = np.random.default_rng(2)
    for kind, share in [(k, s) for k in (np.float64, np.float32, np.int64) for s in (0.03, 0.5)]:  # sparse, dense
        frame = pd.DataFrame(rng.integers(0, 5, (300, 12)).astype(kind), columns=[f"c{i}" for i in range(12)])
        encoder = FeatureEncoder.fit(frame)
        codes = encoder.codes(frame)
        mask = rng.random(codes.shape) < share
        new = codes + rng.normal(0, 2, codes.shape)
        fast = encoder.replace_codes(frame, mask, new)
        slow = encoder.replace_cells(frame, mask, lambda j, r, new=new: new[r, j])
        pd.testing.assert_frame_equal(fast, slow)
        assert not fast.equals(frame)
