"""One reading of an ONNX file's graph, shared by the ONNX adapter and architecture inference.

``read_onnx_graph(path)`` loads the ``ModelProto`` once with the ``onnx`` package (external data
is not loaded) and wraps it in an :class:`OnnxGraph`. ``OnnxModel`` reads its class labels and the
ops behind its outputs from it, and infers its architecture from the same object, so a model file
is parsed by ``onnx`` once however often either is asked for.

The lookups over the graph (which node made a tensor, who reads it, the shapes of constant
tensors, the non-constant inputs) are built on first use: an adapter that never asks for the
architecture does not pay for the constant folding, and a graph whose constants cannot be folded
fails only the reader that needs them (architecture inference, which turns any failure into an
``"unknown"`` family).

What the graph says about the classes lives here too, for both readers:

* :meth:`OnnxGraph.classifier_labels`: the ``classlabels_*`` attribute of a ZipMap node, else of
  the last ai.onnx.ml classifier node;
* :meth:`OnnxGraph.class_labels` (the adapter): those, else the constant table that a label output
  is looked up in (skl2onnx: ``label = ArrayFeatureExtractor(classes, ArgMax(probabilities))``);
* :meth:`OnnxGraph.class_count` (architecture inference, which needs only a number): the number of
  classifier labels, else the size of any constant ``ArrayFeatureExtractor`` table with more than
  one entry, else the width of a fixed ``[N, C]`` float output (``C = 1`` counts as 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

ML_DOMAIN = "ai.onnx.ml"
# Nodes that keep a tensor's meaning; skipped when looking for the node that made an output.
PASS_THROUGH_OPS = {"Identity", "Cast", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}
# Elementwise ops that keep scores raw when their other input is a constant (a bias, a temperature).
_AFFINE_OPS = {"Add", "Sub", "Mul", "Div"}

Labels = tuple[object, ...]


class NotOnnxError(Exception):
    """The file is missing, is not an ONNX model, or the ``onnx`` package is not installed."""


def read_onnx_graph(path: str | Path) -> OnnxGraph:
    """Load the graph at ``path``; raises :class:`NotOnnxError` with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise NotOnnxError(f"{path.name}: file not found, so no architecture could be read")
    try:
        import onnx
    except ImportError:
        raise NotOnnxError("the onnx package is not installed, so the graph could not be read") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf decode errors and friends
        detail = " ".join(str(exc).split())[:120]
        raise NotOnnxError(f"{path.name} is not an ONNX model ({type(exc).__name__}: {detail})") from None
    return OnnxGraph(model, onnx, path.name)


