"""Target adapter for ONNX graphs, run with onnxruntime on the CPU provider.

How the feature frame reaches the graph:

* one tensor input (``[N, F]``, or ``[N, ...]`` with fixed dimensions that multiply to F): every
  column of the frame, in order, converted to the input's dtype;
* several named inputs (skl2onnx pipelines with a ColumnTransformer, each ``[N, 1]``): columns are
  matched to inputs by name, each converted to its input's dtype. A single ``[N, 1]`` input whose
  name is one of several columns is matched by name too. Extra columns are ignored.

Which output is read: the one named by ``output`` (``--output``); else a skl2onnx ZipMap (a sequence
of ``{class: probability}`` maps), else a float tensor of class scores (one the graph marks as class
scores first: a softmax, sigmoid or classifier node, a final linear layer, a name that says
probabilities or logits; then a ``[N, C]`` matrix before a vector), else (label-only graphs, or
``output_kind="labels"``) an integer or string label tensor. What the chosen output holds is checked
on the first batch (``models.outputs``): an output that is neither class probabilities, nor logits the
graph (or ``output_kind``) vouches for, nor labels is refused.

How the classes (the column order of ``predict_proba``) are found, first match wins:

1. labels stored in the graph: the ``classlabels_*`` attribute of a ZipMap node, else of the last
   ai.onnx.ml classifier node (LinearClassifier, TreeEnsembleClassifier, SVMClassifier, ...), read
   with the ``onnx`` package when it is installed; else a ``classes`` entry (a JSON list) in the
   model's metadata_props;
2. ZipMap outputs: the keys of the maps returned by the first query;
3. label-only graphs: the ``classes`` hint of the caller (the audit passes the dataset's labels);
4. score outputs: ``0 .. C-1`` for C columns (``0, 1`` for a single sigmoid/logit column);
   label-only graphs without hint: ``0 .. max`` of the integer labels (or the sorted string labels)
   returned by the first query.

Until the first query settles cases 2 and 4 for a graph without static shapes, ``classes`` is
empty. Likewise ``output_kind`` of a float score output is a guess from the node that produces it
until the first batch shows whether its rows are probabilities (non-negative, summing to one) or
logits (see ``models.outputs``), which then go through a stable softmax (a sigmoid for a single column).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mia_audit.errors import InputFileError, ModelDataMismatchError, ModelLoadError
from mia_audit.models.architecture import InferredArchitecture, infer_architecture
from mia_audit.models.base import (
    ModelInfo,
    OutputKind,
    TensorInfo,
    one_hot,
    one_line,
    sha256_of,
    stable_softmax,
)
from mia_audit.models.onnx_graph import NotOnnxError, OnnxGraph, plain_value, read_onnx_graph
from mia_audit.models.outputs import (
    OUTPUT_KINDS,
    OutputFacts,
    check_labels,
    check_probabilities,
    settle_scores,
)

_INPUT_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
_SCORE_TYPES = {"tensor(float)", "tensor(double)", "tensor(float16)"}
_LABEL_TYPES = {"tensor(int64)", "tensor(int32)", "tensor(string)"}

OutputRole = Literal["zipmap", "scores", "labels"]
Dim = int | str | None


@dataclass(frozen=True)
class _Output:
    name: str
    role: OutputRole
    width: int | None  # number of score columns when the graph fixes it


@dataclass(frozen=True)
class _GraphFacts:
    """What the ``onnx`` package (when installed) tells about the graph beyond onnxruntime."""

    class_labels: tuple[object, ...] | None = None
    class_source: str = ""
    producers: dict[str, str] = field(default_factory=dict)  # output name -> op that made it
    details: dict[str, str] = field(default_factory=dict)
    raw_scores: dict[str, str] = field(default_factory=dict)  # output name -> what shows it holds logits
    graph_known: bool = False


class OnnxModel:
    """An ONNX classifier queried through onnxruntime, in batches of ``batch_size`` rows."""

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 4096,
        classes: Sequence[object] | None = None,
        output: str | None = None,
        output_kind: str = "auto",
    ) -> None:
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {', '.join(OUTPUT_KINDS)}, got {output_kind!r}")
        self._path = Path(path)
        self._onnx = OnnxSession(self._path, batch_size)
        self._facts = self._onnx.facts
        self._output = _pick_output(self._onnx.outputs, self._path, self._facts, output, output_kind)
        self._checks = _output_facts(self._onnx.outputs, self._output, self._path, self._facts, output_kind)
        self._hint = None if classes is None else tuple(plain_value(c) for c in classes)
        self._classes, self._class_source = self._initial_classes()
        self._kind_source = ""
        self._kind, self._kind_settled = self._initial_kind()
        self._labels_checked = False
        self._queries = 0

    # -- the TargetModel protocol ------------------------------------------------------------

    @property
    def estimator(self) -> None:
        return None

    @property
    def architecture(self) -> InferredArchitecture:
        """Inferred on first use from the graph read at load time, then kept (``OnnxSession.architecture``)."""
        return self._onnx.architecture()

    @property
    def regression_output(self) -> bool:
        """Whether the output read comes from an ai.onnx.ml ``*Regressor`` node: the first query refuses it
        (:class:`~mia_audit.models.base.RegressorFound`); ``describe_model`` describes the file as a regressor."""
        return self._checks.regressor and self._checks.requested == "auto"

    @property
    def classes(self) -> tuple[object, ...]:
        return self._classes or ()

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def output_kind(self) -> OutputKind:
        return self._kind

    @property
    def queries(self) -> int:
        return self._queries

    @property
    def info(self) -> ModelInfo:
        details = {
            **self._onnx.details(self._output.name),
            "class_source": self._class_source or "settled by the first query",
            "output_kind_source": self._kind_source or "settled by the first query",
        }
        return self._onnx.info(classes=self.classes, output_kind=self._kind, details=details)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        feed = self._onnx.feed(frame)
        n_rows = len(frame)
        if n_rows == 0:
            return np.zeros((0, self.n_classes), dtype=np.float64)
        raw = [self._run(feed, start, n_rows) for start in range(0, n_rows, self._onnx.step)]
        if self._output.role == "labels":
            for batch in raw:
                check_labels(self._checks, np.asarray(batch), first=not self._labels_checked)
                self._labels_checked = True
            return self._labels_to_one_hot(np.concatenate([np.ravel(r) for r in raw]))
        if self._output.role == "zipmap":
            return np.vstack([self._zipmap_to_array(r) for r in raw])
        return np.vstack([self._scores_to_probabilities(r) for r in raw])

    # -- setup -------------------------------------------------------------------------------

    def _initial_classes(self) -> tuple[tuple[object, ...] | None, str]:
        graph, source = self._facts.class_labels, self._facts.class_source
        role, width = self._output.role, self._output.width
        if role == "zipmap":
            return graph, source
        if role == "labels":
            if graph is not None:
                return graph, source
            if self._hint is not None:
                return self._hint, "classes hint from the caller"
            return None, ""
        n_columns = 2 if width == 1 else width
        if graph is not None and (n_columns is None or len(graph) == n_columns):
            return graph, source
        if n_columns is not None:
            return tuple(range(n_columns)), "output columns 0..C-1 (no class labels in the graph)"
        return None, ""

    def _initial_kind(self) -> tuple[OutputKind, bool]:
        if self._output.role == "labels":
            self._kind_source = "an integer or string label output"
            return OutputKind.LABELS, True
        return self._checks.initial_kind(), False

    # -- querying ----------------------------------------------------------------------------

    def _run(self, feed: dict[str, np.ndarray], start: int, n_rows: int) -> Any:
        out = self._onnx.run(self._output.name, feed, start, n_rows)
        self._queries += min(self._onnx.step, n_rows - start)
        return out

    def _settle(self, scores: np.ndarray) -> None:
        """Settle the kind of a float or ZipMap output on its first batch; check later probability batches."""
        if self._kind_settled:
            if self._kind is OutputKind.PROBABILITIES:
                check_probabilities(self._checks, scores)
            return
        settled = settle_scores(self._checks, scores)
        if settled is not None:
            (self._kind, self._kind_source), self._kind_settled = settled, True

    def _scores_to_probabilities(self, raw: Any) -> np.ndarray:
        scores = np.asarray(raw, dtype=np.float64)
        scores = scores.reshape(len(scores), -1)
        self._settle(scores)
        if scores.shape[1] == 1:
            scores = self._binary_columns(scores[:, 0])
        if self._classes is None:
            self._classes = tuple(range(scores.shape[1]))
            self._class_source = "output columns 0..C-1 (no class labels in the graph)"
        self._check_width(scores.shape[1])
        return stable_softmax(scores) if self._kind is OutputKind.LOGITS else scores

    def _binary_columns(self, column: np.ndarray) -> np.ndarray:
        """One score per row: a probability of the second class, or its logit."""
        if self._kind is OutputKind.LOGITS:
            # softmax([0, z]) is sigmoid(z): the softmax that follows makes these probabilities
            return np.column_stack([np.zeros_like(column), column])
        return np.column_stack([1.0 - column, column])

    def _zipmap_to_array(self, rows: Sequence[dict[Any, float]]) -> np.ndarray:
        if self._classes is None:
            self._classes = tuple(plain_value(key) for key in rows[0])
            self._class_source = "ZipMap keys"
        try:
            values = [[row[c] for c in self.classes] for row in rows]
        except KeyError as exc:
            raise ModelLoadError(
                f"{self._path.name}: the ZipMap output has no entry for class {exc.args[0]!r} "
                "listed in the graph's class labels"
            ) from exc
        scores = np.asarray(values, dtype=np.float64).reshape(len(rows), self.n_classes)
        self._settle(scores)
        return stable_softmax(scores) if self._kind is OutputKind.LOGITS else scores

    def _labels_to_one_hot(self, labels: np.ndarray) -> np.ndarray:
        values = [plain_value(v) for v in labels.tolist()]
        if self._classes is None:
            self._classes = _classes_from_labels(values)
            self._class_source = "labels seen in the first query (pass classes= to fix them)"
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({repr(v) for v in values if v not in index})
        if unknown:
            raise ModelDataMismatchError(
                f"{self._path.name}: {self._checks.describe()} returned labels {', '.join(unknown[:5])} that "
                f"are not among its classes {_preview(self.classes)} ({self._class_source}); if these are not "
                f"class labels, point at the class output with --output NAME (outputs: {self._checks.outputs})"
            )
        return one_hot(np.asarray([index[v] for v in values], dtype=np.int64), self.n_classes)

    def _check_width(self, width: int) -> None:
        if width != self.n_classes:
            raise ModelLoadError(
                f"{self._path.name} returns {width} score columns but lists {self.n_classes} "
                f"classes ({_preview(self.classes)})"
            )


class OnnxSession:
    """An onnxruntime session on a model file and what is read of its graph, queried in batches: the part of an
    ONNX adapter that does not depend on what the output holds (``OnnxModel``, ``models.regressor``)."""

    def __init__(self, path: Path, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not path.is_file():
            raise InputFileError(f"model file not found: {path}")
        self.path = path
        self.batch_size = batch_size
        self.session = _open_session(path)
        self.inputs = tuple(self.session.get_inputs())
        self.outputs = tuple(self.session.get_outputs())
        self.fixed_batch = _fixed_batch_size(self.inputs)
        self.sha256 = sha256_of(path)
        self.graph, self._graph_problem = _read_graph(path)
        self.facts = _read_graph_facts(self.graph, self.session)
        self._architecture: InferredArchitecture | None = None

    @property
    def step(self) -> int:
        """Rows per run: the graph's fixed batch size, else ``batch_size``."""
        return self.fixed_batch or self.batch_size

    @property
    def listing(self) -> str:
        """Every output, ``name dtype shape, ...``, for messages."""
        return _listing(self.outputs)

    def describe(self, node: Any) -> str:
        """``output 'scores' (float, shape [?, 3])``, for messages."""
        info = _tensor_info(node)
        return f"output {info.name!r} ({info.dtype}, shape {_shape_text(info.shape)})"

    def feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The frame as the graph's inputs (see the module docstring)."""
        return _feed_arrays(self.inputs, frame)

    def architecture(self) -> InferredArchitecture:
        """Inferred on first use from the graph read at load time, then kept: shadow, reference and advice
        share one reading (and the graph is let go once it is no longer needed)."""
        if self._architecture is None:
            if self.graph is None:
                self._architecture = InferredArchitecture("unknown", reason=self._graph_problem)
            else:
                self._architecture = infer_architecture(self.graph)
            self.graph = None
        return self._architecture

    def run(self, output: str, feed: dict[str, np.ndarray], start: int, n_rows: int) -> Any:
        """``output`` for rows ``start`` to ``start + step`` of ``feed`` (a fixed batch padded, the padding cut)."""
        stop = min(start + self.step, n_rows)
        batch = {name: values[start:stop] for name, values in feed.items()}
        if self.fixed_batch and stop - start < self.fixed_batch:
            batch = {name: pad_rows(values, self.fixed_batch) for name, values in batch.items()}
        try:
            out = self.session.run([output], batch)[0]
        except Exception as exc:  # onnxruntime raises its own exception types for bad feeds
            raise ModelDataMismatchError(
                f"onnxruntime could not run {self.path.name} on the data: {one_line(exc)}"
            ) from exc
        return out[: stop - start]

    def details(self, output: str) -> dict[str, str]:
        several = len(self.inputs) > 1
        return {
            **self.facts.details,
            "input_mode": "named inputs matched to columns" if several else "one tensor of all feature columns",
            "queried_output": output,
            "batch": f"fixed at {self.fixed_batch} row(s) per run" if self.fixed_batch else "dynamic",
        }

    def info(self, *, classes: tuple[object, ...], output_kind: OutputKind, details: dict[str, str]) -> ModelInfo:
        return ModelInfo(
            path=str(self.path),
            format="onnx",
            sha256=self.sha256,
            inputs=tuple(_tensor_info(node) for node in self.inputs),
            outputs=tuple(_tensor_info(node) for node in self.outputs),
            classes=classes,
            output_kind=output_kind,
            n_features=self.n_features(),
            details=details,
        )

    def n_features(self) -> int | None:
        if len(self.inputs) > 1:
            return len(self.inputs)
        dims = list(self.inputs[0].shape[1:]) if self.inputs else []
        if not dims:
            return 1 if self.inputs else None
        return math.prod(dims) if all(isinstance(d, int) for d in dims) else None


