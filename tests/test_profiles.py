"""``--profile quick|standard|thorough``: which attacks run and which defaults change; options given on the
command line or in the config file win over the profile's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.attacks.registry import QUICK, resolve_selection
from mia_audit.cli import app
from mia_audit.options import PROFILE_DEFAULTS, resolve

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("profiles"))


def _ids(profile: str, task: str = "classification") -> list[str]:
    return [a.info.id for a in resolve_selection(None, task, profile)]


def test_quick_runs_the_cheap_attacks_of_each_task() -> None:
    assert _ids("quick") == [
        "threshold.loss",
        "threshold.confidence",
        "threshold.entropy",
        "threshold.modified_entropy",
        "calibrated.loss",
        "calibrated.confidence",
        "calibrated.entropy",
        "calibrated.modified_entropy",
        "lira.online",
        "rmia",
        "label_only.gap",
    ]
    # label_only.gap has no regression attack: the profile leaves it out rather than fail.
    assert _ids("quick", "regression") == ["threshold.loss", "calibrated.loss", "lira.online", "rmia"]
    assert _ids("standard") == _ids("thorough") == [a.info.id for a in resolve_selection(None)]
    assert set(QUICK) and "shadow.shokri" not in _ids("quick")


def test_the_profile_sets_defaults_that_explicit_options_override() -> None:
    quick = resolve({"profile": "quick"}, {"profile"}, None, {})
    assert (quick["reference_models"], quick["shadow_models"], quick["formats"]) == (4, 4, ("json", "html"))
    assert quick.sources["reference_models"] == "profile quick"
    given = resolve({"profile": "quick", "reference_models": 8}, {"profile", "reference_models"}, None, {})
    assert given["reference_models"] == 8 and given.sources["reference_models"] == "command line"
    from_file = resolve({}, set(), Path("pyproject.toml"), {"profile": "thorough", "boundary_queries": 50})
    assert (from_file["reference_models"], from_file["boundary_queries"]) == (64, 50)
    config, _ = from_file.build()
    assert (config.profile, config.reference.n_models, config.boundary_queries) == ("thorough", 64, 50)
    assert resolve({}, set(), None, {})["reference_models"] == 16  # standard changes nothing
    assert PROFILE_DEFAULTS["standard"] == {}


def test_a_quick_scan_end_to_end(case: AuditCase, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["scan", str(case.model), "--data", str(case.data), "--out", str(out), "--profile", "quick", "--trust-model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    report = json.loads((out / "report.json").read_text())
    assert [a["id"] for a in report["attacks"]] == _ids("quick")
    assert report["run"]["config"]["profile"] == "quick"
    assert report["run"]["config"]["reference_models"] == 4
    assert report["run"]["config"]["config_source"]["settings"]["reference_models"] == "profile quick"
    online = next(a for a in report["attacks"] if a["id"] == "lira.online")
    assert online["title"].endswith("4 reference models") and online["auc_ci"][0] > 0.5
    # A per-commit gate measures no defence.
    assert report["defences"] == [] and report["run"]["config"]["defences"] == "none"


def test_defences_follow_the_profile_unless_given() -> None:
    assert resolve({}, set(), None, {})["defences"] == "output"
    assert resolve({"profile": "quick"}, {"profile"}, None, {})["defences"] == "none"
    given = resolve({"profile": "quick", "defences": "output"}, {"profile", "defences"}, None, {})
    assert given["defences"] == "output"
    thorough, _ = resolve({"profile": "thorough"}, {"profile"}, None, {}).build()
    assert thorough.profile == "thorough" and thorough.defences == "all"


def test_defences_none_measures_none_and_a_wrong_value_is_exit_2(case: AuditCase, tmp_path: Path) -> None:
    args = ["scan", str(case.model), "--data", str(case.data), "--trust-model", "--attacks", "threshold.loss"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), "--format", "json", "--defences", "none"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "report.json").read_text())["defences"] == []
    result = runner.invoke(app, [*args, "--defences", "dp"])
    assert result.exit_code == 2 and "--defences" in result.output and "output" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_profile_ends_with_exit_2(case: AuditCase, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(case.model), "--data", str(case.data), "--profile", "fast"])
    assert result.exit_code == 2 and "--profile must be one of quick, standard, thorough" in result.output


def test_a_large_audit_measures_defences_only_when_asked(
    case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mia_audit import audit as pipeline

    monkeypatch.setattr(pipeline, "DEFENCES_BY_DEFAULT_MAX_RECORDS", 100)  # the case has 900+ records
    args = ["scan", str(case.model), "--data", str(case.data), "--trust-model", "--attacks", "threshold.loss"]
    args += ["--format", "json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "default")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "default" / "report.json").read_text())
    assert report["defences"] == []
    assert any("give --defences output or all to measure them" in n for n in report["notes"])
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "asked"), "--defences", "output"])
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "asked" / "report.json").read_text())["defences"]) == 6
