"""The DP-SGD accountant against Opacus 1.5's numbers and the Gaussian mechanism's closed form, and a
DP-SGD run that keeps to its plan."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mia_audit.defences import dp

# (q, noise multiplier, steps, delta) -> epsilon, from opacus.accountants.analysis.rdp (compute_rdp and
# get_privacy_spent over the integer orders 2..256), Opacus 1.5.2.
OPACUS = [
    ((256 / 60000, 1.1, 60 * 60000 // 256, 1e-5), 2.5969811785953),
    ((0.01, 1.0, 1000, 1e-5), 2.107753075451561),
    ((0.05, 2.0, 500, 1e-4), 2.39922847454497),
    ((1.0, 5.0, 1, 1e-5), 0.794522032537103),
    ((0.1, 0.8, 300, 1e-3), 16.62559823474213),
]


@pytest.mark.parametrize(("args", "expected"), OPACUS)
def test_epsilon_matches_opacus(args: tuple[float, float, int, float], expected: float) -> None:
    assert dp.epsilon(*args) == pytest.approx(expected, rel=1e-9)


def test_without_subsampling_the_rdp_is_the_gaussian_mechanisms() -> None:
    # Mironov (2017): the Gaussian mechanism of sensitivity 1 and noise sigma has RDP alpha / (2 sigma^2).
    assert dp.rdp_sampled_gaussian(1.0, 2.0, 8) == pytest.approx(8 / 8)
    # One step at sigma = 5, delta = 1e-5 by hand at the best order of Opacus (22):
    alpha, sigma, delta = 22, 5.0, 1e-5
    by_hand = alpha / (2 * sigma**2) + math.log((alpha - 1) / alpha) - (math.log(delta) + math.log(alpha)) / (alpha - 1)
    assert dp.epsilon(1.0, sigma, 1, delta) == pytest.approx(by_hand)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.001, 0.5), st.floats(0.5, 5.0), st.integers(2, 64))
def test_subsampling_and_more_noise_only_lower_the_rdp(q: float, sigma: float, order: int) -> None:
    full = dp.rdp_sampled_gaussian(1.0, sigma, order)
    sampled = dp.rdp_sampled_gaussian(q, sigma, order)
    assert sampled <= full + 1e-12
    assert dp.rdp_sampled_gaussian(q, 1.5 * sigma, order) <= sampled + 1e-12


@pytest.mark.parametrize("target", [8.0, 1.0])
def test_the_noise_found_keeps_within_the_target_and_close_to_it(target: float) -> None:
    setting = dp.plan(target, n_records=1000, batch=50, epochs=20)
    assert setting.delta < 1 / 1000 and setting.q == pytest.approx(0.05) and setting.steps == 400
    assert setting.epsilon <= target
    assert dp.epsilon(setting.q, 0.98 * setting.sigma, setting.steps, setting.delta) > target * 0.99


def test_dp_sgd_trains_a_classifier_and_heavy_noise_leaves_it_near_chance() -> None:
    from mia_audit.training.mlp import MLPSpec

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.normal(size=600) > 0).astype(np.int64)
    spec = MLPSpec(hidden=(16,))
    loose = dp.DPSetting(100.0, 1e-5, 0.3, 0.1, 300, 1.0, 100.0)
    heavy = dp.DPSetting(0.01, 1e-5, 1e3, 0.1, 300, 1.0, 0.01)
    accuracy = {}
    for name, setting in (("loose", loose), ("heavy", heavy)):
        predict = dp.train_dp_mlp(X, y, 2, spec, setting, 5e-3, np.random.default_rng(1))
        probs = predict(X)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
        accuracy[name] = float(np.mean(probs.argmax(axis=1) == y))
    assert accuracy["loose"] > 0.9
    assert accuracy["heavy"] < 0.75
