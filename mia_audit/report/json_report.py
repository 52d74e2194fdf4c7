"""``report.json``: the stable machine-readable result (keys in DESIGN.md), and reading it back."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

from mia_audit.errors import InputFileError
from mia_audit.result import (
    SCHEMA_VERSION,
    AttackMetrics,
    AttackReport,
    AuditResult,
    DataSummary,
    GateResult,
    ModelSummary,
    PropertyValue,
    Risk,
    RocCurve,
    RunInfo,
    SignalDistribution,
    SkippedAttack,
    ToolInfo,
    Utility,
)

_METRIC_FIELDS = tuple(f.name for f in fields(AttackMetrics))


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity; they become null so strict parsers can read the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def attack_to_dict(report: AttackReport) -> dict[str, Any]:
    flat = {k: v for k, v in asdict(report).items() if k != "metrics"}
    flat.update(asdict(report.metrics))
    return flat


def to_dict(result: AuditResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": result.schema_version,
        "tool": asdict(result.tool),
        "run": asdict(result.run),
        "model": asdict(result.model),
        "data": asdict(result.data),
        "utility": asdict(result.utility),
        "attacks": [attack_to_dict(a) for a in result.attacks],
        "skipped_attacks": [asdict(s) for s in result.skipped],
        "properties": {k: asdict(v) for k, v in result.properties.items()},
        "risk": asdict(result.risk),
        "gate": asdict(result.gate),
        "signal_distribution": (asdict(result.signal_distribution) if result.signal_distribution else None),
        "notes": list(result.notes),
    }
    return _clean(out)


def dumps(result: AuditResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False, allow_nan=False)


def write_json(result: AuditResult, target: Path | IO[str]) -> None:
    text = dumps(result) + "\n"
    if isinstance(target, Path):
        target.write_text(text, encoding="utf-8")
    else:
        target.write(text)


def _pair(value: Any) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def _attack_from_dict(d: dict[str, Any]) -> AttackReport:
    m = {k: d[k] for k in _METRIC_FIELDS}
    m["auc_ci"] = _pair(m["auc_ci"])
    m["tpr_at_fpr_ci"] = {k: _pair(v) for k, v in m["tpr_at_fpr_ci"].items()}
    m["per_class_n"] = {k: (int(v[0]), int(v[1])) for k, v in m["per_class_n"].items()}
    m["roc"] = RocCurve(tuple(m["roc"]["fpr"]), tuple(m["roc"]["tpr"]))
    return AttackReport(
        id=d["id"],
        family=d["family"],
        title=d["title"],
        assumptions=tuple(d["assumptions"]),
        threshold=d["threshold"],
        threshold_rule=d["threshold_rule"],
        signal=d["signal"],
        queries=d["queries"],
        duration_s=d["duration_s"],
        metrics=AttackMetrics(**m),
        notes=tuple(d.get("notes", ())),
    )


def from_dict(d: dict[str, Any]) -> AuditResult:
    """Rebuild an ``AuditResult`` from ``report.json`` (per-record scores are not in it)."""
    if str(d.get("schema_version")) != SCHEMA_VERSION:
        raise InputFileError(
            f"report.json has schema_version {d.get('schema_version')!r}; this mia-audit reads "
            f"{SCHEMA_VERSION!r}. Re-run the audit with this version."
        )
    data = dict(d["data"])
    data["feature_cols"] = tuple(data["feature_cols"])
    model = dict(d["model"])
    model["classes"] = tuple(model["classes"])
    dist = d.get("signal_distribution")
    return AuditResult(
        tool=ToolInfo(**d["tool"]),
        run=RunInfo(**d["run"]),
        model=ModelSummary(**model),
        data=DataSummary(**data),
        utility=Utility(**d["utility"]),
        attacks=tuple(_attack_from_dict(a) for a in d["attacks"]),
        skipped=tuple(SkippedAttack(**s) for s in d.get("skipped_attacks", [])),
        properties={k: PropertyValue(**v) for k, v in d.get("properties", {}).items()},
        risk=Risk(d["risk"]["level"], d["risk"]["strongest_attack"], tuple(d["risk"]["reasons"])),
        gate=GateResult(d["gate"]["configured"], d["gate"]["passed"], tuple(d["gate"]["reasons"])),
        signal_distribution=(
            SignalDistribution(
                signal=dist["signal"],
                attack_id=dist["attack_id"],
                bin_edges=tuple(dist["bin_edges"]),
                members=tuple(dist["members"]),
                nonmembers=tuple(dist["nonmembers"]),
            )
            if dist
            else None
        ),
        records=None,
        notes=tuple(d.get("notes", ())),
        schema_version=str(d["schema_version"]),
    )


def read_json(path: Path) -> AuditResult:
    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InputFileError(f"report file not found: {path}.") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputFileError(
            f"{path} is not a mia-audit report.json ({type(exc).__name__}: {exc}); give the report.json an audit wrote."
        ) from None
