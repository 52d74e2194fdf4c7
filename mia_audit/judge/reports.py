"""An attack's raw result measured against the evaluation membership: the report every renderer reads."""

from __future__ import annotations

import numpy as np

from mia_audit.attacks.interface import AttackResult
from mia_audit.judge.metrics import compute_attack_metrics
from mia_audit.result import AttackReport


def scored_positions(result: AttackResult) -> np.ndarray:
    """Positions of the evaluation records an attack scored: all, or its subsample."""
    return np.arange(len(result.scores)) if result.evaluated is None else result.evaluated


def report_attack(
    result: AttackResult, is_member: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]
) -> AttackReport:
    at = scored_positions(result)
    metrics = compute_attack_metrics(result.scores[at], is_member[at], labels[at], result.threshold, class_names)
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
        knowledge=result.knowledge,
    )
