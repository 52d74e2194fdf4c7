"""Shadow training data: real population records, noisy copies, or records synthesised two ways.

``make_shadow_data(source, ...)`` returns a ``ShadowData`` whose features have the audit
features' columns, order and dtypes, with labels as class indices into ``target.classes``:

- ``population``: the attacker's real records with their true labels, subsampled without
  replacement to ``n_records`` (all of them, said so, when fewer exist). No queries.
- ``noisy``: population records (subsampled the same way) with a share ``noise`` of each
  record's features redrawn: numeric ones from the column's empirical marginal (binary 0/1-like
  ones flipped), categorical ones to a different seen category (Shokri et al.'s noisy real
  data: 10% and 20% noise in the paper). Each record gets floor(noise·d) or one more redrawn
  features, chosen so that the expected share is exactly ``noise``. Labels stay the original
  ones, as in the paper (the attacker believes the records are real). No queries.
- ``marginal``: statistics-based synthesis: every feature drawn independently from its marginal
  in the population (correlations are lost on purpose), labelled by the target's predicted class
  from one batched query (one query per record; at most ``query_budget`` records).
- ``model``: model-based synthesis, Shokri et al.'s Algorithm 1 (hill-climbing against the
  target), run as many chains at once with one batched query per round; see
  ``synthesize_model_based`` for the algorithm, its defaults and the budget.

Everything is reproducible from ``rng`` (given a deterministic target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mia_audit.errors import ConfigError, DataContractError
from mia_audit.models.base import TargetModel
from mia_audit.training.encoding import FeatureEncoder

SOURCES = ("population", "noisy", "marginal", "model")
QUERIES_PER_RECORD_BUDGET = 200  # default model-based budget: this many target queries per wanted record


@dataclass(frozen=True)
class ShadowData:
    """Records to train shadow models on, with class-index labels and how they were made."""

    features: pd.DataFrame
    labels: np.ndarray
    source: str
    queries: int
    description: str
    extra: dict[str, float] = field(default_factory=dict)
    # Which population record each shadow record is (``source == "population"``); None for made-up records.
    population_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class HillClimb:
    """Settings of the model-based synthesis (Shokri et al., Algorithm 1).

    ``k_max`` defaults to half the feature columns (at least 1): the first proposals of a chain
    redraw that many features, and every ``rej_max`` consecutive rejections halve it down to
    ``k_min``. A chain that reaches ``iter_max`` queries without a record restarts from a new random
    record, at most ``max_restarts`` times, then gives up. ``conf_min`` fixed by the caller is used
    as it is; left ``None`` it starts at ``default_conf_min(C)`` and, for a class whose chains
    failed in a round, drops halfway towards 1/C (adaptive, so that hard classes still get records).
    """

    iter_max: int = 200
    rej_max: int = 10
    k_min: int = 1
    k_max: int | None = None
    conf_min: float | None = None
    max_restarts: int = 3

    def __post_init__(self) -> None:
        if self.iter_max < 1 or self.rej_max < 0 or self.k_min < 1 or self.max_restarts < 0:
            raise ConfigError(
                "hill-climbing settings need iter_max >= 1, rej_max >= 0, k_min >= 1 and max_restarts >= 0"
            )
        if self.k_max is not None and self.k_max < self.k_min:
            raise ConfigError(f"hill-climbing k_max ({self.k_max}) must be at least k_min ({self.k_min})")
        if self.conf_min is not None and not 0.0 <= self.conf_min < 1.0:
            raise ConfigError(f"conf_min must be in [0, 1), got {self.conf_min}")


@dataclass(frozen=True)
class Synthesis:
    """What ``synthesize_model_based`` made: codes and classes of the accepted records, and its counts."""

    codes: np.ndarray
    labels: np.ndarray
    posteriors: np.ndarray
    confidence: np.ndarray
    threshold: np.ndarray
    queries: int
    chains_started: int
    chains_failed: int
    rounds: int
    budget_exhausted: bool


def default_conf_min(n_classes: int) -> float:
    """Starting confidence threshold: 0.8 for a binary target, else max(0.5, 2/C).

    With two classes anything above 0.5 is already the predicted class, so 0.8 asks for a clearly
    confident answer; with more classes, 0.5 means the class beats all others together. Shokri et
    al. only ask for records "classified with high confidence"; the adaptive lowering takes over
    where a target never gets that confident.
    """
    return 0.8 if n_classes <= 2 else max(0.5, 2.0 / n_classes)


def make_shadow_data(
    source: str,
    population: pd.DataFrame,
    population_labels: np.ndarray,
    target: TargetModel,
    n_records: int,
    rng: np.random.Generator,
    *,
    noise: float = 0.1,
    query_budget: int | None = None,
    conf_min: float | None = None,
) -> ShadowData:
    """Shadow training records from ``source`` (one of ``SOURCES``); see the module docstring."""
    if source not in SOURCES:
        raise ConfigError(f"unknown shadow data source {source!r}; choose one of: {', '.join(SOURCES)}")
    if n_records < 1:
        raise ConfigError(f"the number of shadow records must be at least 1, got {n_records}")
    if not 0.0 <= noise <= 1.0:
        raise ConfigError(f"noise must be a share of the features in [0, 1], got {noise}")
    if query_budget is not None and query_budget < 1:
        raise ConfigError(f"the query budget must be at least 1, got {query_budget}")
    labels = _check_population(population, population_labels, target.n_classes)
    if source == "population":
        return _population(population, labels, n_records, rng)
    if source == "noisy":
        return _noisy(population, labels, n_records, noise, rng)
    encoder = FeatureEncoder.fit(population)
    if source == "marginal":
        return _marginal(encoder, len(population), target, n_records, query_budget, rng)
    return _model_based(encoder, labels, target, n_records, query_budget, HillClimb(conf_min=conf_min), rng)


# -- real records ------------------------------------------------------------------------------


def _check_population(population: pd.DataFrame, labels: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.asarray(labels)
    if len(population) == 0 or population.shape[1] == 0:
        raise DataContractError("shadow data need population records with at least one feature column; none were given")
    if out.shape != (len(population),):
        raise DataContractError(f"{len(out)} population labels were given for {len(population)} population records")
    if not np.issubdtype(out.dtype, np.integer) or out.min() < 0 or out.max() >= n_classes:
        raise DataContractError(f"population labels must be class indices 0..{n_classes - 1} of the target's classes")
    return out.astype(np.int64)


def _subsample(n_available: int, n_records: int, rng: np.random.Generator) -> np.ndarray:
    if n_records >= n_available:
        return np.arange(n_available)
    return np.sort(rng.choice(n_available, size=n_records, replace=False))


def _how_many(n_taken: int, n_available: int, n_records: int) -> str:
    if n_records > n_available:
        return f"all {n_available:,} population records (fewer than the {n_records:,} asked for)"
    if n_taken == n_available:
        return f"all {n_available:,} population records"
    return f"{n_taken:,} of the {n_available:,} population records, drawn at random,"


def _population(population: pd.DataFrame, labels: np.ndarray, n_records: int, rng: np.random.Generator) -> ShadowData:
    idx = _subsample(len(population), n_records, rng)
    return ShadowData(
        features=population.iloc[idx].reset_index(drop=True),
        labels=labels[idx],
        source="population",
        queries=0,
        description=f"{_how_many(len(idx), len(population), n_records).capitalize()} with their true labels "
        "(real data from the target's distribution; no target queries)",
        extra={"records_available": float(len(population))},
        population_rows=idx,
    )


def _noisy(
    population: pd.DataFrame, labels: np.ndarray, n_records: int, noise: float, rng: np.random.Generator
) -> ShadowData:
    encoder = FeatureEncoder.fit(population)
    idx = _subsample(len(population), n_records, rng)
    base = population.iloc[idx].reset_index(drop=True)
    d = len(encoder.columns)
    per_row = np.floor(noise * d + rng.random(len(base))).astype(np.int64)  # expected share exactly `noise`
    mask = encoder.choose_cells(len(base), per_row, rng)
    old = encoder.codes(base)

    def draw(j: int, rows: np.ndarray) -> np.ndarray:
        col = encoder.columns[j]
        if col.is_numeric and col.binary:  # flip a 0/1-like column, as the paper flips binary features
            low, high = float(col.low or 0.0), float(col.high or 0.0)
            return np.asarray(np.where(old[rows, j] == low, high, low), dtype=np.float64)
        if col.is_numeric:
            assert col.values is not None
            return np.asarray(rng.choice(col.values, size=rows.size), dtype=np.float64)
        n_cat = len(col.categories)
        if n_cat < 2:
            return np.zeros(rows.size)
        return (old[rows, j] + rng.integers(1, n_cat, size=rows.size)) % n_cat  # a different category

    features = encoder.replace_cells(base, mask, draw)
    return ShadowData(
        features=features,
        labels=labels[idx],
        source="noisy",
        queries=0,
        description=f"{_how_many(len(idx), len(population), n_records).capitalize()} with {noise:.0%} of each "
        "record's features redrawn (Shokri et al.'s noisy real data), keeping their true labels; no target queries",
        extra={"noise": float(noise), "cells_redrawn_share": float(mask.mean()) if mask.size else 0.0},
    )


# -- statistics-based synthesis ----------------------------------------------------------------


def _marginal(
    encoder: FeatureEncoder,
    n_population: int,
    target: TargetModel,
    n_records: int,
    query_budget: int | None,
    rng: np.random.Generator,
) -> ShadowData:
    n = n_records if query_budget is None else min(n_records, query_budget)
    features = encoder.sample_marginal(n, rng)
    before = target.queries
    probs = np.asarray(target.predict_proba(features), dtype=np.float64)
    queries = target.queries - before
    labels = sample_labels(probs, rng)
    short = f" (the {query_budget:,}-query budget allowed {n:,} of {n_records:,})" if n < n_records else ""
    return ShadowData(
        features=features,
        labels=labels,
        source="marginal",
        queries=queries,
        description=f"{n:,} synthetic records drawn from per-feature marginals of the {n_population:,} population "
        f"records{short}; labels drawn from the target's output probabilities ({queries:,} queries; "
        f"{len(np.unique(labels))} of {target.n_classes} classes predicted)",
        extra={
            "queries_per_record": queries / n,
            "mean_confidence": float(probs.max(axis=1).mean()),
            "classes_predicted": float(len(np.unique(labels))),
        },
    )


def sample_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Label synthetic records by drawing from the target's posterior, not by its argmax.

    The posterior is the attacker's best estimate of P(y | x). Argmax labels carry no label
    noise, so shadows trained on them need not memorise anything and show no member/non-member
    difference; drawn labels keep the uncertainty that makes real training sets memorable.
    """
    cumulative = np.cumsum(probs, axis=1)
    draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
    return np.minimum((draws > cumulative).sum(axis=1), probs.shape[1] - 1).astype(np.int64)


