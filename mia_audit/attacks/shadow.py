"""Shadow-model attacks: Shokri et al. 2017, ML-Leaks adversary 1 and its combining attack, and
Song & Mittal's shadow-calibrated class thresholds and privacy risk score.

The attacker trains shadow models whose membership it knows, records what their outputs look
like on members and non-members, and learns from that. Shadows are trained once per run and
shared: `shadow.shokri` uses all K, `shadow.one` the first of them. Nothing here sees the
evaluation records' membership; attack models are fitted on shadow outputs only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import signals
from mia_audit.attacks.attack_model import (
    MIN_CLASS_ROWS,
    candidates,
    compact_features,
    fit_attack_model,
    fit_predict_linear,
    log_posteriors,
)
from mia_audit.attacks.interface import AttackInfo, AttackOutput, FunctionAttack

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.training.shadow_data import ShadowData

COMBINED_FAMILIES = ("mlp", "logreg", "rf")
# Each shadow of the combining attack trains on at most this many records (a random subset): the attack
# shows that shadows of other families transfer, and its forest on 25,000 records took 23 s of a
# 100,000-record audit (bench/scale.py). Smaller training sets are kept as the target's.
COMBINED_MAX_RECORDS = 10_000
_KNOWS = frozenset({"output probabilities", "true labels", "population records", "architecture", "training-set size"})


# -- attack features and models -------------------------------------------------------------------


def top3_features(probs: np.ndarray) -> np.ndarray:
    """ML-Leaks' class-agnostic features: the three largest posteriors, on a log scale."""
    return log_posteriors(signals.top_k(probs, 3))


_WITH_LABELS = "black-box query access to the target's output probabilities and the true labels"
_ATTACK_MODEL = "attack-model P(member)"


def _output(
    ctx: AttackContext,
    data: ShadowData,
    scores: np.ndarray,
    rule: str,
    knowledge: tuple[str, str],
    *,
    threshold: float = 0.5,
    signal: str = _ATTACK_MODEL,
    extra: tuple[str, ...] = (),
    title: str | None = None,
    notes: tuple[str, ...] = (),
) -> AttackOutput:
    """A shadow attack's output: ``knowledge`` is (access, what the shadows assume); the data source and
    the target queries (the evaluation records, plus any the shadow data needed) are the same for all."""
    access, shadows = knowledge
    return AttackOutput(
        scores=scores,
        threshold=threshold,
        threshold_rule=rule,
        assumptions=(access, f"shadow data: {data.description}", shadows, *extra),
        queries=len(ctx.eval_idx) + data.queries,
        signal=signal,
        notes=notes,
        title=title,
    )


# -- the attacks ----------------------------------------------------------------------------------


def _run_shokri(ctx: AttackContext) -> AttackOutput:
    pool = ctx.main_shadow_pool()
    n_models = len(pool.in_masks)
    options = candidates(pool.data.source == "population", ctx.n_classes, ctx.seed)
    select = partial(ctx.selection, "shadow.shokri")
    fit = fit_attack_model(options, pool.rows, n_models, ctx.eval_probs, ctx.eval_labels, select)
    return _output(
        ctx,
        pool.data,
        fit.scores,
        "member if the attack model, trained on shadow outputs only, gives P(member) ≥ 0.5",
        (_WITH_LABELS, f"knows how the target was built: {pool.choice.reason}"),
        extra=(f"knows the training-set size: each of the {n_models} shadows trains on {pool.train_size} records",),
        title=f"Shadow models and an attack model (Shokri et al. 2017), k = {n_models}",
        notes=(
            fit.describe(),
            f"shadow family: {pool.choice.describe()}; shadows trained in {pool.duration_s:.1f} s",
        ),
    )


def _run_one_shadow(ctx: AttackContext) -> AttackOutput:
    pool = ctx.main_shadow_pool()
    choice = pool.choice
    probs, _, member = pool.rows(range(1))
    scores = fit_predict_linear(top3_features(probs), member, top3_features(ctx.eval_probs))
    access = "black-box query access to the target's output probabilities; does not need the true label"
    return _output(
        ctx,
        pool.data,
        scores,
        "member if the attack model, trained on one shadow's outputs, gives P(member) ≥ 0.5",
        (access, f"one shadow model: {choice.reason}"),
        extra=("class-agnostic logistic attack model on the three largest posteriors (log scale)",),
    )


def _run_combined(ctx: AttackContext) -> AttackOutput:
    from mia_audit.training.families import FamilyChoice

    parts_x, parts_y, described = [], [], []
    data = ctx.shadow_data()
    for family in COMBINED_FAMILIES:
        choice = FamilyChoice(family, f"{family} (combining attack)", mlp=ctx.shadow_mlp())
        pool = ctx.shadow_pool(choice, 1, max_train=COMBINED_MAX_RECORDS)
        probs, labels, member = pool.rows()
        parts_x.append(compact_features(probs, labels))
        parts_y.append(member)
        described.append(choice.describe())
    scores = fit_predict_linear(
        np.vstack(parts_x), np.concatenate(parts_y), compact_features(ctx.eval_probs, ctx.eval_labels)
    )
    return _output(
        ctx,
        data,
        scores,
        "member if the attack model, trained on the pooled shadows' outputs, gives P(member) ≥ 0.5",
        (_WITH_LABELS, "does not know the target's architecture: one shadow each of " + ", ".join(described)),
        extra=(
            "class-agnostic logistic attack model on the true class's and the largest other log posterior",
            f"each shadow trains on {pool.train_size} records"
            + (
                f" (at most {COMBINED_MAX_RECORDS:,}, to keep the cost flat)"
                if ctx.train_size > pool.train_size
                else ""
            ),
        ),
    )


