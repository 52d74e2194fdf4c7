"""Regression targets (``--task regression``): one number per record, in every format the classifiers load.

``load_regressor`` opens a file by its suffix, as ``load_model`` does, with the same file checks and the same
loading code: ``sklearn_model.read_skops``/``read_pickled`` (skops' trusted types; pickles only with
``trust_model``), ``onnx_model.OnnxSession`` (feeds, fixed batch padding, the graph read once) and
``torch_model.TorchRunner`` over ``torch_files.load_torch_file`` (TorchScript, ``torch.export``, trusted
``torch.save`` pickles). What is read differs:

* **scikit-learn**: ``predict`` of an estimator that scikit-learn tags as a regressor (or a Pipeline whose final
  step is one), given the data's columns by name when it was fitted on a DataFrame (so a Pipeline takes raw
  columns), else all columns as an array. A multi-output regressor is refused.
* **ONNX**: the output named by ``output``, else the one float output with one value per record (``[N]``,
  ``[N, 1]``; skl2onnx regressors' ``variable``, torch MLPs). A graph that shows a classifier (class labels, an
  ai.onnx.ml ``*Classifier`` node, a ZipMap, a Softmax or ArgMax output, only integer or string outputs) is
  refused, as is an output with several values per record.
* **PyTorch**: the one tensor the forward returns, ``[N]`` or ``[N, 1]`` floats (``output`` does not apply). A
  forward that ends in a softmax or an argmax, or returns integers, is a classifier's and is refused.

Every record passed to ``predict`` counts as one query; predictions are float64 and are not checked for
finiteness (the audit does that). ``architecture`` is read off the graph as for a classifier (an MLP's hidden
sizes and activation, a tree ensemble), with ``n_classes`` left unset; a scikit-learn target has none (it is
cloned through ``estimator``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from mia_audit.errors import ConfigError, ModelDataMismatchError, ModelLoadError
from mia_audit.models.architecture import InferredArchitecture
from mia_audit.models.base import ModelInfo, OutputKind, TensorInfo, model_file, sha256_of, unknown_format
from mia_audit.models.onnx_model import OnnxSession
from mia_audit.models.sklearn_model import (
    PICKLE_FORMATS,
    estimator_details,
    estimator_input,
    feature_names,
    final_estimator,
    input_infos,
    is_classifier,
    is_regressor,
    n_features_in,
    qualified_name,
    read_pickled,
    read_skops,
    rejection,
)
from mia_audit.models.torch_files import LoadedTorch, load_torch_file
from mia_audit.models.torch_model import TORCH_SUFFIXES, TorchRunner, no_output_option

ONE_VALUE = "save a module whose forward returns one value per record ([N] or [N, 1])"
DROP_TASK = "drop --task regression"
_FLOAT_TYPES = {"tensor(float)", "tensor(double)", "tensor(float16)"}
_LABEL_TYPES = {"tensor(int64)", "tensor(int32)", "tensor(string)"}
_CLASSIFIER_OPS = {"Softmax", "LogSoftmax", "ZipMap", "ArgMax", "ArgMin", "TopK"}
_ML_DOMAIN = "ai.onnx.ml"


@runtime_checkable
class Regressor(Protocol):
    """A black-box regressor the audit queries: ``predict`` returns one float64 per record of the feature frame
    (columns as in the audit data), and every record passed counts as one query."""

    @property
    def queries(self) -> int: ...

    @property
    def info(self) -> ModelInfo:
        """As a classifier's, with ``classes=()`` and ``output_kind=OutputKind.VALUES``."""

    @property
    def estimator(self) -> Any:
        """The fitted scikit-learn regressor (or Pipeline) for scikit-learn files, else None."""

    @property
    def architecture(self) -> InferredArchitecture | None:
        """The family and sizes read off the graph (ONNX, PyTorch); None for scikit-learn files."""

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


