"""Target adapter for PyTorch models saved without an ONNX export, run with torch on the CPU.

``models.torch_files`` opens the file (a TorchScript archive, a ``torch.export`` program or, trusted,
a pickled ``nn.Module``) and reads its graph; this module queries it.

The feature frame reaches the model as one float tensor ``[n, F]`` of every column in order (the
dtype of an exported program's input, else of the module's first floating parameter), converted as
for a single-input ONNX graph; text columns are refused in one line. A program exported with a fixed
batch size gets full batches, the last padded. The forward must return one tensor. What it holds is
settled as for ONNX (``models.outputs``): probability rows are taken as they are; raw scores only
where the graph ends in a dense layer without softmax (or a ``log_softmax``), or with
``output_kind="logits"``; integers (an ``argmax``) are labels. ``models.torch_architecture`` reads
the family and sizes off the graph, as the ONNX reader does for the model's ONNX export.

Classes: a PyTorch model stores no class labels, so score outputs have classes ``0 .. C-1`` (as an
ONNX graph without labels; the audit matches text labels to them in sorted order and says so). A
label output's indices are ``0 .. C-1`` of the final layer where the graph shows C; else the
caller's ``classes`` hint when it holds integers (matched by value); else ``0 .. max`` of the first
query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from mia_audit.errors import ModelDataMismatchError, ModelLoadError
from mia_audit.models.architecture import InferredArchitecture
from mia_audit.models.base import ModelInfo, OutputKind, TensorInfo, one_hot, sha256_of, stable_softmax
from mia_audit.models.onnx_model import matrix_feed, pad_rows
from mia_audit.models.outputs import OutputFacts, check_labels, check_probabilities, settle_scores
from mia_audit.models.torch_architecture import OutputEvidence, infer_torch_architecture, output_evidence
from mia_audit.models.torch_files import FileKind, LoadedTorch, load_torch_file, why
from mia_audit.models.torch_graph import TorchGraph

Role = Literal["scores", "labels"]
TORCH_SUFFIXES = (".pt", ".pth", ".ptl", ".torchscript", ".pt2")
FORMATS: dict[FileKind, str] = {"torchscript": "torchscript", "export": "torch-export", "pickle": "torch-pickle"}
_ONE_OUTPUT = "save a module whose forward returns the class scores (probabilities, logits or labels)"
_T = TypeVar("_T")
_SCORE_PRODUCERS = {"Linear", "MatMul", "Softmax", "Sigmoid", "LogSoftmax"}


@dataclass(frozen=True)
class _Feed:
    """The single input in the form ``onnx_model.matrix_feed`` reads: name, shape and ONNX type."""

    name: str
    shape: tuple[int | None, ...]
    type: str


def load_torch(
    path: Path,
    *,
    trust_model: bool = False,
    batch_size: int = 4096,
    classes: Sequence[object] | None = None,
    output: str | None = None,
    output_kind: str = "auto",
) -> TorchModel:
    """Open a TorchScript archive, a torch.export program or (trusted) a pickled ``nn.Module``."""
    if output is not None:
        raise no_output_option(path, output)
    loaded = load_torch_file(path, trust_model)
    return TorchModel(path, loaded, batch_size=batch_size, classes=classes, output_kind=output_kind)


class TorchModel:
    """A PyTorch classifier queried in batches of ``batch_size`` rows, counting every record queried."""

    def __init__(
        self,
        path: Path,
        loaded: LoadedTorch,
        *,
        batch_size: int = 4096,
        classes: Sequence[object] | None = None,
        output_kind: str = "auto",
    ) -> None:
        self._path = Path(path)
        self._loaded = loaded
        self._torch = TorchRunner(self._path, loaded, batch_size)
        self._evidence = self._torch.evidence
        self._requested = output_kind
        self._role = _static_role(loaded.graph, self._evidence.producer, output_kind)
        self._checks = self._output_facts()
        self._hint = None if classes is None else tuple(classes)
        self._classes, self._class_source = self._initial_classes()
        self._kind, self._kind_source, self._kind_settled = self._initial_kind()
        self._labels_checked = False
        self._queries = 0

    # -- the TargetModel protocol ------------------------------------------------------------

    @property
    def estimator(self) -> None:
        return None

    @property
    def architecture(self) -> InferredArchitecture:
        """Read off the graph at load time; family ``"unknown"`` with the reason where it could not be read."""
        return self._torch.architecture

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
            **self._torch.details(),
            "class_source": self._class_source or "settled by the first query",
            "output_kind_source": self._kind_source or "settled by the first query",
        }
        output = TensorInfo("output", self._checks.dtype, (self._torch.fixed_batch, self._static_columns()))
        return self._torch.info(output, classes=self.classes, output_kind=self._kind, details=details)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self._torch.matrix(X)
        if len(matrix) == 0:
            return np.zeros((0, self.n_classes), dtype=np.float64)
        raw = [self._run(matrix, start) for start in range(0, len(matrix), self._torch.step)]
        self._settle_role(raw[0])
        if self._role == "labels":
            for batch in raw:
                self._checked(partial(check_labels, self._checks, batch, first=not self._labels_checked))
                self._labels_checked = True
            return self._labels_to_one_hot(np.concatenate([np.ravel(r) for r in raw]))
        return np.vstack([self._scores_to_probabilities(r) for r in raw])

    # -- setup -------------------------------------------------------------------------------

    def _output_facts(self) -> OutputFacts:
        graph = self._loaded.graph
        guess = "int64" if self._role == "labels" else np.dtype(self._torch.dtype).name
        dtype = (graph.output_dtype if graph is not None else None) or guess
        shape = "[?, " + (str(self._static_columns() or "?")) + "]"
        return OutputFacts(
            file=self._path.name,
            name="output",
            dtype=dtype,
            shape=shape,
            producer=self._evidence.producer,
            raw_scores=self._evidence.raw_scores,
            requested=self._requested,
            outputs=f"output {dtype} {shape}",
            graph_known=graph is not None,
        )

    def _static_columns(self) -> int | None:
        """The number of score columns the graph fixes before any query, None where it does not."""
        graph = self._loaded.graph
        if graph is not None and graph.output_shape is not None and len(graph.output_shape) == 2:
            return graph.output_shape[1]
        return self._evidence.width

    def _initial_classes(self) -> tuple[tuple[object, ...] | None, str]:
        if self._role == "labels":
            return self._label_classes()
        columns = self._static_columns() if self._role == "scores" else None
        if columns is None:
            return None, ""
        return tuple(range(2 if columns == 1 else columns)), "output columns 0..C-1 (PyTorch stores no class labels)"

    def _label_classes(self) -> tuple[tuple[object, ...] | None, str]:
        """An argmax returns an index: of the final layer's C columns where the graph shows them, else of the
        caller's hint when it holds integer labels (matched by value, as for a label-only ONNX graph)."""
        if self._evidence.width is not None and self._evidence.width > 1:
            return tuple(range(self._evidence.width)), "indices 0..C-1 of the final layer's columns"
        integers = [int(c) for c in self._hint or () if isinstance(c, int | np.integer)]
        if self._hint and len(integers) == len(self._hint):
            return tuple(integers), "classes hint from the caller"
        return None, ""

    def _initial_kind(self) -> tuple[OutputKind, str, bool]:
        if self._role == "labels":
            return OutputKind.LABELS, "an integer label output", True
        return self._checks.initial_kind(), "", False

    # -- querying ----------------------------------------------------------------------------

    def _run(self, matrix: np.ndarray, start: int) -> np.ndarray:
        values = self._torch.run(matrix, start, f"one tensor of class scores; {_ONE_OUTPUT}")
        self._queries += min(self._torch.step, len(matrix) - start)
        return values

    def _settle_role(self, first: np.ndarray) -> None:
        """The first batch's dtype says whether the output holds scores or labels (it overrides a guess)."""
        found: Role = "scores" if first.dtype.kind == "f" else "labels"
        if self._requested != "auto" and (found == "labels") != (self._requested == "labels"):
            held = "integer labels" if found == "labels" else "float scores, not labels"
            raise ModelLoadError(
                f"{self._path.name}: --output-kind {self._requested} does not fit its output, which holds {held}"
            )
        if found == self._role:
            return
        self._role = found
        self._classes, self._class_source = self._initial_classes()
        if found == "labels":
            self._kind, self._kind_source, self._kind_settled = OutputKind.LABELS, "an integer output", True
        else:
            self._kind, self._kind_source, self._kind_settled = self._checks.initial_kind(), "", False

    def _scores_to_probabilities(self, raw: np.ndarray) -> np.ndarray:
        scores = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
        if not self._kind_settled:
            settled = self._checked(lambda: settle_scores(self._checks, scores))
            if settled is not None:
                (self._kind, self._kind_source), self._kind_settled = settled, True
        elif self._kind is OutputKind.PROBABILITIES:
            self._checked(lambda: check_probabilities(self._checks, scores))
        if scores.shape[1] == 1:
            column = scores[:, 0]
            logits = self._kind is OutputKind.LOGITS
            # softmax([0, z]) is sigmoid(z): the softmax below turns a single logit into two probabilities
            scores = np.column_stack([np.zeros_like(column) if logits else 1.0 - column, column])
        if self._classes is None:
            self._classes = tuple(range(scores.shape[1]))
            self._class_source = "output columns 0..C-1 (PyTorch stores no class labels)"
        if scores.shape[1] != self.n_classes:
            raise ModelLoadError(
                f"{self._path.name} returns {scores.shape[1]} score columns but its graph shows "
                f"{self.n_classes} ({self._class_source})"
            )
        return stable_softmax(scores) if self._kind is OutputKind.LOGITS else scores

    def _checked(self, check: Callable[[], _T]) -> _T:
        """Run an output check of ``models.outputs``; its advice to pick another graph output becomes advice
        that fits a model with one output."""
        try:
            return check()
        except (ModelLoadError, ModelDataMismatchError) as exc:
            pick = f"point at the class output with --output NAME (outputs: {self._checks.outputs})"
            if pick not in str(exc):
                raise
            raise type(exc)(str(exc).replace(pick, _ONE_OUTPUT)) from exc

    def _labels_to_one_hot(self, labels: np.ndarray) -> np.ndarray:
        values = [int(v) for v in labels.tolist()]
        if self._classes is None:
            self._classes = tuple(range(max(max(values), 0) + 1))
            self._class_source = "labels seen in the first query (0..max)"
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({v for v in values if v not in index})
        if unknown:
            raise ModelDataMismatchError(
                f"{self._path.name} returned labels {unknown[:5]} that are not among its {self.n_classes} classes "
                f"({self._class_source})"
            )
        return one_hot(np.asarray([index[v] for v in values], dtype=np.int64), self.n_classes)


