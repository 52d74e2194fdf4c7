"""Read a target's architecture from its ONNX graph, so that ``auto`` shadow models imitate it.

``infer_onnx_architecture(path)`` never raises: a graph it does not understand (or a file that is
not ONNX at all) gives family ``"unknown"`` and a ``reason`` that says why. Only shapes and
attributes are read, never weights' values (except tree leaf weights), and external data is not
loaded.

What is recognised, first match wins:

1. **Tree ensembles** (``ai.onnx.ml`` ``TreeEnsembleClassifier``, ``TreeEnsembleRegressor``, and
   the opset-5 ``TreeEnsemble``) → ``"rf"`` or ``"gbm"``. When a graph has several ensemble nodes
   their trees are counted together.

   *Forest or boosting.* skl2onnx writes a RandomForest / ExtraTrees / DecisionTree classifier
   with ``post_transform="NONE"``, no ``base_values`` and leaf weights that are class
   probabilities divided by the number of trees (so one leaf's weights sum to at most
   ``1/n_trees`` and the trees' outputs add up to a probability vector). It writes
   GradientBoostingClassifier and HistGradientBoostingClassifier with a ``LOGISTIC`` (binary) or
   ``SOFTMAX`` (multi-class) post transform, ``base_values`` (the initial raw prediction) and
   signed leaf values scaled by the learning rate. The rule, in order:

   a. a ``LOGISTIC``/``SOFTMAX``/``SOFTMAX_ZERO``/``PROBIT`` post transform → gbm (a forest's
      averaged probabilities need no link function);
   b. a non-zero ``base_values`` → gbm (forests have no intercept);
   c. the ensemble's scores go through a ``Sigmoid``/``Softmax`` node (a regressor inside a
      boosting export) → gbm;
   d. ``aggregate_function="AVERAGE"`` → rf;
   e. all leaf weights non-negative and every leaf's total at most ``1/n_trees`` (``SUM``) → rf;
   f. otherwise (negative or larger-than-a-share leaf values: additive raw scores) → gbm.

   *Tree counts.* ``n_estimators`` is the number of distinct ``nodes_treeids`` (the number of
   ``tree_roots`` for ``TreeEnsemble``) for a forest. Boosting grows one tree per class and
   round for multi-class problems: skl2onnx numbers GradientBoostingClassifier's trees
   ``round * n_classes + class`` and HistGradientBoostingClassifier's
   ``iteration * n_trees_per_iteration + class``, each tree writing to one class (binary
   problems: one tree per round, all writing to class 0). So for gbm, when every tree writes to
   exactly one class, ``n_estimators`` = trees / number of classes written (the boosting rounds);
   else the tree count. (With numpy 2.x, skl2onnx 1.20 fails to convert a fitted
   HistGradientBoostingClassifier; graphs from other versions follow the layout above.)

   *Which booster.* scikit-learn's GradientBoostingClassifier grows depth-first trees to a depth
   limit (default 3: most trees reach it) on exact thresholds, and skl2onnx writes no missing-value
   routing for it; HistGradientBoostingClassifier grows leaf-wise trees (31 leaves, no depth limit by
   default) on at most 255 bin thresholds per feature and routes missing values per split
   (``nodes_missing_value_tracks_true``). So ``booster`` is ``"hist"`` when any split routes missing
   values to its true branch, ``"gradient"`` when some feature has more than 255 distinct thresholds
   (not binned) or the trees are depth-limited, else ``"hist"`` (None with too few trees to tell).

   *Learning rate.* For a binary booster (one base value ``b``, ``p0 = sigmoid(b)``) the first
   tree's leaves are ``learning_rate`` times a Newton step ``(q - p0) / (p0 (1 - p0))``, where
   ``q`` is the leaf's share of positives, so every leaf lies in ``[-lr/(1-p0), lr/p0]`` and a pure
   leaf reaches the bound. The largest ``v·p0`` / ``-v·(1-p0)`` over the first tree's leaves is thus
   a lower bound on the rate, reached when a leaf is pure; it is rounded up to the nearest common
   setting (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1). Multi-class graphs leave it unread.

   *Depth.* ``max_depth`` is the longest root-to-leaf path (edges), as scikit-learn counts it,
   walked through ``nodes_truenodeids``/``nodes_falsenodeids`` (and ``nodes_trueleafs``/
   ``nodes_falseleafs`` for ``TreeEnsemble``, where a one-node tree whose branches point to the
   same leaf has depth 0).

2. **Linear classifiers**: ``LinearClassifier`` (skl2onnx LogisticRegression, LinearSVC, SGD…) and
   ``SVMClassifier`` with a linear kernel → ``"logreg"``.

3. **Dense networks**: dense layers are ``Gemm`` nodes with a constant weight (width from its
   shape, transposed when ``transB=1``: torch exports) and ``MatMul`` nodes with a constant
   2-D right-hand weight (skl2onnx MLPClassifier, torch on 3-D inputs); a bias ``Add`` after a
   MatMul belongs to its layer. Each layer's predecessor is found by walking back from its data
   input through the graph to the previous dense layer; the layers must form one chain. Constant
   scaling (``Sub``/``Div``/``Mul``/``Add`` by constants), ``Cast``, ``Scaler``, ``Normalizer``,
   reshapes and ``Concat`` of inputs before the first layer are preprocessing and ignored. The
   elementwise ops between two layers give the activation: ``Relu`` → relu, ``Tanh`` → tanh,
   ``Sigmoid`` → sigmoid, ``Gelu`` or its ``Erf`` expansion → gelu, ``LeakyRelu``/``PRelu``/
   ``Elu``/``Selu``/``Celu`` → relu (nearest available); other non-linear gates → ``None``. A
   dense layer with no non-linearity after it (a linear projection such as PCA) is folded into
   the next one, since a composition of linear maps is linear. Hidden widths are the output
   widths of all dense layers but the last; no hidden layer left → ``"logreg"`` (a linear
   model, with or without a final Softmax/Sigmoid). Graphs with convolutions, recurrent cells,
   attention or control flow are not MLPs → ``"unknown"``.

``n_features`` comes from the graph inputs' fixed shapes (several ``[N, 1]`` inputs count one
each), falling back to the first dense layer's input width for a single input. ``n_classes`` comes
from class labels stored in the graph (ZipMap or classifier ``classlabels_*``, a skl2onnx label
lookup table), else a fixed ``[N, C]`` float output (``C = 1`` → 2), else the last dense layer's
width.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mia_audit.models.onnx_graph import (
    ML_DOMAIN,
    NotOnnxError,
    OnnxGraph,
    attribute,
    read_onnx_graph,
    tensor_dims,
)

# A forest's first and last trees spread their leaves alike (ratio ~1); boosting's shrink by (1 − rate) per
# round, a factor 2.8 over ten rounds at rate 0.1. With fewer trees the trend is not told from noise (gbm).
REGRESSION_TREND = 1.3
MIN_TREND_TREES = 8
_TREE_OPS = {"TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble"}
_LINK_TRANSFORMS = {"LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"}
_TREE_ENSEMBLE_TRANSFORMS = ("NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT")
_TREE_ENSEMBLE_AGGREGATES = ("AVERAGE", "SUM", "MIN", "MAX")
_SQUASH_OPS = {"Sigmoid", "Softmax", "LogSoftmax"}

# Ops between two dense layers that name an activation (value: the activation reported).
_ACTIVATIONS: dict[str, str] = {
    "Relu": "relu",
    "LeakyRelu": "relu",
    "PRelu": "relu",
    "Elu": "relu",
    "Selu": "relu",
    "Celu": "relu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "HardSigmoid": "sigmoid",
    "Gelu": "gelu",
    "Erf": "gelu",
}
# Ops that keep a map linear (elementwise affine by constants, layout changes, inference-time
# normalisation); anything else between two dense layers is a non-linearity.
_LINEAR_OPS = {
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Cast",
    "Identity",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Dropout",
    "BatchNormalization",
    "Scaler",
    "Normalizer",
    "Concat",
    "Transpose",
}
# Ops whose presence means the graph is not a plain MLP.
_NOT_MLP_OPS = {
    "Conv",
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "MaxPool",
    "AveragePool",
    "LSTM",
    "GRU",
    "RNN",
    "Attention",
    "MultiHeadAttention",
    "Loop",
    "Scan",
    "If",
    "Einsum",
}
_PREPROCESSING_SKIP = {"Cast", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}
_MAX_WALK = 500  # nodes visited when walking back between two dense layers
# Reading a forest's growth limits (see _forest_settings).
_MIN_TREES_FOR_DEPTH = 3
_MIN_TREES_FOR_FEATURES = 10
_MIN_LEAVES = 20
_PURE = 1e-6  # a class fraction this close to 0 or 1 counts as pure
_MAX_DENOMINATOR = 1000
_IMPURE_SHARE = 0.05  # fewer impure leaves than this share: grown to purity (min_samples_leaf=1)
_BOOTSTRAP_SHRINK = 1.4
_ALL_FEATURES_SHARE = 0.75
# Telling GradientBoosting from HistGradientBoosting, and reading a booster's learning rate.
_MAX_BINS = 255
_LEARNING_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
_RATE_SLACK = 0.98  # an estimate this close below a common rate rounds to it


@dataclass(frozen=True)
class InferredArchitecture:
    """The target's model family and sizes as far as its graph tells them."""

    family: str  # "mlp" | "logreg" | "rf" | "gbm" | "unknown"
    hidden: tuple[int, ...] = ()  # MLP hidden layer widths, input→output order
    activation: str | None = None  # "relu" | "tanh" | "sigmoid" | "gelu" | None
    n_estimators: int | None = None  # trees (boosting: the number of boosting rounds)
    max_depth: int | None = None  # deepest tree
    # Forests and boosting: whether max_depth was a limit (most trees reach it) or just the
    # deepest tree grown without one; None when the graph does not tell.
    depth_limited: bool | None = None
    # Random forests: the smallest leaf size read from the leaves' class fractions (None: 1 or
    # unreadable) and the share of features tried per split read from the root splits (None:
    # scikit-learn's default, sqrt).
    min_samples_leaf: int | None = None
    max_features: float | None = None
    # Boosting: "gradient" (scikit-learn GradientBoostingClassifier: depth-limited trees on exact
    # thresholds) or "hist" (HistGradientBoosting: binned, leaf-wise); None when the graph does not
    # tell. The learning rate read from the first tree's leaves (binary problems), else None.
    booster: str | None = None
    learning_rate: float | None = None
    n_features: int | None = None
    n_classes: int | None = None
    reason: str = ""  # one sentence for the report: what was read from the graph


