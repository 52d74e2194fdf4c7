"""Read a PyTorch model's forward graph into one small form, whatever produced it.

Three sources give a graph of the same shape (:class:`TorchGraph`): a TorchScript module (its
``inlined_graph`` after constant propagation, so that ``F.softmax``'s dim lookup folds away), a
``torch.export`` program (its FX graph of ATen ops, core-ATen decomposed or not) and a live
``nn.Module`` (``torch.fx.symbolic_trace``, whose leaf modules such as ``Linear`` are calls). Only
the ops that touch the model's input are kept, in graph order; weights, constants and attribute
look-ups become the constant arguments of those ops, known by their shapes. No weight's value is read.

Op kinds are normalised so that the three sources agree: the last part of the name, lower case,
without underscores (``aten::leaky_relu``, ``F.leaky_relu`` and ``nn.LeakyReLU`` are all
``leakyrelu``; ``aten._softmax`` is ``softmax``). Readers never raise for a graph they do not
understand; :func:`read_torchscript` and friends raise only when torch cannot give a graph at all,
and the caller turns that into a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
# An argument of an op: the id of a value that depends on the model's input (a str), or a constant,
# known by its shape when it is a tensor (None otherwise).
Arg = str | Shape | None
_SHAPE_KEEPING = {"t", "numpyt", "transpose", "permute", "detach", "to", "contiguous", "clone"}


@dataclass(frozen=True)
class TorchOp:
    """One op on the data path: its normalised kind, the name shown to people, arguments and results."""

    kind: str
    label: str
    args: tuple[Arg, ...]
    outputs: tuple[str, ...]

    @property
    def data_args(self) -> tuple[str, ...]:
        return tuple(a for a in self.args if isinstance(a, str))


@dataclass(frozen=True)
class TorchGraph:
    """The forward graph of a PyTorch model, reduced to the ops on its data path."""

    source: str  # "TorchScript graph", "torch.export graph", "torch.fx trace"
    ops: tuple[TorchOp, ...]
    inputs: tuple[str, ...]  # ids of the model's data inputs
    outputs: tuple[str, ...]  # ids of the values the forward returns (several for a tuple)
    input_names: tuple[str, ...] = ()
    input_shape: tuple[int | None, ...] | None = None  # the first input's shape, None for a dynamic dimension
    input_dtype: str | None = None  # "float32"
    output_shape: tuple[int | None, ...] | None = None
    output_dtype: str | None = None


def normalise(name: str) -> str:
    """``aten::leaky_relu`` / ``_softmax`` / ``LeakyReLU`` → ``leakyrelu`` / ``softmax`` / ``leakyrelu``."""
    return name.split("::")[-1].rsplit(".", 1)[-1].replace("_", "").lower()


# -- TorchScript -------------------------------------------------------------------------------


def read_torchscript(module: Any) -> TorchGraph:
    """The data path of a TorchScript module's ``forward``, inlined."""
    import torch

    graph = module.inlined_graph  # a fresh copy: the passes below do not touch the module
    torch._C._jit_pass_constant_propagation(graph)
    values = list(graph.inputs())
    objects: dict[int, Any] = {values[0].unique(): module} if values else {}
    consts: dict[int, Shape | None] = {}
    data = {v.unique() for v in values[1:]}
    ops: list[TorchOp] = []
    for node in graph.nodes():
        op = _torchscript_node(node, objects, consts, data)
        if op is not None:
            ops.append(op)
    inputs = tuple(str(v.unique()) for v in values[1:])
    return TorchGraph(
        source="TorchScript graph",
        ops=tuple(ops),
        inputs=inputs,
        outputs=_torchscript_outputs(graph),
        input_names=tuple(v.debugName().split(".")[0] for v in values[1:]),
    )


def _torchscript_node(
    node: Any, objects: dict[int, Any], consts: dict[int, Shape | None], data: set[int]
) -> TorchOp | None:
    kind = node.kind()
    inputs = list(node.inputs())
    outputs = [o.unique() for o in node.outputs()]
    if kind == "prim::GetAttr" and inputs and inputs[0].unique() in objects:
        value = getattr(objects[inputs[0].unique()], node.s("name"), None)
        objects[outputs[0]] = value
        consts[outputs[0]] = _shape_of(value)
        return None
    if kind == "prim::Constant":
        consts.update((o, _constant_value_shape(node)) for o in outputs)
        return None
    blocks = list(node.blocks())
    if not blocks and not any(i.unique() in data for i in inputs):
        shapes = [consts.get(i.unique()) for i in inputs]
        for out in outputs:
            consts[out] = _constant_shape(normalise(kind), shapes)
        return None
    data.update(outputs)
    args: tuple[Arg, ...] = tuple(str(i.unique()) if i.unique() in data else consts.get(i.unique()) for i in inputs)
    if blocks:  # an If or a Loop the constant propagation left: its body is not looked into
        args = tuple(a for a in args if isinstance(a, str)) or ("",)
    return TorchOp(normalise(kind), kind, args, tuple(str(o) for o in outputs))


def _torchscript_outputs(graph: Any) -> tuple[str, ...]:
    returned = list(graph.outputs())
    if len(returned) == 1 and returned[0].node().kind() in ("prim::TupleConstruct", "prim::ListConstruct"):
        return tuple(str(v.unique()) for v in returned[0].node().inputs())
    return tuple(str(v.unique()) for v in returned)


