"""Settings of the shadow-model attacks (the CLI's --shadow-* options)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mia_audit.errors import invalid_option
from mia_audit.training.mlp import MLPSpec

DATA_SOURCES = ("population", "noisy", "marginal", "model")
FAMILIES = ("auto", "mlp", "logreg", "rf", "gbm", "clone")
DEFAULT_SHADOWS = 16
MIN_MLP_STEPS = 2000
# And at most this many (the reference pool's step budget, matched_mlp.MAX_STEPS): on 25,000 records a
# shadow, 100 epochs are 19,600 steps, and 16 shadows took 3 of the 7.4 minutes of a 100,000-record audit.
MAX_MLP_STEPS = 4000


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
        shadow on a few hundred records fits them as an overfitted target fits its own, but for no more
        than 4,000 steps, so that the cost stops growing with the records (shadows on more than 5,120
        records each train fewer than 100 epochs).
        """
        from dataclasses import replace

        if self.epochs is not None:
            return replace(self.mlp, epochs=self.epochs)
        steps_per_epoch = max(1, math.ceil(n_train / self.mlp.batch_size))
        epochs = max(self.mlp.epochs, math.ceil(MIN_MLP_STEPS / steps_per_epoch))
        return replace(self.mlp, epochs=max(1, min(epochs, MAX_MLP_STEPS // steps_per_epoch)))

    def __post_init__(self) -> None:
        if self.epochs is not None and self.epochs < 1:
            raise invalid_option("shadow_epochs", "must be positive", self.epochs)
        if self.family not in FAMILIES:
            raise invalid_option("shadow_family", f"must be one of {', '.join(FAMILIES)}", self.family)
        if self.data not in DATA_SOURCES:
            raise invalid_option("shadow_data", f"must be one of {', '.join(DATA_SOURCES)}", self.data)
        if not 1 <= self.n_models <= 1024:
            raise invalid_option("shadow_models", "must lie between 1 and 1024", self.n_models)
        if not 0.0 < self.noise < 1.0:
            raise invalid_option("shadow_noise", "must lie strictly between 0 and 1", self.noise)
        if self.synthesis_budget is not None and self.synthesis_budget < 1:
            raise invalid_option("synthesis_budget", "must be positive", self.synthesis_budget)
