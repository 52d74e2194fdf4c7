"""Targets that stand in for the audited model: its classes and description, other outputs.

``ReleasedModel`` is the model behind an output defence (every query's probabilities pass through a
transformation); a training-side defence's proxy (``defences.proxies.ProxyTarget``) answers with the
proxy's outputs. Both take everything else from the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mia_audit.models.base import ModelInfo, OutputKind, TargetModel

if TYPE_CHECKING:
    from mia_audit.models.architecture import InferredArchitecture


@dataclass
class StandIn:
    """The model's classes, output kind, description and architecture; subclasses give the outputs."""

    model: TargetModel

    @property
    def classes(self) -> tuple[object, ...]:
        return self.model.classes

    @property
    def n_classes(self) -> int:
        return self.model.n_classes

    @property
    def output_kind(self) -> OutputKind:
        return self.model.output_kind

    @property
    def queries(self) -> int:
        return self.model.queries

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    @property
    def estimator(self) -> Any:
        return self.model.estimator

    @property
    def architecture(self) -> InferredArchitecture | None:
        return self.model.architecture

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


@dataclass
class ReleasedModel(StandIn):
    """``model`` as an API that releases ``transform(probabilities)``; it counts queries with the model."""

    transform: Callable[[np.ndarray], np.ndarray]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.transform(np.asarray(self.model.predict_proba(X)))


def _conforms(model: ReleasedModel) -> TargetModel:
    return model  # mypy checks that the stand-ins satisfy the TargetModel protocol
