"""load_regressor: scikit-learn (skops, joblib), ONNX (skl2onnx, torch) and PyTorch (.pt, .pt2) regressors predict
what the fitted original predicts, count their queries and read their architecture; classifiers are refused as
regressors, regressors as classifiers (with the hint to pass --task regression), and inspect describes them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fixtures_models import build_skl2onnx_logreg, export_torch_onnx, mixed_frame
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mia_audit.errors import ConfigError, InputFileError, ModelLoadError
from mia_audit.models.base import OutputKind, RegressorFound
from mia_audit.models.loader import describe_model, format_model_info, load_model, load_regressor
from mia_audit.models.regressor import OnnxRegressor, Regressor, SklearnRegressor, TorchRegressor

N_FEATURES, HIDDEN = 6, 16
DROP = "drop --task regression"
HINT = "to audit a regressor, pass --task regression"


@dataclass(frozen=True)
class Data:
    X: np.ndarray  # float32
    y: np.ndarray  # float64 targets

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.X, columns=[f"f{i}" for i in range(N_FEATURES)])


@pytest.fixture(scope="module")
def data() -> Data:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    y = 2.0 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 + rng.normal(0.0, 0.1, 200)
    return Data(X, y)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("regressors")


@pytest.fixture(scope="module")
def forest(data: Data) -> RandomForestRegressor:
    return RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0).fit(data.X, data.y)


# -- scikit-learn --------------------------------------------------------------------------------------------------


def test_skops_linear_regression_predicts_as_the_original_and_counts_queries(folder: Path, data: Data) -> None:
    model = LinearRegression().fit(data.frame, data.y)
    sio.dump(model, folder / "linear.skops")
    regressor = load_regressor(folder / "linear.skops", batch_size=64)
    assert isinstance(regressor, Regressor) and isinstance(regressor, SklearnRegressor)
    predictions = regressor.predict(data.frame)
    assert predictions.shape == (200,) and predictions.dtype == np.float64
    np.testing.assert_allclose(predictions, model.predict(data.frame))
    assert regressor.queries == 200 and regressor.estimator is not None and regressor.architecture is None
    info = regressor.info
    assert info.output_kind is OutputKind.VALUES and info.classes == () and info.format == "sklearn-skops"
    assert info.n_features == N_FEATURES and len(info.sha256) == 64
    assert info.details["estimator"].endswith("LinearRegression") and info.details["query_method"] == "predict"


def test_a_skops_forest_needs_its_tree_types_trusted(folder: Path, data: Data, forest: RandomForestRegressor) -> None:
    sio.dump(forest, folder / "forest.skops")
    with pytest.raises(ModelLoadError, match="does not trust"):
        load_regressor(folder / "forest.skops")
    regressor = load_regressor(folder / "forest.skops", trust_model=True)
    np.testing.assert_allclose(regressor.predict(data.frame), forest.predict(data.X))
    assert "sklearn.tree._tree.Tree" in regressor.info.details["trusted_types"]


def test_a_pipeline_takes_raw_columns(folder: Path) -> None:
    frame, _ = mixed_frame(n=150, seed=1)
    target = frame["age"] * 0.1 + (frame["job"] == "nurse") * 2.0
    encode = ColumnTransformer([("num", StandardScaler(), ["age", "hours"]), ("cat", OneHotEncoder(), ["job", "sex"])])
    pipe = Pipeline([("encode", encode), ("model", Ridge())]).fit(frame, target)
    sio.dump(pipe, folder / "pipe.skops")
    untrusted = sio.get_untrusted_types(file=folder / "pipe.skops")
    regressor = load_regressor(folder / "pipe.skops", trust_model=bool(untrusted), batch_size=40)
    np.testing.assert_allclose(regressor.predict(frame), pipe.predict(frame))
    assert regressor.queries == 150 and regressor.info.details["final_estimator"].endswith("Ridge")


def test_joblib_needs_trust(folder: Path, data: Data, forest: RandomForestRegressor) -> None:
    import joblib

    joblib.dump(forest, folder / "forest.joblib")
    with pytest.raises(ModelLoadError, match="--trust-model"):
        load_regressor(folder / "forest.joblib")
    regressor = load_regressor(folder / "forest.joblib", trust_model=True)
    np.testing.assert_allclose(regressor.predict(data.frame), forest.predict(data.X))
    assert regressor.info.format == "sklearn-joblib"


def test_a_multi_output_regressor_is_refused(folder: Path, data: Data) -> None:
    two = RandomForestRegressor(n_estimators=2, max_depth=2, random_state=0).fit(data.X, np.c_[data.y, data.y])
    sio.dump(two, folder / "two.skops")
    with pytest.raises(ModelLoadError, match=r"multi-output .*RandomForestRegressor \(2 values per record\)"):
        load_regressor(folder / "two.skops", trust_model=True)


# -- ONNX from skl2onnx --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forest_onnx(folder: Path, data: Data, forest: RandomForestRegressor) -> Path:
    pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        forest,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path = folder / "forest.onnx"
    path.write_bytes(onx.SerializeToString())
    return path


def test_a_skl2onnx_forest_predicts_as_sklearn(forest_onnx: Path, data: Data, forest: RandomForestRegressor) -> None:
    regressor = load_regressor(forest_onnx, batch_size=64)
    assert isinstance(regressor, OnnxRegressor) and regressor.estimator is None
    predictions = regressor.predict(data.frame)
    np.testing.assert_allclose(predictions, forest.predict(data.X), atol=1e-4)
    assert predictions.dtype == np.float64 and regressor.queries == 200
    info = regressor.info
    assert info.output_kind is OutputKind.VALUES and info.classes == () and info.format == "onnx"
    assert info.details["queried_output"] == "variable" and info.n_features == N_FEATURES
    architecture = regressor.architecture
    assert architecture is not None and architecture.n_estimators == 8 and architecture.max_depth == 5
    assert architecture.n_classes is None
    with pytest.raises(ModelLoadError, match="no output named 'nope'; its outputs: variable float"):
        load_regressor(forest_onnx, output="nope")
    assert load_regressor(forest_onnx, output="variable").predict(data.frame.iloc[:5]).shape == (5,)


def test_skl2onnx_forest_and_boosting_regressors_read_as_their_families(
    forest_onnx: Path, folder: Path, data: Data
) -> None:
    """A forest regressor's trees each predict a share of the value (one sign, one size); boosting's fit
    residuals around a base value. Both read right, so reference models copy the family."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import GradientBoostingRegressor

    architecture = load_regressor(forest_onnx).architecture
    assert architecture is not None and architecture.family == "rf"
    boosting = GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=0).fit(data.X, data.y)
    onx = convert_sklearn(boosting, initial_types=[("input", FloatTensorType([None, N_FEATURES]))], target_opset=17)
    path = folder / "boosting.onnx"
    path.write_bytes(onx.SerializeToString())
    architecture = load_regressor(path).architecture
    assert architecture is not None and architecture.family == "gbm" and architecture.n_estimators == 10


