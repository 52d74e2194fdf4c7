"""The result as JSON (the stable keys of report.json listed in the README), and reading it back."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from mia_audit.errors import InputFileError
from mia_audit.result import (
    SCHEMA_VERSION,
    AttackMetrics,
    AttackReport,
    AuditResult,
    BaselineComparison,
    DataSummary,
    DefenceAttack,
    DefenceResult,
    DefenceUtility,
    DisparateVulnerability,
    EpsilonEstimate,
    EpsilonHalf,
    ExposedRecord,
    ExposureBreakdown,
    GateResult,
    GateRule,
    MetricComparison,
    Mitigation,
    ModelSummary,
    PropertyValue,
    Risk,
    RiskRule,
    RocCurve,
    RunInfo,
    SignalDistribution,
    SkippedAttack,
    SubsetExposure,
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
        "baseline": asdict(result.baseline) if result.baseline else None,
        "signal_distribution": (asdict(result.signal_distribution) if result.signal_distribution else None),
        "vulnerability": _vulnerability_to_dict(result.vulnerability),
        "notes": list(result.notes),
        "warnings": list(result.warnings),
        "epsilon_lower_bound": asdict(result.epsilon) if result.epsilon else None,
        "exposed_records": [asdict(r) for r in result.exposed],
        "mitigations": [asdict(m) for m in result.mitigations],
        "defences": [_defence_to_dict(d) for d in result.defences],
    }
    return _clean(out)


def _defence_to_dict(defence: DefenceResult) -> dict[str, Any]:
    """DESIGN.md's keys, plus the strongest attack and its numbers for readers that want one row."""
    out = asdict(defence)
    best = defence.best
    out["best_auc"] = None if best is None else best.auc
    out["best_tpr_at_fpr"] = None if best is None else best.tpr_at_fpr
    return out


def _defence_from_dict(d: dict[str, Any]) -> DefenceResult:
    attacks = tuple(
        DefenceAttack(
            id=a["id"],
            auc=_number(a["auc"], f"defence {d.get('id')!r} attack auc"),
            auc_ci=(float(a["auc_ci"][0]), float(a["auc_ci"][1])),
            tpr_at_fpr={k: _number(v, f"defence {d.get('id')!r} tpr_at_fpr") for k, v in a["tpr_at_fpr"].items()},
            n_members=int(a["n_members"]),
            n_nonmembers=int(a["n_nonmembers"]),
            rerun=bool(a.get("rerun", True)),
            duration_s=float(a.get("duration_s", 0.0)),
        )
        for a in d["attacks"]
    )
    return DefenceResult(
        id=d["id"],
        kind=d["kind"],
        setting=d["setting"],
        utility=DefenceUtility(**d["utility"]),
        attacks=attacks,
        risk_level=d["risk_level"],
        strongest_attack=d.get("strongest_attack"),
        notes=tuple(d.get("notes", ())),
        duration_s=float(d.get("duration_s", 0.0)),
    )


def _vulnerability_to_dict(v: DisparateVulnerability | None) -> dict[str, Any] | None:
    """The dataclass fields, plus ``flagged``: "column=name" of every flagged class and group."""
    if v is None:
        return None
    out = asdict(v)
    out["flagged"] = [
        f"{b.column}={r.name}" for b in (v.by_class, v.by_group) if b is not None for r in b.rows if r.flagged
    ]
    return out


def _breakdown_from_dict(d: dict[str, Any] | None) -> ExposureBreakdown | None:
    if d is None:
        return None
    rows = tuple(
        SubsetExposure(
            **{
                **r,
                "auc_ci": _pair(r["auc_ci"]),
                "tpr_ci": _pair(r["tpr_ci"]),
                "reasons": tuple(r["reasons"]),
            }
        )
        for r in d["rows"]
    )
    gap = d.get("widest_gap")
    return ExposureBreakdown(
        kind=d["kind"],
        column=d["column"],
        rows=rows,
        n_tests=d["n_tests"],
        widest_gap=None if gap is None else (str(gap[0]), str(gap[1]), float(gap[2])),
        notes=tuple(d.get("notes", ())),
    )


def _vulnerability_from_dict(d: dict[str, Any] | None) -> DisparateVulnerability | None:
    if d is None:
        return None
    by_class = _breakdown_from_dict(d["by_class"])
    assert by_class is not None
    return DisparateVulnerability(
        attack_id=d["attack_id"],
        level=d["level"],
        n_members=d["n_members"],
        n_nonmembers=d["n_nonmembers"],
        auc=d["auc"],
        auc_ci=(float(d["auc_ci"][0]), float(d["auc_ci"][1])),
        tpr_at_1pct_fpr=d["tpr_at_1pct_fpr"],
        tpr_ci=_pair(d["tpr_ci"]),
        by_class=by_class,
        by_group=_breakdown_from_dict(d.get("by_group")),
        group_note=d.get("group_note", ""),
        min_flag_records=d.get("min_flag_records", 30),
    )


