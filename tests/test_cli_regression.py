"""``--task regression`` end to end through the CLI: a memorising forest on scikit-learn's diabetes data
(442 real patients), saved with skops and exported to ONNX, audited with every regression attack; and
every way to get the task wrong ends with exit 2 and one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from typer.testing import CliRunner, Result

from mia_audit.cli import app

runner = CliRunner()
FAST = ("--trust-model", "--reference-models", "4", "--format", "json")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("regression_cli")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    member = np.zeros(len(X), dtype=bool)
    member[np.random.default_rng(0).permutation(len(X))[: len(X) // 2]] = True
    frame = X.assign(target=y, member=member.astype(int))
    frame.to_csv(folder / "audit.csv", index=False)
    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X[member], y[member])
    sio.dump(forest, folder / "forest.skops")
    paths = {"data": folder / "audit.csv", "skops": folder / "forest.skops", "folder": folder}
    try:
        from skl2onnx import to_onnx
    except ImportError:
        return paths
    onnx_model = to_onnx(forest, X[:1].to_numpy(dtype=np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    (folder / "forest.onnx").write_bytes(onnx_model.SerializeToString())
    return {**paths, "onnx": folder / "forest.onnx"}


def _scan(model: Path, data: Path, out: Path, *args: str) -> Result:
    return runner.invoke(app, ["scan", str(model), "--data", str(data), "--out", str(out), *FAST, *args])


def _report(out: Path) -> dict[str, object]:
    return dict(json.loads((out / "report.json").read_text()))


@pytest.fixture(scope="module")
def skops_report(case: dict[str, Path]) -> dict[str, object]:
    out = case["folder"] / "out_skops"
    result = _scan(case["skops"], case["data"], out, "--task", "regression")
    assert result.exit_code == 0, result.output
    return _report(out)


def test_a_memorising_forest_is_audited_with_every_regression_attack(skops_report: dict[str, object]) -> None:
    report = skops_report
    attacks = {a["id"]: a for a in report["attacks"]}  # type: ignore[attr-defined]
    assert set(attacks) == {"threshold.loss", "calibrated.loss", "lira.offline", "lira.online", "rmia"}
    assert report["model"]["task"] == "regression" and report["model"]["output_kind"] == "values"  # type: ignore[index]
    assert report["model"]["classes"] == []  # type: ignore[index]
    utility = report["utility"]
    assert utility["measure"] == "R²" and utility["train_accuracy"] > 0.85 > utility["test_accuracy"]  # type: ignore[index]
    # A forest fits its training patients far better than new ones: the reference attacks see it.
    assert attacks["lira.online"]["auc"] > 0.85
    assert all(a["auc_ci"][0] > 0.5 for a in attacks.values())
    # 111 members a side: at least high is shown; the interval may not exclude critical.
    assert report["risk"]["at_least"] in ("high", "critical")  # type: ignore[index]
    assert report["run"]["config"]["task"] == "regression"  # type: ignore[index]
    rows = report["vulnerability"]["by_class"]["rows"]  # type: ignore[index]
    assert len(rows) == 4 and rows[0]["name"].startswith("under ") and rows[-1]["name"].endswith(" or more")
    assert sum(r["n_members"] for r in rows) == 111
    hardening = next(m for m in report["mitigations"] if m["id"] == "output_hardening")  # type: ignore[attr-defined]
    assert hardening["title"] == "Output hardening (coarser predictions)" and hardening["priority"] == "recommended"
    regularisation = next(m for m in report["mitigations"] if m["id"] == "regularisation")  # type: ignore[attr-defined]
    assert regularisation["finding"].startswith("training R² ") and "mean squared error" in regularisation["finding"]


def test_the_same_forest_as_onnx_gets_the_same_verdict(case: dict[str, Path], skops_report: dict[str, object]) -> None:
    if "onnx" not in case:
        pytest.skip("skl2onnx is not installed")
    out = case["folder"] / "out_onnx"
    result = _scan(case["onnx"], case["data"], out, "--task", "regression")
    assert result.exit_code == 0, result.output
    onnx_report = _report(out)
    assert onnx_report["risk"]["level"] == skops_report["risk"]["level"]  # type: ignore[index]
    for ours, theirs in zip(onnx_report["attacks"], skops_report["attacks"], strict=True):  # type: ignore[call-overload]
        assert ours["id"] == theirs["id"]
        low, high = theirs["auc_ci"]
        assert low <= ours["auc"] <= high, ours["id"]


def test_the_html_report_speaks_of_values_not_classes(case: dict[str, Path]) -> None:
    out = case["folder"] / "out_html"
    args = ("--task", "regression", "--trust-model", "--attacks", "threshold", "--format", "html,json")
    result = runner.invoke(app, ["scan", str(case["skops"]), "--data", str(case["data"]), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "regression: one predicted value per record" in html and "Per-range and per-group exposure" in html
    assert "Mean squared error" in html and "Cross-entropy" not in html and ">Classes<" not in html
    # Re-rendered from report.json alone, it still speaks of values.
    again = runner.invoke(app, ["report", str(out / "report.json"), "--format", "html", "--out", str(out / "again")])
    assert again.exit_code == 0, again.output
    assert "Per-range and per-group exposure" in (out / "again" / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "to audit a regressor, pass --task regression"),
        (("--task", "regression", "--attacks", "shadow"), "does not apply to regression models"),
        (("--task", "regression", "--transfer-data", "x.csv"), "drop it with --task regression"),
        (("--task", "forecast"), "--task must be one of classification, regression"),
        (("--task", "regression", "--output-kind", "logits"), "drop it with --task regression"),
    ],
)
def test_the_task_given_wrong_ends_with_exit_2(
    case: dict[str, Path], tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    result = _scan(case["skops"], case["data"], tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "report.json").exists()


def test_text_labels_or_a_classifier_with_task_regression_end_with_exit_2(
    case: dict[str, Path], tmp_path: Path
) -> None:
    frame = pd.read_csv(case["data"])
    frame["target"] = np.where(frame["target"] > 140, "high", "low")
    text = tmp_path / "text.csv"
    frame.to_csv(text, index=False)
    result = _scan(case["skops"], text, tmp_path / "out", "--task", "regression")
    assert result.exit_code == 2 and "not finite numbers ('high', 'low')" in result.output
    sample = Path(__file__).parents[1] / "sample_models"
    result = _scan(sample / "mlp_leaky.onnx", sample / "sample_audit.csv", tmp_path / "out", "--task", "regression")
    assert result.exit_code == 2 and "drop --task regression" in result.output
