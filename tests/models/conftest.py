"""Real models, built once per test session into a temporary folder (a few seconds in all)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import (
    BuiltModel,
    build_label_only_onnx,
    build_skl2onnx_logreg,
    build_skl2onnx_pipeline,
    build_torch_label_only_onnx,
    build_torch_mlp_onnx,
    classification_data,
    mixed_frame,
)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def numeric_data() -> tuple[np.ndarray, np.ndarray]:
    return classification_data(n=300, n_features=8, n_classes=3, seed=0)


@pytest.fixture(scope="session")
def numeric_frame(numeric_data: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    X, _ = numeric_data
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


@pytest.fixture(scope="session")
def string_labels(numeric_data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    # Not in alphabetical order of the integer codes, so that class order is really tested.
    return np.array(["zebra", "ant", "moth"])[numeric_data[1]]


@pytest.fixture(scope="session")
def mixed_data() -> tuple[pd.DataFrame, np.ndarray]:
    return mixed_frame(n=300, seed=0)


@pytest.fixture(scope="session")
def torch_probs_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> BuiltModel:
    X, y = numeric_data
    path = models_dir / "mlp_probs.onnx"
    return BuiltModel(path, build_torch_mlp_onnx(path, X, y, hidden=32))


@pytest.fixture(scope="session")
def torch_logits_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> BuiltModel:
    X, y = numeric_data
    path = models_dir / "mlp_logits.onnx"
    return BuiltModel(path, build_torch_mlp_onnx(path, X, y, hidden=32, logits=True))


@pytest.fixture(scope="session")
def torch_labels_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> BuiltModel:
    X, y = numeric_data
    path = models_dir / "mlp_labels.onnx"
    return BuiltModel(path, build_torch_label_only_onnx(path, X, y))


@pytest.fixture(scope="session")
def zipmap_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray], string_labels: np.ndarray) -> BuiltModel:
    path = models_dir / "logreg_zipmap.onnx"
    return BuiltModel(path, build_skl2onnx_logreg(path, numeric_data[0], string_labels))


@pytest.fixture(scope="session")
def tensor_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> BuiltModel:
    X, y = numeric_data
    path = models_dir / "logreg_tensor.onnx"
    return BuiltModel(path, build_skl2onnx_logreg(path, X, y, zipmap=False))


@pytest.fixture(scope="session")
def pipeline_onnx(models_dir: Path, mixed_data: tuple[pd.DataFrame, np.ndarray]) -> BuiltModel:
    frame, y = mixed_data
    path = models_dir / "pipeline.onnx"
    return BuiltModel(path, build_skl2onnx_pipeline(path, frame, y))


@pytest.fixture(scope="session")
def labels_onnx(models_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray], string_labels: np.ndarray) -> BuiltModel:
    path = models_dir / "logreg_labels.onnx"
    return BuiltModel(path, build_label_only_onnx(path, numeric_data[0], string_labels))
