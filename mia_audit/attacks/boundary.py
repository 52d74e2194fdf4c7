"""Label-only boundary attack: noise robustness (Choquette-Choo et al. 2021, "Label-Only Membership
Inference Attacks", the data-augmentation / noise variant for tabular data), calibrated on the
attacker's own reference models.

A training record tends to lie farther from the target's decision boundary than a record the model
never saw, so more of its noisy neighbours keep the true label. For every evaluation record the
attack sends ``--boundary-queries`` noisy neighbours to the target and measures the share of them
whose predicted class (argmax) equals the true label: its *robustness*.

Noise. At noise level ``(sigma, flip)``:

- numeric columns get Gaussian noise of standard deviation ``sigma`` × the column's population
  standard deviation, clipped to the population range (widened to include the record's own value);
  integer columns are rounded and keep their integer dtype; missing values stay missing;
- binary (two-valued numeric) columns flip to the other value with probability ``flip``;
- categorical columns (strings, bools, categories) are redrawn with probability ``flip`` to a
  *different* seen category, chosen in proportion to its population frequency.

Column statistics come from ``FeatureEncoder.fit`` on the attacker's population records; the
neighbour frames keep the audit frame's columns and dtypes, so any target accepts them.

Score. Robustness mixes membership with how hard a record is: an easy non-member is as robust as a
member, and among the records the target classifies correctly the hard ones are the likely members
(difficulty calibration, Watson et al. 2022, "On the importance of difficulty calibration in
membership inference attacks"). With ``difficulty`` = the mean true-class probability under
reference models that never saw the record, and ``correct`` = whether the target's own answer for
the record is the true label (the gap attack's verdict, no extra query):

    u     = robustness − beta × difficulty          (beta = beta_correct or beta_wrong by ``correct``)
    score = correct + (u + beta) / (1 + beta)        in [0, 2]

so the score refines the gap attack: every correctly classified record ranks above every
misclassified one, and within each group records are ordered by calibrated robustness.

Calibration on reference models (no target query, no membership label of the evaluation set).
The reference models are models of the shadow family (``--shadow-family``; ``auto`` reads the
target's architecture) on random subsets of the attacker's population records, each of the target's
training-set size. With ``--shadow-data population`` (the default) they are the main shadow pool that
shadow.shokri and the calibrated attacks train anyway (``--shadow-models`` of them, confidence-matched
MLPs where the family is an MLP); with made-up shadow data the attack trains ``REFERENCE_MODELS`` of
its own. Each of them in turn plays the target: on ``CALIBRATION_RECORDS`` population
records it is queried with ``CALIBRATION_QUERIES`` neighbours per record, and the noise level is
the one whose score best separates its own training records from the others (mean AUC over the
models; the records' difficulty comes from the *other* models that did not train on them).
Gaussian scales ``SIGMA_GRID`` are searched first without flips and refined by factors of √2, then
flip probabilities ``FLIP_GRID`` at the chosen scale (a step is skipped when the data have no column
it applies to); every level sees the same random draws. ``beta_correct`` and ``beta_wrong`` are then
chosen from ``BETA_CORRECT`` × ``BETA_WRONG`` with as many neighbours per record as the target gets
(up to ``MAX_BETA_QUERIES``). The best level depends on the data and the model (measured in
``bench/boundary_check.py``: Gaussian noise of 0.16–0.64 σ on Adult and digits; flips of 4 % per
cell destroy the signal).

With fewer than ``MIN_REFERENCE_RECORDS`` population records there is nothing to train on: the
attack then uses ``DEFAULT_NOISE`` and no difficulty term (beta = 0), and says so.

Cost. Each scored record costs ``--boundary-queries`` target queries, so on more than
``--boundary-records`` evaluation records (default 4,000) only a seeded random subsample of that many
is scored (drawn from the seed alone, never from membership); the other scores are NaN and the
metrics are measured on the subsample (``AttackOutput.evaluated``).

Threshold. The same score is computed for up to ``THRESHOLD_RECORDS`` population records (known
non-members, each with the reference models that did not train on it; their target queries count
too) and the threshold is the ``1 - threshold_fpr`` quantile of their scores
(``population_threshold``). Evaluation records never choose it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mia_audit import progress, streams
from mia_audit.attacks.interface import AttackInfo, AttackOutput
from mia_audit.attacks.kit import threshold_and_rule
from mia_audit.stats import auc
from mia_audit.streams import Stream

if TYPE_CHECKING:
    import pandas as pd

    from mia_audit.attacks.context import AttackContext
    from mia_audit.training.encoding import FeatureEncoder

SIGMA_GRID = (0.02, 0.04, 0.08, 0.16, 0.32, 0.64)  # × the column's population standard deviation
FLIP_GRID = (0.0025, 0.01, 0.04)  # per-cell flip / redraw probability of binary and categorical columns
BETA_CORRECT = (0.0, 0.5, 1.0, 2.0, 4.0)  # weight of the difficulty for correctly classified records
BETA_WRONG = (0.0, 0.25, 0.5)  # ... and for misclassified ones
REFERENCE_MODELS = 8
MIN_REFERENCE_RECORDS = 100  # population records needed to train reference models
CALIBRATION_RECORDS = 800  # population records the reference models are queried on to calibrate
CALIBRATION_QUERIES = 32  # neighbours per calibration record (queries to the attacker's own models)
MAX_BETA_QUERIES = 200  # neighbours per calibration record when the betas are chosen
THRESHOLD_RECORDS = 200  # population records scored on the target to set the threshold
CHUNK_ROWS = 20_000  # records per model query for the true-class outputs
# Neighbour cells per chunk: 16 MB in float64, small enough for the allocator to reuse its memory; larger
# chunks are mapped afresh each time, and filling new pages cost more than the arithmetic on them.
CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class Noise:
    """One noise level: Gaussian scale (× column std) for numeric columns, flip probability for the others."""

    sigma: float
    flip: float

    def describe(self) -> str:
        gaussian = f"Gaussian σ = {self.sigma:g} × the population std" if self.sigma else "no Gaussian noise"
        flips = f"flip/redraw probability {self.flip:g}" if self.flip else "no flips"
        return f"{gaussian} on numeric columns, {flips} on binary and categorical ones"


DEFAULT_NOISE = Noise(0.16, 0.0025)  # a good level on the Adult benchmarks (bench/boundary_check.py)


@dataclass(frozen=True)
class Weights:
    """The weight of the difficulty term for correctly classified and for misclassified records."""

    correct: float = 0.0
    wrong: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """What the reference models chose, and how well it separated their own members."""

    noise: Noise
    weights: Weights
    reference_auc: float
    n_models: int
    n_records: int
    family: str


@dataclass(frozen=True)
class References:
    """Reference models trained on population subsets (``in_masks`` over ``ctx.population_idx``)."""

    models: Any
    in_masks: np.ndarray
    family: str

    def outputs(self, ctx: AttackContext, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each model's true-class probability on the records ``idx`` of the audit frame, and whether its
        predicted class is the true label (both ``(K, len(idx))``): only the records the attack scores or
        calibrates on, never all of them."""
        return _true_class_outputs(self.models, ctx.features.iloc[idx], ctx.labels[idx])


