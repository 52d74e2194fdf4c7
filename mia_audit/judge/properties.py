"""Data and model properties that explain why a model leaks (Tonni et al., "Data and Model Dependencies
of Membership Inference Attacks"), each with its value and a one-line reading grounded in the study.

Which records, following the study (it measures data properties and fairness on the target's
training set, and δ_mi on members against non-members):

- class balance, feature balance, dataset entropy and fairness: the members (training records);
- generalisation gap and δ_mi: members against the held-out records of the audit files (the
  holdout, including the share set aside as the attacker population; never a --population file),
  the same split as the utility section;
- sizes: record counts.

Binning (feature balance, dataset entropy, the record frequencies of individual fairness): a
numeric column with more than :data:`N_BINS` distinct values is cut into :data:`N_BINS`
equal-width bins over [min, max] of the measured records (bin k holds min + k·w ≤ x < min + (k+1)·w
with w = (max − min) / N_BINS; the last bin also holds max — the bins of ``numpy.histogram(x, 10)``).
Any other column (text, booleans, numbers with at most N_BINS distinct values) keeps one category
per distinct value. Entropies and mutual information are in bits (plug-in estimates).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pandas as pd

from mia_audit import streams
from mia_audit.result import PropertyValue, Utility
from mia_audit.streams import Stream

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

N_BINS = 10
TOP_FEATURES = 5
# δ_mi: pseudo-count added to every predicted-class count (Jeffreys prior), so an empty count stays finite.
SMOOTHING = 0.5
# δ_i compares every cross-group pair of records; above this many pairs, groups are subsampled (seeded).
PAIR_BUDGET = 4_000_000
# A worst pair with a group smaller than this is called out as noisy in its reading.
SMALL_GROUP = 30

DATA, SIZE, MODEL, FAIRNESS = "data", "size", "model", "fairness"

TITLES = {
    "class_balance": "Class balance",
    "smallest_class_share": "Smallest class share",
    "largest_class_share": "Largest class share",
    "label_entropy": "Label entropy (normalised)",
    "feature_balance": "Feature balance",
    "dataset_entropy": "Dataset entropy (bits)",
    "n_features": "Number of features",
    "n_members": "Training records (members)",
    "n_holdout": "Held-out records",
    "n_population": "Attacker records (population)",
    "attacker_to_target_ratio": "Attacker-to-target data ratio",
    "generalization_gap": "Generalisation gap (accuracy)",
    "loss_gap": "Generalisation gap (loss)",
    "mia_indistinguishability": "MIA-indistinguishability δ_mi",
    "group_fairness": "Group fairness δ_g",
    "predictive_fairness": "Predictive fairness δ_p",
    "equal_opportunity": "Equal opportunity gap",
    "individual_fairness": "Individual fairness δ_i",
}


# ----------------------------------------------------------------------------- data properties


def discretise(column: pd.Series, n_bins: int = N_BINS) -> IntArray:
    """Category codes of one column: equal-width bins for numeric columns with more than ``n_bins`` values."""
    values = column.to_numpy()
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric and column.nunique() > n_bins:
        x = values.astype(np.float64)
        edges = np.linspace(x.min(), x.max(), n_bins + 1)
        return np.searchsorted(edges[1:-1], x, side="right").astype(np.int64)
    try:
        codes, _ = pd.factorize(column, sort=True)
    except TypeError:  # mixed types that cannot be ordered: first-seen order gives the same entropy
        codes, _ = pd.factorize(column, sort=False)
    return codes.astype(np.int64)


def discretise_frame(frame: pd.DataFrame, n_bins: int = N_BINS) -> IntArray:
    """``(n, d)`` category codes, one column per feature (see the module note on binning)."""
    if frame.shape[1] == 0:
        return np.zeros((len(frame), 0), dtype=np.int64)
    return np.column_stack([discretise(frame[c], n_bins) for c in frame.columns])


def _entropy_of_counts(counts: npt.NDArray[np.int64]) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(max(0.0, -np.sum(p * np.log2(p))))


def entropy_bits(codes: npt.ArrayLike) -> float:
    """Shannon entropy of the empirical distribution of ``codes`` (rows, for 2-D input), in bits."""
    values = np.asarray(codes)
    _, counts = np.unique(values, return_counts=True, axis=0 if values.ndim > 1 else None)
    return _entropy_of_counts(counts)


def mutual_information_bits(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Plug-in mutual information ``H(X) + H(Y) − H(X, Y)`` of two discrete arrays, in bits."""
    _, xi = np.unique(np.asarray(x), return_inverse=True)
    _, yi = np.unique(np.asarray(y), return_inverse=True)
    xi, yi = np.ravel(xi), np.ravel(yi)
    n_y = int(yi.max()) + 1 if len(yi) else 1
    joint = np.bincount(xi * n_y + yi)
    h_x, h_y = _entropy_of_counts(np.bincount(xi)), _entropy_of_counts(np.bincount(yi))
    return max(0.0, h_x + h_y - _entropy_of_counts(joint))


