"""SklearnModel and its skops / pickle / joblib loaders, with real fitted estimators."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import build_pickle, build_skops
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from mia_audit.errors import ModelDataMismatchError, ModelLoadError
from mia_audit.models import OutputKind, SklearnModel, TargetModel, load_model
from mia_audit.models.sklearn_model import load_pickled, load_skops


def test_skops_logreg_matches_predict_proba(
    tmp_path: Path, numeric_frame: pd.DataFrame, string_labels: np.ndarray
) -> None:
    path = tmp_path / "lr.skops"
    original = build_skops(path, numeric_frame, string_labels)
    model = load_model(path, batch_size=64)
    probs = model.predict_proba(numeric_frame)
    assert isinstance(model, TargetModel) and isinstance(model, SklearnModel)
    np.testing.assert_allclose(probs, original.predict_proba(numeric_frame), atol=1e-12)
    assert model.classes == ("ant", "moth", "zebra") == tuple(original.classes_)
    assert model.output_kind is OutputKind.PROBABILITIES
    assert model.queries == len(numeric_frame)
    model.predict_proba(numeric_frame.iloc[:5])
    assert model.queries == len(numeric_frame) + 5


def test_skops_info(tmp_path: Path, numeric_frame: pd.DataFrame, string_labels: np.ndarray) -> None:
    path = tmp_path / "lr.skops"
    build_skops(path, numeric_frame, string_labels)
    info = load_model(path).info
    assert info.format == "sklearn-skops"
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.n_features == 8 and [t.name for t in info.inputs][:2] == ["f0", "f1"]
    assert info.details["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert info.details["query_method"] == "predict_proba"


def test_pipeline_over_raw_string_columns(tmp_path: Path, mixed_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = mixed_data
    path = tmp_path / "pipe.skops"
    original = build_skops(path, frame, y)
    model = load_model(path)
    reordered = frame[["job", "hours", "sex", "age"]].assign(unused="x")
    np.testing.assert_allclose(model.predict_proba(reordered), original.predict_proba(frame), atol=1e-12)
    assert model.classes == ("high", "low", "mid")
    assert model.info.details["final_estimator"].endswith("LogisticRegression")


def test_pipeline_names_the_missing_columns(tmp_path: Path, mixed_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = mixed_data
    build_skops(tmp_path / "pipe.skops", frame, y)
    with pytest.raises(ModelDataMismatchError, match="data lack: hours, sex"):
        load_model(tmp_path / "pipe.skops").predict_proba(frame.drop(columns=["hours", "sex"]))


def test_untrusted_skops_type_is_refused_then_loaded_with_trust(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    path = tmp_path / "custom.skops"
    original = build_skops(path, X, y, untrusted=True)
    with pytest.raises(ModelLoadError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "fixtures_models.CustomLogisticRegression" in message
    assert "--trust-model" in message and "\n" not in message
    model = load_model(path, trust_model=True)
    np.testing.assert_allclose(model.predict_proba(pd.DataFrame(X)), original.predict_proba(X), atol=1e-12)
    assert "CustomLogisticRegression" in model.info.details["trusted_types"]


@pytest.mark.parametrize(("suffix", "fmt"), [(".pkl", "sklearn-pickle"), (".joblib", "sklearn-joblib")])
def test_pickled_models_load_only_with_trust(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray], suffix: str, fmt: str
) -> None:
    X, y = numeric_data
    path = tmp_path / f"model{suffix}"
    original = build_pickle(path, X, y, estimator=RandomForestClassifier(10, random_state=0))
    with pytest.raises(ModelLoadError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "arbitrary code" in message and "--trust-model" in message and "skops/ONNX" in message
    assert "\n" not in message
    model = load_model(path, trust_model=True)
    np.testing.assert_allclose(model.predict_proba(pd.DataFrame(X)), original.predict_proba(X))
    assert model.info.format == fmt


def test_array_fitted_model_checks_the_column_count(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    build_skops(tmp_path / "lr.skops", X, y)
    model = load_model(tmp_path / "lr.skops")
    with pytest.raises(ModelDataMismatchError, match="takes 8 feature columns but the data have 7"):
        model.predict_proba(pd.DataFrame(X[:, :7]))
    assert model.queries == 0


def test_text_in_a_numeric_model_is_a_one_line_mismatch(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    build_skops(tmp_path / "lr.skops", X, y)
    frame = pd.DataFrame(X).assign(**{"7": "oops"}).drop(columns=[7])
    with pytest.raises(ModelDataMismatchError) as caught:
        load_model(tmp_path / "lr.skops").predict_proba(frame)
    message = str(caught.value)
    assert message.startswith("the model rejected the data") and "\n" not in message
    assert "columns holding text: 7" in message


def test_decision_function_only_is_treated_as_logits(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    binary = (y > 0).astype(int)
    original = build_skops(tmp_path / "svm.skops", X, binary, estimator=LinearSVC())
    model = load_model(tmp_path / "svm.skops")
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.output_kind is OutputKind.LOGITS
    sigmoid = 1.0 / (1.0 + np.exp(-original.decision_function(X)))
    np.testing.assert_allclose(probs[:, 1], sigmoid, atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_multiclass_decision_function_is_softmaxed(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    original = build_skops(tmp_path / "svm.skops", X, y, estimator=LinearSVC())
    probs = load_model(tmp_path / "svm.skops").predict_proba(pd.DataFrame(X))
    np.testing.assert_array_equal(probs.argmax(axis=1), original.decision_function(X).argmax(1))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_predict_only_gives_one_hot_labels(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    # One-vs-one scores do not have one column per class, so only the labels are usable.
    estimator = make_pipeline(StandardScaler(), SVC(decision_function_shape="ovo")).fit(X, y + 5)
    model = SklearnModel(estimator, path="memory.pkl", fmt="sklearn-pickle", batch_size=100)
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.output_kind is OutputKind.LABELS and model.classes == (5, 6, 7)
    np.testing.assert_array_equal(np.asarray(model.classes)[probs.argmax(axis=1)], estimator.predict(X))
    assert set(np.unique(probs)) == {0.0, 1.0}
    assert model.info.sha256 == ""  # built in memory, not from a file


def test_not_a_classifier_is_refused(tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.pkl"
    dictionary.write_bytes(pickle.dumps({"coef": [1.0, 2.0]}))
    with pytest.raises(ModelLoadError, match="holds a dict object, not a model"):
        load_model(dictionary, trust_model=True)
    regressor = tmp_path / "reg.skops"
    build_skops(regressor, np.eye(3), np.arange(3.0), estimator=LinearRegression())
    with pytest.raises(ModelLoadError, match="LinearRegression: a regressor, not a classifier"):
        load_model(regressor)
    with pytest.raises(ModelLoadError, match="without classes_: not a fitted classifier"):
        SklearnModel(LinearSVC(), path=tmp_path / "unfitted.pkl", fmt="sklearn-pickle")


def test_loaders_can_be_called_directly(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    build_skops(tmp_path / "m.skops", X, y)
    build_pickle(tmp_path / "m.pickle", X, y)
    assert load_skops(tmp_path / "m.skops").n_classes == 3
    assert load_pickled(tmp_path / "m.pickle", trust_model=True).info.format == "sklearn-pickle"
