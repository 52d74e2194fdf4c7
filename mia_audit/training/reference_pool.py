"""The reference models of LiRA and RMIA: one pool of K models shared by the three attacks.

Design (Carlini et al. 2022, "online" setting): the candidates are the audit's evaluation records
plus a small calibration slice of the population. Models come in complementary pairs: each pair
splits the candidates into two random halves and trains one model on each, so every candidate is
a training member ("IN") of exactly half of the models and OUT of the others. The rest of the
population is OUT of every model. The split depends only on the seed and the record indices,
never on which audit records are the target's members.

The halves are about the size of the target's training set (the auditor knows it) when the audit
records are balanced; when they are fewer, each model is topped up with population records. How
long an MLP trains is matched to the target: see ``matched_mlp``. The pool keeps, per model and
record, the logit-scaled confidence (LiRA's statistic) and the true-class probability softened at
each of RMIA's candidate temperatures (RMIA's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from mia_audit import signals
from mia_audit.streams import Stream, rng
from mia_audit.training.encoding import CHUNK_CELLS, FeatureEncoder
from mia_audit.training.families import FamilyChoice, train_shadow_models
from mia_audit.training.reference_config import ReferenceConfig

if TYPE_CHECKING:
    from mia_audit.training.matched_mlp import ConfidenceMatch
    from mia_audit.training.mlp import MLPOutputs
    from mia_audit.training.shadow_pool import ShadowPool

# The calibration slice: population records that are IN for half of the models like the audit
# records, so that attacks needing IN models can set their threshold on known non-members.
MIN_CALIBRATION = 200
CALIBRATION_SHARE = 0.1
MAX_CHECK_ROWS = 500
_CHUNK = 4096


@dataclass(frozen=True)
class ReferenceSplit:
    """Which records each reference model trains on, and the population's calibration slice."""

    in_mask: np.ndarray  # (K, n_records) bool
    calibration_idx: np.ndarray
    check_idx: np.ndarray  # population records for the loss match (OUT of most or all models)


@dataclass(frozen=True)
class ReferencePool:
    """K reference models' view of every record, and how they were made."""

    logit: np.ndarray  # (K, n_records) logit-scaled true-class confidence
    p_true: dict[float, np.ndarray]  # per RMIA temperature: (K, n_records) softened true-class probability
    split: ReferenceSplit
    choice: FamilyChoice
    train_size: int
    epochs: tuple[int, ...] | None
    matched: int
    duration_s: float
    # record indices -> (K, rows, C) probabilities: to recompute the statistics behind an output defence
    predict: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def in_mask(self) -> np.ndarray:
        return self.split.in_mask

    @property
    def n_models(self) -> int:
        return int(self.in_mask.shape[0])

    def describe(self) -> str:
        return describe_pool(self, "as confident as the target")

    def released(self, transform: Callable[[np.ndarray], np.ndarray]) -> ReferencePool:
        """The same models behind an API that releases ``transform(probabilities)`` (an output defence):
        their statistics computed again from the transformed outputs."""
        if self.predict is None or self.labels is None:
            raise ValueError("this reference pool cannot predict again; build it with build_reference_pool")
        inner = self.predict

        def predict(rows: np.ndarray) -> np.ndarray:
            return np.stack([transform(p) for p in np.asarray(inner(rows), dtype=np.float64)])

        logit, p_true = _signals(predict, self.labels, self.n_models, tuple(self.p_true))
        return replace(self, logit=logit, p_true=p_true, predict=predict)


class _Described(Protocol):
    @property
    def n_models(self) -> int: ...
    @property
    def choice(self) -> FamilyChoice: ...
    @property
    def train_size(self) -> int: ...
    @property
    def epochs(self) -> tuple[int, ...] | None: ...
    @property
    def matched(self) -> int: ...


def describe_pool(pool: _Described, matched_when: str) -> str:
    """A reference pool in one line: how many models of which family, and how long the MLPs trained."""
    text = f"{pool.n_models} reference models ({pool.choice.describe()}), {pool.train_size} training records each"
    if pool.epochs is None:
        return text
    low, high = min(pool.epochs), max(pool.epochs)
    span = f"{low}" if low == high else f"{low}–{high}"
    if pool.matched:
        return f"{text}; trained {span} epochs, {pool.matched} stopped once {matched_when}"
    return f"{text}; trained {span} epochs"


