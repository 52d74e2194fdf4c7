"""The audit pipeline: load, query the target once, attack, measure, judge (docs/architecture.md)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from mia_audit import __version__, signals
from mia_audit.attacks.context import AttackContext, AttackOptions
from mia_audit.attacks.estimate import for_context, spoken, summary
from mia_audit.attacks.interface import Attack, AttackResult, run_attack
from mia_audit.attacks.registry import CHEAP, plan_attacks
from mia_audit.attacks.regression_context import RegressionContext
from mia_audit.data.labels import LabelMapping, label_key, map_labels, numeric_targets, value_ranges
from mia_audit.data.records import AuditData, DataSpec, read_tables, split_audit
from mia_audit.data.transfer import TransferTable, read_transfer_table
from mia_audit.defences.measure import Judging, measure_output_defences, measure_training_defences
from mia_audit.environment import available_cores, describe_environment, limited_threads
from mia_audit.errors import ConfigError, ModelDataMismatchError
from mia_audit.judge.baseline import Baseline, compare_with_baseline
from mia_audit.judge.distribution import signal_distribution
from mia_audit.judge.epsilon import split_half_epsilon
from mia_audit.judge.exposure import most_exposed
from mia_audit.judge.gate import evaluate_gate
from mia_audit.judge.mitigations import recommend
from mia_audit.judge.properties import PropertyInputs, compute_properties, compute_regression_properties
from mia_audit.judge.reports import report_attack, scored_positions
from mia_audit.judge.risk import assess_risk, counted_attacks
from mia_audit.judge.vulnerability import disparate_vulnerability
from mia_audit.models.base import OutputKind, TargetModel
from mia_audit.models.family import model_family
from mia_audit.models.loader import load_model, load_regressor
from mia_audit.models.regressor import Regressor
from mia_audit.options import AuditConfig as AuditConfig
from mia_audit.options import describe
from mia_audit.result import (
    AttackReport,
    AuditResult,
    DataSummary,
    ModelSummary,
    RecordScores,
    RunInfo,
    SkippedAttack,
    ToolInfo,
    Utility,
)
from mia_audit.training.backend import training_on

if TYPE_CHECKING:
    from mia_audit.result import (
        BaselineComparison,
        DefenceResult,
        DisparateVulnerability,
        EpsilonEstimate,
        ExposedRecord,
        GateResult,
        Mitigation,
        PropertyValue,
        Risk,
        SignalDistribution,
    )

Step = Callable[[str], AbstractContextManager[None]]


@contextlib.contextmanager
def _quiet_step(_: str) -> Iterator[None]:
    yield


def audit(
    model_path: str | Path,
    data: DataSpec,
    config: AuditConfig | None = None,
    *,
    command: str = "",
    step: Step = _quiet_step,
) -> AuditResult:
    """Run a membership-inference audit of the model at ``model_path`` on ``data``."""
    config = config or AuditConfig()
    threads = config.threads or available_cores()
    with limited_threads(threads):
        return _audit(model_path, data, config, command, step, describe_environment(threads, config.shadow.device))


def _audit(
    model_path: str | Path, data: DataSpec, config: AuditConfig, command: str, step: Step, env: dict[str, object]
) -> AuditResult:
    clock = _Clock.start()
    load = _load_regression_target if config.task == "regression" else _load_target
    target = load(model_path, data, config, step)
    with _pool_backend(config, step) as where:
        env = {**env, "backend": where}
        measured = _measure(target, config.seed, step)
        attacks = _run_attacks(target, config, step, clock.t0)
        defences, defence_notes = _defences(attacks, target, config, step, clock.t0)
    summary = _model_summary(target.model, model_path, target.records)
    verdict = _judge(attacks, target, measured.utility, summary.family, config)
    exposure = _exposure(attacks.results, verdict.strongest, target, config.include_records)
    run = clock.run_info(config, data, command, env)
    result = _assemble(run, target, summary, measured, attacks, verdict, exposure)
    notes = (*result.notes, *defence_notes)
    return replace(result, warnings=_warnings(target.model, attacks.results, config), defences=defences, notes=notes)


@contextlib.contextmanager
def _pool_backend(config: AuditConfig, step: Step) -> Iterator[object]:
    """Where the pools train while the block runs (``--backend``), connected once the inputs have been
    read and checked; yields what the run's environment records of it."""
    if config.backend == "local":
        yield "local"
        return
    from mia_audit.training.dask_pool import connect

    where = config.scheduler or "from Dask's settings, else a local cluster started for the run"
    with step(f"Connecting to the Dask scheduler ({where})"):
        remote = connect(config.scheduler, device=config.shadow.device)
    try:
        with training_on(remote):
            yield remote.describe()
    finally:
        remote.close()