# -- session and graph inspection --------------------------------------------------------------


def _open_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: exported graphs often trigger harmless warnings
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelLoadError(f"{path} is not an ONNX model that onnxruntime can load: {one_line(exc)}") from exc


def _pick_output(outputs: Sequence[Any], path: Path, facts: _GraphFacts, wanted: str | None, requested: str) -> _Output:
    """The output named ``wanted``, else the first that fits (see the module docstring)."""
    listing = _listing(outputs)
    if wanted is not None:
        node = next((o for o in outputs if o.name == wanted), None)
        if node is None:
            raise ModelLoadError(f"{path.name} has no output named {wanted!r}; its outputs: {listing}")
        chosen = _as_output(node)
        if chosen is None:
            raise ModelLoadError(
                f"{path.name}: output {wanted!r} is {node.type} of shape {_shape_text(node.shape)}, not class "
                f"scores, probabilities or one label per record; choose another with --output (outputs: {listing})"
            )
    else:
        candidates = [c for c in (_as_output(o) for o in outputs) if c is not None]
        chosen = _first_fit(candidates, facts, requested)
        if chosen is None and requested == "labels":
            raise ModelLoadError(
                f"{path.name} has no integer or string output with one label per record (outputs: {listing}); "
                "drop --output-kind labels, or point at the label output with --output NAME"
            )
        if chosen is None:
            raise ModelLoadError(
                f"{path.name} has no output with class scores, probabilities or labels (outputs: {listing}); "
                "audit a classifier's graph, or point at its class output with --output NAME"
            )
    if (chosen.role == "labels") != (requested == "labels") and requested != "auto":
        held = "labels" if chosen.role == "labels" else "scores, not labels"
        raise ModelLoadError(
            f"{path.name}: --output-kind {requested} does not fit output {chosen.name!r}, which holds {held}; "
            f"choose another with --output (outputs: {listing})"
        )
    return chosen


