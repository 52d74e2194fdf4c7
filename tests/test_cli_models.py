"""Models that are not classifiers are refused through the CLI (exit 2, one line); --output and
--output-kind point the audit at the right output (exit 0)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_checks import one_line_error
from fixtures_models import build_skops, classification_data
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from mia_audit.cli import app

sys.path.insert(0, str(Path(__file__).parent / "models"))
from output_graphs import embedding_graph, linear_graph, passthrough_graph, skl2onnx_regression

runner = CliRunner()
QUICK = ("--attacks", "threshold", "--format", "json")
N_FEATURES = 8


@pytest.fixture(scope="module")
def audit_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X, y = classification_data(n=400, n_features=N_FEATURES, n_classes=2, seed=3)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    frame["label"] = y
    frame["member"] = (np.arange(len(frame)) < 200).astype(int)
    path = tmp_path_factory.mktemp("cli_models") / "audit.csv"
    frame.to_csv(path, index=False)
    return path


def _scan(model: Path, data: Path, out: Path, *args: str) -> object:
    return runner.invoke(app, ["scan", str(model), "--data", str(data), "--out", str(out), *QUICK, *args])


def _report(out: Path) -> dict[str, object]:
    return json.loads((out / "report.json").read_text())


def test_embedding_graph_ends_with_exit_2_naming_shape_range_and_output(audit_csv: Path, tmp_path: Path) -> None:
    model = embedding_graph(tmp_path / "embedding.onnx", N_FEATURES)
    result = _scan(model, audit_csv, tmp_path / "out")
    one_line_error(
        result,
        "output 'embedding' (float, shape [?, 16])",
        "values in [0, ",
        "row sums",
        "--output NAME (outputs: embedding float [?, 16], norm float [?, 1])",
    )
    assert not (tmp_path / "out" / "report.json").exists()


def test_linear_regression_skops_ends_with_exit_2(audit_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(audit_csv)
    features = frame[[f"f{i}" for i in range(N_FEATURES)]].to_numpy()
    model = tmp_path / "regression.skops"
    build_skops(model, features, frame["label"].to_numpy(dtype=float), estimator=LinearRegression())
    one_line_error(_scan(model, audit_csv, tmp_path / "out"), "LinearRegression: a regressor, not a classifier")


def test_linear_regression_onnx_ends_with_exit_2(audit_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(audit_csv)
    features = frame[[f"f{i}" for i in range(N_FEATURES)]].to_numpy(dtype=np.float32)
    model = skl2onnx_regression(tmp_path / "regression.onnx", features, frame["label"].to_numpy(dtype=np.float32))
    one_line_error(
        _scan(model, audit_csv, tmp_path / "out"), "output 'variable' (float, shape [?, 1])", "a regression value"
    )


def test_output_picks_the_class_output_of_a_multi_output_graph(audit_csv: Path, tmp_path: Path) -> None:
    model = embedding_graph(tmp_path / "heads.onnx", N_FEATURES, probs=True)
    result = _scan(model, audit_csv, tmp_path / "out", "--output", "probs")
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "out")
    assert report["run"]["config"]["output"] == "probs"  # type: ignore[index]
    assert report["model"]["n_classes"] == 2 and report["model"]["output_kind"] == "probabilities"  # type: ignore[index]
    wrong = _scan(model, audit_csv, tmp_path / "wrong", "--output", "embedding")
    one_line_error(wrong, "output 'embedding'", "probs float [?, 2]")
    missing = _scan(model, audit_csv, tmp_path / "missing", "--output", "logits")
    one_line_error(missing, "has no output named 'logits'", "norm float [?, 1]")


def test_output_kind_logits_is_accepted_on_a_raw_linear_output(audit_csv: Path, tmp_path: Path) -> None:
    model = linear_graph(tmp_path / "linear.onnx", N_FEATURES, 2)
    result = _scan(model, audit_csv, tmp_path / "out", "--output-kind", "logits")
    assert result.exit_code == 0, result.output
    assert _report(tmp_path / "out")["model"]["output_kind"] == "logits"  # type: ignore[index]


def test_output_kind_logits_overrides_a_refusal_of_signed_values(audit_csv: Path, tmp_path: Path) -> None:
    # Raw scores with no layer in the graph to vouch for them: refused, unless the user says they are logits.
    model = passthrough_graph(tmp_path / "echo.onnx", N_FEATURES, name="scores")
    one_line_error(_scan(model, audit_csv, tmp_path / "auto"), "signed values", "--output-kind logits")
    result = _scan(model, audit_csv, tmp_path / "out", "--output-kind", "logits")
    assert result.exit_code == 0, result.output


def test_output_kind_rejects_an_unknown_kind(audit_csv: Path, tmp_path: Path) -> None:
    model = linear_graph(tmp_path / "linear.onnx", N_FEATURES, 2)
    one_line_error(_scan(model, audit_csv, tmp_path / "out", "--output-kind", "scores"), "--output-kind")


def test_an_unreadable_architecture_is_a_warning_in_the_console_and_the_report(tmp_path: Path) -> None:
    """A graph with no dense layer or tree ensemble (softmax of four input columns): shadows fall back to a
    default MLP, and the summary says so instead of hiding it in a table note."""
    from onnx import helper
    from output_graphs import float_output, save_graph

    samples = Path(__file__).resolve().parents[1] / "sample_models"
    nodes = [
        helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["first"]),
        helper.make_node("Softmax", ["first"], ["probabilities"], axis=1),
    ]
    ints = {k: np.array([v], dtype=np.int64) for k, v in (("starts", 0), ("ends", 4), ("axes", 1))}
    model = save_graph(tmp_path / "plain.onnx", 24, nodes, [float_output("probabilities", 4)], ints)
    out = tmp_path / "out"
    args = ["--data", str(samples / "sample_audit.csv"), "--attacks", "shadow.one", "--shadow-models", "1"]
    result = CliRunner().invoke(
        app, ["scan", str(model), *args, "--shadow-epochs", "2", "--out", str(out), "--format", "json,html"]
    )
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "--shadow-family" in result.output
    report = json.loads((out / "report.json").read_text())
    assert len(report["warnings"]) == 1 and "default MLP" in report["warnings"][0]
    html = (out / "report.html").read_text()
    assert html.index("Warning:") < html.index('id="scope"')  # in the executive summary