def pool_split(
    n_records: int,
    eval_idx: np.ndarray,
    population_idx: np.ndarray,
    train_size: int,
    n_models: int,
    seed: int,
    *,
    offline: bool,
) -> ReferenceSplit:
    """The split of a run's reference pool: ``offline``, population records only (lira.offline's own
    pool); otherwise the audit records' complementary halves. Each from its own stream of ``seed``."""
    if offline:
        return population_split(n_records, population_idx, train_size, n_models, rng(seed, Stream.OFFLINE_SPLITS))
    generator = rng(seed, Stream.REFERENCE_SPLITS)
    return reference_split(n_records, eval_idx, population_idx, train_size, n_models, generator)


def reference_split(
    n_records: int,
    eval_idx: np.ndarray,
    population_idx: np.ndarray,
    train_size: int,
    n_models: int,
    rng: np.random.Generator,
) -> ReferenceSplit:
    """Complementary random halves of (audit records ∪ calibration slice), topped up to ``train_size``.

    Candidates are taken in index order, so the split does not depend on how the audit records
    are ordered (members first or not).
    """
    population = np.sort(np.asarray(population_idx))
    n_calibration = min(len(population) // 2, max(MIN_CALIBRATION, round(CALIBRATION_SHARE * len(eval_idx))))
    calibration = np.sort(rng.permutation(population)[:n_calibration])
    rest = np.setdiff1d(population, calibration)
    candidates = np.union1d(np.asarray(eval_idx), calibration)
    half = len(candidates) // 2
    # Far more audit records than twice the target's training set (more holdout than members): each
    # model keeps a random part of its half, no larger than the target's training set plus its share
    # of the calibration slice, so that it memorises like the target. Records then are IN for fewer
    # than half of the models, some for none (LiRA online then estimates their IN mean, see
    # attacks/reference.fit_gaussians).
    cap = train_size + n_calibration - n_calibration // 2
    keep = cap if train_size > 0 and cap < half else len(candidates)
    top_up = min(max(0, train_size - half), len(rest) // 2)
    in_mask = np.zeros((n_models, n_records), dtype=bool)
    for pair in range(0, n_models, 2):
        order = rng.permutation(candidates)
        extra = rng.permutation(rest)[: 2 * top_up]
        in_mask[pair, _part(order[:half], keep, rng)] = True
        in_mask[pair, extra[:top_up]] = True
        if pair + 1 < n_models:
            in_mask[pair + 1, _part(order[half:], keep, rng)] = True
            in_mask[pair + 1, extra[top_up:]] = True
    check_from = rest if len(rest) else calibration
    check = np.sort(rng.permutation(check_from)[:MAX_CHECK_ROWS])
    return ReferenceSplit(in_mask, calibration, check)


def _part(rows: np.ndarray, keep: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= keep else rng.permutation(rows)[:keep]


def population_split(
    n_records: int, population_idx: np.ndarray, train_size: int, n_models: int, rng: np.random.Generator
) -> ReferenceSplit:
    """Offline LiRA's split: each model trains on a random population subset; no audit record is IN.

    A subset has the target's training size where the population allows it, else half the
    population. Records of the population are IN for some models; the attack reads, per record,
    only the models that did not train on it.
    """
    population = np.sort(np.asarray(population_idx))
    size = min(train_size, len(population) // 2) if train_size > 0 else len(population) // 2
    in_mask = np.zeros((n_models, n_records), dtype=bool)
    for k in range(n_models):
        in_mask[k, rng.permutation(population)[: max(1, size)]] = True
    check = np.sort(rng.permutation(population)[:MAX_CHECK_ROWS])
    return ReferenceSplit(in_mask, np.empty(0, dtype=np.int64), check)


def model_matrix(encoder: FeatureEncoder, frame: pd.DataFrame) -> np.ndarray:
    """The encoder's matrix, with two-valued numeric columns (0/1 flags) kept on a 0–1 scale.

    Standardising a rare one-hot flag multiplies it by up to 1/sqrt(share); a target trained on
    the flags as given memorises other records than a model trained on the blown-up ones, and
    reference models must memorise like the target. In the 27-class Adult setting of
    bench/bench_reference.py (one-hot flags), offline LiRA with 16 population-trained references
    reached AUC 0.81 with standardised flags and 0.87 with the flags kept.
    """
    X = encoder.transform(frame)
    flags = _flag_scales(encoder)
    if flags is not None:
        at, std, mean, low, span = flags
        rows = max(1, CHUNK_CELLS // len(at))  # the gathered flags of every row at once would double X
        for start in range(0, len(X), rows):
            block = X[start : start + rows]
            block[:, at] = (block[:, at] * std + mean - low) / span  # float32 throughout, as column by column
    return X


def _flag_scales(encoder: FeatureEncoder) -> tuple[np.ndarray, ...] | None:
    """The flags' outputs and, as float32, how to undo their standardisation and rescale them to 0–1."""
    rows = [
        (at, col.std or 1.0, col.mean or 0.0, col.low, col.high - col.low)
        for at, col in zip(encoder.offsets, encoder.columns, strict=True)
        if col.is_numeric and col.binary and col.low is not None and col.high is not None and col.high > col.low
    ]
    if not rows:
        return None
    at, *scales = zip(*rows, strict=True)
    return (np.asarray(at, dtype=np.int64), *(np.asarray(v, dtype=np.float32) for v in scales))


def build_reference_pool(
    frame: pd.DataFrame,
    labels: np.ndarray,
    target_probs: np.ndarray,
    split: ReferenceSplit,
    choice: FamilyChoice,
    config: ReferenceConfig,
    classes: tuple[object, ...],
    encoder: FeatureEncoder,
    *,
    seed: int,
    device: str = "cpu",
) -> ReferencePool:
    """Train the K models of ``split`` and record their logit confidence and true-class probability."""
    start = time.perf_counter()
    masks = split.in_mask
    if choice.family == "mlp":
        X = model_matrix(encoder, frame)
        match = confidence_match(target_probs, split.check_idx) if config.epochs is None else None
        budget = MatchedBudget(config.lr, config.epochs, config.max_epochs)
        trained = train_matched_pool(X, labels, masks, match, choice, budget, len(classes), seed=seed, device=device)
    else:
        models = train_shadow_models(choice, frame, labels, masks, classes, encoder, seed=seed, device=device)
        trained = Trained(lambda rows: models.predict_proba(frame.iloc[rows]), choice, None, 0)
    logit, p_true = _signals(trained.predict, labels, len(masks), config.temperatures())
    return ReferencePool(
        logit=logit,
        p_true=p_true,
        split=split,
        choice=trained.choice,
        train_size=int(masks.sum(axis=1).max()),
        epochs=trained.epochs,
        matched=trained.matched,
        duration_s=time.perf_counter() - start,
        predict=_on_demand(trained, frame, encoder),
        labels=labels,
    )


def _on_demand(trained: Trained, frame: pd.DataFrame, encoder: FeatureEncoder) -> Callable[[np.ndarray], np.ndarray]:
    """``trained.predict`` that encodes the rows it is asked for, so that the pool does not keep the model
    matrix of every record alive (800 MB at a million records of 200 features)."""
    net = trained.net
    if net is None:
        return trained.predict
    return lambda rows: net.predict_proba(model_matrix(encoder, frame.iloc[rows]))


def from_shadows(
    shadows: ShadowPool,
    frame: pd.DataFrame,
    labels: np.ndarray,
    population_idx: np.ndarray,
    temperatures: tuple[float, ...],
) -> ReferencePool:
    """lira.offline's population-trained models, as the main shadow pool trained them: no second pool.

    The shadows' IN records are population records, so no audit record is IN for any of them."""
    start = time.perf_counter()
    predict, rows = shadows.predict, shadows.data.population_rows
    if predict is None or rows is None:
        raise ValueError("only shadows trained on population records can serve as lira.offline's models")
    in_mask = np.zeros((shadows.n_models, len(frame)), dtype=bool)
    in_mask[:, np.asarray(population_idx)[rows]] = shadows.in_masks

    def on_rows(at: np.ndarray) -> np.ndarray:
        return predict(frame.iloc[at])

    logit, p_true = _signals(on_rows, labels, shadows.n_models, temperatures)
    empty = np.empty(0, dtype=np.int64)
    return ReferencePool(
        logit=logit,
        p_true=p_true,
        split=ReferenceSplit(in_mask, empty, empty),
        choice=shadows.choice,
        train_size=shadows.train_size,
        epochs=shadows.epochs,
        matched=shadows.matched,
        duration_s=shadows.duration_s + time.perf_counter() - start,
        predict=on_rows,
        labels=labels,
    )


@dataclass(frozen=True)
class Trained:
    """K trained models: their outputs on chosen records, and how they were trained."""

    predict: Callable[[np.ndarray], np.ndarray]  # record indices -> (K, rows, C) probabilities
    choice: FamilyChoice
    epochs: tuple[int, ...] | None
    matched: int
    net: MLPOutputs | None = None  # the MLPs, to predict on other records (model-matrix input)


@dataclass(frozen=True)
class MatchedBudget:
    """How long confidence-matched MLPs may train: Adam's step size, a fixed epoch count (no match), or a cap."""

    lr: float
    epochs: int | None = None
    max_epochs: int | None = None


def confidence_match(target_probs: np.ndarray, check_idx: np.ndarray) -> ConfidenceMatch:
    """What the MLPs' training length is matched to: the target's confidence on ``check_idx``."""
    from mia_audit.training.matched_mlp import ConfidenceMatch, predicted_class_confidence

    return ConfidenceMatch(check_idx, predicted_class_confidence(target_probs[check_idx]))


def train_matched_pool(
    X: np.ndarray,
    labels: np.ndarray,
    masks: np.ndarray,
    match: ConfidenceMatch | None,
    choice: FamilyChoice,
    budget: MatchedBudget,
    n_classes: int,
    *,
    seed: int,
    device: str,
) -> Trained:
    """Train K MLPs on ``X`` (the model matrix), as long as ``budget`` or ``match`` says.

    The one engine of the attacker's MLPs: reference models and population-trained shadows."""
    from mia_audit.training.matched_mlp import epoch_budget, train_matched_mlps

    spec = replace(choice.mlp, lr=budget.lr)
    widths = [X.shape[1], *spec.hidden, n_classes]
    steps = epoch_budget(len(masks), int(masks.sum(axis=1).max()), widths, spec.batch_size)
    max_epochs = budget.epochs or budget.max_epochs or steps
    result = train_matched_mlps(
        X, labels, masks, n_classes, spec, max_epochs=max_epochs, match=match, seed=seed, device=device
    )
    return Trained(
        lambda rows: result.net.predict_proba(X[rows]),
        replace(choice, mlp=replace(spec, epochs=max(result.epochs))),
        result.epochs,
        sum(result.matched),
        result.net,
    )


def tempered_true_probability(probs: np.ndarray, labels: np.ndarray, temperature: float) -> np.ndarray:
    """The true class's probability after softening the output with a temperature: softmax(log p / T)_y.

    Equal to softmax(z / T)_y for the logits z, so it can be computed from probabilities alone.
    A softened probability keeps apart confident outputs that would both round to 1.
    """
    log_p = np.log(np.maximum(probs, signals.PROB_FLOOR)) / temperature
    log_p -= log_p.max(axis=1, keepdims=True)
    return np.exp(log_p[np.arange(len(labels)), labels] - np.log(np.exp(log_p).sum(axis=1)))


def _signals(
    predict: Callable[[np.ndarray], np.ndarray], labels: np.ndarray, n_models: int, temperatures: tuple[float, ...]
) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """LiRA's and RMIA's statistics for every model and record, predicting a chunk of records at a time."""
    n = len(labels)
    logit = np.empty((n_models, n))
    p_true = {t: np.empty((n_models, n)) for t in temperatures}
    for begin in range(0, n, _CHUNK):
        rows = np.arange(begin, min(n, begin + _CHUNK))
        probs = np.asarray(predict(rows), dtype=np.float64)
        for k in range(n_models):
            logit[k, rows] = signals.logit_confidence(probs[k], labels[rows])
            for t, values in p_true.items():
                values[k, rows] = tempered_true_probability(probs[k], labels[rows], t)
    return logit, p_true