def _as_output(node: Any) -> _Output | None:
    shape = list(node.shape)
    if str(node.type).startswith("seq(map("):
        return _Output(node.name, "zipmap", None)
    if node.type in _SCORE_TYPES:
        width = shape[-1] if len(shape) >= 2 else 1
        return _Output(node.name, "scores", width if isinstance(width, int) else None)
    one_per_row = len(shape) == 1 or (len(shape) == 2 and not (isinstance(shape[1], int) and shape[1] > 1))
    if node.type in _LABEL_TYPES and one_per_row:
        return _Output(node.name, "labels", None)
    return None


def _first_fit(candidates: Sequence[_Output], facts: _GraphFacts, requested: str) -> _Output | None:
    labels = [c for c in candidates if c.role == "labels"]
    if requested == "labels":
        return labels[0] if labels else None
    zipmaps = [c for c in candidates if c.role == "zipmap"]
    if zipmaps:
        return zipmaps[0]
    scores = [c for c in candidates if c.role == "scores"]
    if scores:
        # Prefer what the graph marks as class scores, then a [N, C] matrix over a vector (an auxiliary output).
        def rank(output: _Output) -> tuple[int, int]:
            marked = _output_facts_for(output, facts, requested).says_class_scores
            return (0 if marked else 1, 0 if output.width != 1 else 1)

        return min(scores, key=rank)
    return labels[0] if labels else None