def combine(correct: np.ndarray, robustness: np.ndarray, difficulty: np.ndarray, weights: Weights) -> np.ndarray:
    """The attack score (module docstring): the gap verdict, then calibrated robustness within it."""
    beta = np.where(correct, weights.correct, weights.wrong)
    return correct.astype(np.float64) + (robustness - beta * difficulty + beta) / (1.0 + beta)


@dataclass(frozen=True)
class BoundaryAttack:
    """Score each evaluation record by its robustness to noise on the target, calibrated by difficulty.

    ``weights`` fixes the difficulty weights instead of calibrating them (``Weights()``: plain
    robustness within the gap verdict), e.g. to measure what the calibration adds.
    """

    weights: Weights | None = None
    info = AttackInfo(
        "label_only.boundary",
        "label_only",
        "Boundary attack: robustness to noise (Choquette-Choo et al. 2021)",
        frozenset({"predicted label only", "true labels", "population records", "training-set size"}),
        needs_probabilities=False,
        needs_population=False,
        options=(
            "boundary_queries",
            "boundary_records",
            "threshold_fpr",
            "shadow_family",
            "shadow_data",
            "shadow_models",
            "shadow_epochs",
            "device",
        ),
    )

    def run(self, ctx: AttackContext) -> AttackOutput:
        return _run_boundary(ctx, self.weights)


