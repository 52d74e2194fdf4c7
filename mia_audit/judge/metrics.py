"""Metrics of a membership score against the ground truth, with intervals.

Conventions used throughout: ``scores`` are membership scores (higher = more likely member),
``is_member`` the ground truth (bool, or 0/1), and a record is predicted member iff
``score >= threshold``. Invalid inputs (mismatched lengths, a class missing, non-finite scores)
raise ``ValueError``: they are programming errors, not user errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import beta, norm, rankdata

from mia_audit.result import FPR_LEVELS, AttackMetrics, RocCurve
from mia_audit.stats import BoolArray, FloatArray, IntArray, auc_from_ranks
from mia_audit.stats import auc as auc
from mia_audit.stats import check_scores as _check_scores
from mia_audit.stats import roc_counts as _roc_counts
from mia_audit.stats import tp_at_fpr as _tp_at_fpr
from mia_audit.stats import tpr_at_fpr as tpr_at_fpr

# ----------------------------------------------------------------------------- validation


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


# ----------------------------------------------------------------------------- ROC and AUC


def roc_curve(scores: npt.ArrayLike, is_member: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ROC curve: ``(fpr, tpr, thresholds)``, one point per distinct score.

    Point ``i`` is the rule "member iff score >= thresholds[i]". The first point is (0, 0) with
    threshold ``+inf``; the last is (1, 1) at the lowest score. Same as
    ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.
    """
    s, m = _check_scores(scores, is_member)
    fps, tps, thresholds = _roc_counts(s, m)
    fpr = fps / fps[-1]
    tpr = tps / tps[-1]
    return fpr, tpr, np.r_[np.inf, thresholds]


def _delong_variance(s: FloatArray, m: BoolArray) -> float | None:
    """DeLong variance of the AUC with the midrank algorithm of Sun & Xu (2014), O(n log n).

    ``None`` when a class has fewer than two records (the sample variance is undefined).
    """
    x, y = s[m], s[~m]
    n_x, n_y = x.size, y.size
    if n_x < 2 or n_y < 2:
        return None
    t_z = rankdata(np.r_[x, y])
    # Structural components: v10[i] = P(Y < x_i) + ½ P(Y = x_i), v01[j] = P(X > y_j) + ½ P(X = y_j).
    v10 = (t_z[:n_x] - rankdata(x)) / n_y
    v01 = 1.0 - (t_z[n_x:] - rankdata(y)) / n_x
    return float(np.var(v10, ddof=1) / n_x + np.var(v01, ddof=1) / n_y)


def auc_ci(scores: npt.ArrayLike, is_member: npt.ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """Two-sided DeLong confidence interval for the AUC (normal approximation), clipped to [0, 1].

    DeLong, DeLong & Clarke-Pearson (1988), computed with the fast midrank algorithm of
    Sun & Xu (2014). When the variance is 0 (perfect separation, constant scores) the interval is
    ``(auc, auc)``. When members or non-members number fewer than two the variance is undefined
    and the uninformative interval ``(0, 1)`` is returned.
    """
    _check_level(level)
    s, m = _check_scores(scores, is_member)
    value = auc_from_ranks(s, m)
    variance = _delong_variance(s, m)
    if variance is None:
        return 0.0, 1.0
    if variance <= 0.0:
        return value, value
    half_width = float(norm.ppf(0.5 + level / 2)) * math.sqrt(variance)
    return max(0.0, value - half_width), min(1.0, value + half_width)


def advantage(scores: npt.ArrayLike, is_member: npt.ArrayLike) -> float:
    """Membership advantage: max over thresholds of ``TPR - FPR`` (≥ 0: (0, 0) is on the ROC)."""
    fpr, tpr, _ = roc_curve(scores, is_member)
    return float(np.max(tpr - fpr))


# ----------------------------------------------------------------------------- TPR at low FPR


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided interval for a binomial proportion ``k / n``.

    Each side has probability ``(1 - level) / 2``. ``k = 0`` gives ``lo = 0``, ``k = n`` gives
    ``hi = 1``; ``n = 0`` gives ``(0, 1)``.
    """
    _check_level(level)
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    alpha = 1.0 - level
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def tpr_at_fpr_ci(
    scores: npt.ArrayLike, is_member: npt.ArrayLike, fpr: float, level: float = 0.95
) -> tuple[float, float] | None:
    """Clopper–Pearson interval (n = n_members) for :func:`tpr_at_fpr`; None when unresolvable.

    The interval covers the sampling error of the TPR at the chosen threshold only; the threshold
    itself is picked on the same records, so the point estimate is optimistic at very low FPR.
    """
    s, m = _check_scores(scores, is_member)
    fps, tps, _ = _roc_counts(s, m)
    tp = _tp_at_fpr(fps, tps, fpr)
    return None if tp is None else clopper_pearson(tp, int(tps[-1]), level)


# ----------------------------------------------------------------------------- at a threshold


@dataclass(frozen=True)
class Confusion:
    """Outcome of the rule "member iff score >= threshold"."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float | None:
        """``None`` when nothing is predicted member."""
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else None

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / (self.tp + self.fp + self.tn + self.fn)

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn)


