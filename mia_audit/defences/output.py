"""Output-side defences: transformations of the probabilities a model releases.

Each transformation is a function of the probability matrix alone, ``(n, C) -> (n, C)``, so that the
same one can be applied to the target's outputs and to every model the attacker trains: an attack on a
defended API sees transformed outputs from its shadow and reference models too, or its numbers would
be optimistic.

- ``top_k``: release only the k largest probabilities, the others as 0 (Shokri et al. 2017);
- ``rounded``: round every probability to 1 or 2 decimals (Shokri et al. 2017);
- ``soften``: a temperature T > 1 on the log-probabilities; the predicted class, so the accuracy, is
  unchanged and the confidence lower. ``fitted_temperature`` picks T on known non-members;
- ``label_only``: release the predicted class alone, as a one-hot row (ML-Leaks, Salem et al. 2019).

``utility`` measures what a transformation costs: accuracy, log-loss and expected calibration error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from mia_audit.result import DefenceUtility

# Probabilities below this count as this in log-losses and log-probabilities (a released 0 is not -inf).
FLOOR = 1e-12
TEMPERATURES = tuple(float(t) for t in np.round(np.geomspace(1.0, 20.0, 41), 4))
ECE_BINS = 15


def top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest probabilities of each row, the others 0 (ties: the lower class index first)."""
    p = np.asarray(probs, dtype=np.float64)
    if k >= p.shape[1]:
        return p.copy()
    keep = np.argsort(-p, axis=1, kind="stable")[:, :k]
    out = np.zeros_like(p)
    np.put_along_axis(out, keep, np.take_along_axis(p, keep, axis=1), axis=1)
    return out


def rounded(probs: np.ndarray, decimals: int) -> np.ndarray:
    """Every probability rounded to ``decimals`` decimals (half to even, as numpy rounds)."""
    return np.round(np.asarray(probs, dtype=np.float64), decimals)


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same order of classes in every row, flatter for T > 1."""
    if not temperature > 0:
        raise ValueError(f"the temperature must be positive, got {temperature}")
    z = np.log(np.clip(np.asarray(probs, dtype=np.float64), FLOOR, None)) / temperature
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def label_only(probs: np.ndarray) -> np.ndarray:
    """The predicted class alone, as a one-hot row."""
    p = np.asarray(probs, dtype=np.float64)
    out = np.zeros_like(p)
    out[np.arange(len(p)), np.argmax(p, axis=1)] = 1.0
    return out


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of the true class, its probability floored at ``FLOOR``."""
    p = np.asarray(probs, dtype=np.float64)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p, FLOOR, None))))


def fitted_temperature(probs: np.ndarray, labels: np.ndarray, grid: tuple[float, ...] = TEMPERATURES) -> float:
    """The temperature of ``grid`` (all ≥ 1: never sharper than the model) with the lowest log-loss on
    these records, known non-members: an overconfident model gets T > 1, a calibrated one T = 1."""
    losses = [log_loss(soften(probs, t), labels) for t in grid]
    return float(grid[int(np.argmin(losses))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: over equal-width bins of the top probability, the record-weighted mean |accuracy − confidence|."""
    p = np.asarray(probs, dtype=np.float64)
    confidence = p.max(axis=1)
    correct = np.argmax(p, axis=1) == labels
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in np.unique(which):
        rows = which == b
        total += rows.sum() * abs(float(correct[rows].mean()) - float(confidence[rows].mean()))
    return total / max(len(p), 1)


def utility(before: np.ndarray, after: np.ndarray, labels: np.ndarray) -> DefenceUtility:
    """The cost of releasing ``after`` instead of ``before`` on records with true ``labels``."""
    accuracy = [float(np.mean(np.argmax(p, axis=1) == labels)) for p in (before, after)]
    loss = [log_loss(p, labels) for p in (before, after)]
    ece = [expected_calibration_error(p, labels) for p in (before, after)]
    return DefenceUtility(
        test_accuracy=accuracy[1],
        accuracy_change=accuracy[1] - accuracy[0],
        log_loss=loss[1],
        log_loss_change=loss[1] - loss[0],
        calibration_error=ece[1],
        calibration_error_change=ece[1] - ece[0],
    )


@dataclass(frozen=True)
class OutputDefence:
    """One output-side defence: its id (report.json's ``defences[].id``), its setting in words, the transform."""

    id: str
    setting: str
    transform: Callable[[np.ndarray], np.ndarray]


def output_defences(temperature: float) -> tuple[OutputDefence, ...]:
    """The output-side defences of issue 16, the temperature one at ``temperature`` (``fitted_temperature``)."""
    return (
        OutputDefence("output.top1", "release only the top-1 probability", partial(top_k, k=1)),
        OutputDefence("output.top3", "release only the top-3 probabilities", partial(top_k, k=3)),
        OutputDefence("output.round1", "round probabilities to 1 decimal", partial(rounded, decimals=1)),
        OutputDefence("output.round2", "round probabilities to 2 decimals", partial(rounded, decimals=2)),
        OutputDefence(
            "output.temperature", f"soften with temperature {temperature:.2f}", partial(soften, temperature=temperature)
        ),
        OutputDefence("output.label_only", "release the predicted label only", label_only),
    )