@dataclass(frozen=True)
class _Clock:
    """When the audit started, for the report's run section."""

    started_at: str
    t0: float

    @classmethod
    def start(cls) -> _Clock:
        return cls(datetime.now(timezone.utc).isoformat(timespec="seconds"), time.perf_counter())

    def run_info(self, config: AuditConfig, data: DataSpec, command: str, env: dict[str, object]) -> RunInfo:
        return RunInfo(
            started_at=self.started_at,
            duration_s=round(time.perf_counter() - self.t0, 3),
            seed=config.seed,
            command=command,
            config=describe(config, data),
            environment=env,
        )


@dataclass(frozen=True)
class _Target:
    """The model, its audit records and the outputs of the one batched pass over them.

    ``eval_is_member`` is the ground truth of the evaluation records (in ``records.eval_idx`` order).
    """

    model: TargetModel | Regressor
    records: AuditData
    mapping: LabelMapping
    probs: np.ndarray
    eval_is_member: np.ndarray
    transfer: TransferTable | None = None
    # A regressor: every record's true value; ``probs`` holds its predictions as one column, ``mapping``
    # the true value's quartile (for the per-range breakdown), named by ``ranges``.
    values: np.ndarray | None = None
    ranges: tuple[str, ...] = ()
    query_s_per_record: float = 0.0  # how long the one pass took, per record

    @property
    def task(self) -> str:
        return "classification" if self.values is None else "regression"

    @property
    def output_kind(self) -> OutputKind:
        model = self.model
        return model.output_kind if isinstance(model, TargetModel) else OutputKind.VALUES

    @property
    def labels(self) -> np.ndarray:
        """Every record's label as an index into the model's classes."""
        return self.mapping.indices

    @property
    def eval_labels(self) -> np.ndarray:
        return self.labels[self.records.eval_idx]

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.ranges or not isinstance(self.model, TargetModel):
            return self.ranges
        return tuple(str(c) for c in self.model.classes)


def _load_target(model_path: str | Path, data: DataSpec, config: AuditConfig, step: Step) -> _Target:
    with step("Loading model and data"):
        model, records = _load_model_and_records(model_path, data, config)
        mapping = map_labels(records.raw_labels, model.classes)
        transfer = _read_transfer(config)
    with step(f"Querying the target on {len(records.features)} records (one batched pass)"):
        start = time.perf_counter()
        probs = query_target(model, records)
        query_s = (time.perf_counter() - start) / len(records.features)
    eval_is_member = records.is_member[records.eval_idx]
    return _Target(model, records, mapping, probs, eval_is_member, transfer, query_s_per_record=query_s)


def _load_regression_target(model_path: str | Path, data: DataSpec, config: AuditConfig, step: Step) -> _Target:
    """A regressor, its records with their true values, and its predictions from one batched pass."""
    with step("Loading model and data"):
        if config.transfer_data is not None:
            raise ConfigError(
                "--transfer-data feeds the transfer attack on classifiers; drop it with --task regression."
            )
        if config.output_kind != "auto":
            raise ConfigError("--output-kind says what a classifier's output holds; drop it with --task regression.")
        records = split_audit(read_tables(data), config.seed)
        values = numeric_targets(records.raw_labels, records.label_col)
        model = load_regressor(
            model_path, trust_model=config.trust_model, batch_size=config.batch_size, output=config.output
        )
        ranges, names = value_ranges(values)
    with step(f"Querying the target on {len(records.features)} records (one batched pass)"):
        predictions = query_regressor(model, records)
    eval_is_member = records.is_member[records.eval_idx]
    return _Target(
        model, records, LabelMapping(ranges, None), predictions[:, None], eval_is_member, None, values, names
    )