def load_regressor(
    path: str | Path, *, trust_model: bool = False, batch_size: int = 4096, output: str | None = None
) -> Regressor:
    """Open ``path`` as a regression target (see the module docstring).

    ``trust_model`` allows what it allows ``load_model``: pickle/joblib files, skops files with untrusted types,
    torch.save pickles of a whole ``nn.Module``. ``output`` names the ONNX output to read (for a scikit-learn
    file only ``predict``; it does not apply to a PyTorch model).
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    file = model_file(path)
    suffix = file.suffix.lower()
    if suffix == ".onnx":
        return OnnxRegressor(file, batch_size=batch_size, output=output)
    if suffix == ".skops":
        estimator, details = read_skops(file, trust_model=trust_model)
        return SklearnRegressor(
            estimator, path=file, fmt="sklearn-skops", batch_size=batch_size, details=details, output=output
        )
    if suffix in PICKLE_FORMATS:
        estimator, fmt, details = read_pickled(file, trust_model=trust_model)
        return SklearnRegressor(estimator, path=file, fmt=fmt, batch_size=batch_size, details=details, output=output)
    if suffix in TORCH_SUFFIXES:
        if output is not None:
            raise no_output_option(file, output)
        return TorchRegressor(file, load_torch_file(file, trust_model), batch_size=batch_size)
    raise unknown_format(file)


# -- scikit-learn ------------------------------------------------------------------------------------------------


class SklearnRegressor:
    """A fitted scikit-learn regressor queried with ``predict`` in batches of ``batch_size`` rows."""

    def __init__(
        self,
        estimator: Any,
        *,
        path: str | Path,
        fmt: str,
        batch_size: int = 4096,
        details: dict[str, str] | None = None,
        output: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._path = Path(path)
        _check_regressor(estimator, self._path)
        if output not in (None, "predict"):
            raise ModelLoadError(
                f"{self._path.name}: --output {output!r} is not an output of this {qualified_name(estimator)}; a "
                "scikit-learn regressor is read through predict"
            )
        self._estimator = estimator
        self._format = fmt
        self._batch_size = batch_size
        self._names = feature_names(estimator)
        self._n_features_in = n_features_in(estimator, self._names)
        self._sha256 = sha256_of(self._path) if self._path.is_file() else ""
        self._details = dict(details or {})
        self._queries = 0

    @property
    def queries(self) -> int:
        return self._queries

    @property
    def estimator(self) -> Any:
        return self._estimator

    @property
    def architecture(self) -> None:
        """A scikit-learn target is cloned, not read: see ``estimator``."""
        return None

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            path=str(self._path),
            format=self._format,
            sha256=self._sha256,
            inputs=input_infos(self._names, self._n_features_in),
            outputs=(TensorInfo("predict", "float64", (None,)),),
            classes=(),
            output_kind=OutputKind.VALUES,
            n_features=self._n_features_in,
            details={**estimator_details(self._estimator, "predict"), **self._details},
        )

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        model_input = estimator_input(frame, self._names, self._n_features_in)
        parts = []
        for start in range(0, len(frame), self._batch_size):
            batch = model_input[start : start + self._batch_size]
            parts.append(self._query(batch, frame))
            self._queries += len(batch)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)

    def _query(self, batch: pd.DataFrame | np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        try:
            out = np.asarray(self._estimator.predict(batch))
        except (ValueError, TypeError) as exc:
            raise ModelDataMismatchError(rejection(exc, frame, self._names)) from exc
        values = out.reshape(len(out), -1) if out.ndim else out.reshape(1, 1)
        if values.shape[1] != 1:
            raise ModelLoadError(_multi_output(self._path, self._estimator, values.shape[1]))
        try:
            return values[:, 0].astype(np.float64)
        except (ValueError, TypeError) as exc:
            raise ModelLoadError(
                f"{self._path.name}: predict returned {out.dtype} values, not numbers; audit a fitted regressor"
            ) from exc


def _check_regressor(estimator: Any, path: Path) -> None:
    if not callable(getattr(estimator, "predict", None)):
        raise ModelLoadError(f"{path} holds a {qualified_name(estimator)} object, not a model with a predict method")
    final = final_estimator(estimator)
    if not is_regressor(estimator):
        if is_classifier(estimator):
            raise ModelLoadError(
                f"{path} holds a classifier ({qualified_name(final)}): it predicts classes, not values; {DROP_TASK}"
            )
        raise ModelLoadError(
            f"{path} holds a {qualified_name(final)}, which scikit-learn does not tag as a regressor; audit a fitted "
            "regressor (one whose predict returns one number per record)"
        )
    outputs = getattr(final, "n_outputs_", 1)
    if isinstance(outputs, int | np.integer) and outputs > 1:
        raise ModelLoadError(_multi_output(path, estimator, int(outputs)))


def _multi_output(path: Path, estimator: Any, width: int) -> str:
    return (
        f"{path.name} holds a multi-output {qualified_name(final_estimator(estimator))} ({width} values per "
        "record); mia-audit audits a regressor with one value per record: fit one on a single target"
    )


# -- ONNX --------------------------------------------------------------------------------------------------------


class OnnxRegressor:
    """An ONNX regressor queried through onnxruntime, in batches of ``batch_size`` rows."""

    def __init__(self, path: str | Path, *, batch_size: int = 4096, output: str | None = None) -> None:
        self._path = Path(path)
        self._onnx = OnnxSession(self._path, batch_size)
        self._output = _regression_output(self._onnx, output)
        self._queries = 0

    @property
    def queries(self) -> int:
        return self._queries

    @property
    def estimator(self) -> None:
        return None

    @property
    def architecture(self) -> InferredArchitecture:
        return replace(self._onnx.architecture(), n_classes=None)

    @property
    def info(self) -> ModelInfo:
        details = self._onnx.details(self._output.name)
        return self._onnx.info(classes=(), output_kind=OutputKind.VALUES, details=details)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        feed = self._onnx.feed(frame)
        parts = []
        for start in range(0, len(frame), self._onnx.step):
            out = np.asarray(self._onnx.run(self._output.name, feed, start, len(frame)))
            self._queries += min(self._onnx.step, len(frame) - start)
            values = out.astype(np.float64).reshape(len(out), -1)
            if values.shape[1] != 1:
                raise ModelLoadError(_many_values(self._onnx, self._output, values.shape[1]))
            parts.append(values[:, 0])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)


def _regression_output(onnx: OnnxSession, wanted: str | None) -> Any:
    """The output named ``wanted``, else the one float output with one value per record (see the module docstring)."""
    name = onnx.path.name
    if wanted is not None:
        node = next((o for o in onnx.outputs if o.name == wanted), None)
        if node is None:
            raise ModelLoadError(f"{name} has no output named {wanted!r}; its outputs: {onnx.listing}")
        classifier = _classifier_output(onnx, node)
        if classifier:
            raise ModelLoadError(_holds_classifier(name, classifier))
        if node.type not in _FLOAT_TYPES:
            raise ModelLoadError(
                f"{name}: {onnx.describe(node)} does not hold float values; choose another with --output "
                f"(outputs: {onnx.listing})"
            )
        if (_width(node) or 1) > 1:
            raise ModelLoadError(_many_values(onnx, node, _width(node)))
        return node
    classifier = _classifier_graph(onnx)
    if classifier:
        raise ModelLoadError(_holds_classifier(name, classifier))
    floats = [o for o in onnx.outputs if o.type in _FLOAT_TYPES]
    single = [o for o in floats if _width(o) == 1] or [o for o in floats if _width(o) is None]
    if len(single) == 1:
        return single[0]
    if single:
        raise ModelLoadError(
            f"{name} has several outputs that may hold one value per record ({', '.join(o.name for o in single)}); "
            f"choose one with --output NAME (outputs: {onnx.listing})"
        )
    if floats:
        raise ModelLoadError(_many_values(onnx, floats[0], _width(floats[0])))
    raise ModelLoadError(
        f"{name} has no float output with one value per record (outputs: {onnx.listing}); audit a regressor's graph"
    )


def _width(node: Any) -> int | None:
    """Values per record of an output as declared: 1 for ``[N]``, the product of the others for ``[N, ...]``."""
    if not node.shape:
        return None
    dims = list(node.shape)[1:]
    return math.prod(dims) if all(isinstance(d, int) for d in dims) else None


def _classifier_graph(onnx: OnnxSession) -> str:
    """What shows that the graph is a classifier's, "" when nothing does."""
    facts = onnx.facts
    if facts.class_labels is not None:
        return f"class labels in the graph: {facts.class_source}"
    for node in onnx.outputs:
        found = _classifier_output(onnx, node, labels=False)
        if found:
            return found
    graph = onnx.graph
    nodes = [] if graph is None else [n for n in graph.nodes if n.domain == _ML_DOMAIN]
    classifiers = [n.op_type for n in nodes if n.op_type.endswith("Classifier")]
    if classifiers:
        return f"an {_ML_DOMAIN}.{classifiers[0]} node"
    types = {o.type for o in onnx.outputs}
    if types & _LABEL_TYPES and not types & _FLOAT_TYPES:
        return "only integer or string outputs: class labels"
    return ""