def dataset_entropy(codes: IntArray) -> tuple[float, float]:
    """Mean Shannon entropy over features (study Eq. 1–2), and the mean of its per-feature maxima."""
    if codes.shape[1] == 0:
        return 0.0, 0.0
    entropies = [entropy_bits(codes[:, j]) for j in range(codes.shape[1])]
    maxima = [math.log2(len(np.unique(codes[:, j]))) for j in range(codes.shape[1])]
    return float(np.mean(entropies)), float(np.mean(maxima))


@dataclass(frozen=True)
class FeatureBalance:
    """Share of records holding the most frequent combination of the chosen features' (binned) values."""

    share: float
    features: tuple[str, ...]
    mutual_information: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """The study's P[x = c] / P[x ≠ c] for the most frequent combination c."""
        return math.inf if self.share >= 1.0 else self.share / (1.0 - self.share)


def feature_balance(
    codes: IntArray, names: tuple[str, ...], labels: npt.ArrayLike, top: int = TOP_FEATURES
) -> FeatureBalance:
    """Feature balance on the ``top`` features with the highest mutual information with the label.

    Ties in mutual information keep column order.
    """
    y = np.asarray(labels)
    if len(y) == 0:
        raise ValueError("feature balance needs at least one record")
    mi = np.array([mutual_information_bits(codes[:, j], y) for j in range(codes.shape[1])])
    chosen = np.argsort(-mi, kind="stable")[:top]
    _, counts = np.unique(codes[:, chosen], axis=0, return_counts=True)
    return FeatureBalance(
        share=float(counts.max() / len(y)),
        features=tuple(names[j] for j in chosen),
        mutual_information=tuple(float(mi[j]) for j in chosen),
    )


def class_shares(labels: npt.ArrayLike, n_classes: int) -> FloatArray:
    """Share of each class index ``0 … n_classes − 1`` among ``labels``."""
    y = np.asarray(labels, dtype=np.int64)
    if len(y) == 0:
        raise ValueError("class shares need at least one record")
    return np.bincount(y, minlength=n_classes)[:n_classes] / len(y)


def normalised_label_entropy(labels: npt.ArrayLike, n_classes: int) -> float | None:
    """Label entropy divided by its maximum ``log2(n_classes)``; None for fewer than two classes."""
    if n_classes < 2:
        return None
    return entropy_bits(np.asarray(labels)) / math.log2(n_classes)


# ----------------------------------------------------------------------------- model properties


def _predicted_rates(pred: IntArray, n_classes: int) -> FloatArray:
    return np.bincount(pred, minlength=n_classes)[:n_classes] / len(pred)


def group_fairness(pred_a: IntArray, pred_b: IntArray, n_classes: int) -> float:
    """δ_g (study Eq. 8): ``(1/n) Σ_c |P(ŷ = c | a) − P(ŷ = c | b)|`` over the model's n classes.

    For two classes this is the demographic parity difference ``|P(ŷ = 1 | a) − P(ŷ = 1 | b)|``.
    """
    if len(pred_a) == 0 or len(pred_b) == 0:
        raise ValueError("group fairness needs records in both groups")
    return float(np.abs(_predicted_rates(pred_a, n_classes) - _predicted_rates(pred_b, n_classes)).mean())