def confusion_at_threshold(scores: npt.ArrayLike, is_member: npt.ArrayLike, threshold: float) -> Confusion:
    """Confusion counts, precision, recall, accuracy and FPR of "member iff score >= threshold"."""
    if math.isnan(threshold):
        raise ValueError("threshold is NaN")
    s, m = _check_scores(scores, is_member)
    predicted = s >= threshold
    return Confusion(
        tp=int(np.sum(predicted & m)),
        fp=int(np.sum(predicted & ~m)),
        tn=int(np.sum(~predicted & ~m)),
        fn=int(np.sum(~predicted & m)),
    )


def _log_ratio(num: float, den: float) -> float:
    return math.log(num / den) if num > 0.0 and den > 0.0 else 0.0


def epsilon_lower_bound(tp: int, fn: int, fp: int, tn: int, level: float = 0.95) -> float:
    """Empirical lower bound on ε for (ε, δ=0)-differential privacy from one membership test.

    Following Jagielski, Ullman & Oprea (2020), "Auditing Differentially Private Machine
    Learning: How Private is Private SGD?" and Nasr et al. (2021), "Adversary Instantiation:
    Lower Bounds for Differentially Private Machine Learning". An ε-DP mechanism forces
    ``TPR <= e^ε FPR`` and ``TNR <= e^ε FNR`` for any test, so::

        ε >= max(0, ln(TPR_lo / FPR_hi), ln(TNR_lo / FNR_hi))

    with ``TPR_lo`` and ``FPR_hi`` the one-sided Clopper–Pearson bounds of the two-sided
    ``level`` interval (each side at ``(1 - level) / 2``, so by the union bound both hold
    together with probability at least ``level``), ``FNR_hi = 1 - TPR_lo`` and
    ``TNR_lo = 1 - FPR_hi``. A ratio with a zero numerator or denominator contributes 0.
    The threshold must have been chosen on other records. Returns 0 when members or
    non-members are absent.
    """
    if min(tp, fn, fp, tn) < 0:
        raise ValueError("confusion counts must be non-negative")
    _check_level(level)
    if tp + fn == 0 or fp + tn == 0:
        return 0.0
    tpr_lo, _ = clopper_pearson(tp, tp + fn, level)
    _, fpr_hi = clopper_pearson(fp, fp + tn, level)
    return max(0.0, _log_ratio(tpr_lo, fpr_hi), _log_ratio(1.0 - fpr_hi, 1.0 - tpr_lo))


# ----------------------------------------------------------------------------- breakdowns


def per_class_auc(
    scores: npt.ArrayLike,
    is_member: npt.ArrayLike,
    labels: npt.ArrayLike,
    class_names: Sequence[str],
) -> tuple[dict[str, float | None], dict[str, tuple[int, int]]]:
    """AUC within each true class, and its ``(n_members, n_nonmembers)``.

    ``labels`` are class indices into ``class_names``. The AUC is ``None`` for a class without
    members or without non-members.
    """
    s, m = _check_scores(scores, is_member)
    y = np.asarray(labels)
    if y.shape != s.shape:
        raise ValueError(f"labels has {y.size} entries but scores has {s.size}")
    if y.size and (y.min() < 0 or y.max() >= len(class_names)):
        raise ValueError(f"labels must be class indices in [0, {len(class_names) - 1}]")
    aucs: dict[str, float | None] = {}
    counts: dict[str, tuple[int, int]] = {}
    for index, name in enumerate(class_names):
        in_class = y == index
        n_members = int(np.sum(m & in_class))
        n_nonmembers = int(np.sum(~m & in_class))
        counts[name] = (n_members, n_nonmembers)
        both = n_members > 0 and n_nonmembers > 0
        aucs[name] = auc_from_ranks(s[in_class], m[in_class]) if both else None
    return aucs, counts