def _classifier_output(onnx: OnnxSession, node: Any, *, labels: bool = True) -> str:
    """What shows that an output holds class scores or labels, "" when nothing does."""
    if str(node.type).startswith("seq(map("):
        return f"output {node.name!r} is a ZipMap of class probabilities"
    producer = onnx.facts.producers.get(node.name, "")
    op = producer.rsplit(".", 1)[-1]
    if op in _CLASSIFIER_OPS or (producer.startswith(_ML_DOMAIN) and op.endswith("Classifier")):
        return f"output {node.name!r} comes from a {producer}"
    if labels and node.type in _LABEL_TYPES:
        return f"{onnx.describe(node)} holds integer or string labels"
    return ""


def _holds_classifier(name: str, why: str) -> str:
    return f"{name} holds a classifier ({why}), not a regressor: it answers with classes, not values; {DROP_TASK}"


def _many_values(onnx: OnnxSession, node: Any, width: int | None) -> str:
    many = f"{width} values" if width else "several values"
    return (
        f"{onnx.path.name}: {onnx.describe(node)} gives {many} per record, not one; a regressor's output holds one "
        f"value per record: point at it with --output NAME (outputs: {onnx.listing}), or, for a classifier's "
        f"class scores, {DROP_TASK}"
    )


# -- PyTorch -----------------------------------------------------------------------------------------------------


