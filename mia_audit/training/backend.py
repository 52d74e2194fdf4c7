"""Where the attacker's pools of models train: in this process (the default), or on a cluster.

The pool trainers ask :func:`current` before they start. ``None`` (``--backend local``) trains here, as
always, and nothing of the cluster's libraries is imported. A backend trains the same models, each
from its own seed as here, elsewhere, and hands back objects that answer like the local ones
(``predict_proba``) while the models stay where they trained: what crosses the network is the
training data, once, and each model's outputs. A pool of one model (a proxy target) trains here.

Process-wide rather than a context variable, for the reason ``progress`` gives: pools train in
worker threads that do not inherit a context, and one audit runs at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from mia_audit.training.matched_mlp import ConfidenceMatch, MatchedMLPs
    from mia_audit.training.mlp import MLPOutputs, MLPSpec

BACKENDS = ("local", "dask")


class Estimators(Protocol):
    """K fitted scikit-learn models, wherever they are held."""

    @property
    def classes(self) -> list[np.ndarray]:
        """Each model's ``classes_``."""
        ...

    def each(self, method: str, X: Any) -> list[np.ndarray]:
        """``model.method(X)`` of every model, in order (``predict`` or ``predict_proba``)."""
        ...


class LocalEstimators:
    """Fitted models held in this process."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models

    @property
    def classes(self) -> list[np.ndarray]:
        return [np.asarray(getattr(model, "classes_", ())) for model in self.models]

    def each(self, method: str, X: Any) -> list[np.ndarray]:
        return [np.asarray(getattr(model, method)(X)) for model in self.models]


class PoolBackend(Protocol):
    """Trains pools of models somewhere else; see the module docstring."""

    def matched_mlps(
        self,
        X: np.ndarray,
        y: np.ndarray,
        masks: np.ndarray,
        n_classes: int,
        spec: MLPSpec,
        *,
        max_epochs: int,
        match: ConfidenceMatch | None,
        seed: int,
        device: str,
    ) -> MatchedMLPs: ...

    def batched_mlps(
        self, X: np.ndarray, y: np.ndarray, masks: np.ndarray, n_classes: int, spec: MLPSpec, *, seed: int, device: str
    ) -> MLPOutputs: ...

    def fit_estimators(self, estimators: list[Any], X: Any, y: np.ndarray, masks: np.ndarray, seed: int) -> Estimators:
        """Model ``k`` is ``clone(estimators[k])`` fitted on the rows where ``masks[k]`` with seed ``seed + k``."""
        ...

    def describe(self) -> dict[str, object]:
        """What the run's JSON records of where the pools trained."""
        ...


_backends: list[PoolBackend] = []


def current() -> PoolBackend | None:
    """The backend pools train on, or ``None`` to train them in this process."""
    return _backends[-1] if _backends else None


@contextlib.contextmanager
def training_on(backend: PoolBackend | None) -> Iterator[None]:
    """Train every pool started while this block runs, from any thread, on ``backend`` (``None``: here)."""
    if backend is None:
        yield
        return
    _backends.append(backend)
    try:
        yield
    finally:
        _backends.remove(backend)
