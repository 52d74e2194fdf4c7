"""infer_onnx_architecture against real graphs from torch.onnx.export and skl2onnx."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_models import (
    build_skl2onnx_logreg,
    build_skl2onnx_pipeline,
    classification_data,
    export_torch_onnx,
    mixed_frame,
)

from mia_audit.models.architecture import InferredArchitecture, infer_onnx_architecture

SAMPLE_MLP = Path(__file__).resolve().parents[2] / "sample_models" / "mlp_leaky.onnx"
N_FEATURES = 8


@pytest.fixture(scope="module")
def data3() -> tuple[np.ndarray, np.ndarray]:
    return classification_data(n=300, n_features=N_FEATURES, n_classes=3, seed=0)


@pytest.fixture(scope="module")
def data2() -> tuple[np.ndarray, np.ndarray]:
    return classification_data(n=300, n_features=N_FEATURES, n_classes=2, seed=1)


# -- helpers -----------------------------------------------------------------------------------


def _export(module: Any, path: Path, n_features: int = N_FEATURES, **kwargs: Any) -> Path:
    """torch.onnx.export (TorchScript exporter) of an untrained module; shapes are all we need."""
    import torch

    if not kwargs:
        return export_torch_onnx(module.eval(), path, n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(2, n_features),),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            dynamo=False,
            **kwargs,
        )
    return path


def _skl2onnx(model: Any, path: Path, n_features: int = N_FEATURES, **options: Any) -> Path:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options={id(final): {"zipmap": False, **options}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path.write_bytes(onx.SerializeToString())
    return path


def _save_graph(path: Path, nodes: list[Any], inputs: list[Any], outputs: list[Any], **kwargs: Any) -> Path:
    import onnx
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=kwargs.pop("initializer", []))
    opsets = kwargs.pop("opsets", [helper.make_opsetid("", 17)])
    model = helper.make_model(graph, opset_imports=opsets)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _float_info(name: str, width: int | None) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, width])


def _legacy_attributes(path: Path) -> dict[str, Any]:
    import onnx

    node = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "TreeEnsembleClassifier")
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _to_tree_ensemble(path: Path, out: Path, *, post_transform: int, aggregate: int = 1) -> Path:
    """Rewrite a binary skl2onnx TreeEnsembleClassifier (one weight per leaf) as opset-5 TreeEnsemble."""
    from onnx import TensorProto, helper, numpy_helper

    a = _legacy_attributes(path)
    leaf_weight = {
        (t, n): (w, c)
        for t, n, w, c in zip(a["class_treeids"], a["class_nodeids"], a["class_weights"], a["class_ids"], strict=True)
    }
    nodes = {}
    for i, key in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"], strict=True)):
        nodes[key] = (
            a["nodes_modes"][i],
            a["nodes_truenodeids"][i],
            a["nodes_falsenodeids"][i],
            a["nodes_featureids"][i],
            a["nodes_values"][i],
        )
    interior = [k for k, v in nodes.items() if v[0] != b"LEAF"]
    leaves = [k for k, v in nodes.items() if v[0] == b"LEAF"]
    node_index = {k: i for i, k in enumerate(interior)}
    leaf_index = {k: i for i, k in enumerate(leaves)}
    trees = sorted({t for t, _ in nodes})
    roots = [node_index[(t, 0)] for t in trees]
    cols: dict[str, list[Any]] = {k: [] for k in ("true", "tleaf", "false", "fleaf", "feat", "split")}
    for tree, nid in interior:
        _, true_id, false_id, feature, split = nodes[(tree, nid)]
        for side, child in (("true", true_id), ("false", false_id)):
            is_leaf = (tree, child) in leaf_index
            cols[side].append(leaf_index[(tree, child)] if is_leaf else node_index[(tree, child)])
            cols["tleaf" if side == "true" else "fleaf"].append(int(is_leaf))
        cols["feat"].append(feature)
        cols["split"].append(split)
    node = helper.make_node(
        "TreeEnsemble",
        ["input"],
        ["scores"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function=aggregate,
        post_transform=post_transform,
        tree_roots=roots,
        nodes_featureids=cols["feat"],
        nodes_splits=numpy_helper.from_array(np.asarray(cols["split"], dtype=np.float32)),
        nodes_modes=numpy_helper.from_array(np.zeros(len(interior), dtype=np.uint8)),
        nodes_truenodeids=cols["true"],
        nodes_trueleafs=cols["tleaf"],
        nodes_falsenodeids=cols["false"],
        nodes_falseleafs=cols["fleaf"],
        leaf_targetids=[int(leaf_weight[k][1]) for k in leaves],
        leaf_weights=numpy_helper.from_array(np.asarray([leaf_weight[k][0] for k in leaves], dtype=np.float32)),
    )
    return _save_graph(
        out,
        [node],
        [_float_info("input", N_FEATURES)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1])],
        opsets=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)],
    )


def _regressor_graph(path: Path, out: Path, *, aggregate: str, squash: str | None) -> Path:
    """A TreeEnsembleRegressor over a binary skl2onnx ensemble's trees, optionally + Sigmoid."""
    from onnx import TensorProto, helper

    a = _legacy_attributes(path)
    keep = [k for k in a if k.startswith("nodes_")]
    attrs = {k: a[k] for k in keep}
    attrs.update(
        target_treeids=a["class_treeids"],
        target_nodeids=a["class_nodeids"],
        target_ids=a["class_ids"],
        target_weights=a["class_weights"],
        n_targets=1,
        aggregate_function=aggregate,
    )
    nodes = [helper.make_node("TreeEnsembleRegressor", ["input"], ["raw"], domain="ai.onnx.ml", **attrs)]
    if squash:
        nodes.append(helper.make_node(squash, ["raw"], ["scores"]))
    else:
        nodes.append(helper.make_node("Identity", ["raw"], ["scores"]))
    return _save_graph(
        out,
        nodes,
        [_float_info("input", N_FEATURES)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1])],
        opsets=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
    )