# -- model-based synthesis ---------------------------------------------------------------------


def class_plan(n_records: int, labels: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """The wanted class of each synthetic record, in random order: the population's class shares
    (largest-remainder rounding), or equal shares when no labels are given."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64) if len(labels) else np.ones(n_classes)
    raw = n_records * counts / counts.sum()
    per_class = np.floor(raw).astype(np.int64)
    order = np.lexsort((np.arange(n_classes), -(raw - per_class)))
    per_class[order[: n_records - int(per_class.sum())]] += 1
    return rng.permutation(np.repeat(np.arange(n_classes), per_class))


def synthesize_model_based(
    encoder: FeatureEncoder,
    target: TargetModel,
    wanted: np.ndarray,
    rng: np.random.Generator,
    *,
    query_budget: int,
    settings: HillClimb | None = None,
) -> Synthesis:
    """Shokri et al.'s Algorithm 1, one chain per wanted record, all chains advanced together.

    Per chain (wanted class c): x ← random record; best ← 0; j ← 0; k ← k_max. Each round queries
    every unfinished chain's x in ONE batch. If y_c ≥ best: when y_c > conf_min, argmax y = c and
    u ≤ y_c (u uniform) x is accepted as a record; otherwise x* ← x, best ← y_c, j ← 0. Else
    j ← j + 1 and, if j > rej_max, k ← max(k_min, ⌈k/2⌉), j ← 0. Then x ← x* with k features
    redrawn uniformly. Rounds stop when every chain is done or the next round would pass
    ``query_budget`` (the last round then queries only as many chains as the budget still allows),
    so the target answers at most ``query_budget`` queries.
    """
    chains = _Chains.start(encoder, target.n_classes, np.asarray(wanted, dtype=np.int64), settings or HillClimb(), rng)
    spent = rounds = 0
    start = target.queries
    while chains.open_.any() and spent < query_budget:
        idx = np.flatnonzero(chains.open_)[: query_budget - spent]
        probs = np.asarray(target.predict_proba(encoder.decode(chains.x[idx])), dtype=np.float64)
        spent += idx.size
        rounds += 1
        live = chains.score(idx, probs, rng)
        chains.restart_failed(live, encoder, rng)
        chains.propose(live, encoder, rng)
    return chains.synthesis(target.queries - start, rounds)


@dataclass
class _Chains:
    """Every hill-climbing chain of ``synthesize_model_based``, one per wanted record, changed round by round.

    ``x`` is each chain's current proposal, ``x_star`` its best record so far (scoring ``best`` for
    the wanted class), ``k`` how many features the next proposal redraws; ``threshold`` is the
    confidence a record needs, per class (lowered for hard classes when ``adaptive``).
    """

    cfg: HillClimb
    k_max: int
    adaptive: bool
    threshold: np.ndarray
    wanted: np.ndarray
    x: np.ndarray
    x_star: np.ndarray
    best: np.ndarray
    rejects: np.ndarray
    k: np.ndarray
    steps: np.ndarray
    restarts: np.ndarray
    open_: np.ndarray
    accepted: np.ndarray
    confidence: np.ndarray
    posteriors: np.ndarray
    used_threshold: np.ndarray
    failed_total: int = 0

    @classmethod
    def start(
        cls, encoder: FeatureEncoder, n_classes: int, wanted: np.ndarray, cfg: HillClimb, rng: np.random.Generator
    ) -> _Chains:
        """One chain per wanted record, each at a random record."""
        n, d = len(wanted), len(encoder.columns)
        k_max = cfg.k_max if cfg.k_max is not None else max(1, d // 2)
        adaptive = cfg.conf_min is None
        x = encoder.random_codes(n, rng)
        return cls(
            cfg=cfg,
            k_max=k_max,
            adaptive=adaptive,
            threshold=np.full(n_classes, default_conf_min(n_classes) if adaptive else float(cfg.conf_min or 0.0)),
            wanted=wanted,
            x=x,
            x_star=x.copy(),
            best=np.zeros(n),
            rejects=np.zeros(n, dtype=np.int64),
            k=np.full(n, k_max, dtype=np.int64),
            steps=np.zeros(n, dtype=np.int64),
            restarts=np.zeros(n, dtype=np.int64),
            open_=np.ones(n, dtype=bool),
            accepted=np.zeros(n, dtype=bool),
            confidence=np.full(n, np.nan),
            posteriors=np.zeros((n, n_classes)),
            used_threshold=np.full(n, np.nan),
        )

    def score(self, idx: np.ndarray, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Accept, keep as best, or reject the proposals of chains ``idx``; return the chains still climbing."""
        c = self.wanted[idx]
        y_c = probs[np.arange(idx.size), c]
        self.steps[idx] += 1
        improved = y_c >= self.best[idx]
        confident = improved & (y_c > self.threshold[c]) & (probs.argmax(axis=1) == c)
        take = confident & (rng.random(idx.size) <= y_c)

        done = idx[take]
        self.accepted[done], self.open_[done] = True, False
        self.confidence[done], self.used_threshold[done] = y_c[take], self.threshold[c[take]]
        self.posteriors[done] = probs[take]

        keep = improved & ~take
        self.x_star[idx[keep]], self.best[idx[keep]], self.rejects[idx[keep]] = self.x[idx[keep]], y_c[keep], 0
        lost = idx[~improved]
        self.rejects[lost] += 1
        halve = lost[self.rejects[lost] > self.cfg.rej_max]
        self.k[halve] = np.maximum(self.cfg.k_min, np.ceil(self.k[halve] / 2).astype(np.int64))
        self.rejects[halve] = 0
        return idx[~take]

    def restart_failed(self, live: np.ndarray, encoder: FeatureEncoder, rng: np.random.Generator) -> None:
        """Restart from a new random record the chains of ``live`` that used up ``iter_max`` queries, or close them."""
        failed = live[self.steps[live] >= self.cfg.iter_max]
        if not failed.size:
            return
        self.failed_total += failed.size
        if self.adaptive:
            floor = 1.0 / len(self.threshold)
            hard = np.unique(self.wanted[failed])
            self.threshold[hard] = floor + (self.threshold[hard] - floor) / 2
        self.restarts[failed] += 1
        self.open_[failed[self.restarts[failed] > self.cfg.max_restarts]] = False
        again = failed[self.open_[failed]]
        self.x_star[again] = encoder.random_codes(again.size, rng)
        self.best[again], self.rejects[again], self.k[again], self.steps[again] = 0.0, 0, self.k_max, 0
        self.x[again] = self.x_star[again]

    def propose(self, live: np.ndarray, encoder: FeatureEncoder, rng: np.random.Generator) -> None:
        """The next proposal of each chain of ``live`` that is climbing: its best record with k features redrawn."""
        climbing = live[self.steps[live] > 0]
        if climbing.size:
            self.x[climbing] = encoder.randomize_codes(self.x_star[climbing], self.k[climbing], rng)

    def synthesis(self, queries: int, rounds: int) -> Synthesis:
        accepted = self.accepted
        return Synthesis(
            codes=self.x[accepted],
            labels=self.wanted[accepted],
            posteriors=self.posteriors[accepted],
            confidence=self.confidence[accepted],
            threshold=self.used_threshold[accepted],
            queries=queries,
            chains_started=len(self.wanted) + int(self.restarts.sum()),
            chains_failed=self.failed_total,
            rounds=rounds,
            budget_exhausted=bool(self.open_.any()),
        )


