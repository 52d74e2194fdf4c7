from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mia_audit.judge.metrics import (
    Confusion,
    advantage,
    auc,
    auc_ci,
    clopper_pearson,
    compute_attack_metrics,
    confusion_at_threshold,
    downsample_roc,
    epsilon_lower_bound,
    per_class_auc,
    roc_curve,
    tpr_at_fpr,
    tpr_at_fpr_ci,
)
from mia_audit.result import FPR_LEVELS, AttackMetrics

FAST = settings(max_examples=40, deadline=None)

# Ties on purpose. Members X = [0.5, 0.5, 0.9], non-members Y = [0.2, 0.5].
# Pairs: each 0.5 member beats 0.2 (1) and ties 0.5 (½) -> 3; 0.9 beats both -> 2; 5 of 6 pairs.
TIE_SCORES = np.array([0.2, 0.5, 0.5, 0.5, 0.9])
TIE_MEMBERS = np.array([False, True, False, True, True])


@st.composite
def scored_sample(draw: st.DrawFn, max_size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Integer-valued scores (many ties) with at least one member and one non-member."""
    n = draw(st.integers(min_value=0, max_value=max_size - 2))
    scores = draw(st.lists(st.integers(-50, 50), min_size=n + 2, max_size=n + 2))
    members = [*draw(st.lists(st.booleans(), min_size=n, max_size=n)), True, False]
    return np.array(scores, dtype=float), np.array(members)


# ----------------------------------------------------------------------------- golden values


def test_auc_golden_value() -> None:
    # Members 0.35, 0.8 vs non-members 0.1, 0.4: 0.35 beats 0.1 only, 0.8 beats both: 3 of 4.
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_roc_with_ties_golden_values() -> None:
    fpr, tpr, thresholds = roc_curve(TIE_SCORES, TIE_MEMBERS)
    # >= 0.9: 1 member, 0 non-members; >= 0.5: 3 members, 1 non-member; >= 0.2: everything.
    assert thresholds.tolist() == [math.inf, 0.9, 0.5, 0.2]
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr == pytest.approx([0.0, 1 / 3, 1.0, 1.0])
    assert auc(TIE_SCORES, TIE_MEMBERS) == pytest.approx(5 / 6)
    # max(tpr - fpr) = max(0, 1/3, 1/2, 0)
    assert advantage(TIE_SCORES, TIE_MEMBERS) == pytest.approx(0.5)


def test_delong_golden_value() -> None:
    # Structural components: V10 = [0.5, 1.0] (members 0.35, 0.8), V01 = [1.0, 0.5] (non-members
    # 0.1, 0.4). S10 = S01 = ((0.25)^2 + (0.25)^2) / 1 = 0.125; var = 0.125/2 + 0.125/2 = 0.125.
    # 0.75 ± 1.959964 · sqrt(0.125) = 0.75 ± 0.692952 -> (0.057048, 1.442952) -> clipped at 1.
    lo, hi = auc_ci([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert lo == pytest.approx(0.057048, abs=1e-6)
    assert hi == 1.0


def test_clopper_pearson_reference_values() -> None:
    # k = 0: hi solves (1 - p)^n = 0.025, so hi = 1 - 0.025^(1/10) = 0.308497.
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(0, 10)[1] == pytest.approx(0.3085, abs=1e-4)
    # k = n: lo = 0.025^(1/n) by symmetry.
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    # Textbook value: 5 of 10 -> (0.187086, 0.812914).
    assert clopper_pearson(5, 10) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    assert clopper_pearson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


def test_confusion_golden_values() -> None:
    # Threshold 0.5 predicts [F, T, T, T, T]: tp 3, fp 1, tn 1, fn 0.
    c = confusion_at_threshold(TIE_SCORES, TIE_MEMBERS, 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (3, 1, 1, 0)
    assert c.precision == pytest.approx(0.75)
    assert c.recall == 1.0
    assert c.accuracy == pytest.approx(0.8)
    assert c.fpr == 0.5
    assert confusion_at_threshold(TIE_SCORES, TIE_MEMBERS, 1.0).precision is None


def test_epsilon_golden_value() -> None:
    # tp=10, fn=0, fp=0, tn=10 at level 0.95: TPR_lo = 0.025^(1/10) = 0.691503 and
    # FPR_hi = 1 - 0.025^(1/10) = 0.308497; TNR_lo / FNR_hi is the same ratio.
    # ε = ln(0.691503 / 0.308497) = ln(2.241522) = 0.807155.
    assert epsilon_lower_bound(10, 0, 0, 10) == pytest.approx(0.807155, abs=1e-5)


def test_epsilon_is_zero_for_random_looking_attack_and_grows_with_strength() -> None:
    assert epsilon_lower_bound(50, 50, 50, 50) == 0.0
    assert epsilon_lower_bound(0, 0, 5, 5) == 0.0
    weak = epsilon_lower_bound(600, 400, 400, 600)
    strong = epsilon_lower_bound(800, 200, 200, 800)
    stronger = epsilon_lower_bound(950, 50, 50, 950)
    assert 0.0 < weak < strong < stronger
    # A bound must stay below the point estimate ln(TPR / FPR).
    assert strong < math.log(0.8 / 0.2)
    # More confidence, smaller bound.
    assert epsilon_lower_bound(800, 200, 200, 800, level=0.99) < strong


def test_tpr_at_fpr_golden_and_unresolvable() -> None:
    # 100 non-members scored 0..99. Members: 5 at 200, 5 at 98.5, 10 at 0.5 (n_members = 20).
    # FPR <= 1% allows 1 false positive: threshold 98.5 takes non-member 99 and 10 members.
    nonmembers = np.arange(100.0)
    members = np.r_[np.full(5, 200.0), np.full(5, 98.5), np.full(10, 0.5)]
    scores = np.r_[members, nonmembers]
    is_member = np.r_[np.ones(20, bool), np.zeros(100, bool)]
    assert tpr_at_fpr(scores, is_member, 0.01) == 0.5
    assert tpr_at_fpr_ci(scores, is_member, 0.01) == pytest.approx(clopper_pearson(10, 20))
    # 100 non-members cannot resolve 0.1% (needs 1000).
    assert tpr_at_fpr(scores, is_member, 0.001) is None
    assert tpr_at_fpr_ci(scores, is_member, 0.001) is None
    # 99 non-members cannot resolve 1% either.
    assert tpr_at_fpr(scores[:-1], is_member[:-1], 0.01) is None


def test_tpr_at_fpr_exact_boundary_is_resolvable() -> None:
    rng = np.random.default_rng(1)
    scores = rng.normal(size=1100)
    is_member = np.r_[np.ones(100, bool), np.zeros(1000, bool)]
    assert tpr_at_fpr(scores, is_member, 0.001) is not None


# ----------------------------------------------------------------------------- against sklearn


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_roc_match_sklearn_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    is_member = rng.random(n) < 0.4
    scores = rng.normal(size=n) + 0.5 * is_member
    scores[::7] = np.round(scores[::7], 1)  # some ties
    assert auc(scores, is_member) == pytest.approx(skm.roc_auc_score(is_member, scores))
    fpr, tpr, thresholds = roc_curve(scores, is_member)
    ref_fpr, ref_tpr, ref_thr = skm.roc_curve(is_member, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    np.testing.assert_allclose(thresholds[1:], ref_thr[1:])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)


@FAST
@given(scored_sample())
def test_auc_matches_sklearn_with_ties(sample: tuple[np.ndarray, np.ndarray]) -> None:
    scores, is_member = sample
    assert auc(scores, is_member) == pytest.approx(skm.roc_auc_score(is_member, scores))
    fpr, tpr, _ = roc_curve(scores, is_member)
    trapezoid = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert trapezoid == pytest.approx(auc(scores, is_member))
    assert len(fpr) == len(np.unique(scores)) + 1


def _naive_delong_variance(scores: np.ndarray, is_member: np.ndarray) -> float:
    """DeLong (1988) structural components straight from the definition, O(m·n)."""
    x, y = scores[is_member], scores[~is_member]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(np.var(v10, ddof=1) / x.size + np.var(v01, ddof=1) / y.size)


@pytest.mark.parametrize("seed", range(3))
def test_fast_delong_matches_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    is_member = rng.random(200) < 0.5
    scores = np.round(rng.normal(size=200) + is_member, 1)
    value = auc(scores, is_member)
    lo, hi = auc_ci(scores, is_member, level=0.9)
    half = 1.6448536 * math.sqrt(_naive_delong_variance(scores, is_member))
    assert (lo, hi) == pytest.approx((value - half, value + half))


# ----------------------------------------------------------------------------- invariants


@FAST
@given(st.integers(1, 20), st.integers(1, 20), st.integers(-5, 5))
def test_perfect_separation(n_members: int, n_nonmembers: int, offset: int) -> None:
    scores = np.r_[np.arange(n_members) + 100.0, np.arange(n_nonmembers) + offset]
    is_member = np.r_[np.ones(n_members, bool), np.zeros(n_nonmembers, bool)]
    assert auc(scores, is_member) == 1.0
    assert advantage(scores, is_member) == 1.0
    assert auc(scores, ~is_member) == 0.0
    if n_members > 1 and n_nonmembers > 1:
        assert auc_ci(scores, is_member) == (1.0, 1.0)


@FAST
@given(scored_sample(), st.floats(-10, 10))
def test_constant_scores(sample: tuple[np.ndarray, np.ndarray], value: float) -> None:
    _, is_member = sample
    scores = np.full(is_member.size, value)
    assert auc(scores, is_member) == 0.5
    assert advantage(scores, is_member) == 0.0
    if is_member.sum() > 1 and (~is_member).sum() > 1:
        assert auc_ci(scores, is_member) == (0.5, 0.5)


@FAST
@given(scored_sample())
def test_strictly_monotone_transform_keeps_auc(sample: tuple[np.ndarray, np.ndarray]) -> None:
    scores, is_member = sample
    value = auc(scores, is_member)
    assert auc(scores**3 - 7, is_member) == pytest.approx(value)
    assert auc(np.exp(scores / 10), is_member) == pytest.approx(value)
    assert advantage(2 * scores + 1, is_member) == pytest.approx(advantage(scores, is_member))


@FAST
@given(scored_sample())
def test_swapping_membership_gives_one_minus_auc(sample: tuple[np.ndarray, np.ndarray]) -> None:
    scores, is_member = sample
    assert auc(scores, ~is_member) == pytest.approx(1 - auc(scores, is_member))


@FAST
@given(scored_sample(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_auc_ci_contains_auc(sample: tuple[np.ndarray, np.ndarray], level: float) -> None:
    scores, is_member = sample
    value = auc(scores, is_member)
    lo, hi = auc_ci(scores, is_member, level)
    assert 0.0 <= lo <= value <= hi <= 1.0


@FAST
@given(scored_sample(max_size=120), st.sampled_from([0.01, 0.05, 0.1, 0.3]))
def test_tpr_at_fpr_is_best_admissible_roc_point(sample: tuple[np.ndarray, np.ndarray], level: float) -> None:
    scores, is_member = sample
    value = tpr_at_fpr(scores, is_member, level)
    n_nonmembers = int((~is_member).sum())
    if n_nonmembers * level < 1 - 1e-9:
        assert value is None
        return
    fpr, tpr, _ = roc_curve(scores, is_member)
    assert value == pytest.approx(tpr[fpr <= level + 1e-12].max())


@FAST
@given(
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(0, 200),
)
def test_epsilon_is_non_negative_and_finite(tp: int, fn: int, fp: int, tn: int) -> None:
    value = epsilon_lower_bound(tp, fn, fp, tn)
    assert value >= 0.0
    assert math.isfinite(value)


# ----------------------------------------------------------------------------- small helpers


def test_auc_ci_undefined_variance_is_uninformative() -> None:
    assert auc_ci([0.1, 0.4, 0.8], [0, 0, 1]) == (0.0, 1.0)


def test_per_class_auc() -> None:
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.6])
    is_member = np.array([1, 0, 0, 1, 1, 1], dtype=bool)
    labels = np.array([0, 0, 1, 1, 2, 2])
    aucs, counts = per_class_auc(scores, is_member, labels, ["a", "b", "c", "d"])
    # a: member 0.9 vs 0.1 -> 1; b: member 0.2 vs 0.8 -> 0; c: no non-members; d: empty.
    assert aucs == {"a": 1.0, "b": 0.0, "c": None, "d": None}
    assert counts == {"a": (1, 1), "b": (1, 1), "c": (2, 0), "d": (0, 0)}
    with pytest.raises(ValueError):
        per_class_auc(scores, is_member, labels, ["a", "b"])


def test_downsample_roc_keeps_endpoints_and_low_fpr_detail() -> None:
    rng = np.random.default_rng(0)
    is_member = np.r_[np.ones(5000, bool), np.zeros(20000, bool)]
    scores = rng.normal(size=25000) + is_member
    fpr, tpr, _ = roc_curve(scores, is_member)
    curve = downsample_roc(fpr, tpr, max_points=200)
    assert 100 <= len(curve.fpr) <= 200
    assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert all(isinstance(v, float) for v in curve.fpr + curve.tpr)
    assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.tpr) >= 0)
    # Every kept point is a point of the original curve.
    original = set(zip(fpr.tolist(), tpr.tolist(), strict=True))
    assert set(zip(curve.fpr, curve.tpr, strict=True)) <= original
    # Log spacing: tens of points below 1% FPR, several decades deep.
    assert sum(f < 0.01 for f in curve.fpr) >= 30
    assert sum(0 < f < 0.001 for f in curve.fpr) >= 10
    # Short curves are returned as they are.
    short = downsample_roc([0.0, 0.5, 1.0], [0.0, 0.7, 1.0])
    assert short.fpr == (0.0, 0.5, 1.0) and short.tpr == (0.0, 0.7, 1.0)


def test_confusion_is_a_plain_value() -> None:
    assert Confusion(tp=1, fp=0, tn=1, fn=0).precision == 1.0


# ----------------------------------------------------------------------------- assembly


def _attack_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    is_member = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    scores = rng.normal(size=1000) + 1.5 * is_member
    labels = rng.integers(0, 2, size=1000)
    return scores, is_member, labels


def test_compute_attack_metrics_assembles_plain_numbers() -> None:
    scores, is_member, labels = _attack_sample()
    result = compute_attack_metrics(scores, is_member, labels, 0.75, ["cat", "dog"])
    assert isinstance(result, AttackMetrics)
    assert (result.n_members, result.n_nonmembers) == (500, 500)
    assert result.auc == pytest.approx(skm.roc_auc_score(is_member, scores))
    assert result.auc_ci[0] < result.auc < result.auc_ci[1]
    assert set(result.tpr_at_fpr) == set(FPR_LEVELS) == set(result.tpr_at_fpr_ci)
    assert result.tpr_at_fpr["0.01"] is not None
    assert result.tpr_at_fpr["0.001"] is None and result.tpr_at_fpr_ci["0.001"] is None
    assert result.tpr_at_fpr["0.0001"] is None
    c = confusion_at_threshold(scores, is_member, 0.75)
    assert result.recall == c.recall and result.fpr_at_threshold == c.fpr
    assert result.epsilon_lower_bound == epsilon_lower_bound(c.tp, c.fn, c.fp, c.tn)
    assert result.epsilon_lower_bound is not None and result.epsilon_lower_bound > 0
    assert set(result.per_class_auc) == {"cat", "dog"}
    # JSON-ready: plain Python types only.
    payload = json.loads(json.dumps(asdict(result)))
    assert payload["auc"] == result.auc
    for value in (result.auc, result.advantage, result.precision, *result.auc_ci):
        assert type(value) is float


def test_compute_attack_metrics_without_threshold() -> None:
    scores, is_member, labels = _attack_sample()
    result = compute_attack_metrics(scores, is_member, labels, None, ["cat", "dog"])
    assert result.precision is None
    assert result.recall is None
    assert result.accuracy is None
    assert result.fpr_at_threshold is None
    assert result.epsilon_lower_bound is None


@pytest.mark.parametrize(
    ("scores", "is_member"),
    [
        ([0.1, 0.2], [1, 1]),  # no non-members
        ([0.1, 0.2], [0, 0]),  # no members
        ([0.1, 0.2, 0.3], [0, 1]),  # length mismatch
        ([0.1, np.nan], [0, 1]),  # NaN
        ([0.1, np.inf], [0, 1]),  # infinite
        ([0.1, 0.2], [0, 2]),  # not a membership flag
    ],
)
def test_invalid_inputs_raise(scores: list[float], is_member: list[int]) -> None:
    with pytest.raises(ValueError):
        auc(scores, is_member)
    with pytest.raises(ValueError):
        compute_attack_metrics(scores, is_member, np.zeros(len(scores), int), None, ["a"])