class OnnxGraph:
    """An ONNX ``ModelProto`` and lookups over its graph (see the module docstring)."""

    def __init__(self, model: Any, onnx: Any, name: str) -> None:
        self.model = model
        self.onnx = onnx  # the onnx module, imported by read_onnx_graph
        self.name = name  # the file name, for messages
        self.nodes: list[Any] = list(model.graph.node)
        self.outputs: list[Any] = list(model.graph.output)

    # -- lookups -------------------------------------------------------------------------------

    @cached_property
    def made_by(self) -> dict[str, Any]:
        """Tensor name → the node that outputs it."""
        return {out: node for node in self.nodes for out in node.output if out}

    @cached_property
    def consumers(self) -> dict[str, list[Any]]:
        """Tensor name → the nodes that read it, in graph order."""
        found: dict[str, list[Any]] = {}
        for node in self.nodes:
            for name in node.input:
                found.setdefault(name, []).append(node)
        return found

    @cached_property
    def initializers(self) -> dict[str, Any]:
        """Initializer name → its ``TensorProto`` (sparse initializers not included)."""
        return {init.name: init for init in self.model.graph.initializer}

    @cached_property
    def constant_shapes(self) -> dict[str, tuple[int, ...] | None]:
        """Constant tensors (initializers, Constant nodes, nodes of constants only) → shape, when known."""
        graph = self.model.graph
        constants: dict[str, tuple[int, ...] | None] = {init.name: tuple(init.dims) for init in graph.initializer}
        for sparse in graph.sparse_initializer:
            constants[sparse.values.name] = tuple(sparse.dims)
        for node in self.nodes:  # nodes are topologically sorted, so one pass propagates constants
            if node.op_type == "Constant":
                shape = _constant_node_shape(node, self.onnx)
                for out in node.output:
                    constants[out] = shape
            elif node.input and all(name in constants or name == "" for name in node.input):
                shape = _folded_shape(node, constants, self.onnx)
                for out in node.output:
                    constants[out] = shape
        return constants

    @cached_property
    def inputs(self) -> list[Any]:
        """The graph inputs that are not constants (older exports list initializers as inputs too)."""
        constants = set(self.constant_shapes)
        return [i for i in self.model.graph.input if i.name not in constants]

    def is_constant(self, name: str) -> bool:
        return name in self.constant_shapes or name == ""

    def source_node(self, name: str) -> Any:
        """The node that made tensor ``name``, looking through a few pass-through nodes."""
        node = self.made_by.get(name)
        for _ in range(8):
            if node is None or node.op_type not in PASS_THROUGH_OPS or not node.input:
                break
            node = self.made_by.get(node.input[0])
        return node

    def output_producers(self) -> dict[str, str]:
        """Graph output name → the op that made it (``domain.op`` outside the default domain)."""
        producers: dict[str, str] = {}
        for output in self.outputs:
            node = self.source_node(output.name)
            if node is not None:
                producers[output.name] = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
        return producers

    def raw_score_outputs(self) -> dict[str, str]:
        """Graph output name → what shows that it holds raw class scores (logits), for those where something does.

        Raw scores: a final dense layer (``Gemm``, or ``MatMul`` by a constant weight, with its bias
        ``Add``) with no softmax after it; a ``LogSoftmax`` (log-probabilities, which a softmax turns back
        into the probabilities); the scores of an ai.onnx.ml ``LinearClassifier``/``SVMClassifier``
        without a post transform (decision scores). Pass-through nodes, a ZipMap and constant
        scaling or shifting after them are looked through.
        """
        found = {}
        for output in self.outputs:
            why = self._raw_scores(output.name)
            if why:
                found[output.name] = why
        return found

    def _raw_scores(self, name: str) -> str:
        node = self.made_by.get(name)
        for _ in range(16):
            if node is None:
                return ""
            data = [i for i in node.input if i and not self.is_constant(i)]
            looked_through = node.op_type in PASS_THROUGH_OPS or node.op_type == "ZipMap"
            if not (looked_through or (node.op_type in _AFFINE_OPS and len(data) == 1)) or not data:
                break
            name, node = data[0], self.made_by.get(data[0])
        if node is None:
            return ""
        dense = node.op_type in ("Gemm", "MatMul") and len(node.input) >= 2 and self.is_constant(node.input[1])
        if dense and not self.is_constant(node.input[0]):
            return f"a final {node.op_type} layer without softmax"
        if node.op_type == "LogSoftmax":
            return "a LogSoftmax (log-probabilities)"
        scores_output = len(node.output) > 1 and node.output[1] == name
        if node.domain == ML_DOMAIN and node.op_type in ("LinearClassifier", "SVMClassifier") and scores_output:
            transform = attribute(node, "post_transform", self.onnx) or b"NONE"
            text = transform.decode("utf-8") if isinstance(transform, bytes) else str(transform)
            if text.upper() == "NONE":
                return f"the decision scores of a {node.op_type} without post transform"
        return ""

    # -- classes -------------------------------------------------------------------------------

    def classifier_label_values(self) -> tuple[Sequence[Any], str] | None:
        """The raw ``classlabels_*`` values of a ZipMap (else the last ML classifier) node, and where."""
        zipmaps = [n for n in self.nodes if n.op_type == "ZipMap"]
        classifiers = [n for n in self.nodes if n.domain == ML_DOMAIN and n.op_type.endswith("Classifier")]
        for node in zipmaps[:1] + classifiers[::-1]:
            for attribute in node.attribute:
                if attribute.name.startswith("classlabels_"):
                    values = self.onnx.helper.get_attribute_value(attribute)
                    if len(values):
                        return values, f"{node.op_type} attribute {attribute.name}"
        return None

    def classifier_labels(self) -> tuple[Labels | None, str]:
        """:meth:`classifier_label_values` as plain ints and strings."""
        found = self.classifier_label_values()
        if found is None:
            return None, ""
        values, source = found
        return tuple(v.decode("utf-8") if isinstance(v, bytes) else int(v) for v in values), source

    def class_labels(self) -> tuple[Labels | None, str]:
        """The class labels stored in the graph (the adapter's rule), and where they were found."""
        labels, source = self.classifier_labels()
        if labels is not None:
            return labels, source
        return self._label_lookup()

    def _label_lookup(self) -> tuple[Labels | None, str]:
        """Classes of graphs that pick the label from a constant table with the argmax index.

        skl2onnx writes MLPClassifier (and other models without an ai.onnx.ml classifier node) this
        way: ``label = ArrayFeatureExtractor(classes, ArgMax(probabilities))``.
        """
        onnx = self.onnx
        label_types = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.STRING}
        for output in self.outputs:
            if output.type.tensor_type.elem_type not in label_types:
                continue
            node = self.source_node(output.name)
            if node is None or node.op_type != "ArrayFeatureExtractor" or not node.input:
                continue
            table = self.initializers.get(node.input[0])
            if table is not None:
                values = onnx.numpy_helper.to_array(table).ravel().tolist()
                return tuple(plain_value(v) for v in values), f"label lookup table {table.name!r}"
        return None, ""

    def class_count(self) -> int | None:
        """The number of classes as architecture inference reads it (see the module docstring).

        Looser than :meth:`class_labels` where only a count is needed: any constant lookup table
        (sparse ones included) counts, not only one that a label output traces back to.
        """
        found = self.classifier_label_values()
        if found is not None:
            return len(found[0])
        for node in self.nodes:  # skl2onnx: label = ArrayFeatureExtractor(classes, ArgMax(proba))
            if node.op_type == "ArrayFeatureExtractor" and node.input and node.input[0] in self.constant_shapes:
                shape = self.constant_shapes[node.input[0]]
                if shape and math.prod(shape) > 1 and node.input[0] not in self.made_by:
                    return math.prod(shape)
        onnx = self.onnx
        float_types = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16}
        for value_info in self.outputs:
            if not value_info.type.HasField("tensor_type") or value_info.type.tensor_type.elem_type not in float_types:
                continue
            dims = tensor_dims(value_info)
            if dims is not None and len(dims) == 2 and dims[1] is not None:
                return 2 if dims[1] == 1 else dims[1]
        return None


