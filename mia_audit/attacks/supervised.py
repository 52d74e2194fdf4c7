"""The auditor's supervised attack: an upper estimate of what the outputs reveal.

An attack classifier is trained on the audit's own ground truth — knowledge no real attacker
has — with cross-fitting: the evaluation records are split into folds and each fold is scored
by a model trained on the other folds only, so no record is scored by a model that saw it.
It shows how much membership the outputs carry, not what a realistic attacker achieves, and is
left out of the risk level unless asked for (`--risk-from supervised`).

Features: the sorted log posteriors, the loss and the label one-hot, plus the scores of the
realistic attacks that ran before it in the same audit (as ranks). The reference-model attacks
compare each record with models that did or did not train on it, which no function of one output
vector can do; without their scores an "upper estimate" would fall below them (on the
Location-like target of bench/location_audit.py: AUC 0.920 alone, 0.977 stacked, RMIA 0.967). The
earlier scores use no membership label, and the stacked model is cross-fitted like the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import signals
from mia_audit.attacks.interface import AttackInfo, AttackOutput, AttackResult
from mia_audit.environment import SKLEARN_FITS, one_openmp_thread, side_by_side
from mia_audit.streams import Stream, rng

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext

N_FOLDS = 5
N_REPEATS = 3
# Above this many evaluation records the auditor fits one split: the TPR at 1% FPR then rests on hundreds
# of records rather than a handful, and a 100,000-record audit spent 40 s on three.
ONE_REPEAT_RECORDS = 20_000
# Each fold's model fits on at most this many rows (a seeded subsample; every record is still scored):
# five fits on 800,000 rows took 125 s of a 1,000,000-record audit, and beyond 100,000 rows the
# shallow boosted trees gain little. Audits of up to 125,000 evaluation records are not affected.
MAX_FIT_ROWS = 100_000
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def supervised_features(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sorted log posteriors (top 10), the loss, and the label one-hot."""
    k = min(10, probs.shape[1])
    sorted_log = np.log(np.clip(signals.top_k(probs, k), signals.PROB_FLOOR, 1.0))
    loss = signals.loss(probs, labels)
    one_hot = np.zeros((len(labels), probs.shape[1]))
    one_hot[np.arange(len(labels)), labels] = 1.0
    return np.column_stack([sorted_log, loss, one_hot])


