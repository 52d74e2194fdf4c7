"""Per-record signals computed from the target's output probabilities.

Every function is pure numpy. ``probs`` is an ``(n, n_classes)`` array of class probabilities
(rows of a softmax, one-hot rows for label-only targets) and ``labels`` an ``(n,)`` array of
true class indices into its columns. Inputs are converted to float64.

Logarithms use :data:`PROB_FLOOR`: a probability (or ``1 - p``) below it is raised to it before
the log, so every signal stays finite for exact 0/1 probabilities. The floor is far below what
float32 can represent, so it only ever acts on exact zeros (or float64 values that small) and
keeps the resolution of confident predictions; it bounds ``-log p`` by about 103.6. The same
constant is used by the reference implementation of LiRA (Carlini et al. 2022).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Signal = Callable[[npt.ArrayLike, npt.ArrayLike], FloatArray]

PROB_FLOOR = 1e-45
# Probabilities slightly outside [0, 1] from float rounding in a softmax are accepted (and clipped).
_RANGE_TOL = 1e-6


def _check_probs(probs: npt.ArrayLike) -> FloatArray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"probs must be a 2-D (n, n_classes) array, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contains NaN or infinite values")
    if p.size and (p.min() < -_RANGE_TOL or p.max() > 1 + _RANGE_TOL):
        raise ValueError("probs must lie in [0, 1]")
    return np.clip(p, 0.0, 1.0)


def _check(probs: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    p = _check_probs(probs)
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {y.shape}")
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"probs has {p.shape[0]} rows but labels has {y.shape[0]} entries")
    integral = np.issubdtype(y.dtype, np.integer) or np.all(np.equal(np.mod(y, 1), 0))
    if y.size and not integral:
        raise ValueError("labels must be integer class indices")
    y = y.astype(np.intp)
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {p.shape[1] - 1}]")
    return p, y


def _require_two_classes(p: FloatArray) -> None:
    if p.shape[1] < 2:
        raise ValueError("this signal needs at least two classes")


def _safe_log(x: FloatArray) -> FloatArray:
    return np.log(np.maximum(x, PROB_FLOOR))


def _true_column_mask(p: FloatArray, y: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(p.shape, dtype=bool)
    mask[np.arange(p.shape[0]), y] = True
    return mask


def true_class_confidence(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """Probability the model gives to the true class, ``p_y``."""
    p, y = _check(probs, labels)
    return p[np.arange(p.shape[0]), y]


def loss(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """Cross-entropy loss ``-log p_y``; ``p_y`` is floored at :data:`PROB_FLOOR` (max ≈ 103.6)."""
    return 0.0 - _safe_log(true_class_confidence(probs, labels))


def entropy(probs: npt.ArrayLike) -> FloatArray:
    """Shannon entropy of each row in nats, with ``0 · log 0 = 0``."""
    p = _check_probs(probs)
    from scipy.special import xlogy

    return np.asarray(0.0 - xlogy(p, p).sum(axis=1), dtype=np.float64)


def modified_entropy(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """Modified entropy (Song & Mittal 2021, "Systematic Evaluation of Privacy Risks of ML Models").

    ``Mentr = -(1 - p_y) log p_y - Σ_{i≠y} p_i log(1 - p_i)``. Low for confident, correct
    predictions; high for confident, wrong ones. ``p_y`` and ``1 - p_i`` are floored before the log.
    """
    p, y = _check(probs, labels)
    true = _true_column_mask(p, y)
    p_y = p[true]
    others = np.where(true, 0.0, p * _safe_log(1.0 - p)).sum(axis=1)
    return np.asarray(0.0 - (1.0 - p_y) * _safe_log(p_y) - others, dtype=np.float64)


def logit_confidence(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """Logit-scaled confidence ``log p_y - log Σ_{y'≠y} p_{y'}`` (≈ ``log(p/(1-p))``).

    Computed from the other classes' probabilities rather than ``1 - p_y``, which rounds to 0 for
    confident predictions: the value keeps growing as the others shrink, and is bounded (finite)
    because each probability is floored at :data:`PROB_FLOOR` before the log. Monotone
    (non-decreasing) in ``p_y`` when the other classes shrink with it.
    """
    p, y = _check(probs, labels)
    _require_two_classes(p)
    true = _true_column_mask(p, y)
    log_p = _safe_log(p)
    from scipy.special import logsumexp

    log_others = logsumexp(np.where(true, -np.inf, log_p), axis=1)
    return np.asarray(log_p[true] - log_others, dtype=np.float64)


def margin(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """``p_y - max_{y'≠y} p_{y'}``: positive when the prediction is correct."""
    p, y = _check(probs, labels)
    _require_two_classes(p)
    true = _true_column_mask(p, y)
    return np.asarray(p[true] - np.where(true, -np.inf, p).max(axis=1), dtype=np.float64)


def top_k(probs: npt.ArrayLike, k: int = 3) -> FloatArray:
    """The ``k`` largest probabilities of each row, descending; zero-padded past the last class."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    p = _check_probs(probs)
    ordered = -np.sort(-p, axis=1)[:, :k]
    if ordered.shape[1] < k:
        ordered = np.pad(ordered, ((0, 0), (0, k - ordered.shape[1])))
    return ordered


def max_confidence(probs: npt.ArrayLike) -> FloatArray:
    """Largest probability of each row (needs no labels)."""
    return _check_probs(probs).max(axis=1)


def _entropy_signal(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    _check(probs, labels)
    return entropy(probs)


def _max_confidence_signal(probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    _check(probs, labels)
    return max_confidence(probs)


SIGNALS: dict[str, Signal] = {
    "confidence": true_class_confidence,
    "loss": loss,
    "entropy": _entropy_signal,
    "modified_entropy": modified_entropy,
    "logit": logit_confidence,
    "margin": margin,
    "max_confidence": _max_confidence_signal,
}

# Whether a higher raw value of the signal means "more likely a training member".
MEMBER_HIGHER: dict[str, bool] = {
    "confidence": True,
    "loss": False,
    "entropy": False,
    "modified_entropy": False,
    "logit": True,
    "margin": True,
    "max_confidence": True,
}


def membership_score(name: str, probs: npt.ArrayLike, labels: npt.ArrayLike) -> FloatArray:
    """The named signal oriented so that a higher value means "more likely member"."""
    if name not in SIGNALS:
        raise ValueError(f"unknown signal {name!r}; known: {', '.join(sorted(SIGNALS))}")
    values = SIGNALS[name](probs, labels)
    # 0.0 - x rather than -x: no negative zeros in exported scores.
    return values if MEMBER_HIGHER[name] else 0.0 - values