def infer_onnx_architecture(path: str | Path) -> InferredArchitecture:
    """Read the model family (and its sizes) of the ONNX graph at ``path``; never raises."""
    try:
        graph = read_onnx_graph(path)
    except NotOnnxError as exc:
        return InferredArchitecture("unknown", reason=str(exc))
    return infer_architecture(graph)


def infer_architecture(graph: OnnxGraph) -> InferredArchitecture:
    """Read the model family (and its sizes) of a graph already read; never raises."""
    if not graph.model.ir_version or not graph.nodes:
        return InferredArchitecture("unknown", reason=f"{graph.name} is not an ONNX model (no graph nodes were found)")
    try:
        return _infer(graph)
    except Exception as exc:  # a graph this module does not understand must not stop the audit
        detail = " ".join(str(exc).split())[:160]
        return InferredArchitecture(
            "unknown", reason=f"ONNX graph of {graph.name} could not be read ({type(exc).__name__}: {detail})"
        )


# -- dispatch ----------------------------------------------------------------------------------


def _infer(graph: OnnxGraph) -> InferredArchitecture:
    n_features = _input_width(graph)
    n_classes = graph.class_count()
    tree_nodes = [n for n in graph.nodes if n.op_type in _TREE_OPS and n.domain == ML_DOMAIN]
    if tree_nodes:
        return _trees(graph, tree_nodes, n_features, n_classes)
    linear = [n for n in graph.nodes if n.domain == ML_DOMAIN and n.op_type in ("LinearClassifier", "SVMClassifier")]
    if linear:
        return _linear_classifier(graph, linear[-1], n_features, n_classes)
    return _dense(graph, n_features, n_classes)