class TorchRunner:
    """A loaded PyTorch model, its graph read and the frame fed to it as one float tensor, queried in batches: the
    part of a PyTorch adapter that does not depend on what the output holds (``TorchModel``, ``models.regressor``)."""

    def __init__(self, path: Path, loaded: LoadedTorch, batch_size: int) -> None:
        self.path = path
        self.loaded = loaded
        self.batch_size = batch_size
        self.sha256 = sha256_of(path)
        graph = loaded.graph
        self.architecture = (
            infer_torch_architecture(graph)
            if graph is not None
            else InferredArchitecture("unknown", reason=loaded.graph_problem)
        )
        self.feed = _Feed(_input_name(graph), (None, self.architecture.n_features), _input_type(loaded))
        self.fixed_batch = _fixed_batch(graph)
        self.evidence = output_evidence(graph) if graph is not None else OutputEvidence()

    @property
    def dtype(self) -> Any:
        return np.float64 if self.feed.type == "tensor(double)" else np.float32

    @property
    def step(self) -> int:
        return self.fixed_batch or self.batch_size

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The feature frame as the model's input matrix (checked as for a single-input ONNX graph)."""
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        # writable: torch.from_numpy warns on the read-only arrays pandas' copy-on-write hands out
        return np.require(matrix_feed(self.feed, frame), requirements=["C", "W"])

    def run(self, matrix: np.ndarray, start: int, wanted: str) -> np.ndarray:
        """The forward's tensor for rows ``start`` to ``start + step`` (a fixed batch padded, the padding cut), as
        float64 or int64; ``wanted`` ends the message when the forward does not return one tensor."""
        import torch

        stop = min(start + self.step, len(matrix))
        batch = matrix[start:stop]
        if self.fixed_batch and len(batch) < self.fixed_batch:
            batch = pad_rows(batch, self.fixed_batch)
        try:
            with torch.no_grad():
                out = self.loaded.module(torch.from_numpy(np.ascontiguousarray(batch)))
        except Exception as exc:  # torch raises many types for inputs a model does not take
            raise ModelDataMismatchError(f"torch could not run {self.path.name} on the data: {why(exc)}") from exc
        return _as_array(_one_tensor(out, self.path.name, wanted))[: stop - start]

    def details(self) -> dict[str, str]:
        batch = self.fixed_batch
        return {
            "module": self.loaded.module_name,
            "graph": self.architecture.reason,
            "input_mode": f"one {np.dtype(self.dtype).name} tensor of all feature columns",
            "batch": f"fixed at {batch} row(s) per run" if batch else "dynamic",
        }

    def info(
        self, output: TensorInfo, *, classes: tuple[object, ...], output_kind: OutputKind, details: dict[str, str]
    ) -> ModelInfo:
        shape = (self.fixed_batch, self.feed.shape[1])
        return ModelInfo(
            path=str(self.path),
            format=FORMATS[self.loaded.kind],
            sha256=self.sha256,
            inputs=(TensorInfo(self.feed.name, np.dtype(self.dtype).name, shape),),
            outputs=(output,),
            classes=classes,
            output_kind=output_kind,
            n_features=self.feed.shape[1],
            details=details,
        )


