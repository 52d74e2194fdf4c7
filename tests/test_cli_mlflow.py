"""MLflow models end to end, on a real MLflow with a local file store (no server): a registered ONNX model
scanned by models:/ URI and the audit logged back to its run; the sklearn flavour as skops and pickled."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import onnx
import pytest
import skops.io as sio
from cli_checks import one_line_error
from mlflow import MlflowClient
from typer.testing import CliRunner

from mia_audit.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
DATA = str(SAMPLES / "sample_audit.csv")
FAST = ("--data", DATA, "--attacks", "threshold", "--defences", "none", "--format", "json,markdown")
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A file store with the leaky MLP registered as ONNX (leaky/1), and the regularised logistic
    regression logged in one run with skops and with cloudpickle."""
    folder = tmp_path_factory.mktemp("mlflow")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store behind this switch
    uri = f"file://{folder}/mlruns"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run() as onnx_run:
            mlflow.onnx.log_model(
                onnx.load(SAMPLES / "mlp_leaky.onnx"), name="model", registered_model_name="leaky", pip_requirements=[]
            )
        skops_file = SAMPLES / "logreg_regularised.skops"
        logreg = sio.load(skops_file, trusted=sio.get_untrusted_types(file=skops_file))
        with mlflow.start_run() as sklearn_run:
            # No pip requirements inferred: MLflow would run a subprocess per model to find them.
            mlflow.sklearn.log_model(logreg, name="skops", serialization_format="skops", pip_requirements=[])
            mlflow.sklearn.log_model(logreg, name="pickled", serialization_format="cloudpickle", pip_requirements=[])
    finally:
        mlflow.set_tracking_uri(previous)
    yield {"uri": uri, "onnx_run": onnx_run.info.run_id, "sklearn_run": sklearn_run.info.run_id}
    patch.undo()


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


def test_a_registered_model_is_scanned_and_the_audit_logged_to_its_run(store: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "records.csv").write_text("an older run's per-record scores\n")  # not this run's: never uploaded
    args = ["scan", "models:/leaky/1", "--mlflow-tracking-uri", store["uri"], *FAST, "--out", str(out), "--mlflow-log"]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["path"] == "models:/leaky/1" and report["model"]["format"] == "onnx"
    assert any("onnx flavour" in note and store["onnx_run"] in note for note in report["notes"])
    client = MlflowClient(tracking_uri=store["uri"])
    run = client.get_run(store["onnx_run"])
    metrics, tags = run.data.metrics, run.data.tags
    levels = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    assert tags["mia_audit.risk_level"] == report["risk"]["level"]
    assert metrics["mia_audit.risk_level"] == levels.get(report["risk"]["level"], levels[report["risk"]["at_least"]])
    for attack in report["attacks"]:
        assert metrics[f"mia_audit.auc.{attack['id']}"] == pytest.approx(attack["auc"])
        assert metrics[f"mia_audit.tpr_at_1pct_fpr.{attack['id']}"] == pytest.approx(attack["tpr_at_fpr"]["0.01"])
    assert metrics["mia_audit.best_auc"] == pytest.approx(max(a["auc"] for a in report["attacks"]))
    logged = {Path(f.path).name for f in client.list_artifacts(store["onnx_run"], "mia-audit")}
    assert logged == {"report.json", "summary.md"}
    assert "`models:/leaky/1` (sha256" in (out / "summary.md").read_text(encoding="utf-8")


def test_an_mlmodel_cannot_point_outside_its_folder(tmp_path: Path) -> None:
    from mia_audit.errors import ModelLoadError
    from mia_audit.models.mlflow_source import _flavour_file

    (tmp_path / "model").mkdir()
    (tmp_path / "victim.skops").write_text("not the model's")
    for name in ("../victim.skops", str(tmp_path / "victim.skops")):
        spec = {"flavors": {"sklearn": {"pickled_model": name, "serialization_format": "skops"}}}
        with pytest.raises(ModelLoadError, match="not a file of the model's folder"):
            _flavour_file(tmp_path / "model", spec, "models:/x/1", trust_model=False)
    assert (tmp_path / "victim.skops").exists()


def test_credentials_in_a_tracking_uri_are_never_shown() -> None:
    from mia_audit.models.mlflow_source import shown

    assert shown("https://alice:s3cret@mlflow.example.com:5000/x") == "https://mlflow.example.com:5000/x"
    assert shown("file:///tmp/mlruns") == "file:///tmp/mlruns"


def test_the_sklearn_flavour_saved_with_skops_loads_without_trust(store: dict[str, str], tmp_path: Path) -> None:
    model = f"runs:/{store['sklearn_run']}/skops"
    result = runner.invoke(app, ["scan", model, "--mlflow-tracking-uri", store["uri"], *FAST, "--out", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["path"] == model and report["model"]["format"] == "sklearn-skops"


def test_a_pickled_sklearn_flavour_needs_trust(store: dict[str, str], tmp_path: Path) -> None:
    model = f"runs:/{store['sklearn_run']}/pickled"
    args = ["scan", model, "--mlflow-tracking-uri", store["uri"], *FAST, "--out", str(tmp_path)]
    one_line_error(runner.invoke(app, args), "saved with cloudpickle", "--trust-model")
    trusted = runner.invoke(app, [*args, "--trust-model"])
    assert trusted.exit_code in (0, 1), trusted.output


def test_a_model_that_is_not_there_is_exit_2(store: dict[str, str], tmp_path: Path) -> None:
    args = ["scan", "models:/leaky/9", "--mlflow-tracking-uri", store["uri"], *FAST, "--out", str(tmp_path / "r")]
    one_line_error(runner.invoke(app, args), "models:/leaky/9: not found at the MLflow tracking server")
    assert not (tmp_path / "r" / "report.json").exists()


def test_mlflow_log_needs_a_model_from_mlflow(tmp_path: Path) -> None:
    args = ["scan", str(SAMPLES / "mlp_leaky.onnx"), *FAST, "--out", str(tmp_path), "--mlflow-log"]
    one_line_error(runner.invoke(app, args), "--mlflow-log logs the audit to the MLflow run", "models:/NAME/VERSION")


def test_without_mlflow_a_registry_model_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if mlflow were not installed
    args = ["scan", "models:/leaky/1", *FAST, "--out", str(tmp_path)]
    one_line_error(runner.invoke(app, args), "pip install 'mia-audit[mlflow]'")
