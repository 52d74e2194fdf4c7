"""Rank statistics of a membership score, shared by the attacks (tuning on attacker data) and the judge.

``scores`` are membership scores (higher = more likely member), ``is_member`` the ground truth (bool,
or 0/1). Invalid inputs raise ``ValueError``: they are programming errors, not user errors.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# Slack for float comparisons such as 0.001 * 1000 >= 1.
EPS = 1e-9


def check_scores(scores: npt.ArrayLike, is_member: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(is_member)
    if s.ndim != 1 or m.ndim != 1:
        raise ValueError("scores and is_member must be 1-D arrays")
    if s.shape != m.shape:
        raise ValueError(f"scores has {s.size} entries but is_member has {m.size}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contains NaN or infinite values")
    if m.dtype != np.bool_:
        if not np.all((m == 0) | (m == 1)):
            raise ValueError("is_member must be boolean or 0/1")
        m = m.astype(bool)
    n_members = int(m.sum())
    if n_members == 0 or n_members == m.size:
        raise ValueError("is_member must contain both members and non-members")
    return s, m


def auc_from_ranks(s: FloatArray, m: BoolArray) -> float:
    """Mann–Whitney AUC from midranks: P(member score > non-member score) + ½ P(tie)."""
    from scipy.stats import rankdata

    n_pos = int(m.sum())
    n_neg = m.size - n_pos
    rank_sum = float(rankdata(s)[m].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def auc(scores: npt.ArrayLike, is_member: npt.ArrayLike) -> float:
    """Area under the ROC curve; ties count ½ (equals ``sklearn.metrics.roc_auc_score``)."""
    s, m = check_scores(scores, is_member)
    return auc_from_ranks(s, m)


def roc_counts(s: FloatArray, m: BoolArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Cumulative (fp, tp) counts and thresholds, one point per distinct score plus (0, 0)."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, m_sorted = s[order], m[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), s.size - 1]
    tps = np.cumsum(m_sorted, dtype=np.int64)[last_of_run]
    fps = (last_of_run + 1) - tps
    zero = np.zeros(1, dtype=np.int64)
    return np.r_[zero, fps], np.r_[zero, tps], s_sorted[last_of_run]


def allowed_false_positives(fpr: float, n_nonmembers: int) -> int:
    if not 0.0 < fpr < 1.0:
        raise ValueError(f"fpr must be in (0, 1), got {fpr}")
    return math.floor(fpr * n_nonmembers + EPS)


def tp_at_fpr(fps: IntArray, tps: IntArray, fpr: float) -> int | None:
    """Most true positives with empirical FPR at most ``fpr``; None if unresolvable."""
    allowed = allowed_false_positives(fpr, int(fps[-1]))
    if allowed < 1:
        return None
    # fps and tps are non-decreasing, so the last admissible point has the highest TPR.
    return int(tps[np.searchsorted(fps, allowed, side="right") - 1])


def tpr_at_fpr(scores: npt.ArrayLike, is_member: npt.ArrayLike, fpr: float) -> float | None:
    """Highest TPR of a threshold whose empirical FPR is at most ``fpr``.

    Resolvability rule: the level is resolvable only when at least one false positive fits under
    it, i.e. ``n_nonmembers * fpr >= 1`` (``n_nonmembers >= 1 / fpr``). With fewer non-members the
    only admissible thresholds have zero false positives, and a measured FPR of 0 on so few
    records says nothing about the attack at that level; the function then returns ``None``.
    """
    s, m = check_scores(scores, is_member)
    fps, tps, _ = roc_counts(s, m)
    tp = tp_at_fpr(fps, tps, fpr)
    return None if tp is None else tp / int(tps[-1])