def _output_facts(
    outputs: Sequence[Any], chosen: _Output, path: Path, facts: _GraphFacts, requested: str
) -> OutputFacts:
    node = next(o for o in outputs if o.name == chosen.name)
    info = _tensor_info(node)
    if chosen.role == "zipmap":  # a sequence of {class: score} maps, one per record
        info = TensorInfo(info.name, "ZipMap", (None,))
    return _output_facts_for(chosen, facts, requested, path.name, info, _listing(outputs))


def _output_facts_for(
    output: _Output,
    facts: _GraphFacts,
    requested: str,
    file: str = "",
    info: TensorInfo | None = None,
    listing: str = "",
) -> OutputFacts:
    return OutputFacts(
        file=file,
        name=output.name,
        dtype=info.dtype if info else "",
        shape=_shape_text(info.shape) if info else "",
        producer=facts.producers.get(output.name, ""),
        raw_scores=facts.raw_scores.get(output.name, ""),
        requested=requested,
        outputs=listing,
        graph_known=facts.graph_known,
    )


def _listing(outputs: Sequence[Any]) -> str:
    shown = [f"{info.name} {info.dtype} {_shape_text(info.shape)}" for info in map(_tensor_info, outputs)]
    return ", ".join(shown) or "none"


def _shape_text(shape: Sequence[object]) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) else "?" for d in shape) + "]"


