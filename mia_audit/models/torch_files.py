"""Open a PyTorch file, after reading what it holds from its zip entries, and read its graph.

* A **TorchScript** archive (``torch.jit.save``: ``constants.pkl`` and ``code/``) loads with
  ``torch.jit.load(map_location="cpu")``: its unpickler builds TorchScript values, not arbitrary Python
  objects, and its code is TorchScript.
* A **torch.export** program (``torch.export.save``: ``archive_format``) loads with
  ``torch.export.load``. Its tensors are raw bytes, but the format lets weights, constants and the
  example inputs be pickles that ``torch.export.load`` unpickles with ``weights_only=False`` (the
  example inputs after a failed ``weights_only=True`` try). So the archive's configs are read first
  and every pickled entry is tried with ``weights_only=True``: an archive with pickled objects beyond
  tensors loads only with ``trust_model``.
* A **torch.save pickle**: weights alone (a state_dict, a checkpoint of tensors) load safely with
  ``weights_only=True`` but cannot be audited without the model's class, and are refused saying so.
  A whole pickled ``nn.Module`` runs code from the file when unpickled, so it loads
  (``weights_only=False``) only with ``trust_model``; its graph is read by ``torch.fx.symbolic_trace``.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mia_audit.errors import ModelLoadError
from mia_audit.models.base import one_line
from mia_audit.models.torch_graph import TorchGraph, read_exported, read_module, read_torchscript

FileKind = Literal["torchscript", "export", "pickle"]
EXPORT_HINT = (
    "save the model with torch.jit.script(model).save('model.pt') or "
    "torch.export.save(torch.export.export(model, (example,)), 'model.pt2')"
)
_PICKLED_PREFIXES = ("custom_obj_", "opaque_obj_")  # constants torch.export.load unpickles as objects
_PAYLOAD_DIRS = ("data/weights/", "data/constants/")
_OLD_PAYLOADS = {"serialized_state_dict.json", "serialized_constants.json"}  # torch.load-ed too


@dataclass(frozen=True)
class LoadedTorch:
    """A PyTorch model as loaded, before any query: the callable, its graph (or why there is none)."""

    module: Any
    kind: FileKind
    graph: TorchGraph | None
    graph_problem: str
    module_name: str


def load_torch_file(path: Path, trust_model: bool) -> LoadedTorch:
    """The model in a PyTorch file and its graph; :class:`ModelLoadError` for what cannot or may not be loaded."""
    kind = torch_file_kind(path)
    if kind == "torchscript":
        return _load_torchscript(path)
    if kind == "export":
        return _load_exported(path, trust_model)
    return _load_pickled(path, trust_model)


def torch_file_kind(path: Path) -> FileKind:
    """What a PyTorch file holds, from its zip entries alone (nothing is unpickled)."""
    if not zipfile.is_zipfile(path):
        return "pickle"  # torch.save's legacy format, or not a PyTorch file: torch.load(weights_only=True) tells
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"{path} is not a readable PyTorch archive: {why(exc)}") from exc
    leaves = {name.rsplit("/", 1)[-1] for name in names}
    if leaves & {"archive_format", "serialized_exported_program.json"}:  # the second: an older torch.export.save
        return "export"
    if leaves & {"constants.pkl", "bytecode.pkl"} or any("/code/" in f"/{name}" for name in names):
        return "torchscript"
    if "data.pkl" in leaves:
        return "pickle"
    raise ModelLoadError(
        f"{path} is a zip archive but not a PyTorch file (no TorchScript code, torch.export program or "
        f"torch.save data); {EXPORT_HINT}"
    )


# -- loading ----------------------------------------------------------------------------------


def _load_torchscript(path: Path) -> LoadedTorch:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError and its own types for a bad archive
        raise ModelLoadError(f"{path} is not a TorchScript archive torch.jit.load can load: {why(exc)}") from exc
    module.eval()
    graph, problem = _read(lambda: read_torchscript(module), "the TorchScript graph")
    return LoadedTorch(module, "torchscript", graph, problem, str(getattr(module, "original_name", "")))


def _load_exported(path: Path, trust_model: bool) -> LoadedTorch:
    import torch

    pickled = [] if trust_model else _pickled_objects(path)
    if pickled:
        raise ModelLoadError(
            f"{path} is a torch.export archive with pickled objects beyond tensors ({', '.join(pickled[:3])}): "
            "loading it runs code from the file; pass --trust-model if you trust it"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(path))
            module = program.module()  # already in the mode it was exported in (eval() is refused)
    except Exception as exc:  # an AOTInductor package or another .pt2 that is not an ExportedProgram
        raise ModelLoadError(f"{path} is not a torch.export program torch.export.load can load: {why(exc)}") from exc
    graph, problem = _read(lambda: read_exported(program), "the torch.export graph")
    return LoadedTorch(module, "export", graph, problem, "ExportedProgram")


def _pickled_objects(path: Path) -> list[str]:
    """Entries of a torch.export archive that ``torch.export.load`` would unpickle as arbitrary objects."""
    found: list[str] = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            shown = name.split("/", 1)[-1]  # the entries sit in one top folder
            if name.endswith("_config.json") and any(d in name for d in _PAYLOAD_DIRS):
                found.extend(_pickled_payloads(archive.read(name)))
            elif (name.endswith(".pt") or shown in _OLD_PAYLOADS) and not _weights_only_loads(archive.read(name)):
                found.append(shown)  # example inputs, or the weights and constants of an older archive
    return found


def _pickled_payloads(config: bytes) -> list[str]:
    """Weights and constants a payload config says are pickles, or objects rather than tensors."""
    try:
        entries = json.loads(config).get("config", {})
    except (ValueError, AttributeError):
        return ["an unreadable payload config"]
    return [
        str(name)
        for name, meta in entries.items()
        if not isinstance(meta, dict)
        or meta.get("use_pickle")
        or str(meta.get("path_name", "")).startswith(_PICKLED_PREFIXES)
    ]


def _weights_only_loads(payload: bytes) -> bool:
    import torch

    try:
        torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception:  # whatever the reason, torch.export.load would fall back to a full unpickling
        return False
    return True


def _load_pickled(path: Path, trust_model: bool) -> LoadedTorch:
    import torch

    try:
        weights = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise ModelLoadError(f"{path} is not a PyTorch file torch.load can read: {why(exc)}") from exc
    except Exception as exc:  # EOFError, RuntimeError, ... for files torch.save did not write
        raise ModelLoadError(f"{path} is not a PyTorch file torch.load can read: {why(exc)}") from exc
    else:
        raise ModelLoadError(_weights_only(path, weights))
    if not trust_model:
        raise ModelLoadError(
            f"{path} is a torch.save pickle of a Python object (a whole nn.Module): unpickling it runs code from "
            f"the file; pass --trust-model if you trust it, or {EXPORT_HINT}"
        )
    module = _unpickle(path)
    module.eval()
    graph, problem = _read(lambda: read_module(module), f"torch.fx could not trace {type(module).__name__}:")
    return LoadedTorch(module, "pickle", graph, problem, type(module).__name__)


def _unpickle(path: Path) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # the model's class is not importable here, or the file is damaged
        raise ModelLoadError(f"{path}: torch.load could not unpickle it: {why(exc)}") from exc
    if not isinstance(obj, torch.nn.Module):
        raise ModelLoadError(f"{path} holds a {type(obj).__name__}, not an nn.Module; {EXPORT_HINT}")
    return obj


def _weights_only(path: Path, weights: object) -> str:
    what = "a state_dict" if _is_state_dict(weights) else f"a {type(weights).__name__} of weights (a checkpoint)"
    return (
        f"{path} holds {what}, not a model: weights cannot be audited without the model's class; {EXPORT_HINT}, "
        "or export it to ONNX"
    )


def _is_state_dict(value: object) -> bool:
    import torch

    return isinstance(value, dict) and all(isinstance(v, torch.Tensor) for v in value.values())


def _read(reader: Callable[[], TorchGraph], what: str) -> tuple[TorchGraph | None, str]:
    """The graph, or None and why not (``what`` names the reading; ending in ":" it is the whole lead)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reader(), ""
    except Exception as exc:  # an unreadable graph costs the architecture and output evidence, not the audit
        lead = what if what.endswith(":") else f"{what} could not be read:"
        return None, f"{lead} {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def why(exc: BaseException) -> str:
    """A library error in one line, or its type where it has no message (an EOFError)."""
    return one_line(exc) or type(exc).__name__
