"""Attacks on regression models (``--task regression``): the target answers one number per record.

A model fits its training records more closely than records it never saw, so the signal is the
residual r = y − ŷ (the squared error r² for the threshold attacks):

* ``threshold.loss``: member if the squared error is below the population's quantile (Yeom et al.
  2018, the loss-threshold attack ART runs on regressors);
* ``calibrated.loss``: the squared error minus its mean over reference models that did not train on
  the record (Watson et al. 2022, difficulty calibration), so that records every model fits badly
  (outliers) stop looking like non-members, and easy records like members;
* ``lira.offline`` / ``lira.online``: LiRA (Carlini et al. 2022) on the signed residual, whose spread
  over retrained models is close to Gaussian: offline, how unlikely a residual this close to zero is
  under the OUT Gaussian (a member's residual shrinks towards zero); online, the IN/OUT likelihood
  ratio;
* ``rmia``: RMIA (Zarifzadeh et al. 2024) with the Gaussian likelihood Pr(y|x, θ) ∝ exp(−r²/2s²),
  s the target's root-mean-squared residual on the population.

The reference models are those of ``training.regression_pool``: one pool, IN for half the audit
records and a calibration slice of the population, shared by every attack here; each threshold is
set on attacker-owned records (population records, or the calibration slice) as in
``attacks.reference``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mia_audit.attacks.interface import AttackInfo, AttackOutput, RegressionFunctionAttack
from mia_audit.attacks.kit import threshold_and_rule
from mia_audit.attacks.reference import (
    CALIBRATION_RECORDS,
    OPTIONS,
    PER_RECORD_VARIANCE_MODELS,
    TRAINS_ON_AUDIT_RECORDS,
    fit_gaussians,
    marginal_probability,
    masked_mean,
    online_scores,
    rmia_scores,
    stand_in_auc,
)

if TYPE_CHECKING:
    from mia_audit.attacks.regression_context import RegressionContext
    from mia_audit.training.regression_pool import RegressionPool

REGRESSION = frozenset({"regression"})
# RMIA's likelihood width s, as multiples of the target's RMS residual on the population: a wide one
# makes the ratio the calibrated loss, a narrow one weighs the models that fit the record (IN models).
RMIA_SCALES = (1.0, 0.3, 0.1, 0.03)
_ACCESS = "black-box query access to the target's predicted values, and the true value of each record"


def _threshold(ctx: RegressionContext, scores: np.ndarray, of: str) -> tuple[float | None, str]:
    too_few = f"no threshold: only {len(scores)} {of}"
    return threshold_and_rule(
        scores, ctx.options.threshold_fpr, f"the same score on {len(scores)} {of}", too_few=too_few
    )


def _population(ctx: RegressionContext) -> str:
    return f"owns {len(ctx.population_idx)} records from the target's data distribution that were not used for training"


def _run_loss(ctx: RegressionContext) -> AttackOutput:
    scores = -ctx.squared_error(ctx.eval_idx)
    threshold, rule = _threshold(ctx, -ctx.squared_error(ctx.population_idx), "population records")
    return AttackOutput(
        scores=scores,
        threshold=threshold,
        threshold_rule=rule,
        assumptions=(_ACCESS, _population(ctx), "no reference models, no knowledge of the architecture"),
        queries=0,
        signal="negative squared error (y − ŷ)²",
    )


# -- reference models --------------------------------------------------------------------------------


def _pool(ctx: RegressionContext, *, offline: bool) -> RegressionPool:
    own = offline and ctx.options.reference.offline_models == "population"
    return ctx.reference_pool(offline=own)


def _residuals(ctx: RegressionContext, pool: RegressionPool) -> tuple[np.ndarray, np.ndarray]:
    """The reference models' residuals ``(K, n)`` and the target's ``(n,)``."""
    return ctx.targets[None, :] - pool.predictions, ctx.targets - ctx.predictions


def _out_population(ctx: RegressionContext, pool: RegressionPool) -> np.ndarray:
    """Population records that at least one reference model did not train on (they set offline thresholds)."""
    return ctx.population_idx[(~pool.in_mask[:, ctx.population_idx]).any(axis=0)]


def _offline_assumption(ctx: RegressionContext) -> str:
    if ctx.options.reference.offline_models == "population":
        return "trains reference models on its population records only; no audit record is used for training"
    return (
        "per record, only the reference models that did not train on it (OUT models of the pool shared with "
        "lira.online and rmia; --offline-models population trains on population records only)"
    )


def _output(
    ctx: RegressionContext,
    pool: RegressionPool,
    title: str,
    scored: tuple[np.ndarray, float | None, str],
    signal: str,
    assumes: str,
    *notes: str,
) -> AttackOutput:
    scores, threshold, rule = scored
    return AttackOutput(
        title=f"{title}, {pool.n_models} reference models",
        scores=scores,
        threshold=threshold,
        threshold_rule=rule,
        assumptions=(
            _ACCESS,
            _population(ctx),
            f"knows how the target was built: {pool.choice.reason}",
            f"knows the training-set size: each reference model trains on about {pool.train_size} records",
            assumes,
        ),
        queries=0,
        signal=signal,
        notes=(f"{pool.describe()}; trained once in {pool.duration_s:.1f} s", *notes),
    )


def _run_calibrated(ctx: RegressionContext) -> AttackOutput:
    pool = _pool(ctx, offline=True)
    reference, target = _residuals(ctx, pool)
    scores = masked_mean(np.square(reference), ~pool.in_mask) - np.square(target)
    population = _out_population(ctx, pool)
    threshold, rule = _threshold(ctx, scores[population], "population records, each against the models it is OUT of")
    signal = "mean squared error of the OUT reference models minus the target's squared error"
    return _output(
        ctx,
        pool,
        "Calibrated loss (Watson et al. 2022)",
        (scores[ctx.eval_idx], threshold, rule),
        signal,
        _offline_assumption(ctx),
    )


def closer_to_zero_scores(observed: np.ndarray, mean_out: np.ndarray, sd_out: np.ndarray | float) -> np.ndarray:
    """−log P_OUT(|R| ≤ |r|): how unlikely a residual this close to zero is for a model that did not train on
    the record, R ~ N(μ_OUT, σ_OUT). One-sided like Carlini et al.'s offline test, in the one direction a
    member's residual moves (towards zero), whether the OUT models err to one side (μ_OUT ≠ 0) or only widely.
    """
    from scipy.special import log_ndtr

    size = np.abs(observed)
    upper = log_ndtr((size - mean_out) / sd_out)
    lower = log_ndtr((-size - mean_out) / sd_out)
    with np.errstate(divide="ignore"):
        log_p = upper + np.log1p(-np.exp(np.minimum(lower - upper, 0.0)))
    return np.asarray(-np.maximum(log_p, -745.0), dtype=np.float64)


def _run_lira_offline(ctx: RegressionContext) -> AttackOutput:
    pool = _pool(ctx, offline=True)
    reference, target = _residuals(ctx, pool)
    g = fit_gaussians(reference, pool.in_mask)
    scores = closer_to_zero_scores(target, g.mean_out, g.sd_out)
    population = _out_population(ctx, pool)
    threshold, rule = _threshold(ctx, scores[population], "population records, each against the models it is OUT of")
    return _output(
        ctx,
        pool,
        "LiRA offline on residuals (Carlini et al. 2022)",
        (scores[ctx.eval_idx], threshold, rule),
        "−log P(residual this close to zero | OUT)",
        _offline_assumption(ctx),
        _variance_note(pool),
    )


def _run_lira_online(ctx: RegressionContext) -> AttackOutput:
    pool = _pool(ctx, offline=False)
    reference, target = _residuals(ctx, pool)
    scores = online_scores(target, fit_gaussians(reference, pool.in_mask))
    threshold, rule = _threshold(ctx, scores[pool.split.calibration_idx], CALIBRATION_RECORDS)
    return _output(
        ctx,
        pool,
        "LiRA online on residuals (Carlini et al. 2022)",
        (scores[ctx.eval_idx], threshold, rule),
        "log likelihood ratio of the residual y − ŷ, IN vs OUT",
        TRAINS_ON_AUDIT_RECORDS,
        _variance_note(pool),
    )


def _run_rmia(ctx: RegressionContext) -> AttackOutput:
    pool = _pool(ctx, offline=False)
    reference, target = _residuals(ctx, pool)
    rms = max(float(np.sqrt(np.mean(np.square(target[ctx.population_idx])))), 1e-12)
    gamma = ctx.options.reference.gamma
    population = ctx.population_idx
    by_scale = {f: _stand_in_auc(reference, pool, ctx, f * rms) for f in RMIA_SCALES}
    best = max(RMIA_SCALES, key=lambda f: by_scale[f])
    ratio = _likelihood_ratio(target, reference, pool.in_mask, (best * rms) ** 2)
    scores = rmia_scores(ratio[ctx.eval_idx], ratio[population], gamma)
    calibration = rmia_scores(ratio[pool.split.calibration_idx], ratio[population], gamma)
    threshold, rule = _threshold(ctx, calibration, CALIBRATION_RECORDS)
    shown = ", ".join(f"{f:g}" for f in RMIA_SCALES)
    return _output(
        ctx,
        pool,
        "RMIA (Zarifzadeh et al. 2024)",
        (scores, threshold, rule),
        f"share of population records z with LR(x, z) ≥ γ = {gamma:g}",
        TRAINS_ON_AUDIT_RECORDS,
        f"Pr(y|x, θ) = exp(−r²/2s²) with s = {best:g} × {rms:.4g} (the target's root-mean-squared residual on the "
        f"population), the factor chosen from {shown} by attacking reference model 0 as a stand-in for the target "
        f"(its AUC there {by_scale[best]:.3f}); Pr(x): the mean over the reference models, IN and OUT alike",
    )


def _stand_in_auc(reference: np.ndarray, pool: RegressionPool, ctx: RegressionContext, s: float) -> float:
    if pool.n_models < 3:
        return 0.5
    p = np.exp(-np.square(reference) / (2 * s * s))
    return stand_in_auc(
        p, pool.in_mask, ctx.eval_idx, ctx.population_idx, ctx.options.reference.gamma, 1.0, online=True
    )


def _likelihood_ratio(target: np.ndarray, reference: np.ndarray, in_mask: np.ndarray, s2: float) -> np.ndarray:
    """Pr(y|x, θ) / Pr(x) for every record, in log space so that large residuals do not underflow to 0/0."""
    log_target = -np.square(target) / (2 * s2)
    log_reference = -np.square(reference) / (2 * s2)
    shift = np.maximum(log_reference.max(axis=0), log_target)
    marginal = marginal_probability(np.exp(log_reference - shift), in_mask, 1.0)
    return np.exp(np.clip(log_target - shift - np.log(np.maximum(marginal, 1e-300)), -700.0, 700.0))


def _variance_note(pool: RegressionPool) -> str:
    if pool.n_models < PER_RECORD_VARIANCE_MODELS:
        return f"global variance, pooled over records: with {pool.n_models} < {PER_RECORD_VARIANCE_MODELS} models"
    return f"per-record variances ({pool.n_models} ≥ {PER_RECORD_VARIANCE_MODELS} models)"


_KNOWS = frozenset({"predicted values", "true labels", "population records"})
_REFERENCE_KNOWS = _KNOWS | {"architecture", "training-set size"}
_ONLINE_KNOWS = _REFERENCE_KNOWS | {"audit records (unlabelled)"}


def _info(attack_id: str, family: str, title: str, knows: frozenset[str], options: tuple[str, ...]) -> AttackInfo:
    return AttackInfo(attack_id, family, title, knows, options=options, tasks=REGRESSION)


ATTACKS = (
    RegressionFunctionAttack(
        _info("threshold.loss", "threshold", "Squared-error threshold (Yeom et al. 2018)", _KNOWS, ("threshold_fpr",)),
        _run_loss,
    ),
    RegressionFunctionAttack(
        _info("calibrated.loss", "reference", "Calibrated loss (Watson et al. 2022)", _REFERENCE_KNOWS, OPTIONS),
        _run_calibrated,
    ),
    RegressionFunctionAttack(
        _info("lira.offline", "reference", "LiRA offline on residuals", _REFERENCE_KNOWS, (*OPTIONS, "offline_models")),
        _run_lira_offline,
    ),
    RegressionFunctionAttack(
        _info("lira.online", "reference", "LiRA online on residuals", _ONLINE_KNOWS, OPTIONS), _run_lira_online
    ),
    RegressionFunctionAttack(
        _info("rmia", "reference", "RMIA (Zarifzadeh et al. 2024)", _ONLINE_KNOWS, OPTIONS), _run_rmia
    ),
)