def _recalls(pred: IntArray, y: IntArray, n_classes: int) -> tuple[FloatArray, IntArray]:
    support = np.bincount(y, minlength=n_classes)[:n_classes]
    hits = np.bincount(y[pred == y], minlength=n_classes)[:n_classes]
    return hits / np.maximum(support, 1), support


def predictive_fairness(
    pred_a: IntArray, y_a: IntArray, pred_b: IntArray, y_b: IntArray, n_classes: int
) -> float | None:
    """δ_p (study Eq. 10): mean over classes of ``|P(ŷ = c | y = c, a) − P(ŷ = c | y = c, b)|``.

    A true-positive rate exists only for a class that occurs in the group, so the mean runs over
    the classes present in both groups; None when there is none.
    """
    recall_a, support_a = _recalls(pred_a, y_a, n_classes)
    recall_b, support_b = _recalls(pred_b, y_b, n_classes)
    both = (support_a > 0) & (support_b > 0)
    if not both.any():
        return None
    return float(np.abs(recall_a[both] - recall_b[both]).mean())


def equal_opportunity(
    pred_a: IntArray, y_a: IntArray, pred_b: IntArray, y_b: IntArray, positive: int = 1
) -> float | None:
    """``|TPR_a − TPR_b|`` of the positive class (binary tasks); None when a group has no positive record."""
    pos_a, pos_b = y_a == positive, y_b == positive
    if not pos_a.any() or not pos_b.any():
        return None
    return float(abs(np.mean(pred_a[pos_a] == positive) - np.mean(pred_b[pos_b] == positive)))


def record_probability(codes: IntArray) -> FloatArray:
    """P[x] of the study's individual fairness: the share of records with the same binned feature vector."""
    if len(codes) == 0:
        return np.zeros(0)
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    return counts[np.ravel(inverse)] / len(codes)


