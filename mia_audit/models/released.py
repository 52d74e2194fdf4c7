"""A target behind an output defence: every query's probabilities pass through a transformation first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mia_audit.models.base import ModelInfo, OutputKind, TargetModel

if TYPE_CHECKING:
    from mia_audit.models.architecture import InferredArchitecture


@dataclass(frozen=True)
class ReleasedModel:
    """``model`` as an API that releases ``transform(probabilities)``; it counts queries with the model."""

    model: TargetModel
    transform: Callable[[np.ndarray], np.ndarray]

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
        return self.transform(np.asarray(self.model.predict_proba(X)))


def _conforms(model: ReleasedModel) -> TargetModel:
    return model  # mypy checks that ReleasedModel satisfies the TargetModel protocol
