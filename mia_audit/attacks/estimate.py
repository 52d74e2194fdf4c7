"""How long each attack will take, said before the attacks start.

An estimate is the attack's main operations counted from the audit's sizes (records, encoded
features, classes, the MLP's widths, models per pool, boundary neighbours) and priced at this
machine's speed: a short calibration times a few batched training steps and a forward pass of MLPs
of the attacker's widths, and the target's own query time comes from the one batched pass. Costs of
the scikit-learn fits (attack models, forests) are per-row constants measured on the 2-core machine
of bench/scale.py, scaled by how fast this machine's calibration ran against that one's.

Matched MLPs stop once as confident as the target, after a number of steps no one can know
before: a pool's estimate assumes the typical number seen on the bench targets, within the step
budget. A pool shared by several attacks is counted for the first that uses it, as it is trained
then. bench/scale.py prints each estimate beside the time measured.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.training.encoding import FeatureEncoder
    from mia_audit.training.families import FamilyChoice

# On the reference machine (bench/scale.py's 2 cores): multiply-adds per second of batched training steps
# (forward and backward) of the fixed probe, MLPs of 200-256-20 (see `calibrate`).
REFERENCE_TRAIN_MACS_S = 2.9e10
_PROBE = (200, (256,), 20)
# Seconds per unit on the reference machine, measured with bench/scale.py at 100,000 and 1,000,000 records.
BOOSTING_S_PER_ROW_FEATURE = 1.0e-6  # one HistGradientBoosting fit of 200 iterations
LOGISTIC_S_PER_ROW = 2.0e-6  # Shokri's per-class logistic models, per shadow row
FOREST_S_PER_ROW = 4.5e-5  # a 100-tree forest, per training record, times log2 of the records
FOREST_PREDICT_S_PER_ROW = 2.0e-5
PERTURB_S_PER_CELL = 2.0e-8  # building noisy neighbours, per neighbour and raw column
PERTURB_S_PER_ROW = 3.0e-6  # ... and per neighbour (text columns cost that much more)
REFERENCE_SIGNALS_S = 2.5e-6  # LiRA's and RMIA's statistics, per reference model and record
FIXED_S = 0.05  # an attack that only scores the shared outputs
# Scoring after the pools are trained, per record of the audit (or per shadow row).
SCORING_S_PER_RECORD = {"lira.offline": 2.5e-5, "lira.online": 2.5e-5, "rmia": 8e-6, "stacked": 9e-5}
THRESHOLD_S_PER_RECORD = 5e-7
SHADOW_SIGNAL_S_PER_ROW = 1e-6
# Matched MLPs stop once as confident as the target: after about this many steps on the bench targets
# (the bundled sample: 136; 100,000 records: the budget's 411 first).
TYPICAL_MATCH_STEPS = 400


@dataclass(frozen=True)
class Workload:
    """The sizes an audit's cost depends on."""

    n_eval: int
    n_population: int
    n_records: int
    n_columns: int  # raw feature columns
    n_inputs: int  # encoded width
    n_classes: int
    hidden: tuple[int, ...]  # of the attacker's MLPs (empty: the family is not an MLP)
    shadow_epochs: int | None  # --shadow-epochs: the shadows train exactly that long
    fit_s_per_row: float  # a scikit-learn family's fit, measured on a few rows (0 for MLPs)
    train_size: int
    shadow_models: int
    reference_models: int
    boundary_records: int
    boundary_queries: int
    query_s_per_record: float
    shadow_data: str = "population"  # --shadow-data: population shadows are the boundary's reference models
    continuous_columns: bool = True  # columns the boundary attack's Gaussian noise moves
    discrete_columns: bool = True  # ... and its flips
    user_transfer_corpus: bool = False  # --transfer-data: its shadows are trained live (the built-in ones ship)

    @property
    def macs_per_row(self) -> int:
        widths = [self.n_inputs, *(self.hidden or (128,)), self.n_classes]
        return sum(a * b for a, b in pairwise(widths))


@dataclass(frozen=True)
class Speed:
    """This machine's measured throughput at the attacker's widths, and how much slower than the reference
    machine it runs the fixed probe (1: as fast)."""

    train_macs_s: float
    predict_macs_s: float
    slowdown: float = 1.0


