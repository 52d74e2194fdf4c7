"""Which measured defence a model owner should look at first: the one that lowers the risk level most, at
the least cost. An inconclusive level never counts as lowered (it could be as high as before)."""

from __future__ import annotations

from collections.abc import Sequence

from mia_audit.result import RISK_LEVELS, DefenceResult


def lowers(defence: DefenceResult, undefended_level: str) -> bool:
    """Whether ``defence`` settles at a definite level below the undefended one."""
    if defence.risk_level not in RISK_LEVELS or undefended_level not in RISK_LEVELS:
        return False
    return RISK_LEVELS.index(defence.risk_level) < RISK_LEVELS.index(undefended_level)


def best_trade_off(defences: Sequence[DefenceResult], undefended_level: str) -> DefenceResult | None:
    """The defence with the lowest residual level, then the smallest accuracy loss, then the smallest rise in
    log-loss, then the weakest best attack; None when no defence lowers the level."""
    lowering = [d for d in defences if lowers(d, undefended_level)]
    if not lowering:
        return None

    def cost(d: DefenceResult) -> tuple[int, float, float, float]:
        best = d.best
        tpr = (best.tpr_at_fpr.get("0.01") or 0.0) if best is not None else 0.0
        return (RISK_LEVELS.index(d.risk_level), -d.utility.accuracy_change, d.utility.log_loss_change or 0.0, tpr)

    return min(lowering, key=cost)


def least_leaky(defences: Sequence[DefenceResult]) -> DefenceResult | None:
    """The defence whose best attack finds the fewest members at 1% FPR (then the lowest AUC)."""

    def found(d: DefenceResult) -> tuple[float, float]:
        best = d.best
        return ((best.tpr_at_fpr.get("0.01") or 0.0), best.auc) if best is not None else (0.0, 0.5)

    return min(defences, key=found, default=None)
