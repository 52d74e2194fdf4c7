"""Hand-built result objects for tests of pure functions (risk, gate, JSON)."""

from __future__ import annotations

from mia_audit.result import AttackMetrics, AttackReport, RocCurve


def attack_report(
    attack_id: str = "threshold.loss",
    auc: float = 0.5,
    auc_ci: tuple[float, float] = (0.45, 0.55),
    tpr: float | None = 0.01,
    tpr_ci: tuple[float, float] | None = (0.0, 0.03),
    epsilon: float | None = 0.0,
    n: int = 500,
) -> AttackReport:
    metrics = AttackMetrics(
        n_members=n,
        n_nonmembers=n,
        auc=auc,
        auc_ci=auc_ci,
        tpr_at_fpr={"0.01": tpr, "0.001": None, "0.0001": None},
        tpr_at_fpr_ci={"0.01": tpr_ci, "0.001": None, "0.0001": None},
        advantage=max(0.0, 2 * auc - 1),
        precision=0.5,
        recall=0.5,
        accuracy=0.5,
        fpr_at_threshold=0.1,
        epsilon_lower_bound=epsilon,
        per_class_auc={"0": auc},
        per_class_n={"0": (n, n)},
        roc=RocCurve((0.0, 1.0), (0.0, 1.0)),
    )
    return AttackReport(
        id=attack_id,
        family=attack_id.split(".")[0],
        title=attack_id,
        assumptions=("test",),
        threshold=0.0,
        threshold_rule="test",
        signal="test",
        queries=0,
        duration_s=0.0,
        metrics=metrics,
    )