# -- torch MLPs --------------------------------------------------------------------------------


def test_torch_mlp_one_hidden_relu(tmp_path: Path) -> None:
    import torch

    # The graph of fixtures_models.build_torch_mlp_onnx, untrained (training adds seconds, not shapes).
    mlp = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    path = export_torch_onnx(
        torch.nn.Sequential(mlp, torch.nn.Softmax(dim=1)).eval(), tmp_path / "mlp.onnx", N_FEATURES
    )
    arch = infer_onnx_architecture(path)
    assert arch == InferredArchitecture(
        "mlp", hidden=(32,), activation="relu", n_features=8, n_classes=3, reason=arch.reason
    )
    assert "2 Gemm layers 8→32→3" in arch.reason and "Relu" in arch.reason and "Softmax output" in arch.reason


def test_torch_mlp_two_hidden_tanh_with_logit_output(tmp_path: Path) -> None:
    import torch

    module = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 24),
        torch.nn.Tanh(),
        torch.nn.Linear(24, 12),
        torch.nn.Tanh(),
        torch.nn.Linear(12, 5),
    )
    arch = infer_onnx_architecture(_export(module, tmp_path / "tanh.onnx"))
    assert (arch.family, arch.hidden, arch.activation) == ("mlp", (24, 12), "tanh")
    assert (arch.n_features, arch.n_classes) == (8, 5)
    assert "8→24→12→5" in arch.reason and "logit output" in arch.reason


def test_torch_mlp_behind_a_scaling_step(tmp_path: Path) -> None:
    import torch

    class Standardise(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.linspace(-1.0, 1.0, N_FEATURES))
            self.register_buffer("std", torch.linspace(0.5, 2.0, N_FEATURES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x - self.mean) / self.std

    module = torch.nn.Sequential(
        Standardise(),
        torch.nn.Linear(N_FEATURES, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 4),
        torch.nn.Softmax(dim=1),
    )
    arch = infer_onnx_architecture(_export(module, tmp_path / "scaled.onnx"))
    assert (arch.family, arch.hidden, arch.activation, arch.n_features, arch.n_classes) == (
        "mlp",
        (64, 32),
        "relu",
        8,
        4,
    )
    assert "Sub/Div preprocessing" in arch.reason


@pytest.mark.parametrize("opset", [17, 20])
def test_torch_gelu_as_op_and_as_its_erf_expansion(tmp_path: Path, opset: int) -> None:
    import onnx
    import torch

    module = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 16), torch.nn.GELU(), torch.nn.Linear(16, 3))
    path = _export(module, tmp_path / "gelu.onnx", opset_version=opset)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert ("Erf" in ops) == (opset == 17)  # the exporter writes the erf form before opset 20
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.hidden, arch.activation) == ("mlp", (16,), "gelu")


