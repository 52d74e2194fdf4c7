"""Settings of the shadow-model attacks (the CLI's --shadow-* options)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mia_audit.errors import ConfigError
from mia_audit.training.mlp import MLPSpec

DATA_SOURCES = ("population", "noisy", "marginal", "model")
FAMILIES = ("auto", "mlp", "logreg", "rf", "gbm", "clone")
DEFAULT_SHADOWS = 16
MIN_MLP_STEPS = 2000


@dataclass(frozen=True)
class ShadowConfig:
    """How shadow models are built.

    ``n_models`` defaults to 16: enough attack-training rows per class for per-class attack
    models on tens of classes, while the batched MLP trains all of them in seconds on 2 cores.
    """

    family: str = "auto"
    epochs: int | None = None
    data: str = "population"
    n_models: int = DEFAULT_SHADOWS
    noise: float = 0.1
    synthesis_budget: int | None = None
    mlp: MLPSpec = field(default_factory=MLPSpec)
    device: str = "cpu"

    def mlp_for(self, n_train: int) -> MLPSpec:
        """The MLP settings for shadows trained on ``n_train`` records.

        Without --shadow-epochs, train for at least 100 epochs and 2,000 optimiser steps, so a
        shadow on a few hundred records fits them as an overfitted target fits its own.
        """
        from dataclasses import replace

        if self.epochs is not None:
            return replace(self.mlp, epochs=self.epochs)
        steps_per_epoch = max(1, math.ceil(n_train / self.mlp.batch_size))
        return replace(self.mlp, epochs=max(self.mlp.epochs, math.ceil(MIN_MLP_STEPS / steps_per_epoch)))

    def __post_init__(self) -> None:
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--shadow-epochs must be positive, got {self.epochs}.")
        if self.family not in FAMILIES:
            raise ConfigError(f"unknown --shadow-family '{self.family}'; choose from {', '.join(FAMILIES)}.")
        if self.data not in DATA_SOURCES:
            raise ConfigError(f"unknown --shadow-data '{self.data}'; choose from {', '.join(DATA_SOURCES)}.")
        if not 1 <= self.n_models <= 1024:
            raise ConfigError(f"--shadow-models must lie between 1 and 1024, got {self.n_models}.")
        if not 0.0 < self.noise < 1.0:
            raise ConfigError(f"--shadow-noise must lie strictly between 0 and 1, got {self.noise}.")
        if self.synthesis_budget is not None and self.synthesis_budget < 1:
            raise ConfigError(f"--synthesis-budget must be positive, got {self.synthesis_budget}.")
