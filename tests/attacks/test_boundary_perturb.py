"""The boundary attack's noisy neighbours: drawing a run of 0/1 columns as one block gives exactly the
neighbours of drawing column by column (the same random stream, the same cells changed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mia_audit.attacks.boundary import Noise, _other_category, _perturb
from mia_audit.training.encoding import FeatureEncoder


def _by_column(encoder: FeatureEncoder, frame: pd.DataFrame, noise: Noise, rng: np.random.Generator) -> pd.DataFrame:
    """The neighbours as the attack drew them before the block draw: one column at a time, in order."""
    codes = encoder.codes(frame)
    n, d = codes.shape
    new = np.array(codes, copy=True)
    mask = np.zeros((n, d), dtype=bool)
    for j, col in enumerate(encoder.columns):
        x = codes[:, j]
        if col.is_numeric and col.binary:
            if noise.flip <= 0:
                continue
            low, high = col.low or 0.0, col.high or 0.0
            mask[:, j] = (rng.random(n) < noise.flip) & ~np.isnan(x) & (low != high)
            new[:, j] = np.where(x == low, high, low)
        elif col.is_numeric:
            std, low, high = col.std or 0.0, col.low or 0.0, col.high or 0.0
            if noise.sigma <= 0 or std <= 0:
                continue
            noisy = x + rng.standard_normal(n) * noise.sigma * std
            new[:, j] = np.clip(noisy, np.minimum(low, x), np.maximum(high, x))
            mask[:, j] = ~np.isnan(x)
        else:
            if noise.flip <= 0:
                continue
            mask[:, j] = rng.random(n) < noise.flip
            new[:, j] = _other_category(np.asarray(col.frequencies), x.astype(np.int64), rng)
            mask[:, j] &= new[:, j] >= 0
    return encoder.replace_cells(frame, mask, lambda j, r: new[r, j])


def _mixed(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"b{i}": rng.integers(0, 2, n).astype(float) for i in range(5)})
    frame.insert(2, "age", rng.normal(40, 10, n).round(1))
    frame.insert(4, "city", rng.choice(["Oslo", "Lima", "Pune"], n))
    frame["flag"] = rng.integers(0, 2, n)
    frame["const"] = 1.0  # one value only: never flipped
    return frame


@pytest.mark.parametrize("noise", [Noise(0.16, 0.04), Noise(0.0, 0.2), Noise(0.3, 0.0)])
def test_block_draws_give_the_column_by_column_neighbours(noise: Noise) -> None:
    frame = _mixed()
    encoder = FeatureEncoder.fit(frame)
    base = frame.iloc[np.repeat(np.arange(50), 8)].reset_index(drop=True)
    expected = _by_column(encoder, base, noise, np.random.default_rng(7))
    pd.testing.assert_frame_equal(_perturb(encoder, base, noise, np.random.default_rng(7)), expected)
    if noise.flip > 0:
        assert not expected.equals(base)
