"""Rank statistics of a membership score, shared by the attacks (tuning on attacker data) and the judge.

``scores`` are membership scores (higher = more likely member), ``is_member`` the ground truth (bool,
or 0/1). Invalid inputs raise ``ValueError``: they are programming errors, not user errors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