def calibrate(n_inputs: int, hidden: tuple[int, ...], n_classes: int, budget_s: float = 0.3) -> Speed:
    """Time batched MLP training steps and forward passes of these widths, and training steps of the fixed
    probe, for about ``budget_s`` in all."""
    train, predict = _rates([n_inputs, *(hidden or (128,)), n_classes], budget_s / 3)
    probe, _ = _rates([_PROBE[0], *_PROBE[1], _PROBE[2]], budget_s / 3, forward_too=False)
    return Speed(train, predict, REFERENCE_TRAIN_MACS_S / probe)


def _rates(widths: list[int], budget_s: float, *, forward_too: bool = True) -> tuple[float, float]:
    """Multiply-adds per second of a training step and of a forward pass, 4 models batched, 128 rows."""
    import torch

    k, batch = 4, 128
    generator = torch.Generator().manual_seed(0)
    params = [
        torch.randn(k, a, b, generator=generator).div_(math.sqrt(a)).requires_grad_() for a, b in pairwise(widths)
    ]
    x = torch.randn(k, batch, widths[0], generator=generator)
    macs = k * batch * sum(a * b for a, b in pairwise(widths))

    def forward() -> torch.Tensor:
        out = x
        for i, w in enumerate(params):
            out = torch.bmm(out, w)
            if i < len(params) - 1:
                out = torch.relu(out)
        return out

    def rate(step: Callable[[], object]) -> float:
        step()  # warm-up
        runs, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < budget_s / 2 or runs < 3:
            step()
            runs += 1
        return macs * runs / elapsed

    train = rate(lambda: forward().square().mean().backward())
    if not forward_too:
        return train, 0.0
    with torch.no_grad():
        return train, rate(forward)


# -- the operations -------------------------------------------------------------------------------


def mlp_pool_s(w: Workload, speed: Speed, n_models: int, n_train: int, predict_rows: int, epochs: int) -> float:
    """Training ``n_models`` MLPs on ``n_train`` rows for ``epochs`` epochs, then predicting ``predict_rows``;
    for a scikit-learn family, its measured fit time per row, two fits at a time."""
    if not w.hidden:
        return n_models * n_train * w.fit_s_per_row / 2
    train = n_models * n_train * epochs * w.macs_per_row
    return train / speed.train_macs_s + n_models * predict_rows * w.macs_per_row / speed.predict_macs_s


def matched_pool_s(
    w: Workload, speed: Speed, n_models: int, n_train: int, predict_rows: int, epochs: int | None = None
) -> float:
    """A confidence-matched pool: ``epochs`` when fixed, else as many as matching takes, within the budget."""
    from mia_audit.training.matched_mlp import epoch_budget

    if epochs is None:
        widths = [w.n_inputs, *(w.hidden or (128,)), w.n_classes]
        steps_per_epoch = math.ceil(max(n_train, 1) / 128)
        typical = math.ceil(TYPICAL_MATCH_STEPS / steps_per_epoch)
        epochs = min(epoch_budget(n_models, max(n_train, 1), widths, 128), typical)
    return mlp_pool_s(w, speed, n_models, n_train, predict_rows, epochs)


def boosting_s(rows: int, features: int, speed: Speed) -> float:
    return rows * features * BOOSTING_S_PER_ROW_FEATURE * speed.slowdown


# -- per attack ---------------------------------------------------------------------------------


