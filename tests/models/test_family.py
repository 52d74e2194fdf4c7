"""The model family read off a target: scikit-learn class names and ONNX graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mia_audit.models.family import model_family
from mia_audit.models.loader import load_model
from mia_audit.models.sklearn_model import SklearnModel

SAMPLE_ONNX = Path(__file__).resolve().parents[2] / "sample_models" / "mlp_leaky.onnx"


@pytest.mark.parametrize(
    ("estimator", "family"),
    [
        (RandomForestClassifier(n_estimators=3), "forest"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "linear"),
        (KNeighborsClassifier(n_neighbors=1), "knn"),
    ],
)
def test_sklearn_families(estimator: object, family: str, tmp_path: Path) -> None:
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    estimator.fit(X, y)  # type: ignore[attr-defined]
    model = SklearnModel(estimator, path=tmp_path / "m.pkl", fmt="sklearn-pickle")
    assert model_family(model) == family


def test_onnx_mlp_graph() -> None:
    assert model_family(load_model(SAMPLE_ONNX)) == "mlp"