def no_output_option(path: Path, output: str) -> ModelLoadError:
    return ModelLoadError(
        f"{path.name}: --output {output!r} does not apply to a PyTorch model: it has one output, the tensor "
        "its forward returns"
    )


# -- small helpers -----------------------------------------------------------------------------


def _static_role(graph: TorchGraph | None, producer: str, requested: str) -> Role | None:
    if requested == "labels" or producer == "ArgMax":
        return "labels"
    dtype = graph.output_dtype if graph is not None else None
    if dtype is not None:
        return "scores" if dtype.startswith(("float", "bfloat")) else "labels"
    return "scores" if producer in _SCORE_PRODUCERS else None


def _input_name(graph: TorchGraph | None) -> str:
    return graph.input_names[0] if graph is not None and graph.input_names else "input"


def _input_type(loaded: LoadedTorch) -> str:
    graph = loaded.graph
    dtype = graph.input_dtype if graph is not None else None
    if dtype is None:
        dtype = next((str(p.dtype) for p in _parameters(loaded.module) if p.is_floating_point()), "float32")
    return "tensor(double)" if dtype.removeprefix("torch.") == "float64" else "tensor(float)"


def _parameters(module: Any) -> list[Any]:
    try:
        return list(module.parameters())
    except Exception:  # a module without the nn.Module API
        return []


def _fixed_batch(graph: TorchGraph | None) -> int | None:
    if graph is None or not graph.input_shape:
        return None
    first = graph.input_shape[0]
    return first if isinstance(first, int) and first > 0 else None


def _one_tensor(out: Any, name: str, wanted: str) -> Any:
    import torch

    if isinstance(out, list | tuple) and len(out) == 1:
        out = out[0]
    if isinstance(out, torch.Tensor):
        return out
    what = (
        f"a {type(out).__name__} of {len(out)} values" if isinstance(out, list | tuple | dict) else type(out).__name__
    )
    raise ModelLoadError(f"{name}: its forward returns {what}, not {wanted}")


def _as_array(tensor: Any) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        return tensor.double().numpy()
    return tensor.long().numpy()
