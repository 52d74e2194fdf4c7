"""Read a PyTorch model's family and sizes, and what its output holds, off its :class:`TorchGraph`.

The same rules as the ONNX reader (``models.architecture``, "Dense networks"), so that a model audited
as ``.pt``, ``.pt2`` or its ONNX export gets the same shadow and reference models:

* dense layers are ``linear`` ops (``nn.Linear``, ``F.linear``) with a constant 2-D weight, and
  ``addmm``/``mm``/``matmul`` by a constant 2-D weight (a core-ATen decomposed ``torch.export``
  program); each layer's predecessor is found by walking back from its data input, and the layers
  must form one chain;
* the ops between two layers give the activation: ReLU → relu, LeakyReLU/PReLU/RReLU/ELU/SELU/CELU/
  ReLU6 → relu (nearest available), Tanh → tanh, Sigmoid/Hardsigmoid → sigmoid, GELU → gelu; another
  non-linearity (SiLU, Softplus, a product of two data values) → no matching activation; a layer
  with no non-linearity after it is folded into the next one; no hidden layer left → ``"logreg"``;
* convolutions, recurrent cells, attention, embeddings and control flow the constant propagation
  left (``prim::If``/``prim::Loop``) → ``"unknown"``.

The output: walked back from the returned value through pass-through ops (dropout, reshapes, casts)
and scaling by constants, a dense layer means raw class scores (logits), as does a ``log_softmax``;
a ``softmax``/``sigmoid``/``argmax`` names what the output holds (``models.outputs`` then checks
the first batch).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from mia_audit.models.architecture import InferredArchitecture, chain_order
from mia_audit.models.torch_graph import TorchGraph, TorchOp

# kind -> (position of the data argument, position of the weight, whether the weight is [out, in])
_DENSE = {"linear": (0, 1, True), "addmm": (1, 2, False), "mm": (0, 1, False), "matmul": (0, 1, False)}
_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu",
    "leakyrelu": "relu",
    "prelu": "relu",
    "rrelu": "relu",
    "elu": "relu",
    "selu": "relu",
    "celu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "hardsigmoid": "sigmoid",
    "gelu": "gelu",
}
_NAMES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leakyrelu": "LeakyReLU",
    "prelu": "PReLU",
    "rrelu": "RReLU",
    "elu": "ELU",
    "selu": "SELU",
    "celu": "CELU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "hardsigmoid": "Hardsigmoid",
    "gelu": "GELU",
    "silu": "SiLU",
    "softplus": "Softplus",
    "mish": "Mish",
    "hardswish": "Hardswish",
    "softmax": "Softmax",
    "logsoftmax": "LogSoftmax",
    "argmax": "ArgMax",
    "linear": "Linear",
    "addmm": "Linear",
    "mm": "MatMul",
    "matmul": "MatMul",
}
# Ops that pass their input on unchanged in value (at inference) or only in layout.
_PASS_THROUGH = {
    "dropout",
    "featuredropout",
    "alphadropout",
    "featurealphadropout",
    "nativedropout",
    "identity",
    "view",
    "reshape",
    "flatten",
    "squeeze",
    "unsqueeze",
    "contiguous",
    "to",
    "type",
    "typeas",
    "float",
    "double",
    "clone",
    "detach",
    "alias",
    "getitem",
    "listunpack",
    "tupleunpack",
}
_AFFINE = {"add", "sub", "rsub", "mul", "div", "neg"}
# Ops that keep the map between two layers linear: the above, affine maps, inference-time batch norm.
_LINEAR = (
    _PASS_THROUGH
    | _AFFINE
    | {
        "t",
        "transpose",
        "permute",
        "batchnorm",
        "batchnorm1d",
        "nativebatchnormlegitnotraining",
        "listconstruct",
        "tupleconstruct",
    }
)
_NOT_MLP_PREFIXES = ("conv", "maxpool", "avgpool", "adaptive", "lstm", "gru", "rnn", "embedding")
_NOT_MLP = {"if", "loop", "cond", "whileloop", "scan", "einsum", "bmm", "callmethod", "callfunction", "unfold", "fold"}
_SQUASH = {"softmax", "sigmoid", "logsoftmax"}
_MAX_WALK = 500


@dataclass(frozen=True)
class _Dense:
    op: TorchOp
    data_input: str
    width_in: int
    width_out: int


def infer_torch_architecture(graph: TorchGraph) -> InferredArchitecture:
    """The model family and sizes of a PyTorch graph; never raises."""
    try:
        return _infer(graph)
    except Exception as exc:  # a graph this module does not understand must not stop the audit
        detail = " ".join(str(exc).split())[:160]
        return InferredArchitecture(
            "unknown", reason=f"{graph.source} could not be read ({type(exc).__name__}: {detail})"
        )


@dataclass(frozen=True)
class OutputEvidence:
    """What the graph shows of the returned value before any query."""

    producer: str = ""  # the op that makes it ("Linear", "Softmax", "ArgMax", ...), "" when unknown
    raw_scores: str = ""  # what shows that it holds raw class scores, "" when nothing does
    width: int | None = None  # its number of columns, where a dense layer fixes it


def output_evidence(graph: TorchGraph) -> OutputEvidence:
    """Walk back from the returned value (a single tensor) to the op that makes it."""
    if len(graph.outputs) != 1:
        return OutputEvidence()
    made_by = _made_by(graph.ops)
    op = _producer(made_by, graph.outputs[0])
    if op is None:
        return OutputEvidence()
    name = _display(op)
    dense = _dense(op)
    if dense is not None:
        return OutputEvidence(name, f"a final {name} layer without softmax", dense.width_out)
    looks_back = op.kind in _SQUASH or op.kind == "argmax"
    before = _producer(made_by, op.data_args[0]) if looks_back and op.data_args else None
    width = dense.width_out if before is not None and (dense := _dense(before)) is not None else None
    if op.kind == "logsoftmax":
        return OutputEvidence(name, "a LogSoftmax (log-probabilities)", width)
    return OutputEvidence(name, "", width)


# -- the family --------------------------------------------------------------------------------


def _infer(graph: TorchGraph) -> InferredArchitecture:
    n_features = _fixed(graph.input_shape, 1)
    width = _fixed(graph.output_shape, -1)
    n_classes = None if width is None else (2 if width == 1 else width)
    odd = sorted({_display(op) for op in graph.ops if _not_mlp(op.kind)})
    layers = [layer for op in graph.ops if (layer := _dense(op)) is not None]
    if odd:
        reason = f"{graph.source} has {', '.join(odd)} ops: not a plain MLP"
        return InferredArchitecture("unknown", n_features=n_features, n_classes=n_classes, reason=reason)
    if not layers:
        ops = ", ".join(sorted({_display(op) for op in graph.ops})) or "none"
        reason = f"{graph.source} has no Linear layer (ops: {ops})"
        return InferredArchitecture("unknown", n_features=n_features, n_classes=n_classes, reason=reason)
    chain, between, error = _chain(graph.ops, layers)
    if error:
        reason = f"{graph.source}: {error}"
        return InferredArchitecture("unknown", n_features=n_features, n_classes=n_classes, reason=reason)
    if n_features is None and len(graph.inputs) == 1 and all(op.kind in _LINEAR for op in between[0]):
        n_features = chain[0].width_in  # only where nothing before the first layer (a concat) changes the width
    if n_classes is None:
        n_classes = 2 if chain[-1].width_out == 1 else chain[-1].width_out
    return _describe(graph, chain, between, n_features, n_classes)


def _dense(op: TorchOp) -> _Dense | None:
    spec = _DENSE.get(op.kind)
    if spec is None or len(op.args) <= max(spec[0], spec[1]):
        return None
    data, weight = op.args[spec[0]], op.args[spec[1]]
    if not isinstance(data, str) or not isinstance(weight, tuple) or len(weight) != 2 or min(weight) < 1:
        return None
    width_in, width_out = (weight[1], weight[0]) if spec[2] else weight
    return _Dense(op, data, width_in, width_out)


def _chain(ops: tuple[TorchOp, ...], layers: list[_Dense]) -> tuple[list[_Dense], list[list[TorchOp]], str]:
    """The dense layers as one chain, and for each layer the ops between it and the one before."""
    made_by = _made_by(ops)
    index = {layer.op.outputs[0]: i for i, layer in enumerate(layers)}
    previous: list[int | None] = []
    between: list[list[TorchOp]] = []
    for layer in layers:
        reached, passed = _walk_back(made_by, layer.data_input, index)
        if len(reached) > 1:
            return [], [], "Linear layers do not form one chain (branches or skip connections)"
        previous.append(next(iter(reached)) if reached else None)
        between.append(passed)
    order, problem = chain_order(previous, "Linear")
    if order is None:
        return [], [], problem
    return [layers[i] for i in order], [between[i] for i in order], ""


def _walk_back(made_by: dict[str, TorchOp], start: str, dense: dict[str, int]) -> tuple[set[int], list[TorchOp]]:
    reached: set[int] = set()
    passed: list[TorchOp] = []
    seen: set[str] = set()
    queue: deque[str] = deque([start])
    while queue and len(passed) < _MAX_WALK:
        name = queue.popleft()
        if name in seen:
            continue
        seen.add(name)
        if name in dense:
            reached.add(dense[name])
            continue
        op = made_by.get(name)
        if op is None:
            continue  # the model's input
        passed.append(op)
        queue.extend(op.data_args)
    return reached, passed


def _describe(
    graph: TorchGraph, chain: list[_Dense], between: list[list[TorchOp]], n_features: int | None, n_classes: int
) -> InferredArchitecture:
    kept: list[_Dense] = []
    activations: list[str] = []
    shown: list[str] = []
    for i, layer in enumerate(chain[:-1]):
        gates = _nonlinear(between[i + 1])
        if not gates:
            continue
        kept.append(layer)
        activations.append(_activation_name({op.kind for op in gates}))
        label = "·".join(sorted({_display(op) for op in gates}))
        if label not in shown:
            shown.append(label)
    widths = [chain[0].width_in, *(layer.width_out for layer in kept), chain[-1].width_out]
    folded = len(chain) - 1 - len(kept)
    extras = [f"{folded} linear projection{'s' if folded > 1 else ''} without activation folded in"] if folded else []
    producer = output_evidence(graph).producer
    squash = producer if producer in ("Softmax", "Sigmoid", "LogSoftmax") else ""
    extras.append(f"{squash} output" if squash else "logit output")
    count = f"{len(chain)} Linear layer{'s' if len(chain) > 1 else ''} {'→'.join(str(w) for w in widths)}"
    if not kept:
        reason = f"{graph.source}: {count} with no hidden non-linearity; {', '.join(extras)}: a linear classifier"
        return InferredArchitecture("logreg", n_features=n_features, n_classes=n_classes, reason=reason)
    names = [a for a in activations if a]
    activation = Counter(names).most_common(1)[0][0] if names else None
    act_text = f"{'/'.join(shown)} activations" + ("" if activation else " (no matching shadow activation)")
    return InferredArchitecture(
        "mlp",
        hidden=tuple(layer.width_out for layer in kept),
        activation=activation,
        n_features=n_features,
        n_classes=n_classes,
        reason=f"{graph.source}: {count} with {act_text}; {', '.join(extras)}",
    )


def _nonlinear(ops: list[TorchOp]) -> list[TorchOp]:
    """The ops that make the map between two layers non-linear."""
    found = []
    for op in ops:
        if op.kind in ("mul", "div"):
            if len(op.data_args) > 1:
                found.append(op)  # a gate x * f(x): SiLU written out, GLU, ...
        elif op.kind not in _LINEAR:
            found.append(op)
    return found


def _activation_name(kinds: set[str]) -> str:
    if "gelu" in kinds:
        return "gelu"
    if "sigmoid" in kinds and kinds & {"mul", "div"}:
        return ""  # SiLU/swish: a sigmoid gate, not a sigmoid activation
    named = [_ACTIVATIONS[kind] for kind in sorted(kinds) if kind in _ACTIVATIONS]
    return named[0] if len(set(named)) == 1 else ""


# -- small helpers -----------------------------------------------------------------------------


def _made_by(ops: tuple[TorchOp, ...]) -> dict[str, TorchOp]:
    return {out: op for op in ops for out in op.outputs}


def _producer(made_by: dict[str, TorchOp], name: str) -> TorchOp | None:
    """The op that makes ``name``, looking through pass-through ops and scaling by constants."""
    op = made_by.get(name)
    for _ in range(16):
        if op is None:
            return None
        data = op.data_args
        passes = op.kind in _PASS_THROUGH or (op.kind in _AFFINE and len(data) == 1)
        if not passes or not data:
            return op
        op = made_by.get(data[0])
    return op


def _display(op: TorchOp) -> str:
    return _NAMES.get(op.kind, op.label.split("::")[-1])


def _not_mlp(kind: str) -> bool:
    return kind in _NOT_MLP or "attention" in kind or kind.startswith(_NOT_MLP_PREFIXES)


def _fixed(shape: tuple[int | None, ...] | None, axis: int) -> int | None:
    if shape is None or len(shape) != 2:
        return None
    return shape[axis]
