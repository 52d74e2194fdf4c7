"""Target model adapters: one class per file format behind the ``TargetModel`` protocol.

Heavy libraries (onnxruntime, onnx, skops, joblib, scikit-learn, torch) are imported when a model is
loaded, not when this package is imported.
"""

from __future__ import annotations

from mia_audit.models.base import (
    ModelInfo,
    OutputKind,
    TargetModel,
    TensorInfo,
    looks_like_probabilities,
    one_hot,
    sha256_of,
    stable_softmax,
)
from mia_audit.models.loader import describe_model, format_model_info, load_model
from mia_audit.models.onnx_model import OnnxModel
from mia_audit.models.sklearn_model import SklearnModel, load_pickled, load_skops
from mia_audit.models.torch_model import TorchModel, load_torch

__all__ = [
    "ModelInfo",
    "OnnxModel",
    "OutputKind",
    "SklearnModel",
    "TargetModel",
    "TensorInfo",
    "TorchModel",
    "describe_model",
    "format_model_info",
    "load_model",
    "load_pickled",
    "load_skops",
    "load_torch",
    "looks_like_probabilities",
    "one_hot",
    "sha256_of",
    "stable_softmax",
]
