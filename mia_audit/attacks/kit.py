"""Small pieces several attacks share: the population threshold and its rule in words, and timing."""

from __future__ import annotations

import numpy as np

# Fewer known non-members than this cannot place a quantile threshold.
MIN_POPULATION = 20


def population_threshold(population_scores: np.ndarray, fpr: float) -> float | None:
    """The score that a share ``fpr`` of the attacker's non-member records reach or exceed."""
    if len(population_scores) < MIN_POPULATION:
        return None
    return float(np.quantile(population_scores, 1.0 - fpr, method="higher"))


def quantile_rule(fpr: float, of: str, *, known_nonmembers: bool = False) -> str:
    """The threshold rule in words: ``of`` names the records whose scores set the quantile."""
    rate = f"expected false-positive rate {fpr:.0%}"
    return f"member if the score reaches the {1 - fpr:.0%} quantile of {of} (" + (
        f"known non-members; {rate})" if known_nonmembers else f"{rate})"
    )


def threshold_and_rule(
    scores: np.ndarray, fpr: float, of: str, *, known_nonmembers: bool = False, too_few: str | None = None
) -> tuple[float | None, str]:
    """The population threshold of ``scores`` and its rule, or None and why there is none (``too_few``)."""
    threshold = population_threshold(scores, fpr)
    if threshold is None:
        return None, (
            too_few or f"no threshold: only {len(scores)} population records (at least {MIN_POPULATION} needed)"
        )
    return threshold, quantile_rule(fpr, of, known_nonmembers=known_nonmembers)
