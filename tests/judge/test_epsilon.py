"""The split-half ε lower bound: golden value, chance level, and no peeking at the scored half."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mia_audit.judge.epsilon import best_threshold, split_half_epsilon, split_halves


def _labels(n_members: int, n_nonmembers: int) -> np.ndarray:
    return np.r_[np.ones(n_members, dtype=bool), np.zeros(n_nonmembers, dtype=bool)]


def test_halves_are_stratified_and_seeded() -> None:
    m = _labels(101, 60)
    a = split_halves(m, seed=3)
    assert a[m].sum() == 50 and a[~m].sum() == 30
    assert np.array_equal(a, split_halves(m, seed=3))
    assert not np.array_equal(a, split_halves(m, seed=4))


def test_perfect_attack_golden_value() -> None:
    # 1,000 members and 1,000 non-members, perfectly separated: each held-out half has 500 of
    # each, all members flagged and no non-member. Clopper-Pearson at 95% (2.5% per side):
    # TPR_lo = 0.025^(1/500) = exp(ln 0.025 / 500) = 0.9926500, FPR_hi = 1 - 0.9926500 = 0.0073500,
    # ε = ln(0.99265 / 0.00735) = ln(135.05) = 4.9057.
    m = _labels(1000, 1000)
    scores = m.astype(float) + np.linspace(0, 0.1, 2000)
    est = split_half_epsilon({"perfect": scores}, m, seed=0)
    assert est is not None
    expected = math.log(0.025 ** (1 / 500) / (1 - 0.025 ** (1 / 500)))
    assert est.epsilon == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(4.9057, abs=1e-3)
    for half in est.halves:
        assert (half.tp, half.fn, half.fp, half.tn) == (500, 0, 0, 500)


@pytest.mark.parametrize("seed", range(5))
def test_random_scores_give_no_evidence(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = _labels(1000, 1000)
    scores = {f"noise{i}": rng.normal(size=2000) for i in range(4)}
    est = split_half_epsilon(scores, m, seed=seed)
    assert est is not None and est.epsilon <= 0.1


def test_grows_with_attack_strength() -> None:
    rng = np.random.default_rng(0)
    m = _labels(1000, 1000)
    noise = rng.normal(size=2000)
    bounds = [split_half_epsilon({"a": noise + d * m}, m, seed=0).epsilon for d in (0.0, 1.0, 2.0, 4.0)]  # type: ignore[union-attr]
    assert bounds == sorted(bounds) and bounds[-1] > 2.0 and bounds[0] <= 0.1


def test_the_rule_is_never_counted_on_the_half_that_chose_it() -> None:
    # Scores separate members perfectly on half A only and are noise on half B. Choosing on A
    # and counting on B must find nothing; choosing on B (noise) and counting on A gets a rule
    # fitted to noise. A bound computed on the choosing half would be about 4.
    m = _labels(600, 600)
    in_a = split_halves(m, seed=0)
    rng = np.random.default_rng(1)
    scores = np.where(in_a, m.astype(float) * 10, rng.normal(size=1200))
    est = split_half_epsilon({"leaky_on_a": scores}, m, seed=0)
    assert est is not None
    chosen_on_a = next(h for h in est.halves if h.chosen_on == "A")
    assert chosen_on_a.epsilon <= 0.1
    assert est.epsilon <= 0.1


def test_attack_choice_is_made_on_the_choosing_half() -> None:
    m = _labels(400, 400)
    strong = m.astype(float) + np.random.default_rng(0).normal(scale=0.3, size=800)
    weak = np.random.default_rng(1).normal(size=800)
    est = split_half_epsilon({"weak": weak, "strong": strong}, m, seed=2)
    assert est is not None and {h.attack_id for h in est.halves} == {"strong"}
    assert est.candidates == ("weak", "strong")


def test_degenerate_inputs() -> None:
    assert split_half_epsilon({}, _labels(10, 10), seed=0) is None
    assert split_half_epsilon({"a": np.zeros(11)}, _labels(10, 1), seed=0) is None
    nan_scores = np.r_[np.full(10, np.nan), np.zeros(10)]
    est = split_half_epsilon({"a": nan_scores}, _labels(10, 10), seed=0)
    assert est is not None and math.isfinite(est.epsilon)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=60), st.integers(0, 2**31))
def test_best_threshold_bound_is_never_negative(scores: list[float], seed: int) -> None:
    m = np.random.default_rng(seed).random(len(scores)) < 0.5
    if m.all() or not m.any():
        m[0] = not m[0]
    threshold, eps = best_threshold(np.array(scores), m)
    assert eps >= 0.0 and math.isfinite(threshold)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_many_thresholds_screened_by_wilson_give_the_exact_best(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from mia_audit.judge import epsilon

    rng = np.random.default_rng(seed)
    member = rng.random(6_000) < 0.5
    scores = rng.normal(size=6_000) + 0.8 * member
    monkeypatch.setattr(epsilon, "MAX_EXACT", 10**9)
    exact = epsilon.best_threshold(scores, member)
    monkeypatch.setattr(epsilon, "MAX_EXACT", 200)
    assert epsilon.best_threshold(scores, member) == exact