def _capped(capped: bool) -> str:
    return f" (at most {COMBINED_MAX_RECORDS:,}, to keep the cost flat)" if capped else ""


# -- Song & Mittal: class-dependent thresholds and the privacy risk score -------------------------

CALIBRATED_SIGNALS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    f"calibrated.{name}": (what, partial(signals.membership_score, oriented))
    for name, what, oriented in (
        ("loss", "cross-entropy loss", "loss"),
        ("confidence", "true-class confidence", "confidence"),
        ("entropy", "prediction entropy", "entropy"),
        ("modified_entropy", "modified entropy", "modified_entropy"),
    )
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


def _calibrated(attack_id: str) -> Callable[[AttackContext], AttackOutput]:
    signal_name, score_fn = CALIBRATED_SIGNALS[attack_id]

    def run(ctx: AttackContext) -> AttackOutput:
        pool = ctx.main_shadow_pool()
        values, labels, member = pool.signal_rows(score_fn)
        thresholds = class_thresholds(values, labels, member, ctx.n_classes)
        target = score_fn(ctx.eval_probs, ctx.eval_labels)
        return _output(
            ctx,
            pool.data,
            target - thresholds[ctx.eval_labels],
            f"member if the {signal_name} passes its class's threshold, chosen on shadow in/out records",
            (_WITH_LABELS, f"thresholds per class from {len(pool.in_masks)} shadows: {pool.choice.reason}"),
            threshold=0.0,
            signal=f"{signal_name} minus its class threshold",
        )

    return run


TIE_BREAK = 1e-6


def risk_scores(
    train_values: np.ndarray,
    train_labels: np.ndarray,
    train_member: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    n_bins: int = 20,
) -> np.ndarray:
    """Song & Mittal's privacy risk score: P(member | signal value, class) from shadow histograms.

    Bins are quantiles of the class's shadow values; counts get add-one smoothing; prior ½. Within a
    bin every record would get the same score, and how a tied top bin falls around the 1% FPR cut
    decided TPR at low FPR by chance (0.014 for a skops boosting model, 0.000 for its ONNX export);
    a term below 1e-6 that grows with the signal breaks those ties in the signal's own order.
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
    return np.minimum(out + TIE_BREAK * (0.5 + np.arctan(values) / np.pi), 1.0)


def _run_risk_score(ctx: AttackContext) -> AttackOutput:
    pool = ctx.main_shadow_pool()
    score_fn = CALIBRATED_SIGNALS["calibrated.modified_entropy"][1]
    values, labels, member = pool.signal_rows(score_fn)
    scores = risk_scores(values, labels, member, score_fn(ctx.eval_probs, ctx.eval_labels), ctx.eval_labels)
    return _output(
        ctx,
        pool.data,
        scores,
        "member if the estimated probability of membership is at least ½",
        (_WITH_LABELS, f"per-class in/out histograms from {len(pool.in_masks)} shadows: {pool.choice.reason}"),
        signal="privacy risk score",
    )


_NO_LABEL = _KNOWS - {"true labels"}
_NO_ARCHITECTURE = _KNOWS - {"architecture"}


def _info(attack_id: str, title: str, knows: frozenset[str] = _KNOWS) -> AttackInfo:
    options = ("shadow_family", "shadow_data", "shadow_models", "shadow_noise", "shadow_epochs", "synthesis_budget")
    return AttackInfo(attack_id, "shadow", title, knows, options=(*options, "device"))


ATTACKS = (
    FunctionAttack(
        _info("shadow.shokri", "Shadow models, one attack model per class (Shokri et al. 2017)"), _run_shokri
    ),
    FunctionAttack(
        _info("shadow.one", "One shadow model, top-3 posteriors (ML-Leaks adversary 1)", _NO_LABEL), _run_one_shadow
    ),
    FunctionAttack(
        _info("shadow.combined", "Combined shadows of several families (ML-Leaks combining attack)", _NO_ARCHITECTURE),
        _run_combined,
    ),
    *(
        FunctionAttack(
            _info(attack_id, f"Class-dependent {name} threshold calibrated on shadows (Song & Mittal 2021)"),
            _calibrated(attack_id),
        )
        for attack_id, (name, _) in CALIBRATED_SIGNALS.items()
    ),
    FunctionAttack(
        _info(
            "shadow.risk_score",
            "Privacy risk score: P(member | modified entropy, class) from shadows (Song & Mittal 2021)",
        ),
        _run_risk_score,
    ),
)