def stacked_scores(earlier: Sequence[AttackResult], n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The earlier realistic attacks' scores as columns of ranks in (0, 1], and their ids."""
    from scipy.stats import rankdata

    # A subsampled attack (label_only.boundary on a large audit) has no score for most records: left out.
    used = [r for r in earlier if r.family != SupervisedAttack.info.family and len(r.scores) == n and r.complete]
    columns = []
    for result in used:
        scores = np.nan_to_num(np.asarray(result.scores, dtype=np.float64), nan=-np.inf)
        columns.append(rankdata(scores) / n)
    X = np.column_stack(columns) if columns else np.empty((n, 0))
    return X, tuple(r.id for r in used)


def fold_assignment(is_member: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified folds: members and non-members spread evenly over the folds."""
    folds = np.empty(len(is_member), dtype=np.int64)
    for flag in (True, False):
        idx = np.flatnonzero(is_member == flag)
        folds[rng.permutation(idx)] = np.arange(len(idx)) % n_folds
    return folds


def cross_fit(X: np.ndarray, is_member: np.ndarray, folds: np.ndarray, fit_predict: FitPredict) -> np.ndarray:
    """Score fold f with a model fitted on every other fold; ``fit_predict(X_train, y_train, X_eval, train_idx)``."""
    return _cross_fits(X, is_member, [folds], fit_predict)[0]


def _cross_fits(
    X: np.ndarray, is_member: np.ndarray, assignments: list[np.ndarray], fit_predict: FitPredict
) -> list[np.ndarray]:
    """One cross-fit per fold assignment; all their fits run side by side."""
    held = [folds == fold for folds in assignments for fold in np.unique(folds)]

    def fit(rows: np.ndarray) -> np.ndarray:
        train_idx = np.flatnonzero(~rows)
        return fit_predict(X[train_idx], is_member[train_idx], X[rows], train_idx)

    fitted = iter(zip(held, side_by_side(fit, held, SKLEARN_FITS), strict=True))
    runs = []
    for folds in assignments:
        scores = np.full(len(X), np.nan)
        for _ in np.unique(folds):
            rows, fold_scores = next(fitted)
            scores[rows] = fold_scores
        runs.append(scores)
    return runs


def repeated_cross_fit(
    X: np.ndarray, is_member: np.ndarray, generator: np.random.Generator, fit_predict: FitPredict
) -> np.ndarray:
    """The mean of ``N_REPEATS`` cross-fits, each on its own fold assignment.

    One split's attack model is noisy where it matters most: TPR at 1% FPR rests on the few
    highest scores (0.020 and 0.040 for one boosting model saved with skops and as ONNX). Averaging
    fits on different splits keeps every record scored only by models that never saw it. Past
    ``ONE_REPEAT_RECORDS`` one split is stable enough, and each repeat costs five fits on all records.
    """
    repeats = N_REPEATS if len(X) <= ONE_REPEAT_RECORDS else 1
    assignments = [fold_assignment(is_member, N_FOLDS, generator) for _ in range(repeats)]
    return np.mean(_cross_fits(X, is_member.astype(int), assignments, fit_predict), axis=0)


def _boosting(seed: int, increasing: Sequence[bool]) -> FitPredict:
    """Shallow boosting; ``increasing`` marks the columns whose P(member) may only rise with them.

    The earlier attacks' scores are oriented so that higher means member. Without that constraint a
    few hundred rows per fold let the trees bend the best earlier score, and the "upper estimate"
    fell below it (AUC 0.820 with rmia at 0.841 alone).
    """

    def fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, _: np.ndarray) -> np.ndarray:
        from sklearn.ensemble import HistGradientBoostingClassifier

        # Shallow trees with large leaves: a few hundred rows per fold would let deeper ones chase noise.
        model = HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.05,
            max_depth=3,
            min_samples_leaf=40,
            monotonic_cst=[1 if up else 0 for up in increasing],
            random_state=seed,
        )
        if len(y_train) > MAX_FIT_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(y_train), MAX_FIT_ROWS, replace=False))
            X_train, y_train = X_train[keep], y_train[keep]
        with one_openmp_thread():
            model.fit(X_train, y_train)
            return np.asarray(model.predict_proba(X_eval)[:, 1], dtype=np.float64)

    return fit_predict


class SupervisedAttack:
    info = AttackInfo(
        "supervised",
        "supervised",
        "Auditor's supervised attack: cross-fitted on the audit's own membership labels",
        frozenset({"output probabilities", "true labels", "membership of other records"}),
        needs_population=False,
        auditor_only=True,
    )

    def run(self, ctx: AttackContext, is_member: np.ndarray, earlier: Sequence[AttackResult] = ()) -> AttackOutput:
        stacked, stacked_ids = stacked_scores(earlier, len(ctx.eval_idx))
        own = supervised_features(ctx.eval_probs, ctx.eval_labels)
        X = np.column_stack([own, stacked])
        increasing = [False] * own.shape[1] + [True] * stacked.shape[1]
        fit_predict = _boosting(ctx.seed, increasing)
        scores = repeated_cross_fit(X, is_member, rng(ctx.seed, Stream.SUPERVISED_FOLDS), fit_predict)
        return AttackOutput(
            scores=scores,
            threshold=0.5,
            threshold_rule=(f"member if P(member) ≥ 0.5, averaged over {N_REPEATS} models each fitted on other folds"),
            assumptions=(
                "USES KNOWLEDGE NO REAL ATTACKER HAS: the membership of the other evaluation records",
                "sees the output probabilities and the true labels",
                f"{N_FOLDS}-fold cross-fitting on {N_REPEATS} splits, averaged: no record is scored by a model that"
                " saw it",
                "an upper estimate of what the outputs reveal; left out of the risk level by default",
            ),
            queries=len(ctx.eval_idx),
            signal="cross-fitted P(member)",
            notes=(
                "features: sorted log posteriors, loss, label one-hot"
                + (f", and the scores of {', '.join(stacked_ids)} (as ranks)" if stacked_ids else ""),
            ),
        )


ATTACKS = (SupervisedAttack(),)