def _shadow_pool(w: Workload, speed: Speed) -> float:
    n_train = max(1, min(w.train_size, w.n_population // 2))
    return matched_pool_s(w, speed, w.shadow_models, n_train, w.n_population, w.shadow_epochs)


def _reference_pool(w: Workload, speed: Speed) -> float:
    n_calibration = min(w.n_population // 2, max(200, round(0.1 * w.n_eval)))
    n_train = min((w.n_eval + n_calibration) // 2, w.train_size + n_calibration)
    signals = REFERENCE_SIGNALS_S * w.reference_models * w.n_records * speed.slowdown
    return matched_pool_s(w, speed, w.reference_models, n_train, w.n_records) + signals


def _shokri(w: Workload, speed: Speed) -> float:
    """Both candidate attack models fitted twice: the choice on 3/4 of the shadows, then the refit."""
    from mia_audit.attacks.attack_model import MAX_BOOSTING_ROWS

    n_train = max(1, min(w.train_size, w.n_population // 2))
    rows = 2 * w.shadow_models * n_train
    logistic = 1.75 * rows * LOGISTIC_S_PER_ROW * speed.slowdown
    return logistic + boosting_s(min(rows, MAX_BOOSTING_ROWS), 2 * w.n_classes + 2, speed) * 1.75


def _combined(w: Workload, speed: Speed) -> float:
    from mia_audit.attacks.shadow import COMBINED_MAX_RECORDS

    n = max(2, min(w.train_size, w.n_population // 2, COMBINED_MAX_RECORDS))
    forest = FOREST_S_PER_ROW * n * math.log2(n) * math.sqrt(w.n_inputs) / math.sqrt(200)
    forest += FOREST_PREDICT_S_PER_ROW * w.n_population
    return forest * speed.slowdown + mlp_pool_s(w, speed, 1, n, w.n_population, 20) * 2  # the MLP, the logistic


def _boundary(w: Workload, speed: Speed) -> float:
    """The reference models (the shadow pool's, counted there, or its own), their calibration on noisy
    neighbours, and the target's neighbours."""
    from mia_audit.attacks import boundary as b
    from mia_audit.training.config import ShadowConfig

    n_train = max(1, min(w.train_size, w.n_population // 2))
    if b.shares_shadows(w.shadow_data):
        n_models, references = w.shadow_models, 0.0
    else:
        n_models = b.REFERENCE_MODELS
        references = mlp_pool_s(w, speed, n_models, n_train, w.n_records, ShadowConfig().mlp_for(n_train).epochs)
    # The noise levels it calibrates: the Gaussian grid and two refinements, the flips, as the columns allow.
    levels = (len(b.SIGMA_GRID) + 2) * w.continuous_columns + len(b.FLIP_GRID) * w.discrete_columns
    per_record = b.CALIBRATION_QUERIES * levels + min(w.boundary_queries, b.MAX_BETA_QUERIES)
    calibration_rows = b.CALIBRATION_RECORDS * per_record
    scored = min(w.n_eval, w.boundary_records) + b.THRESHOLD_RECORDS
    # The reference models' true-class outputs on the records scored and calibrated on, then their queries.
    outputs = scored + b.CALIBRATION_RECORDS + calibration_rows
    calibration = n_models * outputs * w.macs_per_row / speed.predict_macs_s
    target_rows = scored * w.boundary_queries
    per_row = PERTURB_S_PER_ROW + w.n_columns * PERTURB_S_PER_CELL
    perturb = (calibration_rows + target_rows) * per_row * speed.slowdown
    return references + calibration + perturb + target_rows * w.query_s_per_record


def _stacked(w: Workload, speed: Speed) -> float:
    from mia_audit.attacks.stacked import MAX_FIT_ROWS, MAX_STAND_INS

    # Five fits (the choice among features, then the model) on its four scores; the width of 8 is what
    # matched bench/scale.py's stacked times.
    return boosting_s(min(MAX_STAND_INS * w.n_eval, MAX_FIT_ROWS), 8, speed) * 5


def _supervised(w: Workload, speed: Speed) -> float:
    from mia_audit.attacks.supervised import MAX_FIT_ROWS, N_FOLDS, N_REPEATS, ONE_REPEAT_RECORDS

    repeats = N_REPEATS if w.n_eval <= ONE_REPEAT_RECORDS else 1
    rows = repeats * N_FOLDS * min(w.n_eval * (N_FOLDS - 1) // N_FOLDS, MAX_FIT_ROWS)
    return boosting_s(rows, 20, speed)  # on the earlier attacks' scores


# Per attack id (or id prefix): its own cost, and the shared pools it needs.
OWN: dict[str, Callable[[Workload, Speed], float]] = {
    "shadow.shokri": _shokri,
    "shadow.combined": _combined,
    "label_only.boundary": _boundary,
    "stacked": _stacked,
    "supervised": _supervised,
    "transfer": lambda w, s: (2.0 if w.user_transfer_corpus else 0.1) * s.slowdown,
}
POOLS: dict[str, Callable[[Workload, Speed], float]] = {"shadow": _shadow_pool, "reference": _reference_pool}
NEEDS = {
    "shadow.shokri": "shadow",
    "shadow.one": "shadow",
    "shadow.risk_score": "shadow",
    "calibrated.": "shadow",
    "lira.": "reference",
    "rmia": "reference",
    "stacked": "reference",
}


@dataclass(frozen=True)
class Estimate:
    attack_id: str
    seconds: float


def _scoring_s(attack_id: str, w: Workload, speed: Speed) -> float:
    """What an attack costs past the shared pools: scoring every record, or every shadow row."""
    if attack_id.startswith("threshold."):
        per = THRESHOLD_S_PER_RECORD * w.n_eval
    elif attack_id.startswith("calibrated.") or attack_id == "shadow.risk_score":
        per = SHADOW_SIGNAL_S_PER_ROW * 2 * w.shadow_models * max(1, min(w.train_size, w.n_population // 2))
    else:
        per = SCORING_S_PER_RECORD.get(attack_id, 0.0) * w.n_records
    return per * speed.slowdown


def _pool_of(attack_id: str, w: Workload) -> str | None:
    from mia_audit.attacks.boundary import shares_shadows

    if attack_id == "label_only.boundary":
        return "shadow" if shares_shadows(w.shadow_data) else None
    return next((p for prefix, p in NEEDS.items() if attack_id.startswith(prefix)), None)


def estimate(attack_ids: Iterable[str], w: Workload, speed: Speed) -> tuple[Estimate, ...]:
    """Each attack's estimated seconds, in run order; a shared pool counts for its first user."""
    built: set[str] = set()
    out = []
    for attack_id in attack_ids:
        seconds = FIXED_S + OWN.get(attack_id, lambda _w, _s: 0.0)(w, speed) + _scoring_s(attack_id, w, speed)
        pool = _pool_of(attack_id, w)
        if pool is not None and pool not in built:
            built.add(pool)
            seconds += POOLS[pool](w, speed)
        out.append(Estimate(attack_id, seconds))
    return tuple(out)


def spoken(seconds: float) -> str:
    """``~12 s``, ``~3 min``: an estimate's precision, not a stopwatch's."""
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"~{seconds:.0f} s"
    return f"~{seconds / 60:.0f} min"


# -- from an audit's context ----------------------------------------------------------------------

# Below this many records an audit takes seconds: no calibration, no estimate.
MIN_RECORDS = 2_000
_FIT_ROWS = 1_000


def for_context(ctx: AttackContext, attack_ids: tuple[str, ...], query_s_per_record: float) -> tuple[Estimate, ...]:
    """The estimates for ``attack_ids`` on ``ctx``, after a short calibration; none for a small audit."""
    if len(ctx.features) < MIN_RECORDS:
        return ()
    options = ctx.options
    choice = ctx.family(options.shadow.family, options.shadow.mlp)
    encoder = ctx.encoder()
    hidden = tuple(choice.mlp.hidden) if choice.family == "mlp" else ()
    work = Workload(
        n_eval=len(ctx.eval_idx),
        n_population=len(ctx.population_idx),
        n_records=len(ctx.features),
        n_columns=ctx.features.shape[1],
        n_inputs=encoder.n_outputs,
        n_classes=ctx.n_classes,
        hidden=hidden,
        shadow_epochs=options.shadow.epochs,
        fit_s_per_row=0.0 if hidden else _fit_s_per_row(ctx, choice),
        train_size=ctx.train_size,
        shadow_models=options.shadow.n_models,
        reference_models=options.reference.n_models,
        boundary_records=options.boundary_records,
        boundary_queries=options.boundary_queries,
        query_s_per_record=query_s_per_record,
        shadow_data=options.shadow.data,
        user_transfer_corpus=options.transfer is not None,
        **_noise_columns(encoder),
    )
    return estimate(attack_ids, work, calibrate(encoder.n_outputs, hidden, ctx.n_classes))


def _noise_columns(encoder: FeatureEncoder) -> dict[str, bool]:
    from mia_audit.attacks.boundary import column_kinds

    kinds = column_kinds(encoder)
    return {"continuous_columns": kinds["continuous"], "discrete_columns": kinds["discrete"]}


def _fit_s_per_row(ctx: AttackContext, choice: FamilyChoice) -> float:
    """One fit of a scikit-learn family on up to 1,000 population records, per record."""
    import numpy as np

    from mia_audit.training.families import train_shadow_models

    rows = np.asarray(ctx.population_idx)[:_FIT_ROWS]
    if len(rows) < 2:
        return 0.0
    frame = ctx.features.iloc[rows].reset_index(drop=True)
    start = time.perf_counter()
    mask = np.ones((1, len(rows)), dtype=bool)
    train_shadow_models(choice, frame, ctx.labels[rows], mask, ctx.target.classes, ctx.encoder(), seed=ctx.seed)
    return (time.perf_counter() - start) / len(rows)


def summary(estimates: tuple[Estimate, ...], largest: int = 3) -> str:
    """One line: the total and the largest stages."""
    total = sum(e.seconds for e in estimates)
    top = sorted(estimates, key=lambda e: -e.seconds)[:largest]
    parts = ", ".join(f"{e.attack_id} {spoken(e.seconds)}" for e in top if e.seconds >= 1)
    return f"Estimated {spoken(total)} for {len(estimates)} attacks" + (f" (longest: {parts})" if parts else "")