def _queries(n: int) -> str:
    return "query" if n == 1 else "queries"


def _model_based(
    encoder: FeatureEncoder,
    labels: np.ndarray,
    target: TargetModel,
    n_records: int,
    query_budget: int | None,
    settings: HillClimb,
    rng: np.random.Generator,
) -> ShadowData:
    budget = query_budget if query_budget is not None else QUERIES_PER_RECORD_BUDGET * n_records
    wanted = class_plan(n_records, labels, target.n_classes, rng)
    made = synthesize_model_based(encoder, target, wanted, rng, query_budget=budget, settings=settings)
    n_made = len(made.labels)
    if n_made == 0:
        raise ConfigError(
            f"model-based synthesis made no record in {made.queries:,} target {_queries(made.queries)}; "
            f"raise the query budget (now {budget:,}) or use --shadow-data population"
        )
    start = default_conf_min(target.n_classes) if settings.conf_min is None else settings.conf_min
    lowest = float(made.threshold.min())
    per_record = made.queries / n_made
    stats: Mapping[str, float] = {
        "queries_per_record": per_record,
        "acceptance_rate": n_made / (n_made + made.chains_failed),  # of the chains that ended
        "records_wanted": float(n_records),
        "records_made": float(n_made),
        "query_budget": float(budget),
        "chains_started": float(made.chains_started),
        "chains_failed": float(made.chains_failed),
        "rounds": float(made.rounds),
        "conf_min": float(start),
        "conf_min_lowest": lowest,
        "mean_confidence": float(made.confidence.mean()),
        "min_confidence": float(made.confidence.min()),
    }
    threshold = f"above {start:.2f}" if lowest >= start else f"above {start:.2f} (lowered to {lowest:.2f} where needed)"
    short = (
        f"; the budget ran out after {n_made:,} of the {n_records:,} wanted records"
        if n_made < n_records and made.budget_exhausted
        else f"; {n_records - n_made:,} of the {n_records:,} wanted records were not found"
        if n_made < n_records
        else ""
    )
    return ShadowData(
        features=encoder.decode(made.codes),
        labels=sample_labels(made.posteriors, rng),
        source="model",
        queries=made.queries,
        description=f"{n_made:,} synthetic records made by hill-climbing against the target from random starts "
        f"(Shokri et al.'s model-based synthesis), each accepted at target confidence {threshold} for its class; "
        f"{per_record:,.1f} queries per record ({made.queries:,} of a {budget:,}-query budget, "
        f"{stats['acceptance_rate']:.0%} of finished chains accepted a record){short}",
        extra=dict(stats),
    )