@dataclass(frozen=True)
class _Plan:
    """What the boundary attack settled before querying: encoding, reference models, noise and weights."""

    encoder: FeatureEncoder
    refs: References | None
    calibration: Calibration | None
    noise: Noise
    weights: Weights
    notes: tuple[str, ...]


def _plan(ctx: AttackContext, weights: Weights | None, generator: np.random.Generator) -> _Plan:
    from mia_audit.training.encoding import FeatureEncoder

    notes: list[str] = []
    n_population = len(ctx.population_idx)
    if n_population:
        encoder = ctx.encoder()
    else:  # no attacker records: the noise scale falls back on the evaluation records' own columns
        encoder = FeatureEncoder.fit(ctx.features.iloc[ctx.eval_idx])
        notes.append("no population records: column statistics for the noise come from the evaluation records")
    refs = _references(ctx, encoder) if n_population >= MIN_REFERENCE_RECORDS else None
    calibration = _calibrate(ctx, encoder, refs, generator) if refs is not None else None
    noise = calibration.noise if calibration is not None else DEFAULT_NOISE
    chosen = calibration.weights if calibration is not None else Weights()
    notes.append(_calibration_note(calibration, n_population))
    if weights is not None:
        notes.append(f"difficulty weights fixed by the caller: {weights.correct:g} / {weights.wrong:g}")
        chosen = weights
    return _Plan(encoder, refs, calibration, noise, chosen, tuple(notes))


def _run_boundary(ctx: AttackContext, weights: Weights | None) -> AttackOutput:
    q = max(1, int(ctx.options.boundary_queries))
    generator = streams.rng(ctx.seed, Stream.BOUNDARY)
    plan = _plan(ctx, weights, generator)
    refs = plan.refs
    # Threshold records: population records that some reference model did not train on.
    has_out = np.flatnonzero((~refs.in_masks).any(axis=0)) if refs is not None else np.arange(len(ctx.population_idx))
    n_pop = min(THRESHOLD_RECORDS, len(has_out))
    rows = np.sort(generator.choice(has_out, size=n_pop, replace=False)) if n_pop else has_out
    threshold_idx = np.asarray(ctx.population_idx)[rows]

    before = ctx.target.queries
    evaluated = scored_subsample(len(ctx.eval_idx), ctx.options.boundary_records, ctx.seed)
    scored = ctx.eval_idx if evaluated is None else ctx.eval_idx[evaluated]
    found = _scores(ctx, plan, scored, None, q, generator)  # no model saw them
    scores = found if evaluated is None else _spread(found, evaluated, len(ctx.eval_idx))
    out = ~refs.in_masks[:, rows] if refs is not None else None
    pop_scores = _scores(ctx, plan, threshold_idx, out, q, generator)
    queries = ctx.target.queries - before

    of = f"the scores of {n_pop} population records"
    threshold, rule = threshold_and_rule(pop_scores, ctx.options.threshold_fpr, of, known_nonmembers=True)
    signal = "correct classification, then the share of noisy neighbours that keep the true label"
    if plan.weights.correct or plan.weights.wrong:
        signal += " calibrated by the reference models' true-class probability"
    return AttackOutput(
        scores=scores,
        threshold=threshold,
        threshold_rule=rule,
        assumptions=_assumptions(ctx, plan, q),
        queries=int(queries),
        signal=signal,
        notes=plan.notes if evaluated is None else (*plan.notes, _subsample_note(len(evaluated), len(ctx.eval_idx))),
        evaluated=evaluated,
    )


def scored_subsample(n_eval: int, limit: int, seed: int) -> np.ndarray | None:
    """Sorted positions of at most ``limit`` evaluation records, drawn from the seed alone (never from their
    membership); None when there are no more than ``limit`` (or ``limit`` is 0: score them all)."""
    if limit <= 0 or n_eval <= limit:
        return None
    return np.sort(streams.rng(seed, Stream.BOUNDARY_RECORDS).choice(n_eval, size=limit, replace=False))


def _spread(found: np.ndarray, evaluated: np.ndarray, n_eval: int) -> np.ndarray:
    scores = np.full(n_eval, np.nan)
    scores[evaluated] = found
    return scores


def _subsample_note(n_scored: int, n_eval: int) -> str:
    return (
        f"queries only a seeded random subsample of {n_scored:,} of the {n_eval:,} evaluation records (drawn "
        "without their membership; --boundary-records, 0 for all): its metrics and intervals are measured on them"
    )


