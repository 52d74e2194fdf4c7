"""Data and model properties (Tonni et al.) on tiny hand-built data, with the arithmetic in comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mia_audit.judge.properties import (
    PropertyInputs,
    class_shares,
    compute_properties,
    dataset_entropy,
    discretise,
    discretise_frame,
    entropy_bits,
    equal_opportunity,
    feature_balance,
    group_fairness,
    individual_fairness,
    mia_indistinguishability,
    mutual_information_bits,
    normalised_label_entropy,
    predictive_fairness,
    record_probability,
    worst_pair,
)
from mia_audit.result import Utility

ints = np.array

# ----------------------------------------------------------------------------- binning and entropy


def test_numeric_column_with_more_than_ten_values_gets_ten_equal_width_bins() -> None:
    # 0..10: w = (10 - 0) / 10 = 1, bin k = [k, k + 1), the last bin also holds the maximum 10.
    codes = discretise(pd.Series(np.arange(11, dtype=float)))
    assert codes.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]
    # Skewed: 0..9 and 100 → w = 10; everything below 10 in bin 0, 100 in bin 9.
    codes = discretise(pd.Series([*range(10), 100]))
    assert codes.tolist() == [0] * 10 + [9]


def test_few_distinct_values_and_text_keep_one_category_each() -> None:
    assert discretise(pd.Series([3.0, 1.0, 3.0])).tolist() == [1, 0, 1]
    assert discretise(pd.Series(["b", "a", "b"])).tolist() == [1, 0, 1]
    assert discretise(pd.Series([5, 5, 5])).tolist() == [0, 0, 0]


def test_entropy_in_bits() -> None:
    assert entropy_bits([0, 0, 1, 1]) == pytest.approx(1.0)
    # -(3/4 log2 3/4 + 1/4 log2 1/4) = 0.311278 + 0.5 = 0.811278
    assert entropy_bits([0, 0, 0, 1]) == pytest.approx(0.811278, abs=1e-6)
    assert entropy_bits([7, 7, 7]) == 0.0


def test_dataset_entropy_is_the_mean_over_features_and_a_constant_feature_adds_zero() -> None:
    frame = pd.DataFrame({"a": [0, 0, 1, 1], "b": [5, 5, 5, 5], "c": ["x", "y", "z", "w"]})
    # H(a) = 1, H(b) = 0 (constant), H(c) = log2 4 = 2 → mean 1.0; maxima log2 2, log2 1, log2 4 → mean 1.0
    mean, maximum = dataset_entropy(discretise_frame(frame))
    assert mean == pytest.approx(1.0)
    assert maximum == pytest.approx(1.0)


def test_mutual_information() -> None:
    assert mutual_information_bits([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert mutual_information_bits([0, 1, 0, 1], [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)


# ----------------------------------------------------------------------------- feature and class balance

_Y = ints([0, 0, 0, 0, 1, 1, 1, 1])
_FRAME = pd.DataFrame(
    {
        "a": [0, 0, 0, 0, 1, 1, 1, 1],  # = label: MI 1 bit
        "b": [0, 1, 0, 1, 0, 1, 0, 1],  # independent of the label: MI 0
        # H(c) = H(3/8, 5/8) = 0.954434; H(c | y) = ½·H(¼, ¾) + ½·0 = 0.405639 → MI 0.548795
        "c": [0, 0, 0, 1, 1, 1, 1, 1],
    }
)


def test_feature_balance_picks_the_most_informative_features() -> None:
    codes = discretise_frame(_FRAME)
    top2 = feature_balance(codes, ("a", "b", "c"), _Y, top=2)
    assert top2.features == ("a", "c")
    assert top2.mutual_information == pytest.approx((1.0, 0.548795), abs=1e-6)
    # (a, c) per record: (0,0) ×3, (0,1) ×1, (1,1) ×4 → most frequent (1,1): 4/8 = 0.5, ratio 0.5/0.5 = 1
    assert top2.share == pytest.approx(0.5)
    assert top2.ratio == pytest.approx(1.0)


def test_feature_balance_with_fewer_than_five_features_uses_them_all() -> None:
    balance = feature_balance(discretise_frame(_FRAME), ("a", "b", "c"), _Y)
    assert balance.features == ("a", "c", "b")
    # (a, b, c): (0,0,0) ×2, (0,1,0), (0,1,1), (1,0,1) ×2, (1,1,1) ×2 → max 2/8 = 0.25, ratio 1/3
    assert balance.share == pytest.approx(0.25)
    assert balance.ratio == pytest.approx(1 / 3)


def test_feature_balance_of_constant_features_is_one() -> None:
    codes = discretise_frame(pd.DataFrame({"k": [1, 1, 1]}))
    balance = feature_balance(codes, ("k",), [0, 1, 0])
    assert balance.share == 1.0 and math.isinf(balance.ratio)


def test_class_shares_and_label_entropy() -> None:
    assert class_shares([0, 0, 0, 1], 2).tolist() == [0.75, 0.25]
    assert normalised_label_entropy([0, 0, 0, 1], 2) == pytest.approx(0.811278, abs=1e-6)
    # shares ¼, ¼, ½ → H = 1.5 bits; / log2 3 = 1.584963 → 0.946395
    assert normalised_label_entropy([0, 1, 2, 2], 3) == pytest.approx(0.946395, abs=1e-6)


def test_one_class_only() -> None:
    assert class_shares([1, 1, 1], 2).tolist() == [0.0, 1.0]
    assert normalised_label_entropy([1, 1, 1], 2) == 0.0
    assert normalised_label_entropy([0, 0], 1) is None


# ----------------------------------------------------------------------------- fairness


def test_group_fairness_is_the_demographic_parity_difference_for_two_classes() -> None:
    # P(ŷ=1 | a) = 2/4, P(ŷ=1 | b) = 1/4 → (|½ − ¾| + |½ − ¼|) / 2 = 0.25
    assert group_fairness(ints([1, 1, 0, 0]), ints([1, 0, 0, 0]), 2) == pytest.approx(0.25)


def test_group_fairness_averages_over_the_classes() -> None:
    # a: (¼, ¼, ½), b: (¾, ¼, 0) → (½ + 0 + ½) / 3 = 1/3
    assert group_fairness(ints([0, 1, 2, 2]), ints([0, 0, 0, 1]), 3) == pytest.approx(1 / 3)


def test_predictive_fairness_and_equal_opportunity() -> None:
    # a: recall(1) = 1/2, recall(0) = 2/2; b: recall(1) = 3/3, recall(0) = 0/1
    pred_a, y_a = ints([1, 0, 0, 0]), ints([1, 1, 0, 0])
    pred_b, y_b = ints([1, 1, 1, 1]), ints([1, 1, 1, 0])
    # δ_p = (|1 − 0| + |½ − 1|) / 2 = 0.75
    assert predictive_fairness(pred_a, y_a, pred_b, y_b, 2) == pytest.approx(0.75)
    # Equal opportunity: |TPR_a − TPR_b| of class 1 = |½ − 1| = 0.5
    assert equal_opportunity(pred_a, y_a, pred_b, y_b) == pytest.approx(0.5)


def test_predictive_fairness_runs_over_the_classes_both_groups_hold() -> None:
    # b holds only class 1 (recall 1); a's class-1 recall is ½ → |½ − 1| over one class = 0.5
    assert predictive_fairness(ints([1, 0, 0, 0]), ints([1, 1, 0, 0]), ints([1, 1]), ints([1, 1]), 2) == 0.5
    assert predictive_fairness(ints([0]), ints([0]), ints([1]), ints([1]), 2) is None
    assert equal_opportunity(ints([0]), ints([0]), ints([1]), ints([1])) is None


def test_record_probability() -> None:
    codes = ints([[0, 1], [0, 1], [1, 1], [2, 0]])
    assert record_probability(codes).tolist() == [0.5, 0.5, 0.25, 0.25]


def test_individual_fairness() -> None:
    probs_a, px_a = np.array([[1.0, 0.0]]), np.array([0.5])
    probs_b, px_b = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0.25, 0.25])
    # (a0, b0): Δ_tv = (1 + 1)/2 = 1, d = |.5 − .25| = .25 → .75; (a0, b1): Δ_tv = 0, d = .25 → .25; mean .5
    assert individual_fairness(probs_a, px_a, probs_b, px_b) == pytest.approx(0.5)


def test_worst_pair_names_the_pair_and_the_empty_groups() -> None:
    groups = np.array(["a", "a", "b", "c"], dtype=object)
    values = {("a", "b"): 0.1, ("a", "c"): 0.4, ("b", "c"): None}
    pair = worst_pair(groups, ("a", "b", "c", "d"), lambda x, y: values[(x, y)])
    assert (pair.value, pair.group_a, pair.group_b, pair.n_a, pair.n_b) == (0.4, "a", "c", 2, 1)
    assert pair.empty_groups == ("d",)


def test_worst_pair_with_one_group_is_a_clear_message() -> None:
    pair = worst_pair(np.array(["a", "a"], dtype=object), ("a", "b"), lambda x, y: 1.0)
    assert pair.value is None
    assert "only one group ('a')" in pair.message
    assert pair.empty_groups == ("b",)


def test_empty_group_raises_in_the_pure_measures() -> None:
    with pytest.raises(ValueError, match="both groups"):
        group_fairness(ints([]), ints([1]), 2)


# ----------------------------------------------------------------------------- δ_mi


def test_mia_indistinguishability_by_hand() -> None:
    # members (3, 1), non-members (1, 3); + ½ → (3.5/5, 1.5/5) vs (1.5/5, 3.5/5) → |ln(7/3)| = 0.847298
    assert mia_indistinguishability(ints([0, 0, 0, 1]), ints([0, 1, 1, 1]), 2) == pytest.approx(math.log(7 / 3))
    # A class never predicted is left out: same value with a third, unused class.
    assert mia_indistinguishability(ints([0, 0, 0, 1]), ints([0, 1, 1, 1]), 3) == pytest.approx(math.log(7 / 3))


def test_mia_indistinguishability_smooths_an_empty_count() -> None:
    # members (2, 0), non-members (0, 2): (2.5/3) / (0.5/3) = 5 → ln 5
    assert mia_indistinguishability(ints([0, 0]), ints([1, 1]), 2) == pytest.approx(math.log(5))


def test_mia_indistinguishability_is_zero_for_the_same_distribution() -> None:
    assert mia_indistinguishability(ints([0, 1, 1, 2]), ints([2, 1, 0, 1]), 3) == 0.0


predictions = st.lists(st.integers(0, 3), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(predictions, predictions)
def test_mia_indistinguishability_invariants(members: list[int], nonmembers: list[int]) -> None:
    m, n = ints(members), ints(nonmembers)
    value = mia_indistinguishability(m, n, 4)
    assert value >= 0.0
    assert value == pytest.approx(mia_indistinguishability(n, m, 4))  # symmetric
    assert value == pytest.approx(mia_indistinguishability(m[::-1], n, 4))  # order-free
    assert mia_indistinguishability(m, m.copy(), 4) == 0.0


@settings(max_examples=60, deadline=None)
@given(predictions, predictions)
def test_group_fairness_invariants(a: list[int], b: list[int]) -> None:
    value = group_fairness(ints(a), ints(b), 4)
    assert 0.0 <= value <= 0.5 + 1e-12  # (1/n)·Σ|Δ| ≤ 2/n with n = 4
    assert value == pytest.approx(group_fairness(ints(b), ints(a), 4))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_entropy_is_bounded_by_the_number_of_values(values: list[int]) -> None:
    h = entropy_bits(values)
    assert 0.0 <= h <= math.log2(len(set(values))) + 1e-9


# ----------------------------------------------------------------------------- the property table


def _inputs(sensitive: list[str] | None) -> PropertyInputs:
    # 4 members then 4 held-out records; probabilities of class 1.
    p1 = np.array([0.9, 0.8, 0.2, 0.1, 0.6, 0.7, 0.3, 0.4])
    labels = ints([1, 1, 0, 0, 0, 1, 1, 0])
    member = np.array([True] * 4 + [False] * 4)
    return PropertyInputs(
        features=pd.DataFrame({"x": [0, 1, 0, 1, 0, 1, 0, 1], "k": [3] * 8}),
        labels=labels,
        probs=np.column_stack([1 - p1, p1]),
        member=member,
        heldout=~member,
        class_names=("no", "yes"),
        utility=Utility(1.0, 0.25, 0.75, 0.16, 0.94, 4, 4),
        n_holdout=4,
        n_population=2,
        population_source="a population file",
        sensitive=None if sensitive is None else np.array(sensitive, dtype=object),
        sensitive_col=None if sensitive is None else "sex",
    )


def test_property_table_without_a_sensitive_column_says_so() -> None:
    props = compute_properties(_inputs(None))
    assert list(props)[:4] == ["class_balance", "label_entropy", "feature_balance", "dataset_entropy"]
    assert props["class_balance"].value == 0.5  # members' labels 1, 1, 0, 0
    assert props["attacker_to_target_ratio"].value == 0.5  # 2 population records / 4 members
    assert props["n_features"].value == 2
    # Members predict (1, 1, 0, 0), held-out (1, 1, 0, 0): identical → δ_mi = 0
    assert props["mia_indistinguishability"].value == 0.0
    for name in ("group_fairness", "predictive_fairness", "equal_opportunity", "individual_fairness"):
        assert props[name].value is None
        assert "no sensitive column was given" in props[name].interpretation
    # Feature x: members 0, 1, 0, 1 → H = 1 bit; constant k → 0: mean 0.5
    assert props["dataset_entropy"].value == pytest.approx(0.5)
    assert "1 constant feature" in props["dataset_entropy"].interpretation
    for prop in props.values():
        assert prop.title and prop.category and prop.interpretation


def test_property_table_with_a_sensitive_column() -> None:
    # Members: F, F, M, M (predicted 1, 1, 0, 0; labels 1, 1, 0, 0); the group "X" exists only among held-out records.
    props = compute_properties(_inputs(["F", "F", "M", "M", "F", "X", "M", "F"]))
    # P(ŷ=1 | F) = 1, P(ŷ=1 | M) = 0 → δ_g = 1
    assert props["group_fairness"].value == pytest.approx(1.0)
    # F holds only class 1 (recall 1), M only class 0 (recall 1): no class in both groups → undefined
    assert props["predictive_fairness"].value is None
    assert "no pair of groups shares a class" in props["predictive_fairness"].interpretation
    assert "'X' had no training records and were left out" in props["group_fairness"].interpretation
    assert "sex=F (n = 2) vs sex=M (n = 2)" in props["group_fairness"].interpretation
    # δ_i: x-codes F = (0, 1), M = (0, 1) with k constant → P[x] = ½ for all, d = 0.
    # Outputs F (.1,.9), (.2,.8); M (.8,.2), (.9,.1): Δ_tv = .7, .8, .6, .7 → mean .7
    assert props["individual_fairness"].value == pytest.approx(0.7)