# -- FX: torch.export programs and symbolic traces ----------------------------------------------


def read_exported(program: Any) -> TorchGraph:
    """The data path of a ``torch.export`` program (``ExportedProgram``)."""
    user_inputs = set(program.graph_signature.user_inputs)
    return _read_fx(program.graph.nodes, lambda node: node.name in user_inputs, None, "torch.export graph")


def read_module(module: Any) -> TorchGraph:
    """The data path of a live ``nn.Module``, by ``torch.fx.symbolic_trace`` (raises where it cannot trace)."""
    import torch

    traced = torch.fx.symbolic_trace(module)
    return _read_fx(traced.graph.nodes, lambda node: node.op == "placeholder", traced, "torch.fx trace")


def _read_fx(graph_nodes: Iterable[Any], is_input: Callable[[Any], bool], root: Any, source: str) -> TorchGraph:
    nodes = list(graph_nodes)
    data: set[str] = set()
    consts: dict[str, Shape | None] = {}
    ops: list[TorchOp] = []
    inputs: list[Any] = []
    returned: tuple[str, ...] = ()
    for node in nodes:
        if node.op == "placeholder" and is_input(node):
            data.add(node.name)
            inputs.append(node)
        elif node.op == "output":
            returned = tuple(n.name for n in _flat(node.args) if _is_node(n))
        elif node.op == "get_attr" and root is not None:
            consts[node.name] = _shape_of(_attribute(root, str(node.target)))
        else:
            op = _fx_node(node, root, data, consts)
            if op is not None:
                ops.append(op)
    meta = _meta_of(inputs[0]) if inputs else None
    return TorchGraph(
        source=source,
        ops=tuple(ops),
        inputs=tuple(n.name for n in inputs),
        outputs=returned,
        input_names=tuple(str(n.target) for n in inputs),
        input_shape=_dims(meta),
        input_dtype=_dtype(meta),
        **_output_meta(nodes, returned),
    )


def _fx_node(node: Any, root: Any, data: set[str], consts: dict[str, Shape | None]) -> TorchOp | None:
    flat = list(_flat((node.args, node.kwargs)))
    kind, label, extra = _fx_kind(node, root)
    if not any(_is_node(a) and a.name in data for a in flat):
        meta = _meta_of(node)
        shape = _dims(meta)
        consts[node.name] = tuple(d or 0 for d in shape) if shape is not None else None
        return None
    data.add(node.name)
    args: list[Arg] = [a.name if a.name in data else consts.get(a.name) for a in flat if _is_node(a)]
    return TorchOp(kind, label, (*args, *extra), (node.name,))


def _fx_kind(node: Any, root: Any) -> tuple[str, str, tuple[Arg, ...]]:
    """The kind and label of an FX node, and the shapes of a called module's weights (after its input)."""
    target = node.target
    if node.op == "call_module" and root is not None:
        module = _attribute(root, str(target))
        name = type(module).__name__
        weights = tuple(_shape_of(p) for p in (getattr(module, "weight", None), getattr(module, "bias", None)))
        return normalise(name), name, weights if weights[0] is not None else ()
    if node.op == "call_method":
        return normalise(str(target)), f"Tensor.{target}", ()
    name = getattr(target, "_opname", None) or getattr(target, "__name__", None) or str(target)
    label = target.name() if hasattr(target, "name") and callable(target.name) else str(name)
    return normalise(str(name)), label, ()


def _output_meta(nodes: list[Any], returned: tuple[str, ...]) -> dict[str, Any]:
    if len(returned) != 1:
        return {}
    node = next((n for n in nodes if n.name == returned[0]), None)
    meta = _meta_of(node) if node is not None else None
    return {"output_shape": _dims(meta), "output_dtype": _dtype(meta)}


# -- small helpers -----------------------------------------------------------------------------


def _constant_shape(kind: str, shapes: list[Shape | None]) -> Shape | None:
    """The shape of a constant made from constants: a transposed weight, mostly."""
    first = shapes[0] if shapes else None
    if first is None or kind not in _SHAPE_KEEPING:
        return None
    return tuple(reversed(first)) if kind in ("t", "numpyt", "transpose", "permute") and len(first) == 2 else first


def _constant_value_shape(node: Any) -> Shape | None:
    try:
        return _shape_of(node.output().toIValue())
    except Exception:  # a constant torch cannot hand to Python (a function, a class type): not a tensor
        return None


def _shape_of(value: Any) -> Shape | None:
    shape = getattr(value, "shape", None)
    if shape is None or not hasattr(value, "dtype"):
        return None
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        return None


def _meta_of(node: Any) -> Any:
    meta = getattr(node, "meta", None) or {}
    value = meta.get("val", meta.get("tensor_meta"))
    return value if hasattr(value, "shape") else None


def _dims(value: Any) -> tuple[int | None, ...] | None:
    if value is None:
        return None
    return tuple(d if isinstance(d, int) else None for d in value.shape)


def _dtype(value: Any) -> str | None:
    dtype = getattr(value, "dtype", None)
    return str(dtype).removeprefix("torch.") if dtype is not None else None


def _attribute(root: Any, path: str) -> Any:
    value = root
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def _is_node(value: Any) -> bool:
    return hasattr(value, "op") and hasattr(value, "name") and hasattr(value, "meta")


def _flat(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flat(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flat(item)
    else:
        yield value
