"""Shadow-model attacks: Shokri et al. 2017, ML-Leaks adversary 1 and its combining attack, and
Song & Mittal's shadow-calibrated class thresholds and privacy risk score.

The attacker trains shadow models whose membership it knows, records what their outputs look
like on members and non-members, and learns from that. Shadows are trained once per run and
shared: `shadow.shokri` uses all K, `shadow.one` the first of them. Nothing here sees the
evaluation records' membership; attack models are fitted on shadow outputs only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mia_audit import signals
from mia_audit.attacks.base import AttackContext, AttackResult
from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice, choose_family, train_shadow_models
from mia_audit.training.mlp import MLPSpec
from mia_audit.training.shadow_data import ShadowData, make_shadow_data

MIN_CLASS_ROWS = 40
LOG_FLOOR = 1e-45
COMBINED_FAMILIES = ("mlp", "logreg", "rf")


@dataclass(frozen=True)
class ShadowPool:
    """K trained shadows, their known in/out split, and their outputs on every shadow record."""

    data: ShadowData
    choice: FamilyChoice
    in_masks: np.ndarray
    out_masks: np.ndarray
    probs: np.ndarray
    train_size: int
    duration_s: float

    def rows(self, models: range | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Attack training rows: (posteriors, true labels, in=1/out=0) over the chosen shadows."""
        probs, labels, member = [], [], []
        for k in models if models is not None else range(len(self.in_masks)):
            for mask, flag in ((self.in_masks[k], 1), (self.out_masks[k], 0)):
                probs.append(self.probs[k, mask])
                labels.append(self.data.labels[mask])
                member.append(np.full(int(mask.sum()), flag))
        return np.vstack(probs), np.concatenate(labels), np.concatenate(member)


def shadow_data(ctx: AttackContext) -> ShadowData:
    """The attacker's shadow training records, made once per run."""
    cache = ctx.cache
    if "shadow_data" not in cache:
        cfg = ctx.shadow
        population = ctx.features.iloc[ctx.population_idx].reset_index(drop=True)
        n_records = len(population) if cfg.data in ("population", "noisy") else 2 * max(ctx.train_size, 1)
        cache["shadow_data"] = make_shadow_data(
            cfg.data,
            population,
            ctx.population_labels,
            ctx.target,
            n_records,
            np.random.default_rng([ctx.seed, 1]),
            noise=cfg.noise,
            query_budget=cfg.synthesis_budget,
        )
    data = cache["shadow_data"]
    assert isinstance(data, ShadowData)
    return data


def _encoder(ctx: AttackContext) -> FeatureEncoder:
    cache = ctx.cache
    if "encoder" not in cache:
        cache["encoder"] = FeatureEncoder.fit(ctx.features.iloc[ctx.population_idx])
    encoder = cache["encoder"]
    assert isinstance(encoder, FeatureEncoder)
    return encoder


