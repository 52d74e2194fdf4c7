"""The audit's headline ε lower bound, measured on records that did not choose it.

Split the evaluation records in two halves (stratified by membership, seeded). On half A pick the
attack and the threshold that give the largest ε lower bound there; count that rule's true and
false positives on half B and compute the bound from those counts alone, with Clopper–Pearson
intervals (:func:`mia_audit.judge.metrics.epsilon_lower_bound`). Then swap the halves. The smaller of
the two is reported: picking the rule on the same records it is scored on would overstate ε.

An ε-DP training algorithm cannot let any test reach TPR > e^ε · FPR, so a rule that does,
on fresh records and beyond the interval, shows that no DP guarantee with a smaller ε can hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.stats import beta

from mia_audit import streams
from mia_audit.judge.metrics import epsilon_lower_bound
from mia_audit.result import EpsilonEstimate, EpsilonHalf
from mia_audit.streams import Stream


def split_halves(is_member: np.ndarray, seed: int) -> np.ndarray:
    """A boolean mask of half A: half the members and half the non-members, drawn from ``seed``."""
    m = np.asarray(is_member, dtype=bool)
    rng = streams.rng(seed, Stream.EPSILON_SPLIT)
    in_a = np.zeros(len(m), dtype=bool)
    for group in (np.flatnonzero(m), np.flatnonzero(~m)):
        chosen = rng.permutation(group)[: len(group) // 2]
        in_a[chosen] = True
    return in_a


def best_threshold(scores: np.ndarray, is_member: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The threshold (score >= t means member) with the largest ε lower bound on these records, and that bound.

    Every distinct score is a candidate; the bounds are computed for all at once.
    """
    s = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=np.float64))
    m = np.asarray(is_member, dtype=bool)
    n_pos, n_neg = int(m.sum()), int((~m).sum())
    if n_pos == 0 or n_neg == 0:
        return float("inf"), 0.0
    order = np.argsort(-s, kind="mergesort")
    s_sorted, m_sorted = s[order], m[order]
    # Positions where the score changes: the rule "score >= s_sorted[i]" flags records 0..i.
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = np.cumsum(m_sorted)[last]
    fp = np.cumsum(~m_sorted)[last]
    thresholds = s_sorted[last]
    candidates = _candidates(tp, fp, n_pos, n_neg, level)
    eps = np.full(len(tp), -np.inf)
    eps[candidates] = _epsilon_bounds(tp[candidates], fp[candidates], n_pos, n_neg, level, _clopper_pearson)
    best = int(np.argmax(eps))
    # Midway to the next lower score, so the rule does not sit exactly on one record of this half.
    below = thresholds[best + 1] if best + 1 < len(thresholds) else -np.inf
    threshold = thresholds[best]
    if np.isfinite(below) and np.isfinite(threshold):
        threshold = (threshold + below) / 2
    return float(threshold), float(eps[best])


# Past this many distinct thresholds, the exact (Clopper-Pearson) bounds are computed only where Wilson's
# approximation puts the best ``MAX_EXACT`` ε: scipy's beta quantiles took minutes on 500,000 thresholds per
# attack and half at 1,000,000 audit records, and the two bounds differ by far less than the gap between the
# best threshold and the 2,000th.
MAX_EXACT = 2_000
Bounds = Callable[[np.ndarray, np.ndarray, int, int, float], tuple[np.ndarray, np.ndarray]]


def _candidates(tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, level: float) -> np.ndarray:
    """The thresholds whose exact ε is computed: all of them, or the best by Wilson's bounds."""
    if len(tp) <= MAX_EXACT:
        return np.arange(len(tp))
    approx = _epsilon_bounds(tp, fp, n_pos, n_neg, level, _wilson)
    return np.sort(np.argsort(-approx, kind="stable")[:MAX_EXACT])


def _epsilon_bounds(tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, level: float, bounds: Bounds) -> np.ndarray:
    """The ε lower bound of each rule "score ≥ threshold" with ``tp`` members and ``fp`` non-members flagged."""
    tpr_lo, fpr_hi = bounds(tp, fp, n_pos, n_neg, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        forward = np.where((tpr_lo > 0) & (fpr_hi > 0), np.log(tpr_lo / fpr_hi), 0.0)
        backward = np.where((tpr_lo < 1) & (fpr_hi < 1), np.log((1 - fpr_hi) / (1 - tpr_lo)), 0.0)
    return np.asarray(np.maximum(0.0, np.maximum(forward, backward)))


def _clopper_pearson(
    tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr_lo = np.where(tp > 0, beta.ppf(alpha / 2, tp, n_pos - tp + 1), 0.0)
        fpr_hi = np.where(fp < n_neg, beta.ppf(1 - alpha / 2, fp + 1, n_neg - fp), 1.0)
    return tpr_lo, fpr_hi


def _wilson(tp: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1.0 - level) / 2))

    def bound(k: np.ndarray, n: int, sign: float) -> np.ndarray:
        p = k / n
        centre = p + z * z / (2 * n)
        spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return np.asarray(np.clip((centre + sign * spread) / (1 + z * z / n), 0.0, 1.0))

    return bound(tp, n_pos, -1.0), bound(fp, n_neg, 1.0)


def _one_direction(
    scores: Mapping[str, np.ndarray], is_member: np.ndarray, choose: np.ndarray, name: str, level: float
) -> EpsilonHalf:
    picks = {aid: best_threshold(s[choose], is_member[choose], level) for aid, s in scores.items()}
    # Ties go to the first attack in the given order, so the choice is reproducible.
    attack_id = max(picks, key=lambda aid: picks[aid][1])
    threshold = picks[attack_id][0]
    held = ~choose
    s = np.where(np.isnan(scores[attack_id]), -np.inf, scores[attack_id])[held]
    m = is_member[held]
    flagged = s >= threshold
    tp, fp = int(np.sum(flagged & m)), int(np.sum(flagged & ~m))
    fn, tn = int(m.sum()) - tp, int((~m).sum()) - fp
    return EpsilonHalf(
        chosen_on=name,
        attack_id=attack_id,
        threshold=threshold,
        tp=tp,
        fn=fn,
        fp=fp,
        tn=tn,
        epsilon=epsilon_lower_bound(tp, fn, fp, tn, level),
    )


def split_half_epsilon(
    scores: Mapping[str, np.ndarray], is_member: np.ndarray, seed: int, level: float = 0.95
) -> EpsilonEstimate | None:
    """The split-half ε lower bound over the given attacks' scores; ``None`` without attacks or classes."""
    m = np.asarray(is_member, dtype=bool)
    if not scores or m.sum() < 2 or (~m).sum() < 2:
        return None
    in_a = split_halves(m, seed)
    arrays = {aid: np.asarray(s, dtype=np.float64) for aid, s in scores.items()}
    halves = (
        _one_direction(arrays, m, in_a, "A", level),
        _one_direction(arrays, m, ~in_a, "B", level),
    )
    return EpsilonEstimate(
        epsilon=min(h.epsilon for h in halves),
        level=level,
        halves=halves,
        candidates=tuple(arrays),
    )
