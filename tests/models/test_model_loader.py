"""load_model's dispatch and its one-line errors, describe_model and format_model_info."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures_models import BuiltModel, build_pickle, build_skops

from mia_audit.errors import ConfigError, InputFileError, MiaAuditError, ModelLoadError
from mia_audit.models import (
    ModelInfo,
    OnnxModel,
    OutputKind,
    SklearnModel,
    TensorInfo,
    describe_model,
    format_model_info,
    load_model,
)

REPO = Path(__file__).resolve().parents[2]


def test_dispatch_by_suffix(
    tmp_path: Path, zipmap_onnx: BuiltModel, numeric_data: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = numeric_data
    build_skops(tmp_path / "m.skops", X, y)
    build_pickle(tmp_path / "m.PKL", X, y)
    assert isinstance(load_model(zipmap_onnx.path), OnnxModel)
    assert isinstance(load_model(str(tmp_path / "m.skops")), SklearnModel)
    assert isinstance(load_model(tmp_path / "m.PKL", trust_model=True), SklearnModel)


def _bad_files(tmp: Path) -> dict[str, tuple[Path, type[MiaAuditError], str, bool]]:
    """name -> (path, error, text in the message, trust_model)"""
    csv_text = "a,b,label\n1,2,0\n"
    (tmp / "data.onnx").write_text(csv_text)
    (tmp / "data.skops").write_text(csv_text)
    (tmp / "data.pkl").write_text(csv_text)
    (tmp / "model.pt").write_bytes(b"\x80\x02")
    (tmp / "model.h5").write_bytes(b"\x89HDF")
    (tmp / "folder.onnx").mkdir()
    return {
        "missing": (tmp / "nope.onnx", InputFileError, "model file not found", False),
        "folder": (tmp / "folder.onnx", InputFileError, "not a file", False),
        "unknown suffix": (tmp / "model.h5", InputFileError, "unknown model format .h5", False),
        "not torch": (tmp / "model.pt", ModelLoadError, "not a PyTorch file torch.load can read", False),
        "csv as onnx": (tmp / "data.onnx", ModelLoadError, "not an ONNX model", False),
        "csv as skops": (tmp / "data.skops", ModelLoadError, "not a readable skops file", False),
        "csv as pickle": (tmp / "data.pkl", ModelLoadError, "cannot unpickle", True),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "folder",
        "unknown suffix",
        "not torch",
        "csv as onnx",
        "csv as skops",
        "csv as pickle",
    ],
)
def test_bad_files_give_one_clear_line(tmp_path: Path, case: str) -> None:
    path, error, text, trust = _bad_files(tmp_path)[case]
    with pytest.raises(error) as caught:
        load_model(path, trust_model=trust)
    message = str(caught.value)
    assert text in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_batch_size_must_be_positive(zipmap_onnx: BuiltModel) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        load_model(zipmap_onnx.path, batch_size=0)


def test_describe_and_format_a_real_model(pipeline_onnx: BuiltModel) -> None:
    info = describe_model(pipeline_onnx.path)
    text = format_model_info(info)
    assert info.format == "onnx" and info.output_kind is OutputKind.PROBABILITIES
    for expected in (
        "Format       onnx",
        f"SHA-256      {info.sha256}",
        "Output kind  probabilities",
        "Classes      3: high, low, mid",
        "Inputs (4)",
        "  job    string  [?, 1]",
        "probabilities  float  [?, 3]",
        "producer",
    ):
        assert expected in text, expected


def test_format_truncates_long_class_and_input_lists() -> None:
    info = ModelInfo(
        path="m.skops",
        format="sklearn-skops",
        sha256="ab" * 32,
        inputs=tuple(TensorInfo(f"c{i}", "column", (None,)) for i in range(25)),
        outputs=(TensorInfo("predict_proba", "float64", (None, 30)),),
        classes=tuple(range(30)),
        output_kind=OutputKind.PROBABILITIES,
        n_features=25,
    )
    text = format_model_info(info)
    assert "Classes      30: 0, 1, 2" in text and "17, 18, 19, …" in text and ", 20" not in text
    assert "  … and 5 more" in text and "c24" not in text
    assert "Details" not in text


def test_label_only_model_without_classes_is_described_honestly(
    torch_labels_onnx: BuiltModel,
) -> None:
    text = format_model_info(describe_model(torch_labels_onnx.path))
    assert "Classes      unknown until the first query" in text
    assert "Output kind  labels" in text


def test_package_import_is_light() -> None:
    code = (
        "import sys, mia_audit.models; "
        "heavy = {'onnxruntime', 'onnx', 'torch', 'sklearn', 'skops', 'joblib'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
