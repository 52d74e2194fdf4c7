"""The CI gate: from a result and configured limits to pass or fail, with the rule that failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mia_audit.errors import ConfigError
from mia_audit.result import FPR_LEVELS, RISK_LEVELS, AttackReport, GateResult, Risk


@dataclass(frozen=True)
class GateConfig:
    fail_on: str | None = None
    max_auc: float | None = None
    max_tpr_at_fpr: dict[str, float] = field(default_factory=dict)
    max_epsilon: float | None = None

    def __post_init__(self) -> None:
        if self.fail_on is not None and self.fail_on not in RISK_LEVELS:
            raise ConfigError(f"--fail-on must be one of {', '.join(RISK_LEVELS)}, got '{self.fail_on}'.")
        if self.max_auc is not None and not 0.0 <= self.max_auc <= 1.0:
            raise ConfigError(f"--max-auc must lie between 0 and 1, got {self.max_auc}.")
        for fpr, limit in self.max_tpr_at_fpr.items():
            if fpr not in FPR_LEVELS:
                raise ConfigError(f"max_tpr_at_fpr key '{fpr}' is not one of {', '.join(FPR_LEVELS)}.")
            if not 0.0 <= limit <= 1.0:
                raise ConfigError(f"max_tpr_at_fpr['{fpr}'] must lie between 0 and 1, got {limit}.")

    @property
    def configured(self) -> bool:
        return (
            self.fail_on is not None
            or self.max_auc is not None
            or bool(self.max_tpr_at_fpr)
            or self.max_epsilon is not None
        )


def evaluate_gate(config: GateConfig, risk: Risk, attacks: Sequence[AttackReport]) -> GateResult:
    """Check every configured rule against the attacks counted for risk; all must hold to pass."""
    if not config.configured:
        return GateResult(False, True, ("no gate configured",))
    failures: list[str] = []
    passes: list[str] = []
    if config.fail_on is not None:
        bad = RISK_LEVELS.index(risk.level) >= RISK_LEVELS.index(config.fail_on)
        line = f"risk level {risk.level} {'reaches' if bad else 'is below'} --fail-on {config.fail_on}"
        (failures if bad else passes).append(line)
    if config.max_auc is not None:
        over = [a for a in attacks if a.metrics.auc > config.max_auc]
        if over:
            failures.extend(f"{a.id}: AUC {a.metrics.auc:.3f} > max {config.max_auc:.3f}" for a in over)
        else:
            passes.append(f"every attack's AUC ≤ {config.max_auc:.3f}")
    for fpr, limit in sorted(config.max_tpr_at_fpr.items()):
        over = [a for a in attacks if (t := a.metrics.tpr_at_fpr.get(fpr)) is not None and t > limit]
        if over:
            failures.extend(f"{a.id}: TPR {a.metrics.tpr_at_fpr[fpr]:.3f} at FPR {fpr} > max {limit:.3f}" for a in over)
        else:
            passes.append(f"every attack's TPR at FPR {fpr} ≤ {limit:.3f}")
    if config.max_epsilon is not None:
        over = [a for a in attacks if (e := a.metrics.epsilon_lower_bound) is not None and e > config.max_epsilon]
        if over:
            failures.extend(
                f"{a.id}: ε lower bound {a.metrics.epsilon_lower_bound:.2f} > max {config.max_epsilon:.2f}"
                for a in over
            )
        else:
            passes.append(f"every attack's ε lower bound ≤ {config.max_epsilon:.2f}")
    return GateResult(True, not failures, tuple(failures) if failures else tuple(passes))