def query_regressor(model: Regressor, records: AuditData) -> np.ndarray:
    """The one batched pass of a regressor over every record: one finite value per record."""
    predictions = np.asarray(model.predict(records.features), dtype=np.float64)
    if predictions.shape != (len(records.features),):
        raise ModelDataMismatchError(
            f"the model returned predictions of shape {predictions.shape}, expected ({len(records.features)},); "
            "check that the model is a single-output regressor for these records."
        )
    if not np.all(np.isfinite(predictions)):
        raise ModelDataMismatchError(
            "the model returned NaN or infinite predictions for some records; check the feature values."
        )
    return predictions


def _read_transfer(config: AuditConfig) -> TransferTable | None:
    """``--transfer-data``, read with the audit data so that a bad file stops the run before any attack."""
    if config.transfer_data is None:
        return None
    return read_transfer_table(config.transfer_data, config.transfer_label_col)


def _load_model_and_records(
    model_path: str | Path, data: DataSpec, config: AuditConfig
) -> tuple[TargetModel, AuditData]:
    """The model and its audit records, split again without non-members of classes the model never learned."""
    tables = read_tables(data)
    records = split_audit(tables, config.seed)
    model = load_model(
        model_path,
        trust_model=config.trust_model,
        batch_size=config.batch_size,
        classes=_label_hint(records.raw_labels),
        output=config.output,
        output_kind=config.output_kind,
    )
    unknown = _unlearned_non_member_labels(records, model.classes)
    if unknown:
        records = split_audit(tables, config.seed, unknown)
    return model, records


@dataclass(frozen=True)
class _Measured:
    """What the audit measures of the model and data before any attack."""

    utility: Utility
    properties: dict[str, PropertyValue]


def _measure(target: _Target, seed: int, step: Step) -> _Measured:
    with step("Data and model properties"):
        if target.values is not None:
            utility = regression_utility(target.probs[:, 0], target.values, target.records)
            return _Measured(utility, compute_regression_properties(_property_inputs(target, utility, seed)))
        utility = compute_utility(target.probs, target.labels, target.records)
        return _Measured(utility, compute_properties(_property_inputs(target, utility, seed)))


@dataclass(frozen=True)
class _Attacks:
    """Each attack's raw result and measured report, in run order, and the attacks that could not run."""

    results: tuple[AttackResult, ...]
    reports: tuple[AttackReport, ...]
    skipped: tuple[SkippedAttack, ...]
    dropped: tuple[str, ...] = ()  # left out by --max-time (also among ``skipped``, with the reason)
    # The attacker's view the attacks shared, and the attacks that ran: the defences run them again.
    context: AttackContext | RegressionContext | None = None
    ran: tuple[Attack, ...] = ()


def _run_attacks(target: _Target, config: AuditConfig, step: Step, started: float) -> _Attacks:
    n_population = len(target.records.population_idx)
    runnable, skipped = plan_attacks(config.attacks, target.output_kind, n_population, target.task, config.profile)
    # One context for all attacks: they share attacker-side work through it (shadow data, trained pools).
    ctx = _attack_context(target, config)
    estimates = _estimates(ctx, runnable, target.query_s_per_record, step)
    results: list[AttackResult] = []
    dropped: list[SkippedAttack] = []
    for number, attack in enumerate(runnable, 1):
        late = _past_max_time(attack.info.id, config.max_time, started)
        if late is not None:
            dropped.append(SkippedAttack(attack.info.id, late))
            continue
        guess = f" (estimated {spoken(estimates[attack.info.id])})" if attack.info.id in estimates else ""
        with step(f"Attack {number}/{len(runnable)} {attack.info.id}{guess}"):
            results.append(run_attack(attack, ctx, target.eval_is_member, results))
    reports = tuple(report_attack(r, target.eval_is_member, target.eval_labels, target.class_names) for r in results)
    ran = tuple(a for a in runnable if a.info.id in {r.id for r in results})
    return _Attacks(tuple(results), reports, (*skipped, *dropped), tuple(d.id for d in dropped), ctx, ran)


