"""Shokri's attack model, chosen per run on shadows held out from its training.

Two candidates:

- ``logistic``: one logistic model per class on the true class's and the largest other log
  posterior. It transfers from shadows trained on synthetic records, where flexible models learn
  quirks of the synthetic data (bench/shadow_check.py).
- ``boosting``: one gradient-boosted model on the whole log-posterior vector, the label one-hot,
  the true class's log posterior and its logit against the other classes, as the strongest peers
  (IBM ART's black-box attack, `mia`'s per-class forests) use the full vector. On shadows trained on
  real records it finds what the logistic model misses at low FPR (bench/location_audit.py's
  30-class MLP: TPR at 1% FPR 0.009 logistic, 0.06–0.09 boosting).

The choice is made on the last quarter of the shadows, never on an evaluation record: each
candidate is fitted on the other shadows, scored by TPR at 1% FPR (then AUC) on the held-out ones,
and the winner is refitted on every shadow. Boosting is a candidate only when the shadows trained
on real records and the classes are few enough for the full vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mia_audit import signals
from mia_audit.environment import SKLEARN_FITS, one_openmp_thread, side_by_side
from mia_audit.stats import auc, tpr_at_fpr

MIN_CLASS_ROWS = 40
MAX_BOOSTING_CLASSES = 100
# The boosting candidate fits on at most this many shadow rows (a seeded subsample): beyond it the fit
# grows with the records (800,000 rows on a 100,000-record audit) and gains little. Two fits of 200,000
# rows took 17 s of a 100,000-record audit; the bench targets' shadows give at most 32,000 rows.
MAX_BOOSTING_ROWS = 100_000
SELECTION_FPR = 0.01
# Rows are (posteriors, true labels, in=1/out=0); a fit takes training rows and scores evaluation rows.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
Fit = Callable[[Rows, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    name: str
    description: str
    fit: Fit


@dataclass(frozen=True)
class Choice:
    """The chosen attack model's scores on the evaluation records, and how it was chosen."""

    scores: np.ndarray
    name: str
    description: str
    validation: tuple[tuple[str, float | None, float], ...]  # (candidate, TPR at 1% FPR, AUC)
    held_out: int

    def describe(self) -> str:
        if not self.validation:
            return f"attack model: {self.description} (too few shadows to hold some out for a choice)"
        scored = "; ".join(
            f"{name} TPR@1% {'n/a' if tpr is None else f'{tpr:.3f}'}, AUC {a:.3f}" for name, tpr, a in self.validation
        )
        return f"attack model: {self.description}, chosen on {self.held_out} held-out shadows ({scored})"


def log_posteriors(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probs, signals.PROB_FLOOR, 1.0))