def test_torch_mlp_on_a_3d_input_uses_matmul_add(tmp_path: Path) -> None:
    import onnx
    import torch

    class Batched(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Linear(N_FEATURES, 20)
            self.b = torch.nn.Linear(20, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.sigmoid(self.a(x.unsqueeze(1)))).squeeze(1)

    path = _export(Batched(), tmp_path / "matmul.onnx")
    assert "MatMul" in {n.op_type for n in onnx.load(str(path)).graph.node}
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.hidden, arch.activation, arch.n_classes) == ("mlp", (20,), "sigmoid", 3)


def test_single_dense_layer_is_logreg(tmp_path: Path) -> None:
    import torch

    # The graph of fixtures_models.build_torch_binary_onnx(sigmoid=True): one output column.
    module = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 1)), torch.nn.Sigmoid())
    arch = infer_onnx_architecture(_export(module, tmp_path / "linear.onnx"))
    assert (arch.family, arch.hidden, arch.activation, arch.n_features, arch.n_classes) == ("logreg", (), None, 8, 2)
    assert "Sigmoid output" in arch.reason


def test_stacked_linear_layers_without_activation_are_a_linear_model(tmp_path: Path) -> None:
    import torch

    module = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 16), torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1))
    arch = infer_onnx_architecture(_export(module, tmp_path / "linear2.onnx"))
    assert (arch.family, arch.hidden) == ("logreg", ())
    assert "folded" in arch.reason


# -- skl2onnx ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "expected", "data"),
    [("relu", "relu", "data3"), ("tanh", "tanh", "data2"), ("logistic", "sigmoid", "data3")],
)
def test_skl2onnx_mlp_pipeline_with_scaler(
    tmp_path: Path, activation: str, expected: str, data: str, request: pytest.FixtureRequest
) -> None:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = request.getfixturevalue(data)
    mlp = MLPClassifier((12, 6), activation=activation, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged after 5 iterations; shapes are what matter
        pipe = make_pipeline(StandardScaler(), mlp).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(pipe, tmp_path / "mlp.onnx"))
    n_classes = len(np.unique(y))
    assert (arch.family, arch.hidden, arch.activation) == ("mlp", (12, 6), expected)
    assert (arch.n_features, arch.n_classes) == (8, n_classes)
    assert "Scaler preprocessing" in arch.reason
    assert ("Sigmoid output" if n_classes == 2 else "Softmax output") in arch.reason


def test_linear_projection_before_an_mlp_is_folded(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline

    X, y = data3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(PCA(5), MLPClassifier((10,), max_iter=5, random_state=0)).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(pipe, tmp_path / "pca_mlp.onnx"))
    assert (arch.family, arch.hidden, arch.activation, arch.n_features) == ("mlp", (10,), "relu", 8)


def test_bundled_sample_mlp() -> None:
    arch = infer_onnx_architecture(SAMPLE_MLP)
    assert (arch.family, arch.hidden, arch.activation) == ("mlp", (256,), "relu")
    assert (arch.n_features, arch.n_classes) == (24, 4)
    assert "24→256→4" in arch.reason


@pytest.mark.parametrize("zipmap", [True, False])
def test_skl2onnx_logistic_regression(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray], zipmap: bool) -> None:
    X, y = data3
    path = tmp_path / "logreg.onnx"
    build_skl2onnx_logreg(path, X, y, zipmap=zipmap)
    arch = infer_onnx_architecture(path)
    assert arch == InferredArchitecture("logreg", n_features=8, n_classes=3, reason=arch.reason)
    assert "LinearClassifier" in arch.reason


def test_skl2onnx_pipeline_with_named_inputs(tmp_path: Path) -> None:
    frame, labels = mixed_frame(n=120)
    path = tmp_path / "pipe.onnx"
    build_skl2onnx_pipeline(path, frame, labels)
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.n_features, arch.n_classes) == ("logreg", 4, 3)


@pytest.mark.parametrize(("kernel", "family"), [("linear", "logreg"), ("rbf", "unknown")])
def test_skl2onnx_svm_by_kernel(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray], kernel: str, family: str) -> None:
    from sklearn.svm import SVC

    X, y = data3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skl2onnx reads SVC's deprecated probA_/probB_
        path = _skl2onnx(SVC(kernel=kernel).fit(X, y), tmp_path / "svm.onnx")
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.n_features, arch.n_classes) == (family, 8, 3)
    assert "SVMClassifier" in arch.reason


