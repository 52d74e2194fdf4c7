"""OnnxModel against real graphs from torch.onnx.export and skl2onnx."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import (
    BuiltModel,
    build_skl2onnx_pipeline,
    build_torch_binary_onnx,
    build_torch_label_only_onnx,
    build_torch_mlp_onnx,
    set_onnx_metadata,
    torch_predict_proba,
)

from mia_audit.errors import ModelDataMismatchError
from mia_audit.models import OnnxModel, OutputKind, TargetModel, load_model

ATOL = 1e-4


def test_torch_softmax_graph_gives_the_modules_probabilities(
    torch_probs_onnx: BuiltModel, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = numeric_data
    model = OnnxModel(torch_probs_onnx.path, batch_size=64)
    probs = model.predict_proba(pd.DataFrame(X))
    assert isinstance(model, TargetModel)
    assert probs.dtype == np.float64 and probs.shape == (len(X), 3)
    np.testing.assert_allclose(probs, torch_predict_proba(torch_probs_onnx.original, X), atol=ATOL)
    assert model.classes == (0, 1, 2) and model.n_classes == 3
    assert model.output_kind is OutputKind.PROBABILITIES


def test_queries_count_every_row_of_every_call(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    model = OnnxModel(torch_probs_onnx.path, batch_size=7)
    assert model.queries == 0
    model.predict_proba(numeric_frame)
    model.predict_proba(numeric_frame.iloc[:10])
    assert model.queries == len(numeric_frame) + 10


def test_batch_size_does_not_change_the_answers(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    whole = OnnxModel(torch_probs_onnx.path).predict_proba(numeric_frame)
    batched = OnnxModel(torch_probs_onnx.path, batch_size=13).predict_proba(numeric_frame)
    np.testing.assert_allclose(whole, batched, atol=1e-7)


def test_logit_graph_is_detected_and_softmaxed(
    torch_logits_onnx: BuiltModel, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = numeric_data
    model = OnnxModel(torch_logits_onnx.path)
    assert model.output_kind is OutputKind.LOGITS  # guessed from the Gemm node before any query
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.output_kind is OutputKind.LOGITS
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(probs, torch_predict_proba(torch_logits_onnx.original, X), atol=ATOL)


@pytest.mark.parametrize(("sigmoid", "kind"), [(False, OutputKind.LOGITS), (True, OutputKind.PROBABILITIES)])
def test_single_column_binary_output(
    tmp_path: Path,
    numeric_data: tuple[np.ndarray, np.ndarray],
    sigmoid: bool,
    kind: OutputKind,
) -> None:
    X, y = numeric_data
    path = tmp_path / "binary.onnx"
    module = build_torch_binary_onnx(path, X, (y > 0).astype(int), sigmoid=sigmoid)
    model = OnnxModel(path)
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.classes == (0, 1) and model.output_kind is kind
    np.testing.assert_allclose(probs, torch_predict_proba(module, X), atol=ATOL)


@pytest.mark.parametrize("fixed", [1, 8])
def test_fixed_batch_dimension_is_fed_in_chunks_of_that_size(
    tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray], fixed: int
) -> None:
    X, y = numeric_data
    X, y = X[:45], y[:45]  # 45 rows: a partial last chunk for a batch of 8
    path = tmp_path / f"fixed{fixed}.onnx"
    module = build_torch_mlp_onnx(path, X, y, hidden=8, epochs=20, fixed_batch=fixed)
    model = OnnxModel(path)
    assert model.info.details["batch"].startswith(f"fixed at {fixed}")
    probs = model.predict_proba(pd.DataFrame(X))
    np.testing.assert_allclose(probs, torch_predict_proba(module, X), atol=ATOL)
    assert model.queries == 45


@pytest.mark.parametrize("fixture", ["zipmap_onnx", "tensor_onnx"])
def test_skl2onnx_logreg_matches_sklearn_in_class_order(
    request: pytest.FixtureRequest, fixture: str, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    built: BuiltModel = request.getfixturevalue(fixture)
    X, _ = numeric_data
    model = load_model(built.path)
    probs = model.predict_proba(pd.DataFrame(X))
    assert model.classes == tuple(built.original.classes_.tolist())
    assert model.output_kind is OutputKind.PROBABILITIES
    np.testing.assert_allclose(probs, built.original.predict_proba(X), atol=ATOL)


def test_zipmap_classes_are_the_string_labels_in_sklearn_order(zipmap_onnx: BuiltModel) -> None:
    model = OnnxModel(zipmap_onnx.path)
    assert model.classes == ("ant", "moth", "zebra")
    assert "ZipMap" in model.info.details["class_source"]


def test_multi_input_pipeline_matches_columns_by_name(
    pipeline_onnx: BuiltModel, mixed_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = mixed_data
    model = OnnxModel(pipeline_onnx.path, batch_size=50)
    shuffled = frame[["sex", "hours", "job", "age"]].assign(extra=1.0)
    probs = model.predict_proba(shuffled)
    np.testing.assert_allclose(probs, pipeline_onnx.original.predict_proba(frame), atol=ATOL)
    assert model.classes == ("high", "low", "mid")
    assert [(t.name, t.dtype) for t in model.info.inputs] == [
        ("age", "int64"),
        ("hours", "float"),
        ("job", "string"),
        ("sex", "string"),
    ]
    assert model.info.n_features == 4


def test_multi_input_pipeline_with_zipmap(tmp_path: Path, mixed_data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = mixed_data
    pipe = build_skl2onnx_pipeline(tmp_path / "p.onnx", frame, y, zipmap=True)
    probs = OnnxModel(tmp_path / "p.onnx").predict_proba(frame)
    np.testing.assert_allclose(probs, pipe.predict_proba(frame), atol=ATOL)


def test_multi_input_pipeline_names_missing_columns(
    pipeline_onnx: BuiltModel, mixed_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = mixed_data
    with pytest.raises(ModelDataMismatchError, match="lack columns job, sex") as caught:
        OnnxModel(pipeline_onnx.path).predict_proba(frame.drop(columns=["job", "sex"]))
    assert "\n" not in str(caught.value)


def test_int64_input_rejects_fractional_values(
    pipeline_onnx: BuiltModel, mixed_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = mixed_data
    with pytest.raises(ModelDataMismatchError, match=r"'age'.*int64"):
        OnnxModel(pipeline_onnx.path).predict_proba(frame.assign(age=frame["age"] + 0.5))


def test_label_only_graph_with_class_metadata(
    labels_onnx: BuiltModel, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = numeric_data
    model = OnnxModel(labels_onnx.path)
    assert model.output_kind is OutputKind.LABELS
    assert model.classes == ("ant", "moth", "zebra")  # known before any query
    probs = model.predict_proba(pd.DataFrame(X))
    expected = labels_onnx.original.predict(X)
    assert set(np.unique(probs)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(model.classes)[probs.argmax(axis=1)], expected)


def test_label_only_graph_without_metadata_uses_the_classes_hint(
    torch_labels_onnx: BuiltModel, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = numeric_data
    model = load_model(torch_labels_onnx.path, classes=[0, 1, 2, 3])
    assert model.classes == (0, 1, 2, 3) and model.output_kind is OutputKind.LABELS
    probs = model.predict_proba(pd.DataFrame(X))
    expected = torch_predict_proba(torch_labels_onnx.original, X).argmax(axis=1)
    np.testing.assert_array_equal(probs.argmax(axis=1), expected)
    assert probs.shape == (len(X), 4) and model.queries == len(X)


def test_label_only_graph_without_hint_infers_the_integer_range(
    torch_labels_onnx: BuiltModel, numeric_frame: pd.DataFrame
) -> None:
    model = OnnxModel(torch_labels_onnx.path)
    assert model.classes == ()  # unknown until the first query
    model.predict_proba(numeric_frame)
    assert model.classes == (0, 1, 2)
    assert "first query" in model.info.details["class_source"]


def test_label_outside_the_hint_is_a_clear_error(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    build_torch_label_only_onnx(tmp_path / "l.onnx", X, y)
    model = OnnxModel(tmp_path / "l.onnx", classes=[0])
    with pytest.raises(ModelDataMismatchError, match="not among its classes"):
        model.predict_proba(pd.DataFrame(X))


def test_classes_from_model_metadata(tmp_path: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numeric_data
    path = tmp_path / "named.onnx"
    build_torch_mlp_onnx(path, X, y, hidden=8, epochs=5)
    set_onnx_metadata(path, classes='["cat", "dog", "eel"]')
    model = OnnxModel(path)
    assert model.classes == ("cat", "dog", "eel")
    assert model.predict_proba(pd.DataFrame(X[:3])).shape == (3, 3)


def test_wrong_feature_count_names_both_counts(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    with pytest.raises(ModelDataMismatchError, match=r"takes 8 feature columns.*have 9") as caught:
        OnnxModel(torch_probs_onnx.path).predict_proba(numeric_frame.assign(extra=0.0))
    message = str(caught.value)
    assert "--drop-cols" in message and "\n" not in message


def test_text_column_is_named(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    frame = numeric_frame.assign(f3=["x"] * len(numeric_frame))
    with pytest.raises(ModelDataMismatchError, match="column 'f3' holds text"):
        OnnxModel(torch_probs_onnx.path).predict_proba(frame)


def test_numeric_strings_and_booleans_are_converted(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    model = OnnxModel(torch_probs_onnx.path)
    as_text = numeric_frame.astype(str)
    np.testing.assert_allclose(model.predict_proba(as_text), model.predict_proba(numeric_frame), atol=1e-6)


def test_empty_frame_gives_an_empty_array(torch_probs_onnx: BuiltModel, numeric_frame: pd.DataFrame) -> None:
    model = OnnxModel(torch_probs_onnx.path)
    probs = model.predict_proba(numeric_frame.iloc[:0])
    assert probs.shape == (0, 3) and model.queries == 0


def test_info_describes_the_graph(torch_probs_onnx: BuiltModel) -> None:
    info = OnnxModel(torch_probs_onnx.path).info
    assert info.format == "onnx"
    assert info.sha256 == hashlib.sha256(torch_probs_onnx.path.read_bytes()).hexdigest()
    assert info.n_features == 8 and info.classes == (0, 1, 2)
    assert info.inputs[0].dtype == "float" and info.inputs[0].shape[1] == 8
    assert info.outputs[0].shape[1] == 3
    assert info.details["producer"].startswith("pytorch")
    assert info.output_kind is OutputKind.PROBABILITIES


@pytest.mark.parametrize("built", ["torch_probs_onnx", "zipmap_onnx"])
def test_the_graph_is_read_once_for_classes_and_architecture(
    built: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    from mia_audit.models.architecture import infer_onnx_architecture

    path = request.getfixturevalue(built).path
    loads = []
    real_load = onnx.load
    monkeypatch.setattr(onnx, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    model = OnnxModel(path)
    architecture = model.architecture
    assert len(loads) == 1 and model.architecture is architecture
    assert architecture == infer_onnx_architecture(path)  # the function reads the same graph the same way
    assert architecture.n_classes == model.n_classes


def test_architecture_of_a_graph_the_onnx_package_cannot_read(
    torch_probs_onnx: BuiltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("no")

    monkeypatch.setattr(onnx, "load", broken)
    model = OnnxModel(torch_probs_onnx.path)  # onnxruntime reads it: only the extras are lost
    assert model.classes == (0, 1, 2)
    assert model.architecture.family == "unknown"
    assert "is not an ONNX model (ValueError: no)" in model.architecture.reason