def compact_features(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The log posterior of the true class and the log of the largest other posterior.

    Entropy is left out on purpose: on synthetic shadow data it separates members almost
    perfectly, on real records it is on another scale and far weaker, and a model leaning on it
    ranks the target's records badly (measured in bench/shadow_check.py).
    """
    rows = np.arange(len(labels))
    others = probs.copy()
    others[rows, labels] = -1.0
    return np.column_stack([log_posteriors(probs[rows, labels]), log_posteriors(others.max(axis=1))])


def full_features(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The whole log-posterior vector, the label one-hot, log p(y) and log p(y) − log Σ_{c≠y} p(c)."""
    rows = np.arange(len(labels))
    others = probs.copy()
    others[rows, labels] = 0.0
    true_log = log_posteriors(probs[rows, labels])
    logit = true_log - log_posteriors(others.sum(axis=1))
    one_hot = np.eye(probs.shape[1])[labels]
    return np.column_stack([log_posteriors(probs), one_hot, true_log, logit])


def fit_predict_linear(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray) -> np.ndarray:
    """A logistic attack model: with one shadow's few rows it transfers to the target better than trees."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return np.asarray(model.predict_proba(X_eval)[:, 1], dtype=np.float64)


def per_class_logistic(train: Rows, eval_probs: np.ndarray, eval_labels: np.ndarray) -> np.ndarray:
    """One logistic model per class; classes with too few (or one-sided) shadow rows share one."""
    probs, labels, member = train
    scores = np.full(len(eval_labels), np.nan)
    thin: list[int] = []
    for c in np.unique(eval_labels):
        rows, target_rows = labels == c, eval_labels == c
        if rows.sum() < MIN_CLASS_ROWS or member[rows].min() == member[rows].max():
            thin.append(int(c))
            continue
        scores[target_rows] = fit_predict_linear(
            compact_features(probs[rows], labels[rows]),
            member[rows],
            compact_features(eval_probs[target_rows], eval_labels[target_rows]),
        )
    if thin:
        target_rows = np.isin(eval_labels, thin)
        scores[target_rows] = fit_predict_linear(
            compact_features(probs, labels),
            member,
            compact_features(eval_probs[target_rows], eval_labels[target_rows]),
        )
    return scores


def boosting(seed: int) -> Fit:
    def fit(train: Rows, eval_probs: np.ndarray, eval_labels: np.ndarray) -> np.ndarray:
        from sklearn.ensemble import HistGradientBoostingClassifier

        probs, labels, member = train
        if len(labels) > MAX_BOOSTING_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(labels), MAX_BOOSTING_ROWS, replace=False))
            probs, labels, member = probs[keep], labels[keep], member[keep]
        model = HistGradientBoostingClassifier(max_iter=200, random_state=seed)
        with one_openmp_thread():
            model.fit(full_features(probs, labels), member)
            return np.asarray(model.predict_proba(full_features(eval_probs, eval_labels))[:, 1], dtype=np.float64)

    return fit


def candidates(real_records: bool, n_classes: int, seed: int) -> tuple[Candidate, ...]:
    logistic = Candidate(
        "logistic",
        "per-class logistic models on the true-class and largest other log posteriors",
        per_class_logistic,
    )
    if not real_records or n_classes > MAX_BOOSTING_CLASSES:
        return (logistic,)
    boosted = Candidate(
        "boosting",
        "gradient boosting on the full log-posterior vector, the label one-hot and the true class's logit",
        boosting(seed),
    )
    return (logistic, boosted)


# The chosen candidate, each candidate's (name, TPR at 1% FPR, AUC) on held-out shadows, how many were held out.
Chosen = tuple[Candidate, tuple[tuple[str, float | None, float], ...], int]


def choose(options: tuple[Candidate, ...], shadows: Callable[[range], Rows], n_shadows: int) -> Chosen:
    """The candidate with the best TPR at 1% FPR (then AUC) on held-out shadows; ties keep the first."""
    held = max(1, n_shadows // 4)
    if len(options) == 1 or n_shadows < 2:
        return options[0], (), 0
    train, valid = shadows(range(n_shadows - held)), shadows(range(n_shadows - held, n_shadows))
    fitted = side_by_side(lambda o: o.fit(train, valid[0], valid[1]), options, SKLEARN_FITS)
    scored = [
        (option.name, tpr_at_fpr(s, valid[2], SELECTION_FPR), auc(s, valid[2].astype(bool)))
        for option, s in zip(options, fitted, strict=True)
    ]
    best = max(range(len(options)), key=lambda i: (scored[i][1] or 0.0, scored[i][2], -i))
    return options[best], tuple(scored), held


def fit_attack_model(
    options: tuple[Candidate, ...],
    shadows: Callable[[range], Rows],
    n_shadows: int,
    eval_probs: np.ndarray,
    eval_labels: np.ndarray,
    select: Callable[[Callable[[], Chosen]], Chosen] = lambda choosing: choosing(),
) -> Choice:
    """Choose among ``options`` on held-out shadows, refit the winner on every shadow, score the evaluation.

    ``select`` runs the choice or hands back one made before (``AttackContext.selection``)."""
    best, validation, held = select(lambda: choose(options, shadows, n_shadows))
    scores = best.fit(shadows(range(n_shadows)), eval_probs, eval_labels)
    return Choice(scores, best.name, best.description, validation, held)
