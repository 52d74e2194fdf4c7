"""``--mlflow-log``: the audit written back to the MLflow run its model was logged in.

Metrics (``mia_audit.*``): the risk level as a number (low 0, medium 1, high 2, critical 3; an inconclusive
verdict logs the level it shows at least, and ``mia_audit.inconclusive`` 1), the gate (1 passed, 0
failed, when configured), the best AUC and TPR at 1% FPR over the attacks that set the risk, and each
attack's AUC and TPR at 1% FPR. Tags: the level in words, the strongest attack, the tool version, the
model's sha256. Artifacts: every file of the report folder, under ``mia-audit/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mia_audit.errors import InputFileError, first_line
from mia_audit.models.mlflow_source import shown
from mia_audit.result import AuditResult

LEVEL_CODES = {"low": 0, "medium": 1, "high": 2, "critical": 3}
ARTIFACT_PATH = "mia-audit"


def check_run(tracking_uri: str, run_id: str) -> None:
    """Fail before the audit when the run to log to is not there."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        said = first_line(exc)
        raise InputFileError(f"--mlflow-log: run {run_id} not found at {shown(tracking_uri)} ({said}).") from None
    if run.info.lifecycle_stage == "deleted":
        raise InputFileError(f"--mlflow-log: run {run_id} at {shown(tracking_uri)} is deleted; restore it first.")


def metrics_of(result: AuditResult) -> dict[str, float]:
    """The numbers logged, by key."""
    from mia_audit.judge.risk import counted_attacks

    risk = result.risk
    level = risk.level if risk.level in LEVEL_CODES else risk.at_least
    metrics: dict[str, float] = {
        "mia_audit.risk_level": float(LEVEL_CODES.get(level, 3)),
        "mia_audit.inconclusive": float(risk.level == "inconclusive"),
    }
    if result.gate.configured:
        metrics["mia_audit.gate_passed"] = float(result.gate.passed)
    risk_from = result.run.config.get("risk_from") if result.run.config else None
    counted = counted_attacks(result.attacks, frozenset(risk_from if isinstance(risk_from, list) else ()))
    for attack in result.attacks:
        metrics[f"mia_audit.auc.{attack.id}"] = float(attack.metrics.auc)
        tpr = attack.metrics.tpr_at_fpr.get("0.01")
        if tpr is not None:
            metrics[f"mia_audit.tpr_at_1pct_fpr.{attack.id}"] = float(tpr)
    if counted:
        metrics["mia_audit.best_auc"] = max(float(a.metrics.auc) for a in counted)
        tprs = [a.metrics.tpr_at_fpr.get("0.01") for a in counted]
        if any(t is not None for t in tprs):
            metrics["mia_audit.best_tpr_at_1pct_fpr"] = max(float(t) for t in tprs if t is not None)
    return metrics


def log_audit(result: AuditResult, files: list[Path], tracking_uri: str, run_id: str) -> None:
    """Metrics, tags and this run's report files (nothing else of their folder), into run ``run_id``."""
    import time

    from mlflow.entities import Metric, RunTag
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in metrics_of(result).items()]
    tags = {
        "mia_audit.risk_level": result.risk.level,
        "mia_audit.strongest_attack": result.risk.strongest_attack or "",
        "mia_audit.version": result.tool.version,
        "mia_audit.model_sha256": result.model.sha256,
    }
    try:
        client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
        for path in files:
            client.log_artifact(run_id, str(path), artifact_path=ARTIFACT_PATH)
    except (MlflowException, OSError) as exc:
        raise InputFileError(
            f"the reports are written, but logging them to MLflow run {run_id} failed ({first_line(exc)})."
        ) from None


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)