# -- features ----------------------------------------------------------------------------------


def _input_width(graph: OnnxGraph) -> int | None:
    widths: list[int] = []
    for value_info in graph.inputs:
        dims = tensor_dims(value_info)
        if dims is None:
            return None
        rest = dims[1:]
        if any(d is None for d in rest):
            return None
        widths.append(math.prod(d for d in rest if d is not None))
    return sum(widths) if widths else None


# -- tree ensembles ----------------------------------------------------------------------------


@dataclass
class _Forest:
    """What one or more tree-ensemble nodes say, in one shape for all three operators."""

    n_trees: int = 0
    max_depth: int | None = None
    tree_targets: list[set[int]] = field(default_factory=list)  # classes/targets each tree writes
    leaf_totals: list[float] = field(default_factory=list)  # per leaf: sum of its weights
    min_weight: float = math.inf
    transforms: set[str] = field(default_factory=set)
    aggregates: set[str] = field(default_factory=set)
    base_values: bool = False
    squashed: bool = False  # scores go through Sigmoid/Softmax downstream
    ops: list[str] = field(default_factory=list)
    tree_depths: list[int] = field(default_factory=list)  # per tree: its deepest leaf
    leaves: list[tuple[int, tuple[float, ...]]] = field(default_factory=list)  # per leaf: depth, weights
    root_features: list[int] = field(default_factory=list)  # per tree: the feature its root splits on
    max_feature: int = -1  # the largest feature index any split uses
    thresholds: dict[int, set[float]] = field(default_factory=dict)  # per feature: distinct split values
    missing_to_true: int = 0  # splits that send missing values to their true branch
    first_tree: list[float] = field(default_factory=list)  # the first tree's leaf weights
    base: list[float] = field(default_factory=list)  # base_values (initial raw scores)
    regressor_tree_spreads: list[float] = field(default_factory=list)  # a TreeEnsembleRegressor's leaf sd, per tree


def _trees(
    graph: OnnxGraph, nodes: Sequence[Any], n_features: int | None, n_classes: int | None
) -> InferredArchitecture:
    forest = _Forest()
    for node in nodes:
        if node.op_type == "TreeEnsemble":
            _read_tree_ensemble(graph, node, forest)
        else:
            _read_legacy_ensemble(graph, node, forest)
        forest.ops.append(node.op_type)
        forest.squashed = forest.squashed or _feeds_squash(graph, node)
    if forest.n_trees == 0:
        return InferredArchitecture(
            "unknown",
            n_features=n_features,
            n_classes=n_classes,
            reason=f"ONNX graph: {_op_list(forest.ops)} node(s) without any tree",
        )
    family, why = _forest_or_boosting(forest)
    n_estimators = forest.n_trees
    per_round = ""
    if family == "gbm":
        written = [t for t in forest.tree_targets if t]
        targets = set().union(*written) if written else set()
        one_each = bool(written) and len(written) == forest.n_trees and all(len(t) == 1 for t in written)
        if one_each and len(targets) > 1 and forest.n_trees % len(targets) == 0:
            n_estimators = forest.n_trees // len(targets)
            per_round = f" ({n_estimators} rounds × {len(targets)} classes)"
    depth = "" if forest.max_depth is None else f" of depth ≤ {forest.max_depth}"
    kind = "random forest" if family == "rf" else "gradient boosting"
    settings, settings_text = _forest_settings(forest, family)
    reason = (
        f"ONNX graph: {_op_list(forest.ops)} with {forest.n_trees} tree{'s' if forest.n_trees != 1 else ''}"
        f"{per_round}{depth}, {why}: {kind}{settings_text}"
    )
    return InferredArchitecture(
        family,
        n_estimators=n_estimators,
        max_depth=forest.max_depth,
        n_features=n_features,
        n_classes=n_classes,
        reason=reason,
        **settings,
    )