# -- tree ensembles ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["data2", "data3"])
def test_random_forest_trees_and_depth(tmp_path: Path, data: str, request: pytest.FixtureRequest) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = request.getfixturevalue(data)
    forest = RandomForestClassifier(n_estimators=7, max_depth=4, random_state=0).fit(X, y)
    assert max(tree.get_depth() for tree in forest.estimators_) == 4
    arch = infer_onnx_architecture(_skl2onnx(forest, tmp_path / "rf.onnx"))
    assert (arch.family, arch.n_estimators, arch.max_depth) == ("rf", 7, 4)
    assert (arch.n_features, arch.n_classes) == (8, len(np.unique(y)))
    assert "7 trees" in arch.reason and "probabilities" in arch.reason


def test_single_decision_tree_is_a_one_tree_forest(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = data3
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(tree, tmp_path / "tree.onnx"))
    assert (arch.family, arch.n_estimators, arch.max_depth) == ("rf", 1, tree.get_depth())


@pytest.mark.parametrize("data", ["data2", "data3"])
def test_gradient_boosting_rounds_and_depth(tmp_path: Path, data: str, request: pytest.FixtureRequest) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = request.getfixturevalue(data)
    boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(boosting, tmp_path / "gb.onnx"))
    n_classes = len(np.unique(y))
    assert (arch.family, arch.n_estimators, arch.max_depth) == ("gbm", 5, 2)
    assert (arch.n_features, arch.n_classes) == (8, n_classes)
    assert ("LOGISTIC" if n_classes == 2 else "SOFTMAX") in arch.reason
    if n_classes == 3:
        assert "15 trees (5 rounds × 3 classes)" in arch.reason


def test_gradient_boosting_raw_scores_is_still_boosting(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data3
    boosting = GradientBoostingClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(boosting, tmp_path / "gb_raw.onnx", raw_scores=True))
    assert (arch.family, arch.n_estimators, arch.max_depth) == ("gbm", 4, 3)


def test_hist_gradient_boosting_when_skl2onnx_converts_it(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = data3
    boosting = HistGradientBoostingClassifier(max_iter=4, max_depth=3, random_state=0).fit(X, y)
    try:
        path = _skl2onnx(boosting, tmp_path / "hgb.onnx")
    except Exception as exc:  # skl2onnx 1.20 with numpy 2.x fails on this converter
        pytest.skip(f"skl2onnx cannot convert HistGradientBoostingClassifier here: {type(exc).__name__}")
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.n_estimators) == ("gbm", boosting.n_iter_)
    assert arch.max_depth is not None and arch.max_depth <= 3


def test_opset5_tree_ensemble(tmp_path: Path, data2: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    X, y = data2
    forest = RandomForestClassifier(n_estimators=7, max_depth=4, random_state=0).fit(X, y)
    legacy = _skl2onnx(forest, tmp_path / "rf.onnx")
    rf_sum = infer_onnx_architecture(_to_tree_ensemble(legacy, tmp_path / "rf5.onnx", post_transform=0))
    assert (rf_sum.family, rf_sum.n_estimators, rf_sum.max_depth) == ("rf", 7, 4)

    boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    legacy = _skl2onnx(boosting, tmp_path / "gb.onnx")
    gb = infer_onnx_architecture(_to_tree_ensemble(legacy, tmp_path / "gb5.onnx", post_transform=2))
    assert (gb.family, gb.n_estimators, gb.max_depth) == ("gbm", 5, 2)
    assert "LOGISTIC" in gb.reason


def test_opset5_one_leaf_tree_has_depth_zero(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(
        "TreeEnsemble",
        ["input"],
        ["scores"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function=0,
        tree_roots=[0],
        nodes_featureids=[0],
        nodes_splits=numpy_helper.from_array(np.zeros(1, dtype=np.float32)),
        nodes_modes=numpy_helper.from_array(np.zeros(1, dtype=np.uint8)),
        nodes_truenodeids=[0],
        nodes_trueleafs=[1],
        nodes_falsenodeids=[0],
        nodes_falseleafs=[1],
        leaf_targetids=[0],
        leaf_weights=numpy_helper.from_array(np.asarray([0.5], dtype=np.float32)),
    )
    path = _save_graph(
        tmp_path / "stump.onnx",
        [node],
        [_float_info("input", 3)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 1])],
        opsets=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)],
    )
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.n_estimators, arch.max_depth, arch.n_features) == ("rf", 1, 0, 3)


