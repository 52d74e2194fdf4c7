"""``mia-audit hook``: the pre-commit / nox entry point audits the models [[tool.mia-audit.hook]] names."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mia_audit.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_models"
runner = CliRunner()

PROJECT = """
[tool.mia-audit]
fail_on = "critical"
formats = ["json"]
attacks = ["threshold"]

[[tool.mia-audit.hook]]
model = "models/mlp_leaky.onnx"
data = "data/audit.csv"
max_auc = 0.6

[[tool.mia-audit.hook]]
model = "models/logreg.skops"
data = "data/other.csv"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()  # the config search stops here
    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(SAMPLES / "mlp_leaky.onnx", tmp_path / "models" / "mlp_leaky.onnx")
    shutil.copy(SAMPLES / "logreg_regularised.skops", tmp_path / "models" / "logreg.skops")
    shutil.copy(SAMPLES / "sample_audit.csv", tmp_path / "data" / "audit.csv")
    shutil.copy(SAMPLES / "sample_audit.csv", tmp_path / "data" / "other.csv")
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _report(project: Path, name: str) -> dict[str, object]:
    return json.loads((project / ".mia-audit" / name / "report.json").read_text())  # type: ignore[no-any-return]


def test_every_model_runs_with_the_quick_profile_and_its_own_gate(project: Path) -> None:
    result = runner.invoke(app, ["hook", "-q"])
    assert result.exit_code == 1, result.output  # the leaky MLP's AUC is above its own max_auc 0.6
    assert "mia-audit hook: models/mlp_leaky.onnx" in result.output
    leaky, logreg = _report(project, "models-mlp_leaky.onnx"), _report(project, "models-logreg.skops")
    for report in (leaky, logreg):
        assert report["run"]["config"]["profile"] == "quick"  # type: ignore[index]
        assert report["run"]["config"]["fail_on"] == "critical"  # type: ignore[index]
        assert {a["id"] for a in report["attacks"]} == {  # type: ignore[attr-defined]
            "threshold.loss", "threshold.confidence", "threshold.entropy", "threshold.modified_entropy",
        }  # fmt: skip
    assert leaky["run"]["config"]["max_auc"] == 0.6 and not leaky["gate"]["passed"]  # type: ignore[index]
    assert logreg["run"]["config"]["max_auc"] is None  # type: ignore[index]


def test_only_the_models_whose_files_changed_run(project: Path) -> None:
    result = runner.invoke(app, ["hook", "-q", "data/other.csv", "README.md"])
    assert "logreg.skops" in result.output and "mlp_leaky" not in result.output
    assert not (project / ".mia-audit" / "models-mlp_leaky.onnx").exists()
    nothing = runner.invoke(app, ["hook", "-q", "README.md"])
    assert nothing.exit_code == 0 and nothing.output == ""
    everything = runner.invoke(app, ["hook", "-q", "pyproject.toml"])  # the configuration changed: all run
    assert "logreg.skops" in everything.output and "mlp_leaky.onnx" in everything.output


def test_an_entry_that_cannot_run_is_exit_2_and_the_others_still_run(project: Path) -> None:
    (project / "data" / "other.csv").unlink()
    result = runner.invoke(app, ["hook", "-q"])
    assert result.exit_code == 2
    assert re.search(r"^error: models/logreg\.skops: .*other\.csv", result.stderr, re.MULTILINE), result.stderr
    assert (project / ".mia-audit" / "models-mlp_leaky.onnx" / "report.json").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[tool.mia-audit]\nseed = 1\n', "no [[tool.mia-audit.hook]] entries"),
        ('[[tool.mia-audit.hook]]\ndata = "d.csv"\n', 'hook #1 needs model = "path/to/model"'),
        ('[[tool.mia-audit.hook]]\nmodel = "m.onnx"\n[[tool.mia-audit.hook]]\nmodel = "n.onnx"\nshadows = 3\n',
         "hook #2: unknown key 'shadows'"),
        ('[tool.mia-audit]\nhook = "m.onnx"\n', "must be an array of tables"),
    ],
)  # fmt: skip
def test_a_bad_hook_table_is_one_line_and_exit_2(project: Path, text: str, says: str) -> None:
    (project / "pyproject.toml").write_text(text)
    result = runner.invoke(app, ["hook"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], lines


def test_the_scan_ignores_the_hook_table(project: Path) -> None:
    """A pyproject.toml with hook entries still configures a plain scan (the table is not a scan key)."""
    result = runner.invoke(app, ["scan", "models/mlp_leaky.onnx", "--data", "data/audit.csv", "--out", "r", "-q"])
    assert result.exit_code in (0, 1), result.output
    config = json.loads((project / "r" / "report.json").read_text())["run"]["config"]
    assert config["fail_on"] == "critical" and config["config_source"]["settings"]["fail_on"] == "file"
    assert config["profile"] == "standard"  # the hook's quick profile is the hook's alone


def test_the_pre_commit_hooks_run_the_hook_command_on_models_data_and_config() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"mia-audit", "mia-audit-system"}
    for hook in hooks:
        assert hook["entry"] == "mia-audit hook" and hook["pass_filenames"] is True
        files = re.compile(hook["files"])
        for path in (
            "models/m.onnx",
            "m.skops",
            "m.pth",
            "data/a.csv",
            "a.parquet",
            "privacy/baseline.json",
            "pyproject.toml",
            "sub/pyproject.toml",
        ):
            assert files.search(path), path
        assert not files.search("README.md") and not files.search("mypyproject.toml")
