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


def reference_level(defence: DefenceResult, defences: Sequence[DefenceResult], model_level: str) -> str:
    """What a defence is compared with: the model's level for an output defence, the undefended proxy's for a
    training-side one (a proxy is not the model)."""
    if defence.kind != "training":
        return model_level
    baseline = next((d for d in defences if d.id == "training.baseline"), None)
    return baseline.risk_level if baseline is not None else "inconclusive"


def best_trade_off(defences: Sequence[DefenceResult], undefended_level: str) -> DefenceResult | None:
    """The defence with the lowest residual level, then the smallest accuracy loss, then the smallest rise in
    log-loss, then the weakest best attack; None when no defence lowers the level (an output defence
    against the model's, a training-side one against the undefended proxy's)."""
    lowering = [
        d for d in defences if d.id != "training.baseline" and lowers(d, reference_level(d, defences, undefended_level))
    ]
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

    return min((d for d in defences if d.id != "training.baseline"), key=found, default=None)