def _forest_settings(forest: _Forest, family: str) -> tuple[dict[str, Any], str]:
    """The growth limits the trees show (see the docstring of :func:`_leaf_size`), as fields of
    :class:`InferredArchitecture`, and in words for its reason (starting with "; " when not empty)."""
    depth_limited = _depth_limited(forest)
    min_leaf = _leaf_size(forest, depth_limited) if family == "rf" else None
    max_features = _features_per_split(forest) if family == "rf" else None
    booster, booster_why = _booster(forest, depth_limited) if family == "gbm" else (None, "")
    rate = _learning_rate(forest) if family == "gbm" else None
    parts = []
    if depth_limited is not None and forest.max_depth is not None:
        parts.append(
            f"depth limited to {forest.max_depth}" if depth_limited else "depth not limited (few trees reach it)"
        )
    if min_leaf is not None:
        parts.append(f"leaves of at least about {min_leaf} records")
    if max_features is not None:
        parts.append(f"{max_features:.0%} of the features tried per split")
    if booster_why:
        parts.append(booster_why)
    if rate is not None:
        parts.append(f"learning rate about {rate:g}")
    text = "; " + ", ".join(parts) if parts else ""
    fields = {"depth_limited": depth_limited, "min_samples_leaf": min_leaf, "max_features": max_features}
    return {**fields, "booster": booster, "learning_rate": rate}, text


def _booster(forest: _Forest, depth_limited: bool | None) -> tuple[str | None, str]:
    """GradientBoosting ("gradient") or HistGradientBoosting ("hist"), and why (module docstring)."""
    if forest.missing_to_true:
        return "hist", f"{forest.missing_to_true} splits route missing values (HistGradientBoosting)"
    unbinned = [f for f, values in forest.thresholds.items() if len(values) > _MAX_BINS]
    if unbinned:
        return "gradient", f"feature {unbinned[0]} has over {_MAX_BINS} thresholds, not binned (GradientBoosting)"
    if depth_limited:
        return "gradient", "regular depth-limited trees without missing-value routing (GradientBoosting)"
    if depth_limited is False:
        return "hist", "trees of varying depth (leaf-wise HistGradientBoosting)"
    return None, ""


def _learning_rate(forest: _Forest) -> float | None:
    """A binary booster's learning rate from its first tree (see the module docstring); else None."""
    if len(forest.base) != 1 or len(forest.first_tree) < 2:
        return None
    p0 = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, forest.base[0]))))
    if not 1e-6 < p0 < 1 - 1e-6:
        return None
    bound = max(max(forest.first_tree) * p0, -min(forest.first_tree) * (1.0 - p0))
    if bound <= 0:
        return None
    return next((rate for rate in _LEARNING_RATES if bound * _RATE_SLACK <= rate), None)


def _depth_limited(forest: _Forest) -> bool | None:
    """A depth limit shows as most trees stopping at the same depth; free trees vary in depth.

    None with fewer than 3 trees (one tree cannot tell a limit from where it stopped growing).
    """
    depths = forest.tree_depths
    if len(depths) < _MIN_TREES_FOR_DEPTH or forest.max_depth is None:
        return None
    return sum(d == forest.max_depth for d in depths) >= 0.5 * len(depths)


