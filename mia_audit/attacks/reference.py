"""Reference-model attacks: LiRA offline and online (Carlini et al. 2022) and RMIA (Zarifzadeh et al. 2024).

``lira.online`` and ``rmia`` read one pool of K reference models (``training/reference_pool.py``), trained
once per run and cached: complementary random halves of the audit records plus a calibration slice
of the population, so that every audit record is IN for exactly half of the models. Sharing is
legitimate because each attack only ever reads, for a record, models whose relation to that
record the attacker chose: the split depends on the seed and the record indices, never on the
target's membership, and no target query is made beyond the one shared pass.

* ``lira.offline`` fits, per record, a Gaussian to the logit-scaled confidence of the models that
  did not train on it and scores how far into its upper tail the target's value lies. By default
  those are the OUT models of the shared pool, as Carlini et al. evaluate their offline attack;
  they trained on other audit records. ``offline_models="population"`` trains K models of its own
  on random population subsets of the target's training size instead, so that no audit record is
  used for training, at the cost of a second pool. Measured on a Location-like table
  (bench/bench_reference.py): shared OUT models AUC 0.917 / TPR@1% 0.498, population-only 0.872 /
  0.342, and twice the training time.
* ``lira.online`` fits, per record, one Gaussian to the shared pool's models that trained on it
  and one to those that did not; the score is the log likelihood ratio IN : OUT.
* ``rmia`` compares Pr(x|θ)/Pr(x) with the same ratio of population records z. Pr(x|θ) is the
  true-class probability of the output softened with a temperature (as in the authors'
  experiments: a plain softmax rounds the confident outputs of an overfitted model to 1 and
  leaves nothing to compare); Pr(x) is its mean over the models, IN and OUT alike for the audit
  records (the paper's online RMIA); population records, OUT of every model, use the paper's
  offline estimate ½((1+a)·Pr_OUT + (1−a)). The temperature and ``a`` are tuned by attacking a
  reference model that stands in for the target.

With K < 64 models both LiRA variants use one global variance per Gaussian (IN, OUT), pooled
over records around each record's own mean, as Carlini et al. recommend for few models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import signals
from mia_audit.attacks.interface import AttackInfo, AttackOutput, FunctionAttack
from mia_audit.attacks.kit import threshold_and_rule
from mia_audit.stats import auc, tpr_at_fpr

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.training.reference_pool import ReferencePool

# |logit| bounds LiRA may clip to: p within 1e-6, 1e-4, 1e-3, 1e-2 of 0 or 1; None first (no clip).
LOGIT_BOUNDS: tuple[float | None, ...] = (None, *(float(np.log((1 - d) / d)) for d in (1e-6, 1e-4, 1e-3, 1e-2)))
# LiRA's clip is chosen on this many reference models, each standing in for the target.
CLIP_STAND_INS = 4
# Below this many models per Gaussian the per-record variance is too noisy (Carlini et al.).
PER_RECORD_VARIANCE_MODELS = 64
OFFLINE_A_GRID = tuple(round(0.1 * i, 1) for i in range(11))
# Population records the pool trains on like audit records (IN for half): known non-members to set a threshold on.
CALIBRATION_RECORDS = "population records that, like the audit records, are IN for half of the models"
TRAINS_ON_AUDIT_RECORDS = (
    "trains reference models on the audit records themselves, each record IN for half of them "
    "(the auditor's candidate set); the target's membership labels are never used"
)


@dataclass(frozen=True)
class Gaussians:
    """Per-record means of the IN and OUT values (NaN where a record has none) and their spreads."""

    mean_in: np.ndarray
    mean_out: np.ndarray
    sd_in: np.ndarray | float
    sd_out: np.ndarray | float


def masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    counts = mask.sum(axis=0)
    sums = np.where(mask, values, 0.0).sum(axis=0)
    return np.divide(sums, counts, out=np.full(values.shape[1], np.nan), where=counts > 0)


def pooled_sd(values: np.ndarray, mask: np.ndarray) -> float:
    """One spread for all records: deviations from each record's own mean, pooled (ddof 1 per record)."""
    mean = masked_mean(values, mask)
    counts = mask.sum(axis=0)
    squares = np.where(mask, (values - np.nan_to_num(mean)) ** 2, 0.0).sum()
    dof = int(counts.sum() - (counts > 0).sum())
    return float(np.sqrt(squares / dof)) if dof > 0 and squares > 0 else 1.0


