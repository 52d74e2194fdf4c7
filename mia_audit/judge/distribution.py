"""Member / non-member histograms of an attack's score, on a scale a reader can see.

Loss-like scores (negated losses and entropies) pile up just below 0 with a long tail, and
confidences pile up just below 1. A monotone change of scale spreads them out without changing
which records an attack can tell apart: −log10(−score) for scores ≤ 0, logit for scores in [0, 1].
"""

from __future__ import annotations

import numpy as np

from mia_audit.attacks.interface import AttackResult
from mia_audit.result import SignalDistribution

N_BINS = 30
_FLOOR = 1e-12


def display_scale(scores: np.ndarray, signal: str) -> tuple[np.ndarray, str]:
    """The scores on a readable scale, and the axis label that says which."""
    distinct = np.unique(scores)
    if len(distinct) <= 2:
        return scores, signal
    if np.all(scores <= 0) and np.any(scores < 0):
        return -np.log10(np.maximum(-scores, _FLOOR)), f"−log10({signal})"
    if np.all((scores >= 0) & (scores <= 1)):
        p = np.clip(scores, _FLOOR, 1 - _FLOOR)
        return np.log(p) - np.log1p(-p), f"logit({signal})"
    return scores, signal


def signal_distribution(result: AttackResult, is_member: np.ndarray) -> SignalDistribution:
    values, label = display_scale(result.scores, result.signal or "score")
    lo, hi = float(np.min(values)), float(np.max(values))
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, N_BINS + 1)
    members, _ = np.histogram(values[is_member], bins=edges)
    nonmembers, _ = np.histogram(values[~is_member], bins=edges)
    return SignalDistribution(
        signal=f"{label} — {result.id}; higher = more likely member",
        attack_id=result.id,
        bin_edges=tuple(float(e) for e in edges),
        members=tuple(int(c) for c in members),
        nonmembers=tuple(int(c) for c in nonmembers),
    )