# Past this many records (audit and population) the profile's defences are left out unless asked for:
# at 150,000 records the six output defences took 110 s beside the audit's 97 s (bench/scale.py).
DEFENCES_BY_DEFAULT_MAX_RECORDS = 50_000


def _asked_for(key: str, config: AuditConfig) -> bool:
    """Whether the command line or a config file set ``key`` (rather than its default or the profile)."""
    source = config.config_source or {}
    settings = source.get("settings", {}) if isinstance(source, dict) else {}
    origin = str(settings.get(key, "default")) if isinstance(settings, dict) else "default"
    return origin != "default" and not origin.startswith("profile")


def _defences(
    attacks: _Attacks, target: _Target, config: AuditConfig, step: Step, started: float
) -> tuple[tuple[DefenceResult, ...], tuple[str, ...]]:
    """The defences --defences asks for, measured, and notes on any not measured."""
    ctx = attacks.context
    if config.defences == "none" or not isinstance(ctx, AttackContext):
        return (), ()
    if config.max_time is not None and time.perf_counter() - started >= config.max_time:
        return (), (f"defences not measured: --max-time {config.max_time:g} s had passed",)
    n_records = len(target.records.features)
    if n_records > DEFENCES_BY_DEFAULT_MAX_RECORDS and not _asked_for("defences", config):
        return (), (
            f"defences not measured: by default they are measured on audits of up to "
            f"{DEFENCES_BY_DEFAULT_MAX_RECORDS:,} records (this one has {n_records:,}; they would about double its "
            "time); give --defences output or all to measure them",
        )
    judging = Judging(
        target.eval_is_member,
        target.eval_labels,
        target.class_names,
        config.risk_include,
        np.flatnonzero(target.records.is_member),
    )
    measured: list[DefenceResult] = []
    notes: list[str] = []
    realistic = tuple(a for a in attacks.ran if not a.info.auditor_only)
    if config.defences in ("output", "all"):
        if target.output_kind is OutputKind.LABELS:
            notes.append("output defences not measured: the model already releases labels only")
        else:
            measured += measure_output_defences(ctx, attacks.ran, attacks.results, judging, step)
    if config.defences in ("training", "all"):
        seconds = sum(r.duration_s for r in attacks.results if r.id in {a.info.id for a in realistic})
        found, training_notes = measure_training_defences(ctx, realistic, judging, step, seconds)
        measured += found
        notes += training_notes
    return tuple(measured), tuple(notes)


def _estimates(
    ctx: AttackContext | RegressionContext, runnable: tuple[Attack, ...], query_s: float, step: Step
) -> dict[str, float]:
    """Each attack's estimated seconds (none for a regressor or a small audit), announced in one line."""
    ids = tuple(a.info.id for a in runnable)
    if not isinstance(ctx, AttackContext) or all(i in CHEAP for i in ids):
        return {}  # the cheap attacks take well under a second: no calibration (it imports torch)
    found = for_context(ctx, ids, query_s)
    if found:
        with step(summary(found)):
            pass
    return {e.attack_id: e.seconds for e in found}


def _past_max_time(attack_id: str, max_time: float | None, started: float) -> str | None:
    """Why ``--max-time`` drops this attack now (None: it runs); cheap attacks always run."""
    elapsed = time.perf_counter() - started
    if max_time is None or elapsed < max_time or attack_id in CHEAP:
        return None
    return (
        f"dropped by --max-time {max_time:g} s: {elapsed:.1f} s had passed before it started (it trains models "
        "or queries the target; run without --max-time, or with more time, to include it)"
    )


