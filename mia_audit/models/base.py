"""The one protocol every target adapter implements, and helpers they share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from mia_audit.errors import InputFileError, ModelLoadError

if TYPE_CHECKING:
    from mia_audit.models.architecture import InferredArchitecture


class OutputKind(str, Enum):
    """What the target returns to a query."""

    PROBABILITIES = "probabilities"
    LOGITS = "logits"
    LABELS = "labels"
    VALUES = "values"  # one number per record: a regressor's prediction (``models.regressor``)


SUPPORTED = (
    ".onnx, .skops, .pt/.pth/.ptl/.torchscript (TorchScript), .pt2 (torch.export), "
    ".pkl/.pickle/.joblib and torch.save pickles of a whole module (with --trust-model)"
)


class RegressorFound(ModelLoadError):
    """A classifier adapter found a regressor: ``describe_model`` describes it as one, and the message ends with
    the hint to pass ``--task regression``."""


REGRESSION_HINT = "to audit a regressor, pass --task regression"


@dataclass(frozen=True)
class TensorInfo:
    """One named input or output of the target, as `mia-audit inspect` shows it."""

    name: str
    dtype: str
    shape: tuple[int | str | None, ...]


@dataclass(frozen=True)
class ModelInfo:
    """What `inspect` prints and the report's scope section cites."""

    path: str
    format: str
    sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    classes: tuple[object, ...]
    output_kind: OutputKind
    n_features: int | None
    details: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class TargetModel(Protocol):
    """A black-box classifier the audit queries.

    ``predict_proba`` takes the feature frame (columns as in the audit data) and returns an
    ``(n, n_classes)`` float array whose columns follow ``classes``. For a label-only target it
    returns one-hot rows. Every record passed counts as one query.
    """

    @property
    def classes(self) -> tuple[object, ...]: ...

    @property
    def n_classes(self) -> int: ...

    @property
    def output_kind(self) -> OutputKind: ...

    @property
    def queries(self) -> int: ...

    @property
    def info(self) -> ModelInfo: ...

    @property
    def estimator(self) -> Any:
        """The fitted scikit-learn estimator, for targets that are one (None otherwise)."""

    @property
    def architecture(self) -> InferredArchitecture | None:
        """The family and sizes read off the model's graph (None where there is no graph to read)."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


def model_file(path: str | Path) -> Path:
    """``path`` as a model file that exists (:class:`InputFileError` otherwise), for both loaders."""
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"model file not found: {file}")
    if not file.is_file():
        raise InputFileError(f"model path is not a file: {file}")
    return file


def unknown_format(file: Path) -> InputFileError:
    suffix = file.suffix.lower()
    return InputFileError(f"{file}: unknown model format {suffix or '(no suffix)'}; supported: {SUPPORTED}")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stable_softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax that neither overflows nor underflows to all-zero rows."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def looks_like_probabilities(values: np.ndarray, atol: float = 1e-3) -> bool:
    """True when every row is non-negative and sums to one (within ``atol``)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.size == 0:
        return False
    return bool(np.all(v >= -atol) and np.allclose(v.sum(axis=1), 1.0, atol=atol))


def one_hot(indices: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(indices), n_classes), dtype=np.float64)
    out[np.arange(len(indices)), indices] = 1.0
    return out


def one_line(text: object, limit: int = 300) -> str:
    """Collapse a (often multi-line) library message into one short line for a user-facing error."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