@pytest.mark.parametrize(
    ("aggregate", "squash", "family"),
    [("SUM", "Sigmoid", "gbm"), ("AVERAGE", None, "rf"), ("SUM", None, "gbm")],
)
def test_tree_ensemble_regressor(
    tmp_path: Path, data2: tuple[np.ndarray, np.ndarray], aggregate: str, squash: str | None, family: str
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data2
    boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    legacy = _skl2onnx(boosting, tmp_path / "gb.onnx")
    arch = infer_onnx_architecture(_regressor_graph(legacy, tmp_path / "reg.onnx", aggregate=aggregate, squash=squash))
    assert (arch.family, arch.n_estimators, arch.max_depth) == (family, 5, 2)


# -- graphs and files it does not understand ---------------------------------------------------


def test_identity_graph_is_unknown(tmp_path: Path) -> None:
    from onnx import helper

    path = _save_graph(
        tmp_path / "identity.onnx",
        [helper.make_node("Identity", ["x"], ["y"])],
        [_float_info("x", 4)],
        [_float_info("y", 4)],
    )
    arch = infer_onnx_architecture(path)
    assert arch.family == "unknown" and arch.n_features == 4
    assert "no dense layer" in arch.reason and "Identity" in arch.reason


def test_convolutional_graph_is_unknown(tmp_path: Path) -> None:
    import torch

    class Conv(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 4, 3)
            self.head = torch.nn.Linear(4 * (N_FEATURES - 2), 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.conv(x.unsqueeze(1))).flatten(1))

    arch = infer_onnx_architecture(_export(Conv(), tmp_path / "conv.onnx"))
    assert arch.family == "unknown" and "Conv" in arch.reason


def test_residual_dense_graph_is_unknown(tmp_path: Path) -> None:
    import torch

    class Residual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Linear(N_FEATURES, 16)
            self.b = torch.nn.Linear(16, 16)
            self.c = torch.nn.Linear(16, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.a(x))
            return self.c(h + torch.relu(self.b(h)))

    arch = infer_onnx_architecture(_export(Residual(), tmp_path / "residual.onnx"))
    assert arch.family == "unknown" and "chain" in arch.reason