class TorchRegressor:
    """A PyTorch regressor queried in batches of ``batch_size`` rows, counting every record queried."""

    def __init__(self, path: Path, loaded: LoadedTorch, *, batch_size: int = 4096) -> None:
        self._path = Path(path)
        self._torch = TorchRunner(self._path, loaded, batch_size)
        self._output = _torch_output(self._path, self._torch)
        self._queries = 0

    @property
    def queries(self) -> int:
        return self._queries

    @property
    def estimator(self) -> None:
        return None

    @property
    def architecture(self) -> InferredArchitecture:
        return replace(self._torch.architecture, n_classes=None)

    @property
    def info(self) -> ModelInfo:
        details = self._torch.details()
        return self._torch.info(self._output, classes=(), output_kind=OutputKind.VALUES, details=details)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self._torch.matrix(X)
        parts = []
        for start in range(0, len(matrix), self._torch.step):
            out = self._torch.run(matrix, start, f"one tensor of values; {ONE_VALUE}")
            self._queries += min(self._torch.step, len(matrix) - start)
            if out.dtype.kind != "f":
                raise ModelLoadError(
                    _holds_classifier(self._path.name, f"its forward returns {out.dtype} values: class labels")
                )
            values = out.reshape(len(out), -1)
            if values.shape[1] != 1:
                raise ModelLoadError(
                    f"{self._path.name}: its forward returns {values.shape[1]} values per record, not one; "
                    f"{ONE_VALUE}, or, for a classifier's class scores, {DROP_TASK}"
                )
            parts.append(values[:, 0])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)


def _torch_output(path: Path, runner: TorchRunner) -> TensorInfo:
    """The output as the graph shows it before any query; a classifier's or a multi-value output is refused."""
    graph, evidence = runner.loaded.graph, runner.evidence
    if evidence.producer in {"Softmax", "LogSoftmax", "ArgMax"}:
        raise ModelLoadError(_holds_classifier(path.name, f"its forward ends in a {evidence.producer}"))
    dtype = graph.output_dtype if graph is not None else None
    if dtype is not None and not dtype.startswith(("float", "bfloat")):
        raise ModelLoadError(_holds_classifier(path.name, f"its forward returns {dtype} values: class labels"))
    shape = graph.output_shape if graph is not None else None
    dims = [d for d in (shape or ())[1:] if d is not None]
    width = evidence.width if shape is None else (math.prod(dims) if len(dims) == len(shape) - 1 else None)
    if width is not None and width > 1:
        raise ModelLoadError(
            f"{path.name}: its forward returns {width} values per record, not one; {ONE_VALUE}, or, for a "
            f"classifier's class scores, {DROP_TASK}"
        )
    one_dimensional = shape is not None and len(shape) == 1
    declared: tuple[int | None, ...] = (runner.fixed_batch,) if one_dimensional else (runner.fixed_batch, 1)
    return TensorInfo("output", dtype or np.dtype(runner.dtype).name, declared)
