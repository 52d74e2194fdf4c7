"""Compare this audit with an earlier ``report.json`` (``--baseline``): did the leakage get worse?

The rule, chosen so that re-running the same audit never fails the gate by chance:

* The attack compared is this audit's strongest (the one that sets the risk level). It is set
  against the attack with the same id in the baseline when the baseline ran it, otherwise against
  the baseline's strongest attack.
* It counts as **worse** when, for its AUC or its TPR at 1% FPR, the whole current 95% interval
  lies above the whole baseline interval: the current lower bound exceeds the baseline's upper
  bound. AUC uses the DeLong intervals, TPR the Clopper–Pearson intervals, both from the reports.
  Two disjoint 95% intervals are a stricter test than a 5% significance test (about 0.5% for
  equal widths), so a change that noise can explain never fails the build; a real regression of
  a few AUC points on a few hundred records does.
* A metric that is not resolvable in either report (no interval) is not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mia_audit.errors import InputFileError
from mia_audit.result import AttackReport, AuditResult, BaselineComparison, MetricComparison

COMPARED_FPR = "0.01"


@dataclass(frozen=True)
class Baseline:
    """An earlier audit to compare with, and the path it was read from (shown in the report)."""

    path: str
    result: AuditResult


def load_baseline(path: Path) -> Baseline:
    """Read ``--baseline FILE``; anything but a mia-audit ``report.json`` is a user error (exit 2)."""
    from mia_audit.result.codec import read_json

    try:
        result = read_json(path)
    except InputFileError as exc:
        raise InputFileError(f"--baseline: {exc}") from None
    return Baseline(str(path), result)


def compare_with_baseline(
    baseline: Baseline,
    attacks: Sequence[AttackReport],
    strongest: str | None,
    *,
    model_sha256: str | None = None,
    data_sha256: dict[str, str] | None = None,
) -> BaselineComparison:
    """Set this audit's strongest attack against the baseline's (see the module docstring)."""
    old = baseline.result
    current = next((a for a in attacks if a.id == strongest), None)
    previous, matched_by = _baseline_attack(old, strongest)
    metrics: tuple[MetricComparison, ...] = ()
    if current is None or previous is None:
        matched_by = "nothing to compare"
    else:
        metrics = (
            _compare("auc", previous.metrics.auc, previous.metrics.auc_ci, current.metrics.auc, current.metrics.auc_ci),
            _compare(
                f"tpr_at_fpr.{COMPARED_FPR}",
                previous.metrics.tpr_at_fpr.get(COMPARED_FPR),
                previous.metrics.tpr_at_fpr_ci.get(COMPARED_FPR),
                current.metrics.tpr_at_fpr.get(COMPARED_FPR),
                current.metrics.tpr_at_fpr_ci.get(COMPARED_FPR),
            ),
        )
    return BaselineComparison(
        path=baseline.path,
        baseline_started_at=old.run.started_at,
        baseline_version=old.tool.version,
        current_attack=current.id if current else None,
        baseline_attack=previous.id if previous else None,
        matched_by=matched_by,
        metrics=metrics,
        worse=any(m.status == "worse" for m in metrics),
        notes=_notes(old, model_sha256, data_sha256),
    )


def _baseline_attack(old: AuditResult, attack_id: str | None) -> tuple[AttackReport | None, str]:
    same = next((a for a in old.attacks if a.id == attack_id), None)
    if same is not None:
        return same, "same attack"
    strongest = next((a for a in old.attacks if a.id == old.risk.strongest_attack), None)
    return strongest, "strongest vs strongest"


def _compare(
    metric: str,
    old: float | None,
    old_ci: tuple[float, float] | None,
    new: float | None,
    new_ci: tuple[float, float] | None,
) -> MetricComparison:
    if old is None or new is None or old_ci is None or new_ci is None:
        status = "not comparable"
    elif new_ci[0] > old_ci[1]:
        status = "worse"
    elif new_ci[1] < old_ci[0]:
        status = "better"
    else:
        status = "within intervals"
    return MetricComparison(metric, old, old_ci, new, new_ci, status)


def _notes(old: AuditResult, model_sha256: str | None, data_sha256: dict[str, str] | None) -> tuple[str, ...]:
    notes = []
    if model_sha256 is not None and model_sha256 == old.model.sha256:
        notes.append("the baseline audited the same model file (same sha256)")
    if data_sha256 is not None and sorted(data_sha256.values()) != sorted(old.data.sha256.values()):
        notes.append(
            "the baseline audited different records (data sha256 differs), so part of a change may come from the data"
        )
    return tuple(notes)
