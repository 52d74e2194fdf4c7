"""Small ONNX graphs whose outputs are, or are not, a classifier's: built with the onnx helper API.

Every builder writes the graph at ``path`` (one float input ``input`` [N, F], dynamic batch) and
returns the path. Weights are drawn from a seeded generator; what matters is the graph's shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def save_graph(
    path: Path, n_features: int, nodes: list[Any], outputs: list[Any], initializers: dict[str, np.ndarray]
) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_features])]
    tensors = [numpy_helper.from_array(np.asarray(v), name) for name, v in initializers.items()]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=tensors)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by older onnxruntime builds too
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def float_output(name: str, width: int) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width])


def _weights(n_in: int, n_out: int, seed: int, name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        f"w{name}": rng.normal(0.0, 1.0, (n_in, n_out)).astype(np.float32),
        f"b{name}": rng.normal(0.0, 0.1, n_out).astype(np.float32),
    }


def embedding_graph(path: Path, n_features: int, *, width: int = 16, probs: bool = False, seed: int = 0) -> Path:
    """``embedding`` = Relu(Gemm(input)) [N, width] and its L2 ``norm`` [N, 1]; with ``probs``, a softmax
    head ``probs`` [N, 2] on the embedding as a third output."""
    from onnx import helper

    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["hidden"]),
        helper.make_node("Relu", ["hidden"], ["embedding"]),
        helper.make_node("ReduceL2", ["embedding"], ["norm"], axes=[1], keepdims=1),
    ]
    outputs = [float_output("embedding", width), float_output("norm", 1)]
    weights = _weights(n_features, width, seed, "1")
    if probs:
        nodes += [
            helper.make_node("Gemm", ["embedding", "w2", "b2"], ["head"]),
            helper.make_node("Softmax", ["head"], ["probs"], axis=1),
        ]
        outputs.append(float_output("probs", 2))
        weights |= _weights(width, 2, seed + 1, "2")
    return save_graph(path, n_features, nodes, outputs, weights)


def linear_graph(
    path: Path, n_features: int, n_out: int, *, name: str = "scores", then: str = "", seed: int = 0
) -> Path:
    """``name`` = Gemm(input) [N, n_out]: raw linear scores, or ``then`` (an op such as Tanh, LogSoftmax) of them."""
    from onnx import helper

    nodes = [helper.make_node("Gemm", ["input", "w1", "b1"], ["linear" if then else name])]
    if then:
        extra = {"axis": 1} if then in ("Softmax", "LogSoftmax") else {}
        nodes.append(helper.make_node(then, ["linear"], [name], **extra))
    return save_graph(path, n_features, nodes, [float_output(name, n_out)], _weights(n_features, n_out, seed, "1"))


def passthrough_graph(path: Path, n_features: int, *, name: str = "values", shift: float = 0.0) -> Path:
    """``name`` = input - shift: the values fed are the values returned, with no layer that says what they are."""
    from onnx import helper

    nodes = [helper.make_node("Sub", ["input", "shift"], [name])]
    shift_value = np.full(n_features, shift, dtype=np.float32)
    return save_graph(path, n_features, nodes, [float_output(name, n_features)], {"shift": shift_value})


def integer_graph(path: Path, n_features: int, *, name: str = "count", seed: int = 0) -> Path:
    """``name`` = Cast<int64>(Round(Gemm(input) * 10)) [N, 1]: integers that are not class labels."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["linear"]),
        helper.make_node("Mul", ["linear", "ten"], ["scaled"]),
        helper.make_node("Round", ["scaled"], ["rounded"]),
        helper.make_node("Cast", ["rounded"], [name], to=TensorProto.INT64),
    ]
    output = helper.make_tensor_value_info(name, TensorProto.INT64, ["N", 1])
    weights = _weights(n_features, 1, seed, "1") | {"ten": np.array(10.0, dtype=np.float32)}
    return save_graph(path, n_features, nodes, [output], weights)


def skl2onnx_regression(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    """A LinearRegression fitted on (0/1) labels, converted with skl2onnx: an ai.onnx.ml LinearRegressor."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, y)
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, X.shape[1]]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    Path(path).write_bytes(onx.SerializeToString())
    return Path(path)