# -- helpers -----------------------------------------------------------------------------------


def tensor_dims(value_info: Any) -> list[int | None] | None:
    """The dimensions of a tensor value info (``None`` where not fixed), or ``None`` without a shape."""
    kind = value_info.type
    if not kind.HasField("tensor_type") or not kind.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in kind.tensor_type.shape.dim]


def attribute(node: Any, name: str, onnx: Any) -> Any:
    """The value of a node's attribute (tensors as flat lists), ``None`` when absent."""
    for found in node.attribute:
        if found.name == name:
            value = onnx.helper.get_attribute_value(found)
            if found.type == onnx.AttributeProto.TENSOR:
                return onnx.numpy_helper.to_array(value).ravel().tolist()
            return value
    return None


def plain_value(value: object) -> object:
    """numpy scalars and bytes as plain Python values, so that classes compare and print simply."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _constant_node_shape(node: Any, onnx: Any) -> tuple[int, ...] | None:
    for found in node.attribute:
        if found.name == "value" and found.type == onnx.AttributeProto.TENSOR:
            return tuple(found.t.dims)
        if found.name in ("value_float", "value_int"):
            return ()
        if found.name in ("value_floats", "value_ints"):
            return (len(onnx.helper.get_attribute_value(found)),)
    return None


def _folded_shape(node: Any, constants: dict[str, tuple[int, ...] | None], onnx: Any) -> tuple[int, ...] | None:
    """The shape of a node computed from constants only (weights exported as Transpose(W), ...)."""
    first = constants.get(node.input[0])
    if node.op_type in ("Identity", "Cast", "DequantizeLinear") or (
        node.op_type in ("Mul", "Div", "Neg") and first is not None
    ):
        return first
    if node.op_type == "Transpose" and first is not None:
        perm = attribute(node, "perm", onnx)
        order = list(perm) if perm else list(range(len(first)))[::-1]
        return tuple(first[i] for i in order) if len(order) == len(first) else None
    return None
