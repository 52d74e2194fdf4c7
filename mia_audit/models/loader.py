"""Open a model file as a ``TargetModel``, chosen by suffix, and describe it for ``inspect``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mia_audit.errors import ConfigError, InputFileError
from mia_audit.models.base import ModelInfo, TargetModel, TensorInfo
from mia_audit.models.onnx_model import OnnxModel
from mia_audit.models.outputs import OUTPUT_KINDS
from mia_audit.models.sklearn_model import PICKLE_FORMATS, Reading, load_pickled, load_skops
from mia_audit.models.torch_model import load_torch

TORCH_SUFFIXES = (".pt", ".pth", ".ptl", ".torchscript", ".pt2")
SUPPORTED = (
    ".onnx, .skops, .pt/.pth/.ptl/.torchscript (TorchScript), .pt2 (torch.export), "
    ".pkl/.pickle/.joblib and torch.save pickles of a whole module (with --trust-model)"
)
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
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"model file not found: {file}")
    if not file.is_file():
        raise InputFileError(f"model path is not a file: {file}")
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
    raise InputFileError(f"{file}: unknown model format {suffix or '(no suffix)'}; supported: {SUPPORTED}")


def describe_model(path: str | Path, *, trust_model: bool = False) -> ModelInfo:
    """What ``mia-audit inspect`` shows: the loaded model's ``info``."""
    return load_model(path, trust_model=trust_model).info


def format_model_info(info: ModelInfo) -> str:
    """A plain-text, multi-line description of a model for the terminal."""
    lines = [
        f"Model        {info.path}",
        f"Format       {info.format}",
        f"SHA-256      {info.sha256 or '(not a file)'}",
        f"Output kind  {info.output_kind.value}",
        f"Classes      {_classes_line(info.classes)}",
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


def _classes_line(classes: tuple[object, ...]) -> str:
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