def test_a_skl2onnx_regressor_is_refused_by_load_model_and_described_as_one(forest_onnx: Path, data: Data) -> None:
    with pytest.raises(RegressorFound) as caught:
        load_model(forest_onnx).predict_proba(data.frame)
    assert str(caught.value).endswith(HINT) and "\n" not in str(caught.value)
    info = describe_model(forest_onnx)
    assert info.output_kind is OutputKind.VALUES and info.classes == ()
    assert "Classes      none (a regressor" in format_model_info(info)


@pytest.mark.parametrize("zipmap", [True, False])
def test_a_skl2onnx_classifier_is_refused(folder: Path, data: Data, zipmap: bool) -> None:
    pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    path = folder / f"logreg_{zipmap}.onnx"
    build_skl2onnx_logreg(path, data.X, (data.y > 0).astype(np.int64), zipmap=zipmap)
    with pytest.raises(ModelLoadError, match=f"holds a classifier .*; {DROP}$"):
        load_regressor(path)
    with pytest.raises(ModelLoadError, match=f"holds a classifier .*{DROP}$"):
        load_regressor(path, output="output_label" if zipmap else "label")


# -- PyTorch -------------------------------------------------------------------------------------------------------


def _train_mlp(data: Data) -> Any:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        module = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
        inputs = torch.as_tensor(data.X)
        targets = torch.as_tensor(data.y, dtype=torch.float32)[:, None]
        optimiser = torch.optim.Adam(module.parameters(), lr=2e-2)
        for _ in range(60):
            optimiser.zero_grad()
            torch.nn.functional.mse_loss(module(inputs), targets).backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    return module.eval()