def test_tree_node_with_missing_attributes_does_not_raise(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(
        "TreeEnsembleClassifier",
        ["x"],
        ["label", "proba"],
        domain="ai.onnx.ml",
        classlabels_int64s=[0, 1],
        nodes_treeids=[0, 0],
        nodes_nodeids=[0, 5],
        nodes_modes=["BRANCH_LEQ", "LEAF"],
    )
    graph = helper.make_graph(
        [node],
        "g",
        [_float_info("x", 2)],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]), _float_info("proba", 2)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    onnx.save(model, str(tmp_path / "broken.onnx"))  # not checked: it is deliberately malformed
    arch = infer_onnx_architecture(tmp_path / "broken.onnx")
    assert arch.family in {"rf", "gbm", "unknown"} and arch.reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"age,label\n1,0\n", "not an ONNX model"), (b"", "not an ONNX model"), (None, "not found")],
)
def test_files_that_are_not_onnx_give_unknown(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    arch = infer_onnx_architecture(path)
    assert arch.family == "unknown" and expected in arch.reason
    assert arch.hidden == () and arch.n_estimators is None


# -- forest growth limits read from the graph ----------------------------------------------------


def test_forest_leaf_size_and_free_depth(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = classification_data(n=600, n_features=N_FEATURES, n_classes=3, seed=2)
    grown = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    free = infer_onnx_architecture(_skl2onnx(grown, tmp_path / "free.onnx"))
    assert (free.min_samples_leaf, free.depth_limited) == (None, False)
    assert free.max_depth == max(t.get_depth() for t in grown.estimators_)

    coarse = RandomForestClassifier(n_estimators=30, min_samples_leaf=6, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(coarse, tmp_path / "coarse.onnx"))
    assert arch.min_samples_leaf is not None and 4 <= arch.min_samples_leaf <= 8
    assert "leaves of at least" in arch.reason


def test_forest_depth_limit_and_all_features(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = data3
    forest = RandomForestClassifier(n_estimators=20, max_depth=3, max_features=None, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(forest, tmp_path / "rf.onnx"))
    assert (arch.max_depth, arch.depth_limited, arch.max_features) == (3, True, 1.0)
    assert arch.min_samples_leaf is None  # impure leaves at the depth limit say nothing of leaf size


def test_boosting_has_no_leaf_size(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data3
    boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(boosting, tmp_path / "gb.onnx"))
    assert (arch.depth_limited, arch.min_samples_leaf, arch.max_features) == (True, None, None)


# -- which booster, and its learning rate -------------------------------------------------------


def _set_missing_routing(path: Path, out: Path) -> Path:
    """The graph at ``path`` with every split sending missing values to its true branch (as HistGB)."""
    import onnx

    model = onnx.load(str(path))
    node = next(n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier")
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    modes = attributes["nodes_modes"]
    tracks = [0 if mode == b"LEAF" else 1 for mode in modes]
    kept = [a for a in node.attribute if a.name != "nodes_missing_value_tracks_true"]
    del node.attribute[:]
    node.attribute.extend([*kept, onnx.helper.make_attribute("nodes_missing_value_tracks_true", tracks)])
    onnx.save(model, str(out))
    return out


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_gradient_boosting_booster_and_learning_rate(
    tmp_path: Path, data2: tuple[np.ndarray, np.ndarray], rate: float
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data2
    boosting = GradientBoostingClassifier(n_estimators=12, max_depth=3, learning_rate=rate, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(boosting, tmp_path / "gb.onnx"))
    assert (arch.family, arch.n_estimators, arch.max_depth, arch.depth_limited) == ("gbm", 12, 3, True)
    assert (arch.booster, arch.learning_rate) == ("gradient", rate)
    assert "GradientBoosting" in arch.reason and f"learning rate about {rate:g}" in arch.reason


def test_multiclass_boosting_leaves_the_rate_unread(tmp_path: Path, data3: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data3
    boosting = GradientBoostingClassifier(n_estimators=6, max_depth=2, random_state=0).fit(X, y)
    arch = infer_onnx_architecture(_skl2onnx(boosting, tmp_path / "gb.onnx"))
    assert (arch.booster, arch.learning_rate, arch.max_depth) == ("gradient", None, 2)


def test_missing_value_routing_reads_as_hist_boosting(tmp_path: Path, data2: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data2
    boosting = GradientBoostingClassifier(n_estimators=6, max_depth=3, random_state=0).fit(X, y)
    path = _set_missing_routing(_skl2onnx(boosting, tmp_path / "gb.onnx"), tmp_path / "hgb.onnx")
    arch = infer_onnx_architecture(path)
    assert (arch.family, arch.booster, arch.n_estimators) == ("gbm", "hist", 6)
    assert "route missing values" in arch.reason


def test_opset5_boosting_booster_without_base_values(tmp_path: Path, data2: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = data2
    boosting = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    legacy = _skl2onnx(boosting, tmp_path / "gb.onnx")
    arch = infer_onnx_architecture(_to_tree_ensemble(legacy, tmp_path / "gb5.onnx", post_transform=2))
    assert (arch.booster, arch.learning_rate) == ("gradient", None)


def test_booster_rules_on_read_trees() -> None:
    from mia_audit.models.architecture import _booster, _Forest, _learning_rate

    varied = _Forest(n_trees=6, max_depth=9, tree_depths=[9, 5, 7, 6, 8, 4])
    assert _booster(varied, depth_limited=False)[0] == "hist"
    unbinned = _Forest(n_trees=6, max_depth=9, thresholds={2: {float(v) for v in range(300)}})
    assert _booster(unbinned, depth_limited=False)[0] == "gradient"
    assert _booster(_Forest(n_trees=2), depth_limited=None) == (None, "")
    # p0 = 0.5: a pure leaf is ±2·rate; 0.19 (no pure leaf) rounds up to the common 0.1 setting.
    assert _learning_rate(_Forest(base=[0.0], first_tree=[0.2, -0.2, 0.05])) == 0.1
    assert _learning_rate(_Forest(base=[0.0], first_tree=[0.19, -0.1])) == 0.1
    assert _learning_rate(_Forest(base=[0.0, 1.0], first_tree=[0.2, -0.2])) is None
    assert _learning_rate(_Forest(base=[0.0], first_tree=[0.2])) is None