def _assumptions(ctx: AttackContext, plan: _Plan, q: int) -> tuple[str, ...]:
    n_population = len(ctx.population_idx)
    assumptions = [
        "sees only the predicted class (label-only access)",
        "knows the true label of each record",
        f"owns {n_population} records from the target's data distribution that were not used for training "
        f"(for the noise scale{', the reference models' if plan.refs is not None else ''} and the threshold)",
        f"sends {q} queries per record (noisy neighbours)",
    ]
    if plan.calibration is not None:
        assumptions.append(
            f"trains {plan.calibration.n_models} reference models of an assumed architecture "
            f"({plan.calibration.family}) on its own records"
        )
    return tuple(assumptions)


def _scores(
    ctx: AttackContext,
    plan: _Plan,
    idx: np.ndarray,
    out: np.ndarray | None,
    q: int,
    generator: np.random.Generator,
) -> np.ndarray:
    """The score of the records ``idx``: robustness on the target (``q`` queries each), the target's own
    verdict, and the difficulty under the reference models that did not train on them (``out``, ``(K, len(idx))``;
    None: all of them)."""
    refs = plan.refs
    target, labels = _AsPool(ctx.target), ctx.labels[idx]
    robustness = _robustness_of_models(target, ctx.features, plan.encoder, idx, labels, plan.noise, q, generator)[0]
    if refs is None:
        difficulty = np.zeros(len(idx))
    elif out is None:
        difficulty = refs.outputs(ctx, idx)[0].mean(axis=0)
    else:
        difficulty = (refs.outputs(ctx, idx)[0] * out).sum(axis=0) / np.maximum(out.sum(axis=0), 1)
    correct = np.argmax(ctx.probs[idx], axis=1) == ctx.labels[idx]
    return combine(correct, robustness, difficulty, plan.weights)


def _calibration_note(calibration: Calibration | None, n_population: int) -> str:
    if calibration is None:
        return (
            f"only {n_population} population records (fewer than {MIN_REFERENCE_RECORDS}): no reference models; "
            f"default noise ({DEFAULT_NOISE.describe()}) and no difficulty term"
        )
    w = calibration.weights
    return (
        f"noise and weights chosen on {calibration.n_models} reference models ({calibration.family}) trained "
        f"on population records, each queried on {calibration.n_records} population records: "
        f"{calibration.noise.describe()}; weight of the difficulty beta = {w.correct:g} for correctly classified "
        f"records, {w.wrong:g} for misclassified ones (their own members vs. non-members: "
        f"AUC {calibration.reference_auc:.3f})"
    )


# -- reference models and calibration ------------------------------------------------------------


def shares_shadows(shadow_data: str) -> bool:
    """Whether the reference models are the main shadow pool: it trains on population records, as they do."""
    return shadow_data == "population"


def _references(ctx: AttackContext, encoder: FeatureEncoder) -> References:
    """The main shadows (shadow.shokri's, already trained in a full audit) when they are population-trained
    models of the shadow family, as the reference models are; else ``REFERENCE_MODELS`` of the boundary's own."""
    if not shares_shadows(ctx.options.shadow.data):
        return _train_references(ctx, encoder)
    pool = ctx.main_shadow_pool()
    rows = pool.data.population_rows
    assert rows is not None and pool.predict is not None  # population shadows know both
    in_masks = np.zeros((pool.n_models, len(ctx.population_idx)), dtype=bool)
    in_masks[:, rows] = pool.in_masks
    models = _Predicting(pool.predict, pool.n_models)
    return References(models, in_masks, f"the shadow models, {pool.choice.describe()}")


@dataclass(frozen=True)
class _Predicting:
    """K models behind one ``predict_proba(frame) -> (K, n, C)``."""

    predict_proba: Any
    n_models: int


