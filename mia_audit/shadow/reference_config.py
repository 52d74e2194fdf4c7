"""Settings of the reference-model attacks `lira.offline`, `lira.online` and `rmia` (--reference-*)."""

from __future__ import annotations

from dataclasses import dataclass

from mia_audit.errors import ConfigError
from mia_audit.shadow.batched_mlp import MLPSpec
from mia_audit.shadow.config import FAMILIES

DEFAULT_REFERENCES = 16


@dataclass(frozen=True)
class ReferenceConfig:
    """How the reference models of `lira.*` and `rmia` are built.

    ``epochs=None`` (the default) trains each MLP until its loss on population records it never
    saw reaches the target's (at most ``max_epochs``); a number trains every MLP that long.
    ``lr`` is Adam's step size for MLPs, larger than the usual 1e-3 so that models reach the
    target's degree of memorisation in fewer steps. ``gamma`` is RMIA's pairwise threshold.
    """

    n_models: int = DEFAULT_REFERENCES
    family: str = "auto"
    epochs: int | None = None
    max_epochs: int = 200
    lr: float = 5e-3
    gamma: float = 1.0

    def __post_init__(self) -> None:
        if not 2 <= self.n_models <= 1024:
            raise ConfigError(f"--reference-models must lie between 2 and 1024, got {self.n_models}.")
        if self.family not in FAMILIES:
            raise ConfigError(f"unknown reference family '{self.family}'; choose from {', '.join(FAMILIES)}.")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--reference-epochs must be positive, got {self.epochs}.")
        if self.max_epochs < 1:
            raise ConfigError(f"reference max_epochs must be positive, got {self.max_epochs}.")
        if not self.lr > 0:
            raise ConfigError(f"reference learning rate must be positive, got {self.lr}.")
        if not self.gamma > 0:
            raise ConfigError(f"RMIA gamma must be positive, got {self.gamma}.")

    def mlp(self) -> MLPSpec:
        return MLPSpec(lr=self.lr, epochs=self.epochs or self.max_epochs)
