"""Settings of the reference-model attacks `lira.offline`, `lira.online` and `rmia` (--reference-*)."""

from __future__ import annotations

from dataclasses import dataclass

from mia_audit.errors import ConfigError, invalid_option
from mia_audit.training.config import FAMILIES
from mia_audit.training.mlp import MLPSpec

DEFAULT_REFERENCES = 16
# RMIA's candidate temperatures: 1 is the plain softmax; confident models need more softening.
RMIA_TEMPERATURES = (1.0, 2.0, 4.0)
OFFLINE_MODELS = ("shared", "population")


@dataclass(frozen=True)
class ReferenceConfig:
    """How the reference models of `lira.*` and `rmia` are built.

    ``epochs=None`` (the default) trains each MLP until it is as confident as the target on
    population records neither saw, for at most ``max_epochs`` (``None``: as many as a fixed compute
    budget allows, see ``matched_mlp``); a number trains every MLP that long.
    ``lr`` is Adam's step size for MLPs, larger than the usual 1e-3 so that models reach the
    target's degree of memorisation in fewer steps. ``gamma`` is RMIA's pairwise threshold (2, as
    in the authors' experiments); ``temperature`` softens the probabilities RMIA compares (the
    authors use 2); ``None`` picks one of :data:`RMIA_TEMPERATURES` on a stand-in reference model.
    ``offline_models`` is where ``lira.offline`` takes its models from: ``shared``, the OUT models
    of the pool of ``lira.online`` and ``rmia`` (as Carlini et al. evaluate it; no extra training),
    or ``population``, K models of its own trained on population records only, for an auditor who
    may not train on the audit records.
    """

    n_models: int = DEFAULT_REFERENCES
    family: str = "auto"
    epochs: int | None = None
    max_epochs: int | None = None
    lr: float = 1e-2
    gamma: float = 2.0
    temperature: float | None = None
    offline_models: str = "shared"

    def __post_init__(self) -> None:
        if not 2 <= self.n_models <= 1024:
            raise invalid_option("reference_models", "must lie between 2 and 1024", self.n_models)
        if self.family not in FAMILIES:
            raise invalid_option("reference_family", f"must be one of {', '.join(FAMILIES)}", self.family)
        if self.epochs is not None and self.epochs < 1:
            raise invalid_option("reference_epochs", "must be positive", self.epochs)
        if self.max_epochs is not None and self.max_epochs < 1:
            raise ConfigError(f"reference max_epochs must be positive, got {self.max_epochs}.")
        if not self.lr > 0:
            raise ConfigError(f"reference learning rate must be positive, got {self.lr}.")
        if not self.gamma > 0:
            raise ConfigError(f"RMIA gamma must be positive, got {self.gamma}.")
        if self.offline_models not in OFFLINE_MODELS:
            raise invalid_option("offline_models", f"must be one of {', '.join(OFFLINE_MODELS)}", self.offline_models)
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigError(f"RMIA temperature must be positive, got {self.temperature}.")

    def mlp(self) -> MLPSpec:
        return MLPSpec(lr=self.lr, epochs=self.epochs or self.max_epochs or 1)

    def temperatures(self) -> tuple[float, ...]:
        return RMIA_TEMPERATURES if self.temperature is None else (self.temperature,)