def _train_references(ctx: AttackContext, encoder: FeatureEncoder) -> References:
    """``REFERENCE_MODELS`` models on random population subsets of the target's training-set size."""
    from mia_audit.training.families import train_shadow_models

    population = ctx.features.iloc[ctx.population_idx].reset_index(drop=True)
    n = len(population)
    size = max(1, min(ctx.train_size or n // 2, n // 2))
    generator = streams.rng(ctx.seed, Stream.BOUNDARY, 1)
    in_masks = np.zeros((REFERENCE_MODELS, n), dtype=bool)
    for k in range(REFERENCE_MODELS):
        in_masks[k, generator.permutation(n)[:size]] = True
    choice = ctx.family(ctx.options.shadow.family, ctx.options.shadow.mlp_for(size))
    models = train_shadow_models(
        choice,
        population,
        ctx.population_labels,
        in_masks,
        ctx.target.classes,
        encoder,
        seed=int(ctx.seed) + 0xB0D,
        device=ctx.options.shadow.device,
    )
    return References(models, in_masks, choice.describe())


def _true_class_outputs(models: Any, frame: pd.DataFrame, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each model's true-class probability and whether its predicted class is the label, ``(K, n)`` each;
    ``CHUNK_ROWS`` records at a time, so the ``(K, n, C)`` probabilities never exist at once."""
    p_true = np.zeros((models.n_models, len(frame)))
    correct = np.zeros((models.n_models, len(frame)), dtype=bool)
    for at in range(0, len(frame), CHUNK_ROWS):
        probs = np.asarray(models.predict_proba(frame.iloc[at : at + CHUNK_ROWS]))
        y = labels[at : at + CHUNK_ROWS]
        p_true[:, at : at + len(y)] = probs[:, np.arange(len(y)), y]
        correct[:, at : at + len(y)] = np.argmax(probs, axis=2) == y[None, :]
    return p_true, correct


def _calibrate(ctx: AttackContext, encoder: FeatureEncoder, refs: References, rng: np.random.Generator) -> Calibration:
    """The noise level and weights that best separate each reference model's members from its non-members."""
    n = refs.in_masks.shape[1]
    rows = np.sort(rng.choice(n, size=min(CALIBRATION_RECORDS, n), replace=False))
    idx = np.asarray(ctx.population_idx)[rows]
    labels = ctx.labels[idx]
    member = refs.in_masks[:, rows]  # (K, r)
    p, correct = refs.outputs(ctx, idx)
    # Difficulty of record r for model k: mean true-class probability of the *other* models that did
    # not train on it (as for a target's non-member, none of them saw it).
    out = ~member
    total_out, count_out = (p * out).sum(axis=0), out.sum(axis=0)
    n_others = count_out[None, :] - out
    difficulty = (total_out[None, :] - p * out) / np.maximum(n_others, 1)
    usable = n_others > 0
    models = [k for k in range(len(member)) if 0 < member[k, usable[k]].sum() < usable[k].sum()]
    crn_seed = int(rng.integers(2**63))
    grid = [Weights(c, w) for c in BETA_CORRECT for w in BETA_WRONG]  # each level is judged with its best

    def evaluate(noise: Noise, q: int) -> tuple[float, Weights]:
        # Common random numbers: every level sees the same draws, scaled, so that the comparison
        # between levels is not blurred by sampling noise.
        crn = np.random.default_rng(crn_seed)
        keep = _robustness_of_models(refs.models, ctx.features, encoder, idx, labels, noise, q, crn)
        best = (-1.0, Weights())
        for weights in grid:
            aucs = [
                auc(combine(correct[k, u], keep[k, u], difficulty[k, u], weights), member[k, u])
                for k in models
                for u in (usable[k],)
            ]
            value = float(np.mean(aucs)) if aucs else 0.5
            if value > best[0] + 1e-9:
                best = (value, weights)
        return best

    kinds = column_kinds(encoder)
    results: dict[Noise, float] = {}
    sigma = 0.0
    if kinds["continuous"]:
        for s in SIGMA_GRID:
            results[Noise(s, 0.0)] = evaluate(Noise(s, 0.0), CALIBRATION_QUERIES)[0]
        coarse = max(results, key=lambda k: results[k]).sigma
        for s in (coarse / np.sqrt(2.0), coarse * np.sqrt(2.0)):  # refine between the grid's factor-2 steps
            level = Noise(round(float(s), 3), 0.0)
            results[level] = evaluate(level, CALIBRATION_QUERIES)[0]
        sigma = max(results, key=lambda k: results[k]).sigma
    if kinds["discrete"]:
        for f in FLIP_GRID:
            results[Noise(sigma, f)] = evaluate(Noise(sigma, f), CALIBRATION_QUERIES)[0]
    # With no column the noise can move, robustness is the correctness and any level will do.
    noise = max(results, key=lambda k: results[k]) if results else DEFAULT_NOISE
    # The weights are chosen with as many neighbours as the target gets: with fewer, robustness is
    # noisier and the difficulty term would weigh too much.
    value, weights = evaluate(noise, min(int(ctx.options.boundary_queries), MAX_BETA_QUERIES))
    return Calibration(noise, weights, value, len(models), len(rows), refs.family)


def column_kinds(encoder: FeatureEncoder) -> dict[str, bool]:
    """Whether the data have columns for Gaussian noise (non-binary numeric) and for flips (the rest)."""
    continuous = any(c.is_numeric and not c.binary and (c.std or 0.0) > 0 for c in encoder.columns)
    discrete = any(not c.is_numeric or (c.binary and c.low != c.high) for c in encoder.columns)
    return {"continuous": continuous, "discrete": discrete}


# -- robustness ------------------------------------------------------------------------------------


def _neighbour_chunks(
    features: pd.DataFrame, encoder: FeatureEncoder, idx: np.ndarray, noise: Noise, q: int, rng: np.random.Generator
) -> Iterator[tuple[int, np.ndarray, pd.DataFrame]]:
    """``(start, rows, neighbours)`` for consecutive chunks of ``idx``: ``q`` noisy copies of each row."""
    per_chunk = max(1, CHUNK_CELLS // (q * max(features.shape[1], 1)))
    for at in range(0, len(idx), per_chunk):
        rows = np.asarray(idx[at : at + per_chunk])
        base = features.iloc[rows]
        codes = np.repeat(encoder.codes(base), q, axis=0)
        mask = _perturb(encoder, codes, noise, rng)
        yield at, rows, encoder.replace_codes(base, mask, codes, repeats=q)


@dataclass(frozen=True)
class _AsPool:
    """The target seen as a pool of one model, so that one function measures robustness on both."""

    model: Any
    n_models: int = 1

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(frame))[None]


def _robustness_of_models(
    models: Any,
    features: pd.DataFrame,
    encoder: FeatureEncoder,
    idx: np.ndarray,
    labels: np.ndarray,
    noise: Noise,
    q: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(K, len(idx))``: the same share under each of K models (``predict_proba -> (K, n, C)``)."""
    out = np.zeros((models.n_models, len(idx)), dtype=np.float64)
    for at, rows, neighbours in _neighbour_chunks(features, encoder, idx, noise, q, rng):
        predicted = np.argmax(np.asarray(models.predict_proba(neighbours)), axis=2)
        keep = predicted == np.repeat(np.asarray(labels[at : at + len(rows)]), q)[None, :]
        out[:, at : at + len(rows)] = keep.reshape(len(out), len(rows), q).mean(axis=2)
        progress.advance(f"noisy neighbours of {len(idx):,} records", at + len(rows), len(idx))
    return out


def _perturb(encoder: FeatureEncoder, codes: np.ndarray, noise: Noise, rng: np.random.Generator) -> np.ndarray:
    """Noise at level ``noise`` on the code matrix ``codes``, in place; the mask of the cells it changed.

    Columns draw their noise in column order from ``rng``, a run of adjacent columns of one kind as one
    block: the positions of the flips of 0/1 columns (446 one-hot columns spent 9 s in this loop per
    boundary attack when each drew a number per cell), the Gaussian noise of numeric ones (the same
    stream as column by column).
    """
    n, d = codes.shape
    mask = np.zeros((n, d), dtype=bool)
    kinds = _noise_kinds(encoder)
    j = 0
    while j < d:
        end = next((e for e in range(j, d) if kinds[e] != kinds[j]), d)
        run = slice(j, end)
        if kinds[j] == "flag" and noise.flip > 0:
            _flip_binary(codes, mask, encoder, run, noise.flip, rng)
        elif kinds[j] == "gaussian" and noise.sigma > 0:
            _gaussian(codes, mask, encoder, run, noise.sigma, rng)
        elif kinds[j] == "category" and noise.flip > 0:
            for c in range(j, end):
                _redraw_category(codes, mask, c, encoder, noise.flip, rng)
        j = end
    return mask


def _noise_kinds(encoder: FeatureEncoder) -> list[str]:
    """Per column the noise it takes: flag (0/1 flips), gaussian, category (redraws) or none."""
    kinds = []
    for col in encoder.columns:
        if not col.is_numeric:
            kinds.append("category")
        elif col.binary:
            kinds.append("flag")
        else:
            kinds.append("gaussian" if (col.std or 0.0) > 0 else "none")
    return kinds


def _gaussian(
    codes: np.ndarray, mask: np.ndarray, encoder: FeatureEncoder, run: slice, sigma: float, rng: np.random.Generator
) -> None:
    """Gaussian noise of ``sigma`` × each column's std on the numeric columns ``run``, clipped to the population
    range widened to the record's own value (in place)."""
    columns = encoder.columns[run]
    std = np.array([c.std or 0.0 for c in columns])
    low = np.array([c.low or 0.0 for c in columns])
    high = np.array([c.high or 0.0 for c in columns])
    x = codes[:, run]
    noisy = x + rng.standard_normal((len(columns), len(x))).T * sigma * std
    mask[:, run] = ~np.isnan(x)
    codes[:, run] = np.clip(noisy, np.minimum(low, x), np.maximum(high, x))


def _flip_binary(
    codes: np.ndarray,
    mask: np.ndarray,
    encoder: FeatureEncoder,
    run: slice,
    flip: float,
    rng: np.random.Generator,
) -> None:
    """Flip each cell of the 0/1 columns ``run`` with probability ``flip``, in ``codes`` and ``mask``."""
    columns = encoder.columns[run]
    low = np.array([c.low or 0.0 for c in columns])
    high = np.array([c.high or 0.0 for c in columns])
    width = len(columns)
    rows, cols = np.divmod(bernoulli_cells(len(codes) * width, flip, rng), width)
    x = codes[rows, run.start + cols]
    keep = ~np.isnan(x) & (low[cols] != high[cols])
    rows, cols, x = rows[keep], cols[keep], x[keep]
    mask[rows, run.start + cols] = True
    codes[rows, run.start + cols] = np.where(x == low[cols], high[cols], low[cols])


def bernoulli_cells(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """The sorted positions in ``range(n)`` of independent Bernoulli(``p``) successes.

    Candidates are drawn at rate ``max(p, FLIP_GRID[-1])`` as geometric gaps and each is kept with
    probability ``p`` / that rate: about ``n`` × 0.04 draws instead of ``n``. From the same generator
    state a lower ``p`` flips a subset of the cells a higher one flips, as when every cell drew a uniform
    number, so the calibration compares flip levels on common random numbers.
    """
    if p <= 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    rate = min(max(p, FLIP_GRID[-1]), 1.0)
    parts, last = [], -1
    batch = int(n * rate + 6 * np.sqrt(n * rate) + 16)
    while last < n - 1:
        found = last + np.cumsum(rng.geometric(rate, size=batch))
        parts.append(found[found < n])
        last = int(found[-1])
    candidates = np.concatenate(parts).astype(np.int64)
    return candidates[rng.random(len(candidates)) * rate < p]


def _redraw_category(
    codes: np.ndarray, mask: np.ndarray, j: int, encoder: FeatureEncoder, flip: float, rng: np.random.Generator
) -> None:
    """Redraw each cell of the categorical column ``j`` with probability ``flip`` to another seen category."""
    col, x = encoder.columns[j], codes[:, j]
    flipped = rng.random(len(x)) < flip
    other = _other_category(np.asarray(col.frequencies), x.astype(np.int64), rng)
    mask[:, j] = flipped & (other >= 0)
    codes[mask[:, j], j] = other[mask[:, j]]


def _other_category(freq: np.ndarray, current: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row a seen category other than ``current`` (code; -1 = unseen), drawn by population
    frequency; -1 where there is no other category to draw."""
    k = len(freq)
    if k == 0:
        return np.full(len(current), -1, dtype=np.int64)
    cum = np.cumsum(freq)
    seen = current >= 0
    own = np.where(seen, freq[np.clip(current, 0, k - 1)], 0.0)
    own_start = np.where(seen, cum[np.clip(current, 0, k - 1)] - own, np.inf)
    target = rng.random(len(current)) * (cum[-1] - own)
    target = np.where(target >= own_start, target + own, target)  # skip over the record's own category
    drawn = np.minimum(np.searchsorted(cum, target, side="right"), k - 1)
    drawn = np.where(seen & (drawn == current), -1, drawn)  # only when it is the sole category
    return np.where(own >= cum[-1] - 1e-12, -1, drawn).astype(np.int64)


ATTACKS = (BoundaryAttack(),)