def _fixed_batch_size(inputs: Sequence[Any]) -> int | None:
    fixed = [i.shape[0] for i in inputs if i.shape and isinstance(i.shape[0], int) and i.shape[0]]
    return min(fixed) if fixed else None


def _read_graph(path: Path) -> tuple[OnnxGraph | None, str]:
    """The graph read with the ``onnx`` package, or ``None`` and why not (onnxruntime loaded it anyway)."""
    try:
        return read_onnx_graph(path), ""
    except NotOnnxError as exc:
        return None, str(exc)


def _read_graph_facts(graph: OnnxGraph | None, session: Any) -> _GraphFacts:
    meta = session.get_modelmeta()
    details = {"producer": meta.producer_name} if meta.producer_name else {}
    labels, source = _classes_from_metadata(meta.custom_metadata_map)
    if graph is None:  # only the optional extras are lost
        return _GraphFacts(labels, source, {}, details)
    model = graph.model
    if model.producer_version:
        details["producer"] = f"{model.producer_name} {model.producer_version}".strip()
    details["opset"] = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    graph_labels, graph_source = graph.class_labels()
    if graph_labels is not None:
        labels, source = graph_labels, graph_source
    try:
        raw_scores = graph.raw_score_outputs()
    except Exception:  # constant folding of a graph this reader does not understand: no evidence of logits
        raw_scores = {}
    return _GraphFacts(labels, source, graph.output_producers(), details, raw_scores, graph_known=True)


def _classes_from_metadata(props: dict[str, str]) -> tuple[tuple[object, ...] | None, str]:
    text = props.get("classes")
    if not text:
        return None, ""
    try:
        values = json.loads(text)
    except ValueError:
        return None, ""
    if not isinstance(values, list) or not values:
        return None, ""
    return tuple(values), "model metadata 'classes'"


def _tensor_info(node: Any) -> TensorInfo:
    kind = str(node.type)
    dtype = kind[len("tensor(") : -1] if kind.startswith("tensor(") else kind
    shape: tuple[Dim, ...] = tuple(d if isinstance(d, int | str) else None for d in node.shape)
    return TensorInfo(name=node.name, dtype=dtype, shape=shape)


# -- turning the frame into feeds --------------------------------------------------------------


def _feed_arrays(inputs: Sequence[Any], frame: pd.DataFrame) -> dict[str, np.ndarray]:
    if _feeds_by_name(inputs, frame):
        return _named_feeds(inputs, frame)
    return {inputs[0].name: matrix_feed(inputs[0], frame)}


def _feeds_by_name(inputs: Sequence[Any], frame: pd.DataFrame) -> bool:
    if len(inputs) > 1:
        return True
    only = inputs[0]
    width_one = list(only.shape[1:]) in ([], [1])
    return width_one and frame.shape[1] > 1 and only.name in {str(c) for c in frame.columns}