def downsample_roc(fpr: npt.ArrayLike, tpr: npt.ArrayLike, max_points: int = 200) -> RocCurve:
    """At most ``max_points`` points of a ROC curve that keep its shape on a log-FPR axis.

    Keeps both endpoints and, for grid values of the FPR spaced logarithmically (from the
    smallest positive FPR to 1) and linearly (0 to 1), the last point at or below each value:
    the highest TPR reached at that FPR.
    """
    f = np.asarray(fpr, dtype=np.float64)
    t = np.asarray(tpr, dtype=np.float64)
    if f.ndim != 1 or f.shape != t.shape or f.size == 0:
        raise ValueError("fpr and tpr must be non-empty 1-D arrays of the same length")
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    if f.size > max_points:
        keep = _downsample_indices(f, max_points)
        f, t = f[keep], t[keep]
    return RocCurve(fpr=tuple(float(v) for v in f), tpr=tuple(float(v) for v in t))


def _downsample_indices(f: FloatArray, max_points: int) -> npt.NDArray[np.intp]:
    n_grid = max_points - 2
    n_log = n_grid // 2
    positive = f[f > 0]
    low = float(positive.min()) if positive.size else 1.0
    grid = np.r_[np.geomspace(low, 1.0, n_log), np.linspace(0.0, 1.0, n_grid - n_log)]
    picked = np.searchsorted(f, grid, side="right") - 1
    keep = np.unique(np.r_[0, np.clip(picked, 0, f.size - 1), f.size - 1])
    return keep


# ----------------------------------------------------------------------------- all together


def _tpr_at_fpr_levels(
    fps: IntArray, tps: IntArray, level: float
) -> tuple[dict[str, float | None], dict[str, tuple[float, float] | None]]:
    """TPR at each of :data:`FPR_LEVELS` and its Clopper–Pearson interval, None if unresolvable."""
    n_members = int(tps[-1])
    tprs: dict[str, float | None] = {}
    cis: dict[str, tuple[float, float] | None] = {}
    for key in FPR_LEVELS:
        tp = _tp_at_fpr(fps, tps, float(key))
        tprs[key] = None if tp is None else tp / n_members
        cis[key] = None if tp is None else clopper_pearson(tp, n_members, level)
    return tprs, cis


def compute_attack_metrics(
    scores: npt.ArrayLike,
    is_member: npt.ArrayLike,
    labels: npt.ArrayLike,
    threshold: float | None,
    class_names: Sequence[str],
    level: float = 0.95,
) -> AttackMetrics:
    """Every metric of one attack on the evaluation set, as plain Python numbers.

    ``tpr_at_fpr`` is keyed by :data:`FPR_LEVELS` with ``None`` where the sample cannot resolve
    the level (see :func:`tpr_at_fpr`). Without a ``threshold`` the threshold-based fields
    (precision, recall, accuracy, FPR at threshold, ε lower bound) are ``None``.
    """
    _check_level(level)
    s, m = _check_scores(scores, is_member)
    fps, tps, _ = _roc_counts(s, m)
    fpr, tpr = fps / fps[-1], tps / tps[-1]
    per_class, per_class_n = per_class_auc(s, m, labels, class_names)
    tpr_levels, tpr_cis = _tpr_at_fpr_levels(fps, tps, level)
    confusion = None if threshold is None else confusion_at_threshold(s, m, threshold)
    epsilon = (
        None
        if confusion is None
        else epsilon_lower_bound(confusion.tp, confusion.fn, confusion.fp, confusion.tn, level)
    )
    return AttackMetrics(
        n_members=int(m.sum()),
        n_nonmembers=int((~m).sum()),
        auc=auc_from_ranks(s, m),
        auc_ci=auc_ci(s, m, level),
        tpr_at_fpr=tpr_levels,
        tpr_at_fpr_ci=tpr_cis,
        advantage=float(np.max(tpr - fpr)),
        precision=None if confusion is None else confusion.precision,
        recall=None if confusion is None else confusion.recall,
        accuracy=None if confusion is None else confusion.accuracy,
        fpr_at_threshold=None if confusion is None else confusion.fpr,
        epsilon_lower_bound=epsilon,
        per_class_auc=per_class,
        per_class_n=per_class_n,
        roc=downsample_roc(fpr, tpr),
    )
