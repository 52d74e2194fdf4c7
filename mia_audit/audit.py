"""The audit pipeline: load, query the target once, attack, measure, judge. Reads like DESIGN.md."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mia_audit import __version__, signals
from mia_audit.attacks.base import AttackContext, AttackResult
from mia_audit.attacks.registry import plan_attacks
from mia_audit.baseline import Baseline, compare_with_baseline
from mia_audit.data import AuditData, DataSpec, load_audit_data
from mia_audit.distribution import signal_distribution
from mia_audit.epsilon import split_half_epsilon
from mia_audit.errors import ConfigError, ModelDataMismatchError
from mia_audit.exposure import most_exposed
from mia_audit.gate import GateConfig, evaluate_gate
from mia_audit.labels import label_key, map_labels
from mia_audit.metrics import compute_attack_metrics
from mia_audit.mitigations import recommend
from mia_audit.models.base import TargetModel
from mia_audit.models.family import model_family
from mia_audit.models.loader import load_model
from mia_audit.properties import PropertyInputs, compute_properties
from mia_audit.result import (
    AttackReport,
    AuditResult,
    DataSummary,
    DisparateVulnerability,
    ModelSummary,
    RecordScores,
    RunInfo,
    ToolInfo,
    Utility,
)
from mia_audit.risk import AUDITOR_ONLY_ATTACKS, assess_risk, counted_attacks
from mia_audit.shadow.config import ShadowConfig
from mia_audit.shadow.reference_config import ReferenceConfig
from mia_audit.vulnerability import disparate_vulnerability

Step = Callable[[str], AbstractContextManager[None]]


@contextlib.contextmanager
def _quiet_step(_: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class AuditConfig:
    """Everything that shapes an audit besides the model and the data files."""

    attacks: tuple[str, ...] | None = None
    seed: int = 0
    threshold_fpr: float = 0.1
    trust_model: bool = False
    batch_size: int = 4096
    gate: GateConfig = field(default_factory=GateConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    risk_include: frozenset[str] = frozenset()
    boundary_queries: int = 100
    transfer_data: Path | None = None
    transfer_label_col: str | None = None
    # Show the feature values of the most exposed records in the report (off: indices only).
    include_records: bool = False
    # An earlier report the gate compares with (--baseline), and where the gate settings came from.
    baseline: Baseline | None = None
    config_source: dict[str, object] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold_fpr < 0.5:
            raise ConfigError(f"--threshold-fpr must lie in (0, 0.5), got {self.threshold_fpr}.")
        unknown = sorted(self.risk_include - AUDITOR_ONLY_ATTACKS)
        if unknown:
            allowed = ", ".join(sorted(AUDITOR_ONLY_ATTACKS))
            raise ConfigError(f"--risk-from takes auditor-only attacks ({allowed}), got {', '.join(unknown)}.")
        if not 1 <= self.boundary_queries <= 100_000:
            raise ConfigError(f"--boundary-queries must lie between 1 and 100000, got {self.boundary_queries}.")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be positive, got {self.batch_size}.")


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
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    with step("Loading model and data"):
        records = load_audit_data(data, config.seed)
        model = load_model(
            model_path,
            trust_model=config.trust_model,
            batch_size=config.batch_size,
            classes=_label_hint(records.raw_labels),
        )
        unknown = _unlearned_non_member_labels(records, model.classes)
        if unknown:
            records = load_audit_data(data, config.seed, unknown)
        mapping = map_labels(records.raw_labels, model.classes)
    with step(f"Querying the target on {len(records.features)} records (one batched pass)"):
        probs = query_target(model, records)
    labels = mapping.indices
    with step("Data and model properties"):
        properties = compute_properties(_property_inputs(records, probs, labels, model, config.seed))
    runnable, skipped = plan_attacks(config.attacks, model.output_kind, len(records.population_idx))
    ctx = AttackContext(
        probs=probs,
        labels=labels,
        eval_idx=records.eval_idx,
        population_idx=records.population_idx,
        features=records.features,
        target=model,
        output_kind=model.output_kind,
        n_classes=model.n_classes,
        seed=config.seed,
        threshold_fpr=config.threshold_fpr,
        train_size=records.count("member"),
        model_path=Path(model_path),
        shadow=config.shadow,
        reference=config.reference,
        boundary_queries=config.boundary_queries,
        transfer_data=config.transfer_data,
        transfer_label_col=config.transfer_label_col,
    )
    is_member = records.is_member[records.eval_idx]
    class_names = tuple(str(c) for c in model.classes)
    results: list[AttackResult] = []
    reports: list[AttackReport] = []
    for number, spec in enumerate(runnable, 1):
        with step(f"Attack {number}/{len(runnable)} {spec.id}"):
            result = spec.run_with_truth(ctx, is_member) if spec.run_with_truth else spec.run(ctx)
        results.append(result)
        reports.append(_report(result, is_member, ctx.eval_labels, class_names))
    risk = assess_risk(reports, config.risk_include)
    comparison = (
        compare_with_baseline(
            config.baseline,
            counted_attacks(reports, config.risk_include),
            risk.strongest_attack,
            model_sha256=model.info.sha256,
            data_sha256=records.sha256,
        )
        if config.baseline
        else None
    )
    counted = {a.id for a in counted_attacks(reports, config.risk_include)}
    epsilon = split_half_epsilon({r.id: r.scores for r in results if r.id in counted}, is_member, config.seed)
    gate = evaluate_gate(config.gate, risk, counted_attacks(reports, config.risk_include), comparison, epsilon)
    strongest = next((r for r in results if r.id == risk.strongest_attack), None)
    record_scores = _record_scores(records, is_member, results, class_names, labels)
    shown = records.features.iloc[records.eval_idx] if config.include_records else None
    exposed = most_exposed(record_scores, strongest.id, shown) if strongest else ()
    summary = _model_summary(model, model_path, records)
    utility = compute_utility(probs, labels, records)
    notes = tuple(n for n in (*records.notes, mapping.note) if n)
    return AuditResult(
        tool=ToolInfo("mia-audit", __version__),
        run=RunInfo(
            started_at=started_at,
            duration_s=round(time.perf_counter() - t0, 3),
            seed=config.seed,
            command=command,
            config=_config_dict(config, data),
        ),
        model=summary,
        data=_data_summary(records, is_member),
        utility=utility,
        attacks=tuple(reports),
        skipped=skipped,
        properties=properties,
        risk=risk,
        gate=gate,
        signal_distribution=signal_distribution(strongest, is_member) if strongest else None,
        records=record_scores,
        vulnerability=_vulnerability(strongest, is_member, ctx.eval_labels, class_names, records),
        notes=notes,
        epsilon=epsilon,
        exposed=exposed,
        baseline=comparison,
        mitigations=recommend(
            risk.level, utility, model.output_kind.value, summary.family, epsilon, counted_attacks(reports)
        ),
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


def _property_inputs(
    records: AuditData, probs: np.ndarray, labels: np.ndarray, model: TargetModel, seed: int
) -> PropertyInputs:
    return PropertyInputs(
        features=records.features,
        labels=labels,
        probs=probs,
        member=records.is_member,
        heldout=records.is_heldout,
        class_names=tuple(str(c) for c in model.classes),
        utility=compute_utility(probs, labels, records),
        n_holdout=int(records.is_heldout.sum()),
        n_population=records.count("population"),
        population_source=records.population_source,
        sensitive=records.sensitive,
        sensitive_col=records.sensitive_col,
        seed=seed,
    )


def _vulnerability(
    strongest: AttackResult | None,
    is_member: np.ndarray,
    eval_labels: np.ndarray,
    class_names: tuple[str, ...],
    records: AuditData,
) -> DisparateVulnerability | None:
    """Per-class and per-group exposure of the strongest attack, on the evaluation records."""
    if strongest is None:
        return None
    sensitive = records.sensitive
    groups = None if sensitive is None else sensitive[records.eval_idx]
    known = () if sensitive is None else tuple(sorted(set(sensitive[records.is_member | records.is_heldout].tolist())))
    return disparate_vulnerability(
        strongest.id,
        strongest.scores,
        is_member,
        eval_labels,
        class_names,
        records.label_col,
        groups,
        records.sensitive_col,
        known,
    )


def _report(
    result: AttackResult, is_member: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]
) -> AttackReport:
    metrics = compute_attack_metrics(result.scores, is_member, labels, result.threshold, class_names)
    return AttackReport(
        id=result.id,
        family=result.family,
        title=result.title,
        assumptions=result.assumptions,
        threshold=result.threshold,
        threshold_rule=result.threshold_rule,
        signal=result.signal,
        queries=result.queries,
        duration_s=round(result.duration_s, 4),
        metrics=metrics,
        notes=result.notes,
    )


def _record_scores(
    records: AuditData,
    is_member: np.ndarray,
    results: list[AttackResult],
    class_names: tuple[str, ...],
    labels: np.ndarray,
) -> RecordScores:
    idx = records.eval_idx
    return RecordScores(
        source=tuple(str(s) for s in records.source[idx]),
        row_index=tuple(int(i) for i in records.row_index[idx]),
        member=tuple(int(m) for m in is_member),
        label=tuple(class_names[i] for i in labels[idx]),
        scores={r.id: tuple(float(s) for s in r.scores) for r in results},
    )


def _model_summary(model: TargetModel, path: str | Path, records: AuditData) -> ModelSummary:
    info = model.info
    return ModelSummary(
        path=str(path),
        sha256=info.sha256,
        format=info.format,
        n_classes=model.n_classes,
        n_features=len(records.feature_cols),
        output_kind=model.output_kind.value,
        queries=model.queries,
        classes=tuple(str(c) for c in model.classes),
        family=model_family(model, path),
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
    )


def _as_json(value: Any) -> Any:
    """Tuples as lists, as report.json stores them, so a report re-rendered from it reads the same."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def _config_dict(config: AuditConfig, data: DataSpec) -> dict[str, object]:
    gate = asdict(config.gate)
    shadow = _as_json(asdict(config.shadow))
    return {
        "shadow": shadow,
        "reference": asdict(config.reference),
        "attacks": list(config.attacks) if config.attacks else "all",
        "seed": config.seed,
        "threshold_fpr": config.threshold_fpr,
        "trust_model": config.trust_model,
        "batch_size": config.batch_size,
        "gate": gate,
        "risk_include": sorted(config.risk_include),
        "boundary_queries": config.boundary_queries,
        "include_records": config.include_records,
        "baseline": config.baseline.path if config.baseline else None,
        "config_source": config.config_source,
        "transfer_data": str(config.transfer_data) if config.transfer_data else None,
        "population_share": data.population_share,
        "balance": data.balance,
        "member_col": data.member_col,
        "label_col": data.label_col,
        "drop_cols": list(data.drop_cols),
        "sensitive_col": data.sensitive_col,
        "feature_cols": list(data.feature_cols) if data.feature_cols else None,
    }
