"""Open a model file as a ``TargetModel`` (or, ``--task regression``, a ``Regressor``), chosen by suffix, and
describe it for ``inspect``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mia_audit.errors import ConfigError
from mia_audit.models.base import (
    ModelInfo,
    OutputKind,
    RegressorFound,
    TargetModel,
    TensorInfo,
    model_file,
    unknown_format,
)
from mia_audit.models.onnx_model import OnnxModel
from mia_audit.models.outputs import OUTPUT_KINDS
from mia_audit.models.regressor import load_regressor
from mia_audit.models.sklearn_model import PICKLE_FORMATS, Reading, load_pickled, load_skops
from mia_audit.models.torch_model import TORCH_SUFFIXES, load_torch

__all__ = [
    "TORCH_SUFFIXES",
    "describe_model",
    "format_model_info",
    "load_model",
    "load_regressor",
]

_SHOWN = 20


def load_model(
    path: str | Path,
    *,
    trust_model: bool = False,
    batch_size: int = 4096,
    classes: Sequence[object] | None = None,
    output: str | None = None,
    output_kind: str = "auto",
) -> TargetModel:
    """Open ``path`` as a target model.

    ``trust_model`` allows pickle/joblib files, skops files with untrusted types and torch.save
    pickles of a whole ``nn.Module``. ``classes`` is a hint for label-only ONNX graphs and PyTorch
    models that do not store their class labels (the audit passes the dataset's sorted labels);
    other formats know their classes.
    ``output`` names the output to audit (an ONNX graph output; a scikit-learn method), and
    ``output_kind`` says what it holds: auto, probabilities, logits or labels (``models.outputs``).
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if output_kind not in OUTPUT_KINDS:
        raise ConfigError(f"--output-kind must be one of {', '.join(OUTPUT_KINDS)}, got {output_kind!r}")
    file = model_file(path)
    suffix = file.suffix.lower()
    if suffix == ".onnx":
        return OnnxModel(file, batch_size=batch_size, classes=classes, output=output, output_kind=output_kind)
    reading = Reading(batch_size, output, output_kind)
    if suffix == ".skops":
        return load_skops(file, trust_model=trust_model, reading=reading)
    if suffix in PICKLE_FORMATS:
        return load_pickled(file, trust_model=trust_model, reading=reading)
    if suffix in TORCH_SUFFIXES:
        return load_torch(
            file,
            trust_model=trust_model,
            batch_size=batch_size,
            classes=classes,
            output=output,
            output_kind=output_kind,
        )
    raise unknown_format(file)


def describe_model(path: str | Path, *, trust_model: bool = False) -> ModelInfo:
    """What ``mia-audit inspect`` shows: the loaded model's ``info``; a regressor's (output kind values, no classes)
    where the classifier loader finds one (a scikit-learn regressor, an ONNX output from a ``*Regressor`` node)."""
    try:
        model = load_model(path, trust_model=trust_model)
    except RegressorFound:
        return load_regressor(path, trust_model=trust_model).info
    if isinstance(model, OnnxModel) and model.regression_output:
        return load_regressor(path, trust_model=trust_model).info
    return model.info


def format_model_info(info: ModelInfo) -> str:
    """A plain-text, multi-line description of a model for the terminal."""
    lines = [
        f"Model        {info.path}",
        f"Format       {info.format}",
        f"SHA-256      {info.sha256 or '(not a file)'}",
        f"Output kind  {info.output_kind.value}",
        f"Classes      {_classes_line(info)}",
        f"Features     {info.n_features if info.n_features is not None else 'unknown'}",
        f"Inputs ({len(info.inputs)})",
        *_tensor_lines(info.inputs),
        f"Outputs ({len(info.outputs)})",
        *_tensor_lines(info.outputs),
    ]
    if info.details:
        width = max(len(key) for key in info.details)
        lines.append("Details")
        lines.extend(f"  {key.ljust(width)}  {value}" for key, value in info.details.items())
    return "\n".join(lines)


def _classes_line(info: ModelInfo) -> str:
    classes = info.classes
    if info.output_kind is OutputKind.VALUES:
        return "none (a regressor: one value per record)"
    if not classes:
        return "unknown until the first query"
    shown = ", ".join(str(c) for c in classes[:_SHOWN])
    more = ", …" if len(classes) > _SHOWN else ""
    return f"{len(classes)}: {shown}{more}"


def _tensor_lines(tensors: tuple[TensorInfo, ...]) -> list[str]:
    if not tensors:
        return ["  (none)"]
    width = max(len(t.name) for t in tensors[:_SHOWN])
    lines = [f"  {t.name.ljust(width)}  {t.dtype}  {_shape(t.shape)}" for t in tensors[:_SHOWN]]
    if len(tensors) > _SHOWN:
        lines.append(f"  … and {len(tensors) - _SHOWN} more")
    return lines


def _shape(shape: tuple[int | str | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