def _attack_context(target: _Target, config: AuditConfig) -> AttackContext | RegressionContext:
    records = target.records
    options = AttackOptions(
        threshold_fpr=config.threshold_fpr,
        shadow=config.shadow,
        reference=config.reference,
        boundary_queries=config.boundary_queries,
        boundary_records=config.boundary_records,
        transfer=target.transfer,
        reselect=config.profile == "thorough",
    )
    common = {
        "eval_idx": records.eval_idx,
        "population_idx": records.population_idx,
        "features": records.features,
        "seed": config.seed,
        "train_size": records.count("member"),
        "options": options,
    }
    if isinstance(target.model, TargetModel):
        return AttackContext(probs=target.probs, labels=target.labels, target=target.model, **common)
    values = cast(np.ndarray, target.values)
    return RegressionContext(predictions=target.probs[:, 0], targets=values, target=target.model, **common)


@dataclass(frozen=True)
class _Verdict:
    """The audit's judgement of the attacks and the mitigations it calls for."""

    risk: Risk
    baseline: BaselineComparison | None
    epsilon: EpsilonEstimate | None
    gate: GateResult
    strongest: AttackResult | None
    mitigations: tuple[Mitigation, ...]


def _judge(attacks: _Attacks, target: _Target, utility: Utility, family: str, config: AuditConfig) -> _Verdict:
    risk = assess_risk(attacks.reports, config.risk_include, attacks.dropped)
    counted = counted_attacks(attacks.reports, config.risk_include)
    baseline = _compare_with_baseline(config.baseline, counted, risk, target)
    epsilon = _epsilon(attacks.results, counted, target.eval_is_member, config.seed)
    gate = evaluate_gate(config.gate, risk, counted, baseline, epsilon)
    strongest = next((r for r in attacks.results if r.id == risk.strongest_attack), None)
    # Auditor-only attacks stay out of the advice even when --risk-from counts them for risk.
    advice_from = counted_attacks(attacks.reports)
    mitigations = recommend(risk.at_least, utility, target.output_kind.value, family, epsilon, advice_from)
    return _Verdict(risk, baseline, epsilon, gate, strongest, mitigations)


def _compare_with_baseline(
    baseline: Baseline | None, counted: Sequence[AttackReport], risk: Risk, target: _Target
) -> BaselineComparison | None:
    if baseline is None:
        return None
    return compare_with_baseline(
        baseline,
        counted,
        risk.strongest_attack,
        model_sha256=target.model.info.sha256,
        data_sha256=target.records.sha256,
    )


def _epsilon(
    results: Sequence[AttackResult], counted: Sequence[AttackReport], eval_is_member: np.ndarray, seed: int
) -> EpsilonEstimate | None:
    """The split-half ε lower bound over the attacks counted for risk that scored every evaluation record (the
    halves are halves of all of them; a subsampled attack's own bound is in its metrics)."""
    ids = {a.id for a in counted}
    scores = {r.id: r.scores for r in results if r.id in ids and r.complete}
    return split_half_epsilon(scores, eval_is_member, seed)


@dataclass(frozen=True)
class _Exposure:
    """Every evaluation record's scores, and whom the strongest attack exposes most."""

    records: RecordScores
    exposed: tuple[ExposedRecord, ...]
    distribution: SignalDistribution | None
    vulnerability: DisparateVulnerability | None


def _exposure(
    results: Sequence[AttackResult], strongest: AttackResult | None, target: _Target, include_records: bool
) -> _Exposure:
    record_scores = _record_scores(target, results)
    if strongest is None:
        return _Exposure(record_scores, (), None, None)
    records = target.records
    shown = records.features.iloc[records.eval_idx] if include_records else None
    return _Exposure(
        records=record_scores,
        exposed=most_exposed(record_scores, strongest.id, shown),
        distribution=_distribution(strongest, target.eval_is_member),
        vulnerability=_vulnerability(strongest, target),
    )


# Attacks whose models are built like the target (--shadow-family / --reference-family auto), by family or id.
_COPIES_THE_TARGET = {
    "shadow": "--shadow-family",
    "reference": "--reference-family",
    "label_only.boundary": "--shadow-family",
}