def _per_record_sd(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    mean = masked_mean(values, mask)
    counts = mask.sum(axis=0)
    squares = np.where(mask, (values - np.nan_to_num(mean)) ** 2, 0.0).sum(axis=0)
    sd = np.sqrt(np.divide(squares, counts - 1, out=np.full(len(counts), np.nan), where=counts > 1))
    return np.where(sd > 0, sd, pooled_sd(values, mask))


def fit_gaussians(values: np.ndarray, in_mask: np.ndarray) -> Gaussians:
    """LiRA's IN and OUT Gaussians per record from the ``(K, n)`` reference values.

    A record that no model trained on (or every model did) gets the missing mean from the other
    one and the average IN − OUT shift over the records that have both.
    """
    out_mask = ~in_mask
    if in_mask.shape[0] < PER_RECORD_VARIANCE_MODELS:
        sd_in: np.ndarray | float = pooled_sd(values, in_mask)
        sd_out: np.ndarray | float = pooled_sd(values, out_mask)
    else:
        sd_in, sd_out = _per_record_sd(values, in_mask), _per_record_sd(values, out_mask)
    mean_in, mean_out = masked_mean(values, in_mask), masked_mean(values, out_mask)
    both = ~np.isnan(mean_in) & ~np.isnan(mean_out)
    if both.any() and not both.all():
        shift = float(np.mean(mean_in[both] - mean_out[both]))
        mean_in = np.where(np.isnan(mean_in), mean_out + shift, mean_in)
        mean_out = np.where(np.isnan(mean_out), mean_in - shift, mean_out)
    return Gaussians(mean_in, mean_out, sd_in, sd_out)


@dataclass(frozen=True)
class Clip:
    """The bound on |logit-scaled confidence| LiRA uses, chosen on a stand-in, and what the stand-in gave."""

    bound: float | None
    tried: tuple[tuple[float | None, float | None], ...]  # (bound, stand-in TPR at 1% FPR)

    def apply(self, values: np.ndarray) -> np.ndarray:
        return values if self.bound is None else np.clip(values, -self.bound, self.bound)

    def describe(self) -> str:
        chosen = "not clipped" if self.bound is None else f"clipped to ±{self.bound:.1f}"
        if not self.tried:
            return f"logit-scaled confidence {chosen}"
        tried = ", ".join(
            f"{'none' if b is None else f'±{b:.1f}'} {'n/a' if t is None else f'{t:.3f}'}" for b, t in self.tried
        )
        return (
            f"logit-scaled confidence {chosen}: the bound with the best mean TPR at 1% FPR when reference "
            f"models 0–{CLIP_STAND_INS - 1} each stand in for the target ({tried})"
        )


def _stand_in_scores(values: np.ndarray, in_mask: np.ndarray, rows: np.ndarray, k: int, *, online: bool) -> np.ndarray:
    keep = np.arange(len(values)) != k
    g = fit_gaussians(values[keep], in_mask[keep])
    if online:
        return online_scores(values[k], g)[rows]
    return offline_scores(values[k], g.mean_out, g.sd_out)[rows]


def _mean_stand_in_tpr(values: np.ndarray, in_mask: np.ndarray, rows: np.ndarray, *, online: bool) -> float | None:
    """TPR at 1% FPR averaged over the first ``CLIP_STAND_INS`` models, each standing in for the target."""
    found = []
    for k in range(min(CLIP_STAND_INS, len(values))):
        member = in_mask[k, rows]
        if member.all() or not member.any():
            continue
        found.append(tpr_at_fpr(_stand_in_scores(values, in_mask, rows, k, online=online), member, 0.01))
    known = [t for t in found if t is not None]
    return float(np.mean(known)) if known else None


def choose_clip(values: np.ndarray, in_mask: np.ndarray, rows: np.ndarray, *, online: bool) -> Clip:
    """The |logit| bound (or none) under which LiRA finds the stand-ins' members best among ``rows``.

    Tree ensembles output exact 0s and 1s, which the logit maps to ±27 (the probability floor): one
    pooled Gaussian then spans the spikes and loses the tail (a 30-class forest: AUC 0.988, TPR at 1%
    FPR 0.013, while a loss threshold found every member). Clipping keeps what an MLP's tail says
    only where the stand-ins show it carries (ties keep the weaker clip). One stand-in chose ±4.6 for
    a forest saved with skops and ±6.9 for its ONNX export; four agree.
    """
    if len(values) < 3:
        return Clip(None, ())
    tried = [
        (bound, _mean_stand_in_tpr(Clip(bound, ()).apply(values), in_mask, rows, online=online))
        for bound in LOGIT_BOUNDS
    ]
    if all(t is None for _, t in tried):
        return Clip(None, ())
    best = max(range(len(tried)), key=lambda i: (tried[i][1] or 0.0, -i))
    return Clip(tried[best][0], tuple(tried))


def offline_scores(observed: np.ndarray, mean_out: np.ndarray, sd_out: np.ndarray | float) -> np.ndarray:
    """One-sided test against the OUT Gaussian: log Φ(z) − log(1 − Φ(z)), z = (φ − μ_out)/σ_out.

    Monotone in Φ(z), Carlini et al.'s offline score, but without rounding to 1 far in the upper tail.
    """
    from scipy.stats import norm

    z = (observed - mean_out) / sd_out
    return np.asarray(norm.logcdf(z) - norm.logsf(z), dtype=np.float64)


def online_scores(observed: np.ndarray, g: Gaussians) -> np.ndarray:
    """Log likelihood ratio of the target's value under the IN and the OUT Gaussian."""
    from scipy.stats import norm

    return np.asarray(
        norm.logpdf(observed, g.mean_in, g.sd_in) - norm.logpdf(observed, g.mean_out, g.sd_out), dtype=np.float64
    )


def offline_probability(p_true: np.ndarray, out_mask: np.ndarray, a: float) -> np.ndarray:
    """RMIA's offline Pr(x) = ½((1+a)·Pr_OUT(x) + (1−a)), Pr_OUT the mean over the OUT models."""
    return 0.5 * ((1.0 + a) * masked_mean(p_true, out_mask) + (1.0 - a))


def marginal_probability(p_true: np.ndarray, in_mask: np.ndarray, a: float) -> np.ndarray:
    """RMIA's Pr(x): ½(mean IN + mean OUT) where a record has both, else the offline estimate."""
    mean_in = masked_mean(p_true, in_mask)
    mean_out = masked_mean(p_true, ~in_mask)
    online = np.where(np.isnan(mean_out), mean_in, 0.5 * (mean_in + mean_out))
    return np.where(np.isnan(mean_in), offline_probability(p_true, ~in_mask, a), online)


def rmia_scores(ratio_x: np.ndarray, ratio_z: np.ndarray, gamma: float) -> np.ndarray:
    """Share of population records z with (ratio_x / ratio_z) ≥ γ, i.e. ratio_z ≤ ratio_x / γ.

    The share takes only ``len(ratio_z) + 1`` values: with few z, every record whose ratio passes all
    of them scores 1, and those tied records are the low-FPR tail. Within one step of the share the
    records are ordered by their ratio (a term below half a step), so the score ranks as the ratio
    does. Measured on digits (500/500, 797 z, a torch MLP): AUC 0.545 → 0.631 at T = 1, and the
    temperature chosen on the stand-in no longer leans on which T ties least.
    """
    ordered = np.sort(ratio_z)
    share = np.searchsorted(ordered, ratio_x / gamma, side="right") / len(ordered)
    with np.errstate(divide="ignore"):
        order = 0.5 + np.arctan(np.log(np.maximum(ratio_x, 0.0))) / np.pi
    return share + order * (0.5 / len(ordered))


def _ratio(p_target: np.ndarray, p_marginal: np.ndarray) -> np.ndarray:
    return p_target / np.maximum(p_marginal, 1e-300)


@dataclass(frozen=True)
class RmiaSettings:
    """RMIA's temperature and offline ``a``, as chosen on the stand-in, and the stand-in's AUC."""

    temperature: float
    a: float
    stand_in_auc: float | None


def stand_in_auc(
    p: np.ndarray,
    in_mask: np.ndarray,
    eval_idx: np.ndarray,
    population_idx: np.ndarray,
    gamma: float,
    a: float,
    *,
    online: bool,
) -> float:
    """How well RMIA finds the members of reference model 0, the other models serving as references.

    The stand-in is the attacker's own model, so its members (half of the audit records) are known.
    ``online`` estimates Pr(x) from the others' IN and OUT models, otherwise from their OUT models
    with the offline correction ``a``.
    """
    others, others_in = p[1:], in_mask[1:]

    def marginal(rows: np.ndarray) -> np.ndarray:
        if online:
            return marginal_probability(others[:, rows], others_in[:, rows], a)
        return offline_probability(others[:, rows], ~others_in[:, rows], a)

    ratio_x = _ratio(p[0, eval_idx], marginal(eval_idx))
    ratio_z = _ratio(p[0, population_idx], marginal(population_idx))
    # With two models the offline estimate has no OUT model for the records the other one trained on.
    known_x, known_z = ~np.isnan(ratio_x), ~np.isnan(ratio_z)
    member = in_mask[0, eval_idx][known_x]
    if not known_z.any() or member.all() or not member.any():
        return 0.5
    return auc(rmia_scores(ratio_x[known_x], ratio_z[known_z], gamma), member)


def tune_rmia(pool: ReferencePool, eval_idx: np.ndarray, population_idx: np.ndarray, gamma: float) -> RmiaSettings:
    """Pick the temperature by the online attack on the stand-in, then ``a`` by the offline one (grid, best AUC)."""
    temperatures = sorted(pool.p_true)
    is_member = pool.in_mask[0, eval_idx]
    if is_member.all() or not is_member.any():
        return RmiaSettings(temperatures[0], 0.0, None)
    by_t = {
        t: stand_in_auc(pool.p_true[t], pool.in_mask, eval_idx, population_idx, gamma, 1.0, online=True)
        for t in temperatures
    }
    best_t = max(temperatures, key=lambda t: by_t[t])
    by_a = {
        a: stand_in_auc(pool.p_true[best_t], pool.in_mask, eval_idx, population_idx, gamma, a, online=False)
        for a in OFFLINE_A_GRID
    }
    return RmiaSettings(best_t, max(OFFLINE_A_GRID, key=lambda a: by_a[a]), by_t[best_t])


def rmia_ratios(
    pool: ReferencePool,
    target_probs: np.ndarray,
    labels: np.ndarray,
    eval_idx: np.ndarray,
    population_idx: np.ndarray,
    gamma: float,
) -> tuple[np.ndarray, RmiaSettings]:
    """Pr(x|θ)/Pr(x) for every record, with the settings tuned on the stand-in."""
    settings = tune_rmia(pool, eval_idx, population_idx, gamma)
    from mia_audit.training.reference_pool import tempered_true_probability

    p_target = tempered_true_probability(target_probs, labels, settings.temperature)
    p_marginal = marginal_probability(pool.p_true[settings.temperature], pool.in_mask, settings.a)
    return _ratio(p_target, p_marginal), settings


@dataclass(frozen=True)
class Scored:
    """What a reference attack found before it is written up: scores of every record, threshold, rule."""

    scores: np.ndarray
    threshold: float | None
    rule: str


def reference_output(
    ctx: AttackContext,
    pool: ReferencePool,
    name: str,
    found: Scored,
    signal: str,
    *,
    assumes: tuple[str, ...],
    notes: tuple[str, ...],
) -> AttackOutput:
    """A reference attack's output: the same access, population and knowledge of how the target was built."""
    return AttackOutput(
        title=f"{name}, {pool.n_models} reference models",
        scores=found.scores,
        threshold=found.threshold,
        threshold_rule=found.rule,
        assumptions=(
            "black-box query access to the target's output probabilities and the true labels",
            f"owns {len(ctx.population_idx)} records from the target's data distribution that were not used for "
            "training",
            f"knows how the target was built: {pool.choice.reason}",
            f"knows the training-set size: each reference model trains on about {pool.train_size} records",
            *assumes,
        ),
        queries=0,
        signal=signal,
        notes=notes,
    )


def pool_notes(pool: ReferencePool, *extra: str, shared: bool = True) -> tuple[str, ...]:
    shared_by = "shared by lira.offline (OUT models), lira.online, rmia and stacked"
    users = shared_by if shared else "used by lira.offline alone"
    return (f"{pool.describe()}; trained once in {pool.duration_s:.1f} s and {users}", *extra)


def stand_in_records(ctx: AttackContext, pool: ReferencePool) -> np.ndarray:
    """Records the stand-in is scored on: the audit records, or the population for a population-only pool."""
    return ctx.eval_idx if pool.in_mask[:, ctx.eval_idx].any() else ctx.population_idx


def logit_target(ctx: AttackContext) -> np.ndarray:
    return signals.logit_confidence(ctx.probs, ctx.labels)


def calibrated_threshold(ctx: AttackContext, scores: np.ndarray, what: str) -> tuple[float | None, str]:
    of = f"the same score on {len(scores)} {what}"
    return threshold_and_rule(scores, ctx.options.threshold_fpr, of, too_few=f"no threshold: only {len(scores)} {what}")


# -- the attacks ----------------------------------------------------------------------------------


def _run_lira_offline(ctx: AttackContext) -> AttackOutput:
    own = ctx.options.reference.offline_models == "population"
    pool = ctx.reference_pool(offline=own)
    clip = choose_clip(pool.logit, pool.in_mask, stand_in_records(ctx, pool), online=False)
    g = fit_gaussians(clip.apply(pool.logit), pool.in_mask)
    scores = offline_scores(clip.apply(logit_target(ctx)), g.mean_out, g.sd_out)
    # A population record that every model trained on has no OUT value; it sets no threshold.
    population = ctx.population_idx[(~pool.in_mask[:, ctx.population_idx]).any(axis=0)]
    threshold, rule = calibrated_threshold(
        ctx, scores[population], "population records (known non-members), each against the models it is OUT of"
    )
    if own:
        models = "trains reference models on its population records only; no audit record is used for training"
    else:
        models = (
            "per record, only the reference models that did not train on it (OUT models of the pool shared with "
            "lira.online and rmia, which trained on other audit records; --offline-models population avoids that)"
        )
    return reference_output(
        ctx,
        pool,
        "LiRA offline (Carlini et al. 2022)",
        Scored(scores[ctx.eval_idx], threshold, rule),
        "one-sided OUT-Gaussian test of the logit-scaled confidence",
        assumes=(models,),
        notes=pool_notes(pool, _variance_note(pool, g, in_too=False), clip.describe(), shared=not own),
    )


def _run_lira_online(ctx: AttackContext) -> AttackOutput:
    pool = ctx.reference_pool()
    clip = choose_clip(pool.logit, pool.in_mask, stand_in_records(ctx, pool), online=True)
    g = fit_gaussians(clip.apply(pool.logit), pool.in_mask)
    scores = online_scores(clip.apply(logit_target(ctx)), g)
    threshold, rule = calibrated_threshold(ctx, scores[pool.split.calibration_idx], CALIBRATION_RECORDS)
    return reference_output(
        ctx,
        pool,
        "LiRA online (Carlini et al. 2022)",
        Scored(scores[ctx.eval_idx], threshold, rule),
        "log likelihood ratio of the logit-scaled confidence, IN vs OUT Gaussian",
        assumes=(TRAINS_ON_AUDIT_RECORDS,),
        notes=pool_notes(pool, _variance_note(pool, g, in_too=True), clip.describe()),
    )


def _run_rmia(ctx: AttackContext) -> AttackOutput:
    pool = ctx.reference_pool()
    gamma = ctx.options.reference.gamma
    population = ctx.population_idx
    ratio, tuned = rmia_ratios(pool, ctx.probs, ctx.labels, ctx.eval_idx, population, gamma)
    scores = rmia_scores(ratio[ctx.eval_idx], ratio[population], gamma)
    # Records of the calibration slice get the same (online) Pr(x) as the audit records, so their
    # scores are distributed like the audit non-members'.
    calibration = pool.split.calibration_idx
    threshold, rule = calibrated_threshold(
        ctx,
        rmia_scores(ratio[calibration], ratio[population], gamma),
        CALIBRATION_RECORDS,
    )
    return reference_output(
        ctx,
        pool,
        "RMIA (Zarifzadeh et al. 2024)",
        Scored(scores, threshold, rule),
        f"share of population records z with LR(x, z) ≥ γ = {gamma:g}",
        assumes=(TRAINS_ON_AUDIT_RECORDS, f"compares each record with {len(population)} population records z"),
        notes=pool_notes(
            pool,
            "Pr(x|θ): true-class probability of the output softened with temperature "
            f"T = {tuned.temperature:g}; Pr(x): its mean over the reference models, IN and OUT alike (the "
            "online estimate) for audit records, ½((1+a)·Pr_OUT + (1−a)) for population records OUT of "
            f"every model, with a = {tuned.a:.1f}",
            _stand_in_note(ctx, tuned),
            f"γ = {gamma:g} (as in the authors' experiments); the score is non-decreasing in Pr(x|θ)/Pr(x) for any γ, "
            "so γ moves the score values, not the ranking",
        ),
    )


def _stand_in_note(ctx: AttackContext, tuned: RmiaSettings) -> str:
    chosen = (
        "given"
        if ctx.options.reference.temperature is not None
        else "chosen from " + ", ".join(f"{t:g}" for t in ctx.options.reference.temperatures())
    )
    auc_text = "" if tuned.stand_in_auc is None else f" (its AUC there {tuned.stand_in_auc:.3f})"
    return (
        f"T {chosen} and a from 0, 0.1, …, 1 by attacking reference model 0 as a stand-in for the target, "
        f"whose members the attacker knows{auc_text}"
    )


def _variance_note(pool: ReferencePool, g: Gaussians, *, in_too: bool) -> str:
    if isinstance(g.sd_out, float):
        spread = f"OUT σ = {g.sd_out:.3g}" + (
            f", IN σ = {g.sd_in:.3g}" if in_too and isinstance(g.sd_in, float) else ""
        )
        return (
            f"global variance, pooled over records ({spread}): with {pool.n_models} < "
            f"{PER_RECORD_VARIANCE_MODELS} models per-record variances are too noisy (Carlini et al.)"
        )
    return f"per-record variances ({pool.n_models} ≥ {PER_RECORD_VARIANCE_MODELS} models)"


_KNOWS = frozenset({"output probabilities", "true labels", "population records", "architecture", "training-set size"})
ONLINE_KNOWS = _KNOWS | {"audit records (unlabelled)"}

OPTIONS = ("reference_models", "reference_epochs", "reference_family", "threshold_fpr", "device")


def _info(attack_id: str, title: str, knows: frozenset[str], *more: str) -> AttackInfo:
    return AttackInfo(attack_id, "reference", title, knows, options=(*OPTIONS, *more))


ATTACKS = (
    FunctionAttack(
        _info("lira.offline", "LiRA offline (Carlini et al. 2022)", _KNOWS, "offline_models"), _run_lira_offline
    ),
    FunctionAttack(_info("lira.online", "LiRA online (Carlini et al. 2022)", ONLINE_KNOWS), _run_lira_online),
    FunctionAttack(_info("rmia", "RMIA (Zarifzadeh et al. 2024)", ONLINE_KNOWS), _run_rmia),
)