def shadow_pool(ctx: AttackContext, choice: FamilyChoice, n_models: int) -> ShadowPool:
    """Train ``n_models`` shadows of one family on random halves of the shadow data (cached)."""
    key = ("pool", choice.family, choice.describe(), n_models)
    cache = ctx.cache
    if key in cache:
        pool = cache[key]
        assert isinstance(pool, ShadowPool)
        return pool
    data = shadow_data(ctx)
    start = time.perf_counter()
    n = len(data.features)
    # Shadows imitate the target's training-set size (the auditor knows it) when the data allow.
    size = max(1, min(ctx.train_size, n // 2))
    rng = np.random.default_rng([ctx.seed, 2, n_models])
    in_masks = np.zeros((n_models, n), dtype=bool)
    out_masks = np.zeros((n_models, n), dtype=bool)
    for k in range(n_models):
        order = rng.permutation(n)
        in_masks[k, order[:size]] = True
        out_masks[k, order[size : 2 * size]] = True
    models = train_shadow_models(
        choice,
        data.features,
        data.labels,
        in_masks,
        ctx.target.classes,
        _encoder(ctx),
        seed=ctx.seed,
        device=ctx.shadow.device,
    )
    pool = ShadowPool(
        data=data,
        choice=choice,
        in_masks=in_masks,
        out_masks=out_masks,
        probs=models.predict_proba(data.features),
        train_size=size,
        duration_s=time.perf_counter() - start,
    )
    cache[key] = pool
    return pool


def _shadow_mlp(ctx: AttackContext) -> MLPSpec:
    n_train = min(ctx.train_size, len(shadow_data(ctx).features) // 2)
    return ctx.shadow.mlp_for(max(n_train, 1))


def _main_choice(ctx: AttackContext) -> FamilyChoice:
    cache = ctx.cache
    if "choice" not in cache:
        cache["choice"] = choose_family(ctx.shadow.family, ctx.target, ctx.model_path, _shadow_mlp(ctx))
    choice = cache["choice"]
    assert isinstance(choice, FamilyChoice)
    return choice


# -- attack features and models -------------------------------------------------------------------


def log_posteriors(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probs, LOG_FLOOR, 1.0))


def top3_features(probs: np.ndarray) -> np.ndarray:
    """ML-Leaks' class-agnostic features: the three largest posteriors, on a log scale."""
    return log_posteriors(signals.top_k(probs, 3))


def _fit_predict_linear(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray) -> np.ndarray:
    """A logistic attack model: with one shadow's few rows it transfers to the target better than trees."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return np.asarray(model.predict_proba(X_eval)[:, 1], dtype=np.float64)


def compact_features(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Features of the posterior vector and true label that carry over from shadows to the target:
    the log posterior of the true class and the log of the largest other posterior.

    Entropy is left out on purpose: on synthetic shadow data it separates members almost
    perfectly, on real records it is on another scale and far weaker, and a model leaning on it
    ranks the target's records badly (measured in bench/shadow_check.py).
    """
    rows = np.arange(len(labels))
    true_p = probs[rows, labels]
    others = probs.copy()
    others[rows, labels] = -1.0
    return np.column_stack(
        [np.log(np.clip(true_p, LOG_FLOOR, 1.0)), np.log(np.clip(others.max(axis=1), LOG_FLOOR, 1.0))]
    )


@dataclass(frozen=True)
class PerClassFit:
    scores: np.ndarray
    per_class: int
    shared: int


def per_class_attack(
    train_probs: np.ndarray,
    train_labels: np.ndarray,
    train_member: np.ndarray,
    eval_probs: np.ndarray,
    eval_labels: np.ndarray,
) -> PerClassFit:
    """Shokri's attack: one attack model per class, trained on shadow rows of that class.

    The models are logistic regressions on three features of the posterior vector and label
    (`compact_features`). Flexible models on the full vector (the paper's neural networks; we
    tried gradient boosting) learn quirks of the shadows' data that do not carry over to the
    target, most of all when the shadow data are synthetic. Classes with too few shadow rows,
    or rows of one side only, share one model trained on all rows.
    """
    scores = np.full(len(eval_labels), np.nan)
    thin: list[int] = []
    per_class = 0
    for c in np.unique(eval_labels):
        rows = train_labels == c
        target_rows = eval_labels == c
        member = train_member[rows]
        if rows.sum() < MIN_CLASS_ROWS or member.min() == member.max():
            thin.append(int(c))
            continue
        scores[target_rows] = _fit_predict_linear(
            compact_features(train_probs[rows], train_labels[rows]),
            member,
            compact_features(eval_probs[target_rows], eval_labels[target_rows]),
        )
        per_class += 1
    if thin:
        target_rows = np.isin(eval_labels, thin)
        scores[target_rows] = _fit_predict_linear(
            compact_features(train_probs, train_labels),
            train_member,
            compact_features(eval_probs[target_rows], eval_labels[target_rows]),
        )
    return PerClassFit(scores, per_class, len(thin))


def _source_assumption(data: ShadowData) -> str:
    return f"shadow data: {data.description}"


def _queries(ctx: AttackContext, data: ShadowData) -> int:
    return len(ctx.eval_idx) + data.queries


# -- the attacks ----------------------------------------------------------------------------------


def run_shokri(ctx: AttackContext) -> AttackResult:
    start = time.perf_counter()
    choice = _main_choice(ctx)
    pool = shadow_pool(ctx, choice, ctx.shadow.n_models)
    probs, labels, member = pool.rows()
    fit = per_class_attack(probs, labels, member, ctx.eval_probs, ctx.eval_labels)
    n_models = len(pool.in_masks)
    return AttackResult(
        id="shadow.shokri",
        family="shadow",
        title=f"Shadow models, one attack model per class (Shokri et al. 2017), k = {n_models}",
        scores=fit.scores,
        threshold=0.5,
        threshold_rule="member if the attack model, trained on shadow outputs only, gives P(member) ≥ 0.5",
        assumptions=(
            "black-box query access to the target's output probabilities and the true labels",
            _source_assumption(pool.data),
            f"knows how the target was built: {choice.reason}",
            f"knows the training-set size: each of the {n_models} shadows trains on {pool.train_size} records",
        ),
        queries=_queries(ctx, pool.data),
        duration_s=time.perf_counter() - start,
        signal="attack-model P(member)",
        notes=(
            f"{fit.per_class} per-class logistic attack models on the true-class and top other log posteriors; "
            f"{fit.shared} classes with fewer than {MIN_CLASS_ROWS} shadow rows (or one-sided) "
            "share one model",
            f"shadow family: {choice.describe()}; shadows trained in {pool.duration_s:.1f} s",
        ),
    )


def run_one_shadow(ctx: AttackContext) -> AttackResult:
    start = time.perf_counter()
    choice = _main_choice(ctx)
    pool = shadow_pool(ctx, choice, ctx.shadow.n_models)
    probs, _, member = pool.rows(range(1))
    scores = _fit_predict_linear(top3_features(probs), member, top3_features(ctx.eval_probs))
    return AttackResult(
        id="shadow.one",
        family="shadow",
        title="One shadow model, top-3 posteriors (ML-Leaks adversary 1)",
        scores=scores,
        threshold=0.5,
        threshold_rule="member if the attack model, trained on one shadow's outputs, gives P(member) ≥ 0.5",
        assumptions=(
            "black-box query access to the target's output probabilities; does not need the true label",
            _source_assumption(pool.data),
            f"one shadow model: {choice.reason}",
            "class-agnostic logistic attack model on the three largest posteriors (log scale)",
        ),
        queries=_queries(ctx, pool.data),
        duration_s=time.perf_counter() - start,
        signal="attack-model P(member)",
    )


def run_combined(ctx: AttackContext) -> AttackResult:
    start = time.perf_counter()
    parts_x, parts_y, described = [], [], []
    data = shadow_data(ctx)
    for family in COMBINED_FAMILIES:
        choice = FamilyChoice(family, f"{family} (combining attack)", mlp=_shadow_mlp(ctx))
        pool = shadow_pool(ctx, choice, 1)
        probs, labels, member = pool.rows()
        parts_x.append(compact_features(probs, labels))
        parts_y.append(member)
        described.append(choice.describe())
    scores = _fit_predict_linear(
        np.vstack(parts_x), np.concatenate(parts_y), compact_features(ctx.eval_probs, ctx.eval_labels)
    )
    return AttackResult(
        id="shadow.combined",
        family="shadow",
        title="Combined shadows of several families (ML-Leaks combining attack)",
        scores=scores,
        threshold=0.5,
        threshold_rule="member if the attack model, trained on the pooled shadows' outputs, gives P(member) ≥ 0.5",
        assumptions=(
            "black-box query access to the target's output probabilities and the true labels",
            _source_assumption(data),
            "does not know the target's architecture: one shadow each of " + ", ".join(described),
            "class-agnostic logistic attack model on the true class's and the largest other log posterior",
        ),
        queries=_queries(ctx, data),
        duration_s=time.perf_counter() - start,
        signal="attack-model P(member)",
    )


# -- Song & Mittal: class-dependent thresholds and the privacy risk score -------------------------

CALIBRATED_SIGNALS = {
    "calibrated.loss": ("cross-entropy loss", lambda p, y: 0.0 - signals.loss(p, y)),
    "calibrated.confidence": ("true-class confidence", signals.true_class_confidence),
    "calibrated.entropy": ("prediction entropy", lambda p, y: 0.0 - signals.entropy(p)),
    "calibrated.modified_entropy": ("modified entropy", lambda p, y: 0.0 - signals.modified_entropy(p, y)),
}


def best_threshold(scores: np.ndarray, member: np.ndarray) -> float:
    """The threshold (member iff score ≥ t) with the best balanced accuracy on known in/out rows."""
    order = np.argsort(-scores, kind="stable")
    s, m = scores[order], member[order].astype(bool)
    tpr = np.cumsum(m) / max(m.sum(), 1)
    fpr = np.cumsum(~m) / max((~m).sum(), 1)
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    # Round so that float noise cannot break a tie; among ties the highest threshold wins.
    best = int(np.argmax(np.where(last_of_tie, np.round(tpr - fpr, 12), -np.inf)))
    return float(s[best])


def class_thresholds(scores: np.ndarray, labels: np.ndarray, member: np.ndarray, n_classes: int) -> np.ndarray:
    """Song & Mittal's class-dependent thresholds; classes without both in and out rows use the global one."""
    overall = best_threshold(scores, member)
    out = np.full(n_classes, overall)
    for c in range(n_classes):
        rows = labels == c
        if rows.sum() >= 2 and 0 < member[rows].sum() < rows.sum():
            out[c] = best_threshold(scores[rows], member[rows])
    return out


def make_calibrated_attack(attack_id: str) -> Callable[[AttackContext], AttackResult]:
    signal_name, score_fn = CALIBRATED_SIGNALS[attack_id]

    def run(ctx: AttackContext) -> AttackResult:
        start = time.perf_counter()
        pool = shadow_pool(ctx, _main_choice(ctx), ctx.shadow.n_models)
        probs, labels, member = pool.rows()
        thresholds = class_thresholds(score_fn(probs, labels), labels, member, ctx.n_classes)
        target = score_fn(ctx.eval_probs, ctx.eval_labels)
        return AttackResult(
            id=attack_id,
            family="shadow",
            title=f"Class-dependent {signal_name} threshold calibrated on shadows (Song & Mittal 2021)",
            scores=target - thresholds[ctx.eval_labels],
            threshold=0.0,
            threshold_rule=f"member if the {signal_name} passes its class's threshold, chosen on shadow in/out records",
            assumptions=(
                "black-box query access to the target's output probabilities and the true labels",
                _source_assumption(pool.data),
                f"thresholds per class from {len(pool.in_masks)} shadows: {pool.choice.reason}",
            ),
            queries=_queries(ctx, pool.data),
            duration_s=time.perf_counter() - start,
            signal=f"{signal_name} minus its class threshold",
        )

    return run


def risk_scores(
    train_values: np.ndarray,
    train_labels: np.ndarray,
    train_member: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    n_bins: int = 20,
) -> np.ndarray:
    """Song & Mittal's privacy risk score: P(member | signal value, class) from shadow histograms.

    Bins are quantiles of the class's shadow values; counts get add-one smoothing; prior ½.
    """
    out = np.full(len(values), 0.5)
    for c in np.unique(labels):
        rows = train_labels == c
        if rows.sum() < MIN_CLASS_ROWS:
            rows = np.ones_like(train_labels, dtype=bool)
        ref, member = train_values[rows], train_member[rows].astype(bool)
        edges = np.unique(np.quantile(ref, np.linspace(0, 1, n_bins + 1)))
        if len(edges) < 2:
            continue
        inner = edges[1:-1]
        n_cells = len(edges) - 1
        in_hist = np.bincount(np.searchsorted(inner, ref[member], side="right"), minlength=n_cells) + 1.0
        out_hist = np.bincount(np.searchsorted(inner, ref[~member], side="right"), minlength=n_cells) + 1.0
        p_in, p_out = in_hist / in_hist.sum(), out_hist / out_hist.sum()
        target_rows = labels == c
        cell = np.searchsorted(inner, values[target_rows], side="right")
        out[target_rows] = p_in[cell] / (p_in[cell] + p_out[cell])
    return out


def run_risk_score(ctx: AttackContext) -> AttackResult:
    start = time.perf_counter()
    pool = shadow_pool(ctx, _main_choice(ctx), ctx.shadow.n_models)
    probs, labels, member = pool.rows()
    score_fn = CALIBRATED_SIGNALS["calibrated.modified_entropy"][1]
    scores = risk_scores(
        score_fn(probs, labels), labels, member, score_fn(ctx.eval_probs, ctx.eval_labels), ctx.eval_labels
    )
    return AttackResult(
        id="shadow.risk_score",
        family="shadow",
        title="Privacy risk score: P(member | modified entropy, class) from shadows (Song & Mittal 2021)",
        scores=scores,
        threshold=0.5,
        threshold_rule="member if the estimated probability of membership is at least ½",
        assumptions=(
            "black-box query access to the target's output probabilities and the true labels",
            _source_assumption(pool.data),
            f"per-class in/out histograms from {len(pool.in_masks)} shadows: {pool.choice.reason}",
        ),
        queries=_queries(ctx, pool.data),
        duration_s=time.perf_counter() - start,
        signal="privacy risk score",
    )