def _save_three(folder: Path, module: Any, stem: str) -> list[Path]:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
        torch.jit.script(module).save(str(folder / f"{stem}.pt"))
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(module, (torch.zeros(4, N_FEATURES),), dynamic_shapes=(batch,))
    torch.export.save(program, folder / f"{stem}.pt2")
    export_torch_onnx(module, folder / f"{stem}.onnx", N_FEATURES)
    return [folder / f"{stem}.{suffix}" for suffix in ("pt", "pt2", "onnx")]


def _flat(inner: Any) -> Any:
    """``inner`` (``[N, 1]``) returning ``[N]``."""
    import torch

    class Flat(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x)[:, 0]

    return Flat(inner).eval()


@pytest.fixture(scope="module")
def mlp(folder: Path, data: Data) -> tuple[Any, list[Path]]:
    module = _train_mlp(data)
    return module, _save_three(folder, module, "mlp")


@pytest.mark.parametrize("flat", [False, True])
def test_a_torch_mlp_predicts_the_same_in_the_three_formats(
    mlp: tuple[Any, list[Path]], folder: Path, data: Data, flat: bool
) -> None:
    import torch

    module, paths = mlp
    if flat:
        module = _flat(module)
        paths = _save_three(folder, module, "flat")
    with torch.no_grad():
        expected = module(torch.as_tensor(data.X)).double().numpy().ravel()
    for path in paths:
        regressor = load_regressor(path, batch_size=64)
        assert isinstance(regressor, OnnxRegressor if path.suffix == ".onnx" else TorchRegressor), path
        np.testing.assert_allclose(regressor.predict(data.frame), expected, atol=1e-5, err_msg=path.name)
        assert regressor.queries == 200 and regressor.estimator is None, path
        architecture = regressor.architecture
        assert architecture is not None and architecture.family == "mlp", (path, architecture)
        assert architecture.hidden == (HIDDEN,) and architecture.activation == "relu", path
        info = regressor.info
        assert info.output_kind is OutputKind.VALUES and info.classes == () and info.n_features == N_FEATURES


def test_torch_options_and_classifiers(mlp: tuple[Any, list[Path]], folder: Path, data: Data) -> None:
    import torch

    module, paths = mlp
    with pytest.raises(ModelLoadError, match="does not apply to a PyTorch model"):
        load_regressor(paths[0], output="output")
    softmax = torch.nn.Sequential(module[0], module[1], torch.nn.Linear(HIDDEN, 3), torch.nn.Softmax(dim=1)).eval()
    for path in _save_three(folder, softmax, "softmax"):
        with pytest.raises(ModelLoadError, match=f"holds a classifier .*{DROP}$"):
            load_regressor(path)
    logits = torch.nn.Sequential(module[0], module[1], torch.nn.Linear(HIDDEN, 3)).eval()
    pt2, onnx = _save_three(folder, logits, "logits")[1:]
    with pytest.raises(ModelLoadError, match="returns 3 values per record, not one"):
        load_regressor(pt2)
    with pytest.raises(ModelLoadError, match=r"gives 3 values per record.*--output NAME \(outputs: output float"):
        load_regressor(onnx)


# -- classifiers and regressors in the wrong loader ----------------------------------------------------------------


def test_a_sklearn_classifier_is_refused_as_a_regressor(folder: Path, data: Data) -> None:
    sio.dump(LogisticRegression().fit(data.X, data.y > 0), folder / "logreg.skops")
    with pytest.raises(ModelLoadError, match=f"holds a classifier .*LogisticRegression.*; {DROP}$"):
        load_regressor(folder / "logreg.skops")


def test_a_sklearn_regressor_is_refused_by_load_model_and_described_as_one(folder: Path, data: Data) -> None:
    sio.dump(LinearRegression().fit(data.X, data.y), folder / "plain.skops")
    with pytest.raises(RegressorFound, match=f"a regressor, not a classifier.*; {HINT}$"):
        load_model(folder / "plain.skops")
    info = describe_model(folder / "plain.skops")
    assert info.output_kind is OutputKind.VALUES and info.classes == () and info.format == "sklearn-skops"


def test_file_errors_and_batch_size(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="model file not found"):
        load_regressor(tmp_path / "missing.onnx")
    (tmp_path / "model.h5").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"unknown model format \.h5; supported: \.onnx"):
        load_regressor(tmp_path / "model.h5")
    with pytest.raises(ConfigError, match="batch size"):
        load_regressor(tmp_path / "model.h5", batch_size=0)