def _leaf_size(forest: _Forest, depth_limited: bool | None) -> int | None:
    """min_samples_leaf of a forest, from its leaves' class fractions; None when 1 or unreadable.

    skl2onnx writes a forest leaf's class fractions divided by the number of trees. A fraction's
    denominator divides the leaf's (bootstrap-weighted) record count. Trees grown with
    ``min_samples_leaf=1`` split until every leaf is pure (all fractions 0 or 1) or the depth limit
    stops them; a larger minimum leaves many impure leaves above that depth. Then the lower
    quartile of the impure leaves' denominators, divided by the mean bootstrap multiplicity of a
    record drawn at least once (1/(1-1/e) ≈ 1.58, rounded down to 1.4 for the gcd's that shrink
    denominators), estimates the minimum leaf size.
    """
    from fractions import Fraction

    scale = forest.n_trees
    free = [w for d, w in forest.leaves if w and not (depth_limited and d >= (forest.max_depth or 0))]
    if len(free) < _MIN_LEAVES or scale < 1:
        return None
    denominators: list[int] = []
    for weights in free:
        fractions = [w * scale for w in weights]
        if all(f < _PURE or f > 1 - _PURE for f in fractions):
            continue
        denominator = 1
        for value in fractions:
            close = Fraction(value).limit_denominator(_MAX_DENOMINATOR)
            if abs(float(close) - value) > 1e-5:
                return None  # not class fractions: not a scikit-learn forest written by skl2onnx
            denominator = math.lcm(denominator, close.denominator)
        denominators.append(denominator)
    if len(denominators) < _IMPURE_SHARE * len(free):
        return None
    quartile = sorted(denominators)[len(denominators) // 4]
    return max(2, round(quartile / _BOOTSTRAP_SHRINK))


def _features_per_split(forest: _Forest) -> float | None:
    """The share of features each split tries, from how often the trees' roots agree.

    A root splits on the best of the features drawn for it, so the best feature overall is at the
    root of about ``max_features / n_features`` of the trees. Shares near 1 read as all features
    (1.0); a share well above sqrt's (twice ``sqrt(n)/n``) as that fraction; otherwise None
    (scikit-learn's default, sqrt, fits).
    """
    roots = forest.root_features
    n_features = forest.max_feature + 1
    if len(roots) < _MIN_TREES_FOR_FEATURES or n_features < 4:
        return None
    share = Counter(roots).most_common(1)[0][1] / len(roots)
    if share >= _ALL_FEATURES_SHARE:
        return 1.0
    if share * n_features >= 2 * math.sqrt(n_features):
        return round(share, 2)
    return None


def _untrended_regression_trees(spreads: list[float]) -> bool:
    """Whether the first quarter of the regression trees spread their leaves as widely as the last quarter,
    as a forest's trees do (each predicts the value, divided by the tree count). Boosting's trees fit what
    the earlier ones left over, so their leaves shrink from first to last."""
    if len(spreads) < MIN_TREND_TREES:
        return False
    quarter = len(spreads) // 4
    first, last = sum(spreads[:quarter]) / quarter, sum(spreads[-quarter:]) / quarter
    return last > 0 and first <= REGRESSION_TREND * last


def _forest_or_boosting(forest: _Forest) -> tuple[str, str]:
    """The rf/gbm rule of the module docstring, with the clause that decided it."""
    links = sorted(forest.transforms & _LINK_TRANSFORMS)
    if links:
        return "gbm", f"{'/'.join(links)} post-transform"
    if forest.base_values:
        return "gbm", "non-zero base values"
    if forest.squashed:
        return "gbm", "scores passed through a Sigmoid/Softmax"
    if forest.aggregates and forest.aggregates <= {"AVERAGE"}:
        return "rf", "trees averaged"
    if _untrended_regression_trees(forest.regressor_tree_spreads):
        return "rf", "regression trees whose leaves spread alike from first to last (a forest's shares of the value)"
    share = 1.0 / forest.n_trees
    probabilities = forest.min_weight >= -1e-7 and all(t <= share * (1 + 1e-3) + 1e-7 for t in forest.leaf_totals)
    if probabilities:
        return "rf", "no post-transform and leaf weights that average to probabilities"
    return "gbm", "no post-transform but signed or unbounded leaf scores that add up"


def _read_legacy_ensemble(graph: OnnxGraph, node: Any, forest: _Forest) -> None:
    """TreeEnsembleClassifier / TreeEnsembleRegressor (ai.onnx.ml opsets 1–3)."""
    onnx = graph.onnx
    prefix = "class" if node.op_type == "TreeEnsembleClassifier" else "target"
    tree_ids = _ints(attribute(node, "nodes_treeids", onnx))
    node_ids = _ints(attribute(node, "nodes_nodeids", onnx))
    features = _ints(attribute(node, "nodes_featureids", onnx))
    weights = _floats(attribute(node, f"{prefix}_weights", onnx), attribute(node, f"{prefix}_weights_as_tensor", onnx))
    leaf_trees = _ints(attribute(node, f"{prefix}_treeids", onnx))
    leaf_nodes = _ints(attribute(node, f"{prefix}_nodeids", onnx))
    leaf_targets = _ints(attribute(node, f"{prefix}_ids", onnx))
    base = _floats(attribute(node, "base_values", onnx), attribute(node, "base_values_as_tensor", onnx))

    children = _legacy_children(graph, node, tree_ids, node_ids)
    trees = sorted(set(tree_ids) | set(leaf_trees))
    targets: dict[int, set[int]] = {tree: set() for tree in trees}
    leaf_weights: dict[tuple[int, int], list[float]] = {}
    for i, (tree, nid) in enumerate(zip(leaf_trees, leaf_nodes, strict=False)):
        weight = weights[i] if i < len(weights) else 0.0
        if i < len(leaf_targets):
            targets[tree].add(leaf_targets[i])
        leaf_weights.setdefault((tree, nid), []).append(weight)
        forest.min_weight = min(forest.min_weight, weight)
    feature_of = {key: features[i] for i, key in enumerate(zip(tree_ids, node_ids, strict=False)) if i < len(features)}
    for tree in trees:
        tree_children = {n: c for (t, n), c in children.items() if t == tree}
        depths = _legacy_leaf_depths(tree_children)
        if depths is None:
            continue
        root, leaf_depths = depths
        deepest = max(leaf_depths.values(), default=0)
        forest.max_depth = deepest if forest.max_depth is None else max(forest.max_depth, deepest)
        forest.tree_depths.append(deepest)
        if tree_children.get(root) is not None and (tree, root) in feature_of:
            forest.root_features.append(feature_of[(tree, root)])
        forest.leaves.extend((d, tuple(leaf_weights.get((tree, n), ()))) for n, d in leaf_depths.items())
        if prefix == "target" and leaf_depths:
            totals = [sum(leaf_weights.get((tree, n), ())) for n in leaf_depths]
            mean = sum(totals) / len(totals)
            forest.regressor_tree_spreads.append(math.sqrt(sum((t - mean) ** 2 for t in totals) / len(totals)))
    branches = [i for i, key in enumerate(zip(tree_ids, node_ids, strict=False)) if children.get(key) is not None]
    values = _floats(attribute(node, "nodes_values", onnx), attribute(node, "nodes_values_as_tensor", onnx))
    tracks = _ints(attribute(node, "nodes_missing_value_tracks_true", onnx))
    _note_splits(
        forest,
        [features[i] for i in branches if i < len(features) and i < len(values)],
        [values[i] for i in branches if i < len(features) and i < len(values)],
        [tracks[i] for i in branches if i < len(tracks)],
    )
    if trees and forest.n_trees == 0:
        forest.first_tree = [w for (t, _), ws in leaf_weights.items() if t == trees[0] for w in ws]
    split_features = [f for key, f in feature_of.items() if children.get(key) is not None]
    forest.max_feature = max([forest.max_feature, *split_features])
    forest.n_trees += len(trees)
    forest.tree_targets.extend(targets[tree] for tree in trees)
    forest.leaf_totals.extend(sum(w) for w in leaf_weights.values())
    transform = _text(attribute(node, "post_transform", onnx) or "NONE")
    forest.transforms.add(transform.upper())
    if prefix == "target":
        forest.aggregates.add(_text(attribute(node, "aggregate_function", onnx) or "SUM").upper())
    forest.base_values = forest.base_values or any(abs(v) > 1e-12 for v in base)
    forest.base = forest.base or base


def _legacy_children(
    graph: OnnxGraph, node: Any, tree_ids: list[int], node_ids: list[int]
) -> dict[tuple[int, int], tuple[int, int] | None]:
    """(tree, node) → its (true, false) children, or None for a leaf."""
    onnx = graph.onnx
    true_ids = _ints(attribute(node, "nodes_truenodeids", onnx))
    false_ids = _ints(attribute(node, "nodes_falsenodeids", onnx))
    modes = [_text(m) for m in attribute(node, "nodes_modes", onnx) or []]
    children: dict[tuple[int, int], tuple[int, int] | None] = {}
    for i, (tree, nid) in enumerate(zip(tree_ids, node_ids, strict=False)):
        leaf = i < len(modes) and modes[i] == "LEAF"
        if leaf or i >= len(true_ids) or i >= len(false_ids):
            children[(tree, nid)] = None
        else:
            children[(tree, nid)] = (true_ids[i], false_ids[i])
    return children


def _legacy_leaf_depths(children: dict[int, tuple[int, int] | None]) -> tuple[int, dict[int, int]] | None:
    """The root of one tree and the depth (edges from the root) of each of its leaves."""
    if not children:
        return None
    referenced = {c for pair in children.values() if pair for c in pair}
    roots = sorted(set(children) - referenced) or sorted(children)
    leaves: dict[int, int] = {}
    seen: set[int] = set()
    stack = [(roots[0], 0)]
    while stack:
        nid, depth = stack.pop()
        if nid in seen or nid not in children:
            continue
        seen.add(nid)
        pair = children[nid]
        if pair is None:
            leaves[nid] = depth
        else:
            stack.extend((child, depth + 1) for child in pair)
    return roots[0], leaves


def _read_tree_ensemble(graph: OnnxGraph, node: Any, forest: _Forest) -> None:
    """TreeEnsemble (ai.onnx.ml opset 5): interior nodes and leaves in separate arrays."""
    onnx = graph.onnx
    roots = _ints(attribute(node, "tree_roots", onnx))
    true_ids = _ints(attribute(node, "nodes_truenodeids", onnx))
    false_ids = _ints(attribute(node, "nodes_falsenodeids", onnx))
    true_leaf = _ints(attribute(node, "nodes_trueleafs", onnx))
    false_leaf = _ints(attribute(node, "nodes_falseleafs", onnx))
    weights = _floats(None, attribute(node, "leaf_weights", onnx))
    leaf_targets = _ints(attribute(node, "leaf_targetids", onnx))
    features = _ints(attribute(node, "nodes_featureids", onnx))
    splits = _floats(None, attribute(node, "nodes_splits", onnx))
    _note_splits(forest, features, splits, _ints(attribute(node, "nodes_missing_value_tracks_true", onnx)))
    if roots and forest.n_trees == 0:
        first = _tree_ensemble_leaves(roots[0], true_ids, false_ids, true_leaf, false_leaf)
        forest.first_tree = [weights[i] for i in first if i < len(weights)]
    for root in roots:
        leaves = _tree_ensemble_leaves(root, true_ids, false_ids, true_leaf, false_leaf)
        deepest = max(leaves.values(), default=0)
        forest.max_depth = deepest if forest.max_depth is None else max(forest.max_depth, deepest)
        forest.tree_depths.append(deepest)
        forest.tree_targets.append({leaf_targets[i] for i in leaves if i < len(leaf_targets)})
        leaf_weights = [weights[i] for i in leaves if i < len(weights)]
        forest.leaf_totals.extend(leaf_weights)
        forest.min_weight = min([forest.min_weight, *leaf_weights])
        forest.leaves.extend((d, (weights[i],) if i < len(weights) else ()) for i, d in leaves.items())
        one_leaf = (
            true_leaf[root : root + 1] == [1]
            and false_leaf[root : root + 1] == [1]
            and (true_ids[root] == false_ids[root])
        )
        if root < len(features) and not one_leaf:
            forest.root_features.append(features[root])
    if features:
        forest.max_feature = max(forest.max_feature, max(features))
    forest.n_trees += len(roots)
    transform = attribute(node, "post_transform", onnx) or 0
    aggregate = attribute(node, "aggregate_function", onnx)
    forest.transforms.add(_enum(transform, _TREE_ENSEMBLE_TRANSFORMS))
    forest.aggregates.add(_enum(1 if aggregate is None else aggregate, _TREE_ENSEMBLE_AGGREGATES))


def _note_splits(forest: _Forest, features: list[int], thresholds: list[float], missing: list[int]) -> None:
    """Record split thresholds per feature and splits that route missing values to true."""
    for feature, threshold in zip(features, thresholds, strict=False):
        forest.thresholds.setdefault(feature, set()).add(threshold)
    forest.missing_to_true += sum(1 for m in missing if m)


def _tree_ensemble_leaves(
    root: int, true_ids: list[int], false_ids: list[int], true_leaf: list[int], false_leaf: list[int]
) -> dict[int, int]:
    """One TreeEnsemble tree: leaf index → depth (edges from the root)."""
    leaves: dict[int, int] = {}
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        index, depth = stack.pop()
        if index in seen or index >= len(true_ids) or index >= len(false_ids):
            continue
        seen.add(index)
        branches = (
            (true_ids[index], index < len(true_leaf) and bool(true_leaf[index])),
            (false_ids[index], index < len(false_leaf) and bool(false_leaf[index])),
        )
        if all(is_leaf for _, is_leaf in branches) and branches[0][0] == branches[1][0]:
            leaves[branches[0][0]] = depth  # a one-leaf tree written as a node pointing twice to it
            continue
        for child, is_leaf in branches:
            if is_leaf:
                leaves[child] = depth + 1
            else:
                stack.append((child, depth + 1))
    return leaves


def _enum(value: Any, names: Sequence[str]) -> str:
    index = int(value) if isinstance(value, int) else -1
    return names[index] if 0 <= index < len(names) else str(value)


def _feeds_squash(graph: OnnxGraph, node: Any) -> bool:
    """Whether the node's score output reaches a Sigmoid/Softmax through a few simple ops."""
    start = node.output[-1] if node.op_type == "TreeEnsembleClassifier" else node.output[0]
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    seen: set[str] = set()
    while queue:
        name, steps = queue.popleft()
        if name in seen or steps > 6:
            continue
        seen.add(name)
        for consumer in graph.consumers.get(name, []):
            if consumer.op_type in _SQUASH_OPS:
                return True
            if consumer.op_type in _LINEAR_OPS:
                queue.extend((out, steps + 1) for out in consumer.output)
    return False


# -- linear classifiers ------------------------------------------------------------------------


def _linear_classifier(
    graph: OnnxGraph, node: Any, n_features: int | None, n_classes: int | None
) -> InferredArchitecture:
    onnx = graph.onnx
    if node.op_type == "SVMClassifier":
        kernel = _text(attribute(node, "kernel_type", onnx) or "LINEAR").upper()
        if kernel != "LINEAR":
            return InferredArchitecture(
                "unknown",
                n_features=n_features,
                n_classes=n_classes,
                reason=f"ONNX graph: SVMClassifier with kernel_type {kernel}, not one of the shadow families",
            )
    coefficients = _floats(attribute(node, "coefficients", onnx), None)
    if n_features is None and n_classes and coefficients:
        rows = 1 if n_classes == 2 and len(coefficients) % 2 else n_classes
        n_features = len(coefficients) // rows if len(coefficients) % rows == 0 else None
    transform = _text(attribute(node, "post_transform", onnx) or "NONE").upper()
    sizes = _sizes_text(n_features, n_classes)
    link = "" if transform == "NONE" else f", {transform} post-transform"
    return InferredArchitecture(
        "logreg",
        n_features=n_features,
        n_classes=n_classes,
        reason=f"ONNX graph: {node.op_type}{sizes}{link}: a linear classifier",
    )


# -- dense networks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dense:
    node: Any
    data_input: str
    width_in: int
    width_out: int


def _dense(graph: OnnxGraph, n_features: int | None, n_classes: int | None) -> InferredArchitecture:
    odd = sorted({n.op_type for n in graph.nodes if n.op_type in _NOT_MLP_OPS})
    layers = [layer for node in graph.nodes if (layer := _dense_layer(graph, node)) is not None]
    if odd:
        return InferredArchitecture(
            "unknown",
            n_features=n_features,
            n_classes=n_classes,
            reason=f"ONNX graph has {', '.join(odd)} ops: not a plain MLP, tree ensemble or linear classifier",
        )
    if not layers:
        ops = sorted({n.op_type for n in graph.nodes})
        return InferredArchitecture(
            "unknown",
            n_features=n_features,
            n_classes=n_classes,
            reason=f"ONNX graph has no dense layer, tree ensemble or linear classifier (ops: {_op_list(ops)})",
        )
    chain, between, error = _chain(graph, layers)
    if error:
        return InferredArchitecture(
            "unknown", n_features=n_features, n_classes=n_classes, reason=f"ONNX graph: {error}"
        )
    if n_features is None and len(graph.inputs) == 1:
        n_features = chain[0].width_in
    if n_classes is None:
        last = chain[-1].width_out
        n_classes = 2 if last == 1 else last
    return _describe_network(graph, chain, between, n_features, n_classes)


def _dense_layer(graph: OnnxGraph, node: Any) -> _Dense | None:
    if node.op_type not in ("Gemm", "MatMul") or len(node.input) < 2:
        return None
    data, weight = node.input[0], node.input[1]
    if graph.is_constant(data) or not graph.is_constant(weight):
        return None
    shape = graph.constant_shapes.get(weight)
    if shape is None or len(shape) != 2 or min(shape) < 1:
        return None
    width_in, width_out = shape
    if node.op_type == "Gemm":
        if attribute(node, "transA", graph.onnx):
            return None
        if attribute(node, "transB", graph.onnx):
            width_in, width_out = width_out, width_in
    return _Dense(node, data, int(width_in), int(width_out))


def _chain(graph: OnnxGraph, layers: list[_Dense]) -> tuple[list[_Dense], list[list[Any]], str]:
    """The dense layers as one chain, and for each link the nodes between two layers."""
    by_output = {layer.node.output[0]: i for i, layer in enumerate(layers)}
    previous: list[int | None] = []
    between: list[list[Any]] = []
    for layer in layers:
        reached, nodes = _walk_back(graph, layer.data_input, by_output)
        if len(reached) > 1:
            return [], [], "dense layers do not form one chain (branches or skip connections)"
        previous.append(next(iter(reached)) if reached else None)
        between.append(nodes)
    order, problem = chain_order(previous, "dense")
    if order is None:
        return [], [], problem
    return [layers[i] for i in order], [between[i] for i in order], ""


def chain_order(previous: list[int | None], what: str) -> tuple[list[int] | None, str]:
    """The layers in data order, given each one's predecessor; None and why when they are not one chain.

    Shared by the ONNX and the PyTorch readers: ``what`` names the layers in the message.
    """
    successors = Counter(p for p in previous if p is not None)
    if any(count > 1 for count in successors.values()):
        return None, f"{what} layers do not form one chain (a layer feeds several others)"
    ends = [i for i in range(len(previous)) if i not in successors]
    if len(ends) != 1:
        return None, f"{len(ends)} separate stacks of {what} layers, not one MLP"
    order = [ends[0]]
    while (before := previous[order[-1]]) is not None and before not in order:
        order.append(before)
    if len(order) != len(previous):
        return None, f"{what} layers do not form one chain"
    return order[::-1], ""


def _walk_back(graph: OnnxGraph, start: str, dense_outputs: dict[str, int]) -> tuple[set[int], list[Any]]:
    """Dense layers reached walking back from ``start``, and the nodes passed on the way."""
    reached: set[int] = set()
    nodes: list[Any] = []
    seen: set[str] = set()
    queue: deque[str] = deque([start])
    while queue and len(nodes) < _MAX_WALK:
        name = queue.popleft()
        if name in seen or graph.is_constant(name):
            continue
        seen.add(name)
        if name in dense_outputs:
            reached.add(dense_outputs[name])
            continue
        node = graph.made_by.get(name)
        if node is None:
            continue  # a graph input
        nodes.append(node)
        queue.extend(i for i in node.input if i)
    return reached, nodes


def _nonlinear(graph: OnnxGraph, nodes: Iterable[Any]) -> list[Any]:
    """The nodes that make the map between two layers non-linear."""
    found = []
    for node in nodes:
        if node.op_type in ("Mul", "Div"):
            if sum(not graph.is_constant(i) for i in node.input) > 1:
                found.append(node)  # a gate x * f(x): GELU's erf form, SiLU, ...
        elif node.op_type not in _LINEAR_OPS:
            found.append(node)
    return found


def _describe_network(
    graph: OnnxGraph,
    chain: list[_Dense],
    between: list[list[Any]],
    n_features: int | None,
    n_classes: int | None,
) -> InferredArchitecture:
    # between[i]: nodes from layer i-1 (or the graph input) to layer i.
    kept: list[_Dense] = []
    activations: list[str] = []
    shown: list[str] = []
    folded = 0
    for i, layer in enumerate(chain[:-1]):
        gates = {g.op_type for g in _nonlinear(graph, between[i + 1])}
        if not gates:
            folded += 1
            continue
        kept.append(layer)
        activations.append(_activation_name(gates))
        label = "Gelu (erf form)" if "Erf" in gates else "·".join(sorted(gates))
        if label not in shown:
            shown.append(label)
    widths = [chain[0].width_in, *(layer.width_out for layer in kept), chain[-1].width_out]
    preprocessing = _preprocessing(between[0])
    ops = "/".join(sorted({layer.node.op_type for layer in chain}))
    shape_text = "→".join(str(w) for w in widths)
    extras = []
    if preprocessing:
        extras.append(f"after {preprocessing} preprocessing")
    if folded:
        extras.append(f"{folded} linear projection{'s' if folded > 1 else ''} without activation folded in")
    output = _output_squash(graph, chain[-1])
    extras.append(f"{output} output" if output else "logit output")
    tail = "; " + ", ".join(extras)
    if not kept:
        return InferredArchitecture(
            "logreg",
            n_features=n_features,
            n_classes=n_classes,
            reason=f"ONNX graph: {len(chain)} {ops} layer{'s' if len(chain) > 1 else ''} {shape_text} "
            f"with no hidden non-linearity{tail}: a linear classifier",
        )
    names = [a for a in activations if a]
    activation = Counter(names).most_common(1)[0][0] if names else None
    act_text = f"{'/'.join(shown)} activations" + ("" if activation else " (no matching shadow activation)")
    return InferredArchitecture(
        "mlp",
        hidden=tuple(layer.width_out for layer in kept),
        activation=activation,
        n_features=n_features,
        n_classes=n_classes,
        reason=f"ONNX graph: {len(kept) + 1} {ops} layers {shape_text} with {act_text}{tail}",
    )


def _activation_name(ops: set[str]) -> str:
    if "Gelu" in ops or "Erf" in ops:
        return "gelu"
    if "Sigmoid" in ops and ops & {"Mul", "Div"}:
        return ""  # SiLU/swish: a sigmoid gate, not a sigmoid activation
    named = [_ACTIVATIONS[op] for op in sorted(ops) if op in _ACTIVATIONS]
    return named[0] if len(set(named)) == 1 else ""


def _preprocessing(nodes: Sequence[Any]) -> str:
    ops = []
    for node in reversed(nodes):  # walked back from the first layer: reverse into graph order
        if node.op_type not in _PREPROCESSING_SKIP and node.op_type not in ops:
            ops.append(node.op_type)
    return "/".join(ops)


def _output_squash(graph: OnnxGraph, last: _Dense) -> str:
    queue: deque[tuple[str, int]] = deque([(last.node.output[0], 0)])
    while queue:
        name, steps = queue.popleft()
        if steps > 4:
            continue
        for consumer in graph.consumers.get(name, []):
            if consumer.op_type in _SQUASH_OPS:
                return consumer.op_type
            if consumer.op_type in _LINEAR_OPS:
                queue.extend((out, steps + 1) for out in consumer.output)
    return ""


# -- small helpers -----------------------------------------------------------------------------


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values] if values is not None else []


def _floats(values: Any, tensor_values: Any) -> list[float]:
    chosen = values if values else tensor_values
    return [float(v) for v in chosen] if chosen else []


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _op_list(ops: Sequence[str]) -> str:
    counts = Counter(ops)
    return ", ".join(op if n == 1 else f"{n} {op} nodes" for op, n in counts.items())


def _sizes_text(n_features: int | None, n_classes: int | None) -> str:
    parts = []
    if n_features is not None:
        parts.append(f"{n_features} features")
    if n_classes is not None:
        parts.append(f"{n_classes} classes")
    return f" ({', '.join(parts)})" if parts else ""