def _warnings(model: TargetModel | Regressor, results: Sequence[AttackResult], config: AuditConfig) -> tuple[str, ...]:
    """What may make these numbers understate the leakage, for the console and the executive summary."""
    from mia_audit.training.families import choose_family

    requested = {"--shadow-family": config.shadow.family, "--reference-family": config.reference.family}
    flags = {_COPIES_THE_TARGET.get(r.family, _COPIES_THE_TARGET.get(r.id, "")) for r in results} - {""}
    fallen = sorted(f for f in flags if choose_family(requested[f], model).fallback)
    if not fallen:
        return ()
    reason = choose_family(requested[fallen[0]], model).reason.removeprefix("auto: ")
    return (
        f"the model's architecture could not be read ({reason}): the shadow and reference models of the attacks "
        f"fall back to a default MLP, which can understate the leakage of another model family; name the "
        f"family with {' and '.join(fallen)}",
    )


def _assemble(
    run: RunInfo,
    target: _Target,
    summary: ModelSummary,
    measured: _Measured,
    attacks: _Attacks,
    verdict: _Verdict,
    exposure: _Exposure,
) -> AuditResult:
    return AuditResult(
        tool=ToolInfo("mia-audit", __version__),
        run=run,
        model=summary,
        data=_data_summary(target.records, target.eval_is_member),
        utility=measured.utility,
        attacks=attacks.reports,
        skipped=attacks.skipped,
        properties=measured.properties,
        risk=verdict.risk,
        gate=verdict.gate,
        signal_distribution=exposure.distribution,
        records=exposure.records,
        vulnerability=exposure.vulnerability,
        notes=tuple(n for n in (*target.records.notes, target.mapping.note) if n),
        epsilon=verdict.epsilon,
        exposed=exposure.exposed,
        baseline=verdict.baseline,
        mitigations=verdict.mitigations,
    )


def _unlearned_non_member_labels(records: AuditData, classes: tuple[object, ...]) -> frozenset[str]:
    """Labels only non-members carry and the model does not know: rare classes absent from training.

    A member with an unknown label means the label column or coding is wrong; that stays an error.
    """
    if not classes:
        return frozenset()
    known = {label_key(c) for c in classes}
    keys = np.array([label_key(v) for v in records.raw_labels], dtype=object)
    unknown = np.array([k not in known for k in keys])
    if not unknown.any() or unknown[records.role == "member"].any():
        return frozenset()
    return frozenset(keys[unknown])


def _label_hint(raw_labels: np.ndarray) -> tuple[object, ...]:
    """The data's distinct labels, for a label-only graph that does not name its classes."""
    return tuple(sorted(set(raw_labels.tolist()), key=str))


def query_target(model: TargetModel, records: AuditData) -> np.ndarray:
    """The one batched pass over every record; all attacks reuse its outputs."""
    probs = np.asarray(model.predict_proba(records.features), dtype=np.float64)
    expected = (len(records.features), model.n_classes)
    if probs.shape != expected:
        raise ModelDataMismatchError(
            f"the model returned outputs of shape {probs.shape}, expected {expected}; "
            "check that the model is a classifier for these records."
        )
    if not np.all(np.isfinite(probs)):
        raise ModelDataMismatchError(
            "the model returned NaN or infinite outputs for some records; check the feature values."
        )
    return probs


def regression_utility(predictions: np.ndarray, values: np.ndarray, records: AuditData) -> Utility:
    """R² and mean squared error on all members versus all held-out records (population files excluded)."""
    error = np.square(values - predictions)
    train, test = records.is_member, records.is_heldout
    train_r2, test_r2 = _r2(error[train], values[train]), _r2(error[test], values[test])
    return Utility(
        train_accuracy=train_r2,
        test_accuracy=test_r2,
        generalization_gap=train_r2 - test_r2,
        train_loss=float(error[train].mean()),
        test_loss=float(error[test].mean()),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        measure="R²",
        loss="squared error",
    )


def _r2(squared_error: np.ndarray, values: np.ndarray) -> float:
    """1 − SSE/SST; 0 for records whose true values do not vary."""
    total = float(np.square(values - values.mean()).sum())
    return 1.0 - float(squared_error.sum()) / total if total > 0 else 0.0


