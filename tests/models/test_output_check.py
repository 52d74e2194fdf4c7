"""What a model's output holds is checked: probabilities, justified logits or labels pass; the rest is refused.

Each refusal is one line that names the output (name, dtype, shape), the value range on the first
batch, and how to point at the right output (``--output NAME`` with the candidates, ``--output-kind``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import BuiltModel, build_pickle, build_skops, build_torch_label_only_onnx
from output_graphs import (
    embedding_graph,
    integer_graph,
    linear_graph,
    passthrough_graph,
    skl2onnx_regression,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from mia_audit.errors import ConfigError, ModelDataMismatchError, ModelLoadError
from mia_audit.models import OutputKind, SklearnModel, load_model, stable_softmax


def _refused(path: Path, frame: pd.DataFrame, *fragments: str, **options: object) -> str:
    """Load and query; the one-line error (exit 2) must contain every fragment."""
    with pytest.raises((ModelLoadError, ModelDataMismatchError)) as caught:
        load_model(path, **options).predict_proba(frame)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 2
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- refused: what is not a classifier's output ----------------------------------------------------


def test_relu_embedding_is_refused_with_shape_range_and_the_other_outputs(
    tmp_path: Path, numeric_frame: pd.DataFrame
) -> None:
    path = embedding_graph(tmp_path / "embedding.onnx", 8)
    _refused(
        path,
        numeric_frame,
        "output 'embedding' (float, shape [?, 16])",
        f"on the first {len(numeric_frame)} rows, values in [0, ",
        "do not sum to 1: an embedding",
        "comes from a Relu",
        "--output NAME (outputs: embedding float [?, 16], norm float [?, 1])",
    )


def test_a_named_single_column_that_is_no_probability_is_refused(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = embedding_graph(tmp_path / "embedding.onnx", 8, probs=True)
    _refused(path, numeric_frame, "output 'norm' (float, shape [?, 1])", "one number per record", output="norm")


def test_skl2onnx_linear_regression_is_refused(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    path = skl2onnx_regression(tmp_path / "regression.onnx", X, (y > 0).astype(np.float32))
    _refused(
        path, pd.DataFrame(X), "output 'variable'", "ai.onnx.ml.LinearRegressor: a regression value", "values in ["
    )


@pytest.mark.parametrize("suffix", [".skops", ".pkl"])
def test_sklearn_regressor_is_refused(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray], suffix: str) -> None:
    X, y = numeric_data
    path = tmp_path / f"regression{suffix}"
    saver = build_skops if suffix == ".skops" else build_pickle
    saver(path, X, (y > 0).astype(float), estimator=LinearRegression())
    with pytest.raises(ModelLoadError, match="LinearRegression: a regressor, not a classifier"):
        load_model(path, trust_model=True)


def test_integer_output_that_is_not_a_label_is_refused(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = integer_graph(tmp_path / "count.onnx", 8)
    _refused(
        path,
        numeric_frame,
        "output 'count' (int64, shape [?, 1]) holds integers in [",
        "comes from a Round",
        "not class labels",
        "--output-kind labels",
        classes=[0, 1, 2],
    )


def test_signed_values_without_a_final_linear_layer_are_refused(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = linear_graph(tmp_path / "tanh.onnx", 8, 3, then="Tanh")
    _refused(path, numeric_frame, "signed values", "comes from a Tanh", "pass --output-kind logits")


def test_independent_sigmoids_are_refused(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = linear_graph(tmp_path / "multilabel.onnx", 8, 3, then="Sigmoid")
    _refused(path, numeric_frame, "independent sigmoids", "multi-label scores", "(outputs: scores float [?, 3])")


def test_unknown_output_name_lists_the_outputs(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = embedding_graph(tmp_path / "embedding.onnx", 8)
    _refused(path, numeric_frame, "no output named 'logits'; its outputs: embedding float [?, 16]", output="logits")


def test_requested_kind_must_fit_the_output(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = linear_graph(tmp_path / "scores.onnx", 8, 3)
    _refused(path, numeric_frame, "has no integer or string output with one label", output_kind="labels")
    _refused(path, numeric_frame, "--output-kind probabilities, but it has rows", output_kind="probabilities")
    with pytest.raises(ConfigError, match="--output-kind must be one of"):
        load_model(path, output_kind="softmax")


def test_label_graph_refuses_a_score_kind(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    path = tmp_path / "labels.onnx"
    build_torch_label_only_onnx(path, X[:60], y[:60], hidden=4)
    _refused(path, pd.DataFrame(X), "--output-kind logits does not fit output 'output'", output_kind="logits")


def test_a_later_batch_must_hold_probabilities_too(tmp_path: Path) -> None:
    path = passthrough_graph(tmp_path / "echo.onnx", 3, name="probs")
    rows = np.array([[0.2, 0.3, 0.5]] * 4 + [[2.0, -1.0, 0.0]] * 4, dtype=np.float32)
    with pytest.raises(ModelDataMismatchError, match="it was read as probabilities, but it has rows"):
        load_model(path, batch_size=4).predict_proba(pd.DataFrame(rows))


# -- accepted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("then", "name", "why"),
    [
        ("", "scores", "a final Gemm layer without softmax"),
        ("LogSoftmax", "scores", "a LogSoftmax (log-probabilities)"),
        ("Tanh", "logits", "the output's name says logits"),
    ],
)
def test_justified_logits_are_softmaxed(
    tmp_path: Path, numeric_frame: pd.DataFrame, then: str, name: str, why: str
) -> None:
    path = linear_graph(tmp_path / "m.onnx", 8, 3, name=name, then=then)
    model = load_model(path)
    probs = model.predict_proba(numeric_frame)
    assert model.output_kind is OutputKind.LOGITS and model.info.details["output_kind_source"] == why
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)


def test_output_kind_logits_takes_signed_values_as_logits(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = passthrough_graph(tmp_path / "echo.onnx", 8)
    model = load_model(path, output_kind="logits")
    probs = model.predict_proba(numeric_frame)
    assert model.output_kind is OutputKind.LOGITS
    np.testing.assert_allclose(probs, stable_softmax(numeric_frame.to_numpy(dtype=np.float64)), atol=1e-6)


def test_output_picks_one_of_several_and_auto_prefers_the_class_scores(
    tmp_path: Path, numeric_frame: pd.DataFrame
) -> None:
    path = embedding_graph(tmp_path / "heads.onnx", 8, probs=True)
    chosen = load_model(path, output="probs")
    automatic = load_model(path)
    for model in (chosen, automatic):
        probs = model.predict_proba(numeric_frame)
        assert model.info.details["queried_output"] == "probs" and model.classes == (0, 1)
        assert model.output_kind is OutputKind.PROBABILITIES and probs.shape == (len(numeric_frame), 2)
    _refused(path, numeric_frame, "output 'embedding'", "probs float [?, 2]", output="embedding")


def test_output_kind_labels_picks_the_label_output(tensor_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    model = load_model(tensor_onnx.path, output_kind="labels")
    probs = model.predict_proba(numeric_frame)
    assert model.output_kind is OutputKind.LABELS and model.info.details["queried_output"] == "label"
    expected = tensor_onnx.original.predict(numeric_frame.to_numpy())
    np.testing.assert_array_equal(np.asarray(model.classes)[probs.argmax(axis=1)], expected)
    assert load_model(tensor_onnx.path, output="label").output_kind is OutputKind.LABELS


def test_integer_output_taken_as_labels_when_told(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    path = integer_graph(tmp_path / "count.onnx", 8)
    model = load_model(path, output_kind="labels")
    model.predict_proba(numeric_frame)  # no hint: the classes are the sorted values
    assert model.output_kind is OutputKind.LABELS


def test_linear_svc_decision_scores_are_logits(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    X, y = numeric_data
    svc = LinearSVC().fit(X, y)
    onx = convert_sklearn(
        svc, initial_types=[("input", FloatTensorType([None, 8]))], target_opset={"": 17, "ai.onnx.ml": 3}
    )
    (tmp_path / "svc.onnx").write_bytes(onx.SerializeToString())
    model = load_model(tmp_path / "svc.onnx")
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.output_kind is OutputKind.LOGITS
    assert "LinearClassifier without post transform" in model.info.details["output_kind_source"]
    np.testing.assert_allclose(probs, stable_softmax(svc.decision_function(X)), atol=1e-5)


# -- scikit-learn: --output names a method, --output-kind a kind ------------------------------------


def test_sklearn_output_and_output_kind_choose_the_method(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    path = tmp_path / "lr.skops"
    original = build_skops(path, X, y)
    by_name = load_model(path, output="decision_function")
    np.testing.assert_allclose(by_name.predict_proba(pd.DataFrame(X)), stable_softmax(original.decision_function(X)))
    assert by_name.output_kind is OutputKind.LOGITS
    assert load_model(path, output_kind="labels").output_kind is OutputKind.LABELS
    with pytest.raises(ModelLoadError, match="outputs are its methods: predict_proba, decision_function, predict"):
        load_model(path, output="probs")
    with pytest.raises(ModelLoadError, match="--output predict gives labels, not logits"):
        load_model(path, output="predict", output_kind="logits")
    build_skops(tmp_path / "svc.skops", X, y, estimator=LinearSVC())
    with pytest.raises(ModelLoadError, match="needs predict_proba, which this"):
        load_model(tmp_path / "svc.skops", output_kind="probabilities")


class _Unnormalised(LogisticRegression):
    """predict_proba that forgot to normalise: not probabilities."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.exp(self.decision_function(X))


def test_sklearn_predict_proba_must_return_probabilities(numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    estimator = _Unnormalised(max_iter=500).fit(X, y)
    model = SklearnModel(estimator, path="memory.pkl", fmt="sklearn-pickle")
    with pytest.raises(ModelDataMismatchError, match=r"predict_proba returned rows that are not probabilities"):
        model.predict_proba(pd.DataFrame(X))