def dumps(result: AuditResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False, allow_nan=False)


def _pair(value: Any) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


_NUMBERS = ("auc", "advantage", "precision", "recall", "accuracy", "fpr_at_threshold", "epsilon_lower_bound")


def _number(value: Any, where: str) -> Any:
    """A number (or None) read back from JSON; anything else is a foreign or edited file."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{where} is {value!r}, not a number")
    return value


def _attack_from_dict(d: dict[str, Any]) -> AttackReport:
    m = {k: d[k] for k in _METRIC_FIELDS}
    for key in _NUMBERS:
        _number(m[key], f"attack {d.get('id')!r} {key}")
    for key in ("tpr_at_fpr", "per_class_auc"):
        m[key] = {level: _number(v, f"attack {d.get('id')!r} {key}.{level}") for level, v in m[key].items()}
    _number(d["threshold"], f"attack {d.get('id')!r} threshold")
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
        knowledge=tuple(d.get("knowledge", ())),
    )


def _epsilon_from_dict(d: dict[str, Any] | None) -> EpsilonEstimate | None:
    if d is None:
        return None
    return EpsilonEstimate(
        epsilon=d["epsilon"],
        level=d["level"],
        halves=tuple(EpsilonHalf(**h) for h in d["halves"]),
        candidates=tuple(d["candidates"]),
    )


def _gate_from_dict(d: dict[str, Any]) -> GateResult:
    rules = tuple(
        GateRule(
            name=r["name"],
            limit=r["limit"],
            passed=r["passed"],
            observed=r["observed"],
            attack=r["attack"],
            reasons=tuple(r["reasons"]),
        )
        for r in d.get("rules", [])
    )
    return GateResult(d["configured"], d["passed"], tuple(d["reasons"]), rules, bool(d.get("inconclusive", False)))


def _baseline_from_dict(d: dict[str, Any] | None) -> BaselineComparison | None:
    if d is None:
        return None
    metrics = tuple(
        MetricComparison(
            metric=m["metric"],
            baseline=m["baseline"],
            baseline_ci=_pair(m["baseline_ci"]),
            current=m["current"],
            current_ci=_pair(m["current_ci"]),
            status=m["status"],
        )
        for m in d["metrics"]
    )
    return BaselineComparison(**{**d, "metrics": metrics, "notes": tuple(d.get("notes", ()))})


def _risk_from_dict(d: dict[str, Any]) -> Risk:
    rules = tuple(RiskRule(**rule) for rule in d.get("rules", ()))
    at_least = d.get("at_least", d["level"])
    return Risk(d["level"], d["strongest_attack"], tuple(d["reasons"]), rules, at_least, d.get("settle"))


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
        risk=_risk_from_dict(d["risk"]),
        gate=_gate_from_dict(d["gate"]),
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
        vulnerability=_vulnerability_from_dict(d.get("vulnerability")),
        notes=tuple(d.get("notes", ())),
        warnings=tuple(d.get("warnings", ())),
        epsilon=_epsilon_from_dict(d.get("epsilon_lower_bound")),
        exposed=tuple(ExposedRecord(**r) for r in d.get("exposed_records", [])),
        mitigations=tuple(Mitigation(**m) for m in d.get("mitigations", [])),
        baseline=_baseline_from_dict(d.get("baseline")),
        schema_version=str(d["schema_version"]),
        defences=tuple(_defence_from_dict(x) for x in d.get("defences", [])),
    )


def read_json(path: Path) -> AuditResult:
    """Read a ``report.json`` back; a missing, unreadable or foreign file is an ``InputFileError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"report file not found: {path}.") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(f"{path} is not a mia-audit report.json (not JSON: {exc}).") from None
    tool = data.get("tool") if isinstance(data, dict) else None
    ours = isinstance(tool, dict) and tool.get("name") == "mia-audit"
    # Another schema version gets from_dict's message (re-run); anything else without our name is foreign.
    version = data.get("schema_version") if isinstance(data, dict) else None
    other_version = version is not None and str(version) != SCHEMA_VERSION
    if not ours and not other_version:
        raise InputFileError(
            f"{path} is not a mia-audit report.json (no tool.name 'mia-audit'); give the report.json an audit wrote."
        )
    try:
        return from_dict(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputFileError(
            f"{path} is not a mia-audit report.json ({type(exc).__name__}: {exc}); give the report.json an audit wrote."
        ) from None