def individual_fairness(probs_a: FloatArray, px_a: FloatArray, probs_b: FloatArray, px_b: FloatArray) -> float:
    """δ_i (study Eq. 11–13) over every pair (i in a, j in b), as a mean so that it stays in [0, 1]:

    ``mean_ij | Δ_tv(i, j) − |P[x_i] − P[x_j]| |`` with ``Δ_tv(i, j) = (1/n) Σ_c |p_i(c) − p_j(c)|``
    the distance between the model's outputs and ``P[x]`` the record frequency (:func:`record_probability`).
    The study writes a sum over pairs; the mean does not grow with the number of records.
    """
    if len(probs_a) == 0 or len(probs_b) == 0:
        raise ValueError("individual fairness needs records in both groups")
    n_classes = probs_a.shape[1]
    rows = max(1, 2_000_000 // max(1, len(probs_b) * n_classes))
    total = 0.0
    for start in range(0, len(probs_a), rows):
        pa, xa = probs_a[start : start + rows], px_a[start : start + rows]
        tv = np.abs(pa[:, None, :] - probs_b[None, :, :]).mean(axis=2)
        total += float(np.abs(tv - np.abs(xa[:, None] - px_b[None, :])).sum())
    return total / (len(probs_a) * len(probs_b))


def mia_indistinguishability(pred_members: IntArray, pred_nonmembers: IntArray, n_classes: int) -> float:
    """δ_mi (Yaghini et al., study Eq. 6): ``max_c |ln P(ŷ = c | member) / P(ŷ = c | non-member)|``.

    Classes predicted for no record carry no evidence and are left out. Every remaining count
    gets :data:`SMOOTHING` (½) added, ``P(ŷ = c | m) = (count_m(c) + ½) / (n_m + ½·k)`` over the
    k remaining classes, so a class one side never receives gives a large but finite value.
    """
    if len(pred_members) == 0 or len(pred_nonmembers) == 0:
        raise ValueError("δ_mi needs members and non-members")
    counts_m = np.bincount(pred_members, minlength=n_classes)[:n_classes]
    counts_n = np.bincount(pred_nonmembers, minlength=n_classes)[:n_classes]
    seen = (counts_m + counts_n) > 0
    k = int(seen.sum())
    p_m = (counts_m[seen] + SMOOTHING) / (len(pred_members) + SMOOTHING * k)
    p_n = (counts_n[seen] + SMOOTHING) / (len(pred_nonmembers) + SMOOTHING * k)
    return float(np.abs(np.log(p_m / p_n)).max())


# ----------------------------------------------------------------------------- worst pair of groups


@dataclass(frozen=True)
class WorstPair:
    """The largest value of a pairwise fairness measure over all pairs of non-empty groups."""

    value: float | None
    group_a: str | None
    group_b: str | None
    n_a: int
    n_b: int
    empty_groups: tuple[str, ...]
    message: str


# measure(group_a, group_b) -> value, or None where the pair leaves it undefined
PairMeasure = Callable[[str, str], "float | None"]


def worst_pair(groups: npt.ArrayLike, group_names: tuple[str, ...], measure: PairMeasure) -> WorstPair:
    """Evaluate ``measure(a, b)`` on every pair of groups with records and keep the largest.

    ``group_names`` lists every group of the column (so that a group without records here is
    named, not silently dropped); pairs are taken in sorted name order and ties keep the first.
    """
    g = np.asarray(groups, dtype=object)
    names = tuple(sorted(set(group_names) | set(g.tolist())))
    sizes = {name: int(np.sum(g == name)) for name in names}
    present = tuple(n for n in names if sizes[n] > 0)
    empty = tuple(n for n in names if sizes[n] == 0)
    if len(present) < 2:
        only = f"only one group ({present[0]!r})" if present else "no group"
        return WorstPair(None, None, None, 0, 0, empty, f"{only} has records here; a fairness gap needs two groups")
    best: tuple[float, str, str] | None = None
    for a, b in combinations(present, 2):
        value = measure(a, b)
        if value is not None and (best is None or value > best[0]):
            best = (value, a, b)
    if best is None:
        return WorstPair(None, None, None, 0, 0, empty, "no pair of groups shares a class, so the gap is undefined")
    value, a, b = best
    return WorstPair(value, a, b, sizes[a], sizes[b], empty, "")


def _subsample(mask: BoolArray, cap: int, rng: np.random.Generator) -> npt.NDArray[np.intp]:
    index = np.flatnonzero(mask)
    return index if len(index) <= cap else np.sort(rng.choice(index, size=cap, replace=False))


# ----------------------------------------------------------------------------- the property table


@dataclass(frozen=True)
class PropertyInputs:
    """What the properties read: every audit record's features, class index and target output."""

    features: pd.DataFrame
    labels: IntArray
    probs: FloatArray
    member: BoolArray
    heldout: BoolArray
    class_names: tuple[str, ...]
    utility: Utility
    n_holdout: int
    n_population: int
    population_source: str
    sensitive: npt.NDArray[np.object_] | None = None
    sensitive_col: str | None = None
    seed: int = 0


def compute_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    """Every property, in report order: data, sizes, model behaviour, fairness."""
    out: dict[str, PropertyValue] = {}
    out.update(_class_properties(inputs))
    codes = discretise_frame(inputs.features[inputs.member])
    out.update(_feature_properties(inputs, codes))
    out.update(_size_properties(inputs))
    out.update(_model_properties(inputs))
    out.update(_fairness_properties(inputs, codes))
    return {name: replace(value, title=TITLES.get(name, name)) for name, value in out.items()}


def compute_regression_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    """The properties that apply to a regressor (``labels``: ranges of the true value): data, sizes, model."""
    out: dict[str, PropertyValue] = {}
    codes = discretise_frame(inputs.features[inputs.member])
    out.update(_feature_properties(inputs, codes))
    out.update(_size_properties(inputs))
    out.update(_regression_model_properties(inputs))
    titles = {
        **TITLES,
        "generalization_gap": "Generalisation gap (R²)",
        "loss_gap": "Generalisation gap (squared error)",
    }
    return {name: replace(value, title=titles.get(name, name)) for name, value in out.items()}


def _regression_model_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    u = inputs.utility
    basis = f"members vs held-out records ({u.n_train:,} vs {u.n_test:,})"
    return {
        "generalization_gap": PropertyValue(
            u.generalization_gap,
            f"R² {u.train_accuracy:.3f} on members and {u.test_accuracy:.3f} on held-out records. A gap means "
            "memorisation, which these attacks exploit; a small gap alone is no reassurance.",
            basis,
            MODEL,
        ),
        "loss_gap": PropertyValue(
            u.test_loss - u.train_loss,
            f"Mean squared error {u.train_loss:.4g} on members and {u.test_loss:.4g} on held-out records "
            "(held-out minus members); the loss-threshold attack reads exactly this difference.",
            basis,
            MODEL,
        ),
    }


def _members_basis(n: int) -> str:
    return f"members (the training records), n = {n:,}"


def _class_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    y = inputs.labels[inputs.member]
    k = len(inputs.class_names)
    shares = class_shares(y, k)
    basis = _members_basis(len(y))
    study = (
        "In Tonni et al. more imbalanced classes raised the lowest attack accuracy observed "
        "(from about 0.5 at balance to about 0.7); minority-class records are often the more exposed."
    )
    out: dict[str, PropertyValue] = {}
    present = int((shares > 0).sum())

    def share(index: int, text: str) -> PropertyValue:
        """Class ``index``'s share of the training records, as a data property."""
        return PropertyValue(float(shares[index]), text, basis, DATA)

    if k == 2:
        minority = float(shares.min())
        state = "one class only" if present < 2 else _balance_word(minority)
        out["class_balance"] = share(
            1,
            f"{shares[1]:.1%} of the training records are class '{inputs.class_names[1]}' and {shares[0]:.1%} "
            f"'{inputs.class_names[0]}' ({state}; 50% is balanced). {study}",
        )
    elif k > 2:
        small, large = int(np.argmin(shares)), int(np.argmax(shares))
        out["smallest_class_share"] = share(
            small,
            f"The rarest class, '{inputs.class_names[small]}', holds {shares[small]:.1%} of the training records "
            f"(an even split would give {1 / k:.1%} each). {study}",
        )
        out["largest_class_share"] = share(
            large,
            f"The most common class, '{inputs.class_names[large]}', holds {shares[large]:.1%} of the training "
            f"records; {present} of the model's {k} classes occur among them.",
        )
    entropy = normalised_label_entropy(y, k)
    out["label_entropy"] = PropertyValue(
        entropy,
        "The model has a single class, so label entropy is undefined."
        if entropy is None
        else f"Label entropy is {entropy:.3f} of its maximum log2({k}) (1 = every class equally common, "
        "0 = one class only); the lower it is, the more some classes dominate the training data.",
        basis,
        DATA,
    )
    return out


def _balance_word(minority: float) -> str:
    if minority >= 0.4:
        return "close to balanced"
    return "moderately imbalanced" if minority >= 0.2 else "strongly imbalanced"


def _feature_properties(inputs: PropertyInputs, codes: IntArray) -> dict[str, PropertyValue]:
    frame = inputs.features[inputs.member]
    names = tuple(str(c) for c in frame.columns)
    basis = _members_basis(len(frame)) + f"; numeric columns with more than {N_BINS} values in {N_BINS} bins"
    balance = feature_balance(codes, names, inputs.labels[inputs.member])
    k = len(balance.features)
    chosen = ", ".join(balance.features)
    if balance.share >= 1.0:
        holding = (
            f"All training records hold one combination of the {k} features most informative about the label "
            f"({chosen})."
        )
    else:
        holding = (
            f"{balance.share:.1%} of the training records hold the most common combination of the {k} features most "
            f"informative about the label ({chosen}); the other {1 - balance.share:.1%} hold other combinations "
            f"(ratio {balance.ratio:.2f})."
        )
    if max(balance.mutual_information, default=0.0) == 0.0:
        holding += " No feature carries information about the label here, so the first columns were taken."
    mean_h, max_h = dataset_entropy(codes)
    constant = int(sum(len(np.unique(codes[:, j])) < 2 for j in range(codes.shape[1])))
    return {
        "feature_balance": PropertyValue(
            balance.share,
            f"{holding} In the study a more dominant combination raised the floor of attack accuracy: the model's "
            "predictions lean towards the dominant values.",
            basis,
            DATA,
        ),
        "dataset_entropy": PropertyValue(
            mean_h,
            f"Mean entropy {mean_h:.2f} bits per feature (at most {max_h:.2f} with these categories and bins"
            + (f"; {constant} constant feature{'s' if constant != 1 else ''} add 0" if constant else "")
            + "). In the study higher training-data entropy went with lower attack accuracy (clearly on Purchase "
            "and Texas, weakly on Adult).",
            basis,
            DATA,
        ),
    }


def _size_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    n_members = int(inputs.member.sum())
    ratio = inputs.n_population / n_members if n_members else None
    if ratio is None:
        reading = "No members, so the ratio is undefined."
    elif inputs.n_population == 0:
        reading = (
            "The attacker holds no records of its own here, so attacks that need shadow or reference data did not run."
        )
    else:
        reading = (
            f"The attacker holds {ratio:.2f} records per training record ({inputs.population_source}). In the study "
            "attack accuracy rose from about 0.5 towards 1 as the shadow data grew with the target fixed: an "
            "attacker with more data than this may do better than measured here."
        )
    return {
        "n_features": PropertyValue(
            inputs.features.shape[1],
            "Feature columns the model reads. The study found no clear effect of the number of features on "
            "attack accuracy.",
            "feature columns",
            SIZE,
        ),
        "n_members": PropertyValue(
            n_members,
            "Training records in the audit. In the study the target's own size had no clear effect once the "
            "attacker's data size was fixed.",
            "records",
            SIZE,
        ),
        "n_holdout": PropertyValue(
            inputs.n_holdout,
            "Held-out records given, including any share set aside as the attacker's population.",
            "records",
            SIZE,
        ),
        "n_population": PropertyValue(
            inputs.n_population, f"Records the attacker holds: {inputs.population_source}.", "records", SIZE
        ),
        "attacker_to_target_ratio": PropertyValue(ratio, reading, "population records / members", SIZE),
    }


def _model_properties(inputs: PropertyInputs) -> dict[str, PropertyValue]:
    u = inputs.utility
    basis = f"members vs held-out records ({u.n_train:,} vs {u.n_test:,})"
    pred = np.argmax(inputs.probs, axis=1)
    delta = mia_indistinguishability(pred[inputs.member], pred[inputs.heldout], len(inputs.class_names))
    return {
        "generalization_gap": PropertyValue(
            u.generalization_gap,
            f"Members are classified correctly {u.train_accuracy:.1%} of the time, held-out records "
            f"{u.test_accuracy:.1%}. A gap means memorisation, which these attacks exploit; the study also found "
            "strong attacks on models without a gap, so a small gap alone is no reassurance.",
            basis,
            MODEL,
        ),
        "loss_gap": PropertyValue(
            u.test_loss - u.train_loss,
            f"Mean cross-entropy loss {u.train_loss:.3f} on members and {u.test_loss:.3f} on held-out records "
            "(held-out minus members); loss-based attacks read exactly this difference.",
            basis,
            MODEL,
        ),
        "mia_indistinguishability": PropertyValue(
            delta,
            f"Predicted-class frequencies of members and held-out records differ by up to a factor "
            f"{math.exp(delta):.2f} (δ_mi = 0: the predicted class says nothing about membership). In the study "
            "δ_mi below 0.1 went with attack accuracy of 50–55%; larger values did not always mean stronger attacks.",
            basis + f"; predicted classes, counts + {SMOOTHING}",
            MODEL,
        ),
    }


def _fairness_properties(inputs: PropertyInputs, codes: IntArray) -> dict[str, PropertyValue]:
    """δ_g, δ_p, (binary) equal opportunity and δ_i on the members; ``codes`` are their binned features."""
    names = ["group_fairness", "predictive_fairness"]
    if len(inputs.class_names) == 2:
        names.append("equal_opportunity")
    names.append("individual_fairness")
    if inputs.sensitive is None or inputs.sensitive_col is None:
        reading = (
            "Not measured: no sensitive column was given, and groups are not guessed. "
            "Name one with --sensitive-col (e.g. sex) to measure fairness."
        )
        return {name: PropertyValue(None, reading, "", FAIRNESS) for name in names}
    member = inputs.member
    groups = inputs.sensitive[member]
    all_groups = tuple(sorted(set(inputs.sensitive[member | inputs.heldout].tolist())))
    probs = inputs.probs[member]
    pred = np.argmax(probs, axis=1)
    y = inputs.labels[member]
    k = len(inputs.class_names)
    masks = {g: groups == g for g in all_groups}
    measures: dict[str, PairMeasure] = {
        "group_fairness": lambda a, b: group_fairness(pred[masks[a]], pred[masks[b]], k),
        "predictive_fairness": lambda a, b: predictive_fairness(
            pred[masks[a]], y[masks[a]], pred[masks[b]], y[masks[b]], k
        ),
        "equal_opportunity": lambda a, b: equal_opportunity(pred[masks[a]], y[masks[a]], pred[masks[b]], y[masks[b]]),
        "individual_fairness": _individual_measure(inputs, groups, all_groups, codes),
    }
    readings: dict[str, Callable[[float], str]] = {
        "group_fairness": lambda v: (
            f"the share of records predicted in each class differs by {v:.3f} on average over the classes "
            "(0 = demographic parity). In the study fairer models (values near 0) were more resilient to "
            "membership inference; group fairness had the most consistent link."
        ),
        "predictive_fairness": lambda v: (
            f"true-positive rates, per class and averaged over the classes both groups hold, differ by {v:.3f} "
            "(0 = equal opportunity). In the study predictive fairness tracked class balance, and fairer models "
            "leaked less."
        ),
        "equal_opportunity": lambda v: (
            f"the true-positive rate of class '{inputs.class_names[-1]}' differs by {v:.3f} (0 = equal opportunity)."
        ),
        "individual_fairness": lambda v: (
            "across pairs of records, the gap between how differently the model answers and how differently "
            f"common the records are averages {v:.3f} (0 = alike records treated alike). In the study its link "
            "with attack accuracy was weaker than group fairness's."
        ),
    }
    col = inputs.sensitive_col
    out: dict[str, PropertyValue] = {}
    for name in names:
        pair = worst_pair(groups, all_groups, measures[name])
        basis = f"members, worst pair of {len(all_groups)} {col} groups"
        if name == "individual_fairness":
            basis += "; seeded sample of each group when pairs exceed 4 million"
        out[name] = PropertyValue(pair.value, _fairness_reading(pair, col, readings[name]), basis, FAIRNESS)
    return out


def _individual_measure(
    inputs: PropertyInputs, groups: npt.NDArray[np.object_], all_groups: tuple[str, ...], codes: IntArray
) -> PairMeasure:
    """δ_i between two groups, each subsampled (seeded, once per group) to keep the pair count bounded."""
    px = record_probability(codes)
    probs = inputs.probs[inputs.member]
    present = [g for g in all_groups if np.any(groups == g)]
    n_pairs = max(1, len(present) * (len(present) - 1) // 2)
    cap = max(1, math.isqrt(PAIR_BUDGET // n_pairs))
    rng = streams.rng(inputs.seed, Stream.PROPERTY_SAMPLE)
    sample = {g: _subsample(groups == g, cap, rng) for g in present}

    def measure(a: str, b: str) -> float:
        ia, ib = sample[a], sample[b]
        return individual_fairness(probs[ia], px[ia], probs[ib], px[ib])

    return measure


def _fairness_reading(pair: WorstPair, col: str, reading: Callable[[float], str]) -> str:
    left_out = (
        f" Group{'s' if len(pair.empty_groups) > 1 else ''} {', '.join(repr(g) for g in pair.empty_groups)} "
        "had no training records and were left out."
        if pair.empty_groups
        else ""
    )
    if pair.value is None:
        return f"Not measured: {pair.message}.{left_out}"
    head = f"Worst pair {col}={pair.group_a} (n = {pair.n_a:,}) vs {col}={pair.group_b} (n = {pair.n_b:,}): "
    small = (
        f" With only {min(pair.n_a, pair.n_b)} records in one group, the gap is noisy."
        if min(pair.n_a, pair.n_b) < SMALL_GROUP
        else ""
    )
    return head + reading(pair.value) + small + left_out