def _named_feeds(inputs: Sequence[Any], frame: pd.DataFrame) -> dict[str, np.ndarray]:
    by_name = {str(c): i for i, c in enumerate(frame.columns)}
    missing = [i.name for i in inputs if i.name not in by_name]
    if missing:
        raise ModelDataMismatchError(
            f"the model takes named inputs {_preview([i.name for i in inputs])} but the data "
            f"lack columns {_preview(missing)}; rename the columns to match the inputs"
        )
    feeds = {}
    for node in inputs:
        dims = list(node.shape[1:])
        if dims not in ([], [1], [None]) and not all(isinstance(d, str) for d in dims):
            raise ModelDataMismatchError(
                f"model input {node.name!r} has shape {list(node.shape)}: with several named "
                "inputs each must take one column ([N, 1] or [N])"
            )
        column = frame.iloc[:, by_name[node.name]]
        values = _column_values(column, _INPUT_DTYPES.get(node.type), node.name)
        feeds[node.name] = values.reshape(-1, 1) if dims else values
    return feeds


def matrix_feed(node: Any, frame: pd.DataFrame) -> np.ndarray:
    dims = list(node.shape[1:])
    fixed = all(isinstance(d, int) for d in dims)
    if len(dims) > 1 and not fixed:
        raise ModelDataMismatchError(
            f"model input {node.name!r} has shape {list(node.shape)}: only tabular inputs "
            "([N, F], or fixed dimensions that multiply to F) are supported"
        )
    expected = math.prod(dims) if fixed else None
    if expected is not None and frame.shape[1] != expected:
        raise ModelDataMismatchError(
            f"model input {node.name!r} takes {expected} feature columns but the data have "
            f"{frame.shape[1]} ({_preview([str(c) for c in frame.columns])}); choose the model's "
            "features with --feature-cols or drop the others with --drop-cols"
        )
    dtype = _INPUT_DTYPES.get(node.type)
    all_numeric = all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes)
    if dtype is not None and dtype is not np.object_ and np.issubdtype(dtype, np.floating) and all_numeric:
        # One conversion for the common all-numeric case; per-column checks only where they can fail.
        matrix = frame.to_numpy(dtype=dtype)
    else:
        columns = [
            _column_values(frame.iloc[:, j], dtype, node.name, str(frame.columns[j])) for j in range(frame.shape[1])
        ]
        matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0), dtype=dtype)
    return matrix.reshape((len(frame), *dims)) if fixed and dims else matrix


def _column_values(column: pd.Series, dtype: Any, input_name: str, column_name: str | None = None) -> np.ndarray:
    name = column_name if column_name is not None else input_name
    if dtype is None:
        raise ModelDataMismatchError(f"model input {input_name!r} has a type mia-audit cannot feed")
    if dtype is np.object_:
        return column.astype(str).to_numpy(dtype=object)
    exact_integers = pd.api.types.is_integer_dtype(column) and not column.isna().any()
    if np.issubdtype(dtype, np.integer) and exact_integers:
        return column.to_numpy(dtype=dtype)
    numbers = _as_numbers(column, name, input_name, np.dtype(dtype).name)
    if dtype is np.bool_ or np.issubdtype(dtype, np.integer):
        if np.isnan(numbers).any() or not np.array_equal(numbers, np.round(numbers)):
            raise ModelDataMismatchError(
                f"column {name!r} has missing or fractional values but model input "
                f"{input_name!r} takes {np.dtype(dtype).name}"
            )
        return numbers.astype(dtype)
    return numbers.astype(dtype)


def _as_numbers(column: pd.Series, name: str, input_name: str, dtype_name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError):
        bad = pd.to_numeric(column, errors="coerce").isna() & column.notna()
        example = column[bad].iloc[0] if bad.any() else None
        raise ModelDataMismatchError(
            f"column {name!r} holds text (e.g. {example!r}) but model input {input_name!r} "
            f"takes {dtype_name} numbers; drop it with --drop-cols or choose the model's "
            "features with --feature-cols"
        ) from None


def pad_rows(values: np.ndarray, size: int) -> np.ndarray:
    """Repeat the last row so that a graph with a fixed batch size gets a full batch."""
    missing = size - len(values)
    return np.concatenate([values, np.repeat(values[-1:], missing, axis=0)])


# -- small helpers -----------------------------------------------------------------------------


def _classes_from_labels(values: Sequence[object]) -> tuple[object, ...]:
    integers = [v for v in values if isinstance(v, int) and v >= 0]
    if integers and len(integers) == len(values):
        return tuple(range(max(integers) + 1))
    return tuple(sorted(set(values), key=str))


def _preview(items: Sequence[object], limit: int = 10) -> str:
    shown = ", ".join(repr(i) if not isinstance(i, str) else i for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