def compute_utility(probs: np.ndarray, labels: np.ndarray, records: AuditData) -> Utility:
    """Accuracy and mean loss on all members versus all held-out records (population files excluded)."""
    correct = np.argmax(probs, axis=1) == labels
    loss = signals.loss(probs, labels)
    train, test = records.is_member, records.is_heldout
    train_acc, test_acc = float(correct[train].mean()), float(correct[test].mean())
    return Utility(
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        generalization_gap=train_acc - test_acc,
        train_loss=float(loss[train].mean()),
        test_loss=float(loss[test].mean()),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
    )


def _property_inputs(target: _Target, utility: Utility, seed: int) -> PropertyInputs:
    records = target.records
    return PropertyInputs(
        features=records.features,
        labels=target.labels,
        probs=target.probs,
        member=records.is_member,
        heldout=records.is_heldout,
        class_names=target.class_names,
        utility=utility,
        n_holdout=int(records.is_heldout.sum()),
        n_population=records.count("population"),
        population_source=records.population_source,
        sensitive=records.sensitive,
        sensitive_col=records.sensitive_col,
        seed=seed,
    )


def _distribution(strongest: AttackResult, eval_is_member: np.ndarray) -> SignalDistribution:
    at = scored_positions(strongest)
    return signal_distribution(replace(strongest, scores=strongest.scores[at]), eval_is_member[at])


def _vulnerability(strongest: AttackResult, target: _Target) -> DisparateVulnerability:
    """Per-class and per-group exposure of the strongest attack, on the evaluation records it scored."""
    records = target.records
    at = scored_positions(strongest)
    sensitive = records.sensitive
    groups = None if sensitive is None else sensitive[records.eval_idx][at]
    known = () if sensitive is None else tuple(sorted(set(sensitive[records.is_member | records.is_heldout].tolist())))
    return disparate_vulnerability(
        strongest.id,
        strongest.scores[at],
        target.eval_is_member[at],
        target.eval_labels[at],
        target.class_names,
        records.label_col,
        groups,
        records.sensitive_col,
        known,
    )


def _record_scores(target: _Target, results: Sequence[AttackResult]) -> RecordScores:
    records = target.records
    idx = records.eval_idx
    return RecordScores(
        source=tuple(str(s) for s in records.source[idx]),
        row_index=tuple(int(i) for i in records.row_index[idx]),
        member=tuple(int(m) for m in target.eval_is_member),
        label=_record_labels(target, idx),
        scores={r.id: tuple(float(s) for s in r.scores) for r in results},
    )


def _record_labels(target: _Target, idx: np.ndarray) -> tuple[str, ...]:
    """Each record's label as the records table shows it: the class, or a regressor's true value."""
    if target.values is not None:
        return tuple(f"{v:.6g}" for v in target.values[idx])
    names = target.class_names  # a property that builds the tuple: once, not once a record
    return tuple(names[i] for i in target.labels[idx])


def _model_summary(model: TargetModel | Regressor, path: str | Path, records: AuditData) -> ModelSummary:
    info = model.info
    classes = tuple(str(c) for c in model.classes) if isinstance(model, TargetModel) else ()
    return ModelSummary(
        path=str(path),
        sha256=info.sha256,
        format=info.format,
        n_classes=len(classes),
        n_features=len(records.feature_cols),
        output_kind=info.output_kind.value,
        queries=model.queries,
        classes=classes,
        family=model_family(model),
        task="classification" if isinstance(model, TargetModel) else "regression",
    )


def _data_summary(records: AuditData, is_member: np.ndarray) -> DataSummary:
    holdout_given = records.count("holdout") + (records.count("population") if "population" not in records.files else 0)
    return DataSummary(
        members=records.count("member"),
        holdout=holdout_given,
        population=records.count("population"),
        population_source=records.population_source,
        sha256=records.sha256,
        files=records.files,
        label_col=records.label_col,
        feature_cols=records.feature_cols,
        eval_members=int(is_member.sum()),
        eval_nonmembers=int((~is_member).sum()),
        balanced=records.balanced,
        member_copies={"holdout": records.member_copies.holdout, "population": records.member_copies.population},
    )
