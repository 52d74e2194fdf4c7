"""Label-only boundary attack: noise robustness (Choquette-Choo et al. 2021, "Label-Only Membership
Inference Attacks", the data-augmentation / noise variant for tabular data).

A training record tends to lie farther from the target's decision boundary than a record the model
never saw, so more of its noisy neighbours keep the true label. For every evaluation record the
attack sends ``ctx.boundary_queries`` noisy neighbours to the target and scores the record with the
share of neighbours whose predicted class (argmax) equals the true label. Every neighbour counts
the same (no weighting of the noise scales), so the score is a share in [0, 1].

Noise design. The neighbours are spread evenly over four geometric noise scales (the first scales
take the remainder when the budget is not a multiple of four). At scale ``s``:

- numeric columns get Gaussian noise of standard deviation ``NUMERIC_SIGMAS[s]`` × the column's
  population standard deviation, clipped to the population range (widened to include the record's
  own value); integer columns are rounded and keep their integer dtype; missing values stay missing;
- binary (two-valued numeric) columns flip to the other value with probability ``FLIP_PROBS[s]``;
- categorical columns (strings, bools, categories) are redrawn with probability ``FLIP_PROBS[s]``
  to a *different* seen category, chosen in proportion to its population frequency.

Column statistics come from ``FeatureEncoder.fit`` on the attacker's population records; the
neighbour frames keep the audit frame's columns and dtypes, so any target accepts them.

Threshold. The same score is computed for up to ``THRESHOLD_RECORDS`` population records (known
non-members; their queries count too) and the threshold is the ``1 - threshold_fpr`` quantile of
their scores (``population_threshold``). Evaluation records never choose it.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from mia_audit.attacks.base import AttackContext, AttackResult
from mia_audit.attacks.threshold import population_threshold
from mia_audit.shadow.encoding import FeatureEncoder

NUMERIC_SIGMAS = (0.01, 0.02, 0.04, 0.08)  # × the column's population standard deviation
FLIP_PROBS = (0.005, 0.01, 0.02, 0.04)  # per-cell flip / redraw probability of binary and categorical columns
THRESHOLD_RECORDS = 200  # population records scored to set the threshold
CHUNK_ROWS = 20_000  # neighbour rows per target query


def run_boundary_attack(ctx: AttackContext) -> AttackResult:
    """Score each evaluation record by the share of its noisy neighbours that keep the true label."""
    start = time.perf_counter()
    q = max(1, int(ctx.boundary_queries))
    rng = np.random.default_rng([int(ctx.seed), 0xB0D])
    population = ctx.features.iloc[ctx.population_idx]
    notes: list[str] = []
    if len(population):
        encoder = FeatureEncoder.fit(population)
    else:  # no attacker records: the noise scale falls back on the evaluation records' own columns
        encoder = FeatureEncoder.fit(ctx.features.iloc[ctx.eval_idx])
        notes.append("no population records: column statistics for the noise come from the evaluation records")
    scales = _scale_of_queries(q)
    n_pop = min(THRESHOLD_RECORDS, len(ctx.population_idx))
    threshold_idx = np.sort(rng.choice(ctx.population_idx, size=n_pop, replace=False)) if n_pop else ctx.population_idx
    threshold_labels = ctx.labels[threshold_idx]

    before = ctx.target.queries
    scores = _robustness(ctx, encoder, ctx.eval_idx, ctx.eval_labels, scales, rng)
    pop_scores = _robustness(ctx, encoder, threshold_idx, threshold_labels, scales, rng)
    queries = ctx.target.queries - before

    threshold = population_threshold(pop_scores, ctx.threshold_fpr)
    if threshold is None:
        rule = f"no threshold: only {n_pop} population records (at least 20 needed)"
    else:
        rule = (
            f"member if the score reaches the {1 - ctx.threshold_fpr:.0%} quantile of the scores of {n_pop} "
            f"population records (known non-members; expected false-positive rate {ctx.threshold_fpr:.0%})"
        )
    per_scale = np.bincount(scales, minlength=len(NUMERIC_SIGMAS))
    notes.append(
        "noise scales (neighbours per scale "
        + ", ".join(str(int(c)) for c in per_scale)
        + "): Gaussian σ = "
        + ", ".join(f"{s:g}" for s in NUMERIC_SIGMAS)
        + " × the population std for numeric columns; flip/redraw probability "
        + ", ".join(f"{p:g}" for p in FLIP_PROBS)
        + " for binary and categorical columns; every neighbour weighs the same"
    )
    return AttackResult(
        id="label_only.boundary",
        family="label_only",
        title="Boundary attack: robustness to noise (Choquette-Choo et al. 2021)",
        scores=scores,
        threshold=threshold,
        threshold_rule=rule,
        assumptions=(
            "sees only the predicted class (label-only access)",
            "knows the true label of each record",
            f"owns {len(ctx.population_idx)} records from the target's data distribution that were not used for "
            "training (for the noise scale and the threshold)",
            f"sends {q} queries per record (noisy neighbours)",
        ),
        queries=int(queries),
        duration_s=time.perf_counter() - start,
        signal="share of noisy neighbours that keep the true label",
        notes=tuple(notes),
    )


def _scale_of_queries(q: int) -> np.ndarray:
    """The noise scale index of each of the ``q`` neighbours of a record, spread evenly, low scales first."""
    k = len(NUMERIC_SIGMAS)
    counts = np.full(k, q // k)
    counts[: q % k] += 1
    return np.repeat(np.arange(k), counts)


def _robustness(
    ctx: AttackContext,
    encoder: FeatureEncoder,
    idx: np.ndarray,
    labels: np.ndarray,
    scales: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The share of each record's neighbours (one per entry of ``scales``) predicted as its label."""
    q = len(scales)
    out = np.zeros(len(idx), dtype=np.float64)
    per_chunk = max(1, CHUNK_ROWS // q)
    for at in range(0, len(idx), per_chunk):
        rows = np.asarray(idx[at : at + per_chunk])
        base = ctx.features.iloc[np.repeat(rows, q)].reset_index(drop=True)
        neighbours = _perturb(encoder, base, np.tile(scales, len(rows)), rng)
        predicted = np.argmax(np.asarray(ctx.target.predict_proba(neighbours)), axis=1)
        keep = predicted == np.repeat(np.asarray(labels[at : at + per_chunk]), q)
        out[at : at + len(rows)] = keep.reshape(len(rows), q).mean(axis=1)
    return out


def _perturb(encoder: FeatureEncoder, frame: pd.DataFrame, scale: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``frame`` with noise at row ``i``'s scale index ``scale[i]``; dtypes are kept."""
    codes = encoder.codes(frame)
    sigma = np.asarray(NUMERIC_SIGMAS)[scale]
    flip = np.asarray(FLIP_PROBS)[scale]
    n, d = codes.shape
    new = np.array(codes, copy=True)
    mask = np.zeros((n, d), dtype=bool)
    for j, col in enumerate(encoder.columns):
        x = codes[:, j]
        u = rng.random(n)
        if col.is_numeric and col.binary:
            low, high = col.low or 0.0, col.high or 0.0
            mask[:, j] = (u < flip) & ~np.isnan(x) & (low != high)
            new[:, j] = np.where(x == low, high, low)
        elif col.is_numeric:
            std, low, high = col.std or 0.0, col.low or 0.0, col.high or 0.0
            noisy = x + rng.standard_normal(n) * sigma * std
            new[:, j] = np.clip(noisy, np.minimum(low, x), np.maximum(high, x))
            mask[:, j] = ~np.isnan(x) & (std > 0)
        else:
            mask[:, j] = u < flip
            new[:, j] = _other_category(np.asarray(col.frequencies), x.astype(np.int64), rng)
            mask[:, j] &= new[:, j] >= 0
    return encoder.replace_cells(frame, mask, lambda j, r: new[r, j])


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
