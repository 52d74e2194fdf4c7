"""The target's model family in one word, for advice that depends on it (dropout vs. stacking)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mia_audit.models.base import TargetModel
    from mia_audit.models.regressor import Regressor

# Substrings of scikit-learn class names, checked in order.
_SKLEARN_FAMILIES = (
    ("MLP", "mlp"),
    ("Forest", "forest"),
    ("ExtraTrees", "forest"),
    ("Boosting", "boosting"),
    ("Tree", "tree"),
    ("Logistic", "linear"),
    ("SGD", "linear"),
    ("Ridge", "linear"),
    ("LinearSVC", "linear"),
    ("SVC", "svm"),
    ("Neighbors", "knn"),
    ("NB", "naive_bayes"),
)
_ONNX_FAMILIES = {"mlp": "mlp", "logreg": "linear", "rf": "forest", "gbm": "boosting"}
NEURAL = frozenset({"mlp"})


def _final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def model_family(model: TargetModel | Regressor) -> str:
    """``mlp``, ``linear``, ``forest``, ``boosting``, ``tree``, ``svm``, ``knn``, ``naive_bayes`` or ``unknown``."""
    estimator = getattr(model, "estimator", None)
    if estimator is not None:
        name = type(_final_step(estimator)).__name__
        return next((family for key, family in _SKLEARN_FAMILIES if key in name), "unknown")
    architecture = model.architecture
    return "unknown" if architecture is None else _ONNX_FAMILIES.get(architecture.family, "unknown")
