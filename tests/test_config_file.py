"""Gate settings from pyproject.toml or --config, merged under the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_checks import one_line_error
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.config_file import ConfigTable, find_pyproject, load_table, settings
from mia_audit.errors import ConfigError, InputFileError
from mia_audit.options import FILE_KEYS, Settings, parse_meta, parse_tpr_limits

runner = CliRunner()


def _project(root: Path, body: str, name: str = "pyproject.toml") -> Path:
    """A folder that is a repository root (so the search stops there) holding a TOML file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    path = root / name
    path.write_text(body, encoding="utf-8")
    return path


PYPROJECT = """\
[project]
name = "my-model"

[tool.mia-audit]
fail_on = "high"
max_auc = 0.8
max_tpr_at_fpr = { "0.01" = 0.2, "0.001" = 0.05 }
max_epsilon = 2.5
attacks = ["threshold", "label_only.gap"]
seed = 7
"""


def _settings(cwd: Path, config: Path | None = None, given: dict[str, object] | None = None) -> Settings:
    """Settings as the CLI resolves them, with ``given`` as typed on the command line."""
    given = given or {}
    return settings(given, set(given), config, cwd)


def test_reads_every_key_from_pyproject(tmp_path: Path) -> None:
    path = _project(tmp_path, PYPROJECT)
    loaded = _settings(tmp_path)
    assert loaded.file == path
    assert loaded["fail_on"] == "high" and loaded["max_auc"] == 0.8 and loaded["max_epsilon"] == 2.5
    assert loaded["max_tpr_at_fpr"] == {"0.01": 0.2, "0.001": 0.05}
    assert loaded["attacks"] == ("threshold", "label_only.gap") and loaded["seed"] == 7


def test_every_option_of_scan_is_a_key(tmp_path: Path) -> None:
    """Not only the gate: shadow, reference, data and output options too, with paths relative to the file."""
    body = (
        '[tool.mia-audit]\nshadow-models = 4\nreference_family = "logreg"\nboundary_queries = 7\n'
        'members = "data/train.csv"\nformats = ["json"]\nbalance = false\ndevice = "cpu"\n'
    )
    path = _project(tmp_path, body)
    loaded = _settings(tmp_path)
    assert loaded["shadow_models"] == 4 and loaded["reference_family"] == "logreg"
    assert loaded["members"] == path.parent / "data/train.csv" and loaded["formats"] == ("json",)
    config, spec = loaded.build()
    assert config.shadow.n_models == 4 and config.reference.family == "logreg" and config.boundary_queries == 7
    assert spec.balance is False and spec.members == path.parent / "data/train.csv"
    assert set(FILE_KEYS) >= {"out", "seed", "threshold_fpr", "sensitive_col", "transfer_data", "baseline"}


def test_search_goes_up_to_the_repository_root(tmp_path: Path) -> None:
    path = _project(tmp_path / "repo", PYPROJECT)
    sub = tmp_path / "repo" / "models" / "v2"
    sub.mkdir(parents=True)
    # A sub-package's own pyproject.toml without the table does not hide the project's.
    (tmp_path / "repo" / "models" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    found = find_pyproject(sub)
    assert found is not None and found[0] == path


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)  # outside the repository: not read
    repo = tmp_path / "repo"
    _project(repo, '[project]\nname = "x"\n')
    assert find_pyproject(repo) is None
    assert load_table(None, repo) == ConfigTable(None)


def test_config_file_with_keys_at_the_top_level(tmp_path: Path) -> None:
    path = _project(
        tmp_path, 'fail-on = "medium"\nmax_tpr_at_fpr = { "1e-2" = 0.1 }\nattacks = "threshold,rmia"\n', "gate.toml"
    )
    loaded = _settings(tmp_path, path)
    assert loaded["fail_on"] == "medium"
    assert loaded["max_tpr_at_fpr"] == {"0.01": 0.1}
    assert loaded["attacks"] == ("threshold", "rmia")


def test_config_file_may_be_a_pyproject(tmp_path: Path) -> None:
    path = _project(tmp_path, PYPROJECT, "other.toml")
    assert _settings(tmp_path, path)["max_auc"] == 0.8


def test_explicit_config_replaces_the_search(tmp_path: Path) -> None:
    _project(tmp_path, PYPROJECT)
    other = _project(tmp_path / "ci", "max_auc = 0.6\n", "gate.toml")
    loaded = _settings(tmp_path, other)
    assert loaded.file == other and loaded["max_auc"] == 0.6 and loaded["fail_on"] is None


def test_command_line_wins_and_tpr_limits_merge_per_fpr(tmp_path: Path) -> None:
    path = _project(tmp_path, PYPROJECT)
    resolved = _settings(tmp_path, given={"max_auc": 0.9, "max_tpr_at_fpr": ["0.01=0.3"]})
    assert resolved["fail_on"] == "high"
    assert resolved["max_auc"] == 0.9
    assert resolved["max_tpr_at_fpr"] == {"0.01": 0.3, "0.001": 0.05}
    assert resolved["seed"] == 7 and resolved["max_epsilon"] == 2.5
    sources = resolved.sources
    assert sources["fail_on"] == "file" and sources["max_auc"] == "command line"
    assert sources["max_tpr_at_fpr"] == "file, command line" and sources["shadow_models"] == "default"
    assert resolved.source_dict()["file"] == str(path)
    gate = resolved.build()[0].gate
    assert gate.max_auc == 0.9 and gate.fail_on == "high"


def test_nothing_configured_anywhere(tmp_path: Path) -> None:
    _project(tmp_path, '[project]\nname = "x"\n')
    resolved = _settings(tmp_path)
    assert resolved.file is None and not resolved.build()[0].gate.configured
    assert set(resolved.sources.values()) == {"default"}


def test_unknown_key_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.mia-audit]\nmax_acu = 0.7\n")
    with pytest.raises(ConfigError) as exc:
        load_table(None, tmp_path)
    message = str(exc.value)
    assert "'max_acu'" in message and "pyproject.toml [tool.mia-audit]" in message
    for key in FILE_KEYS:
        assert key in message


def test_bad_toml_gives_the_line_number(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.mia-audit]\nfail_on = "high"\nmax_auc = \n')
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 3") as exc:
        load_table(None, tmp_path)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('fail_on = "severe"', "fail_on must be one of"),
        ('max_auc = "0.7"', "max_auc must be a number"),
        ("max_auc = 1.5", "between 0 and 1"),
        ("max_epsilon = -1", "must not be negative"),
        ("max_auc = true", "max_auc must be a number"),
        ("max_tpr_at_fpr = 0.2", "must be a table"),
        ('max_tpr_at_fpr = { "0.05" = 0.2 }', "FPR '0.05' is not one of"),
        ('max_tpr_at_fpr = { "0.01" = 2 }', "between 0 and 1"),
        ("max_tpr_at_fpr = { 0.01 = 0.2 }", "quote the FPR keys"),
        ("attacks = 3", "attacks must be a list"),
        ("seed = -1", "seed must not be negative"),
        ("seed = 1.5", "seed must be an integer"),
        ("max_auc = 0.7\nmax-auc = 0.8", "given twice"),
        ('shadow_family = "xgb"', "shadow_family must be one of"),
        ("shadow_models = 0", "shadow_models must lie between 1 and 1024"),
        ('balance = "no"', "balance must be true or false"),
        ('formats = ["json", "docx"]', "unknown .*formats docx"),
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, body: str, fragment: str) -> None:
    _project(tmp_path, f"[tool.mia-audit]\n{body}\n")
    with pytest.raises(ConfigError, match=fragment):
        _settings(tmp_path)


def test_config_file_with_a_tool_table_but_not_ours(tmp_path: Path) -> None:
    path = _project(tmp_path, "[tool.ruff]\nline-length = 100\n", "cfg.toml")
    with pytest.raises(ConfigError, match=r"no \[tool.mia-audit\]"):
        load_table(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="config file not found"):
        load_table(tmp_path / "nope.toml")


def test_tpr_limits_from_the_command_line() -> None:
    assert parse_tpr_limits(["0.01=0.2", "0.001 = 0.05", "1e-4=0.01"]) == {"0.01": 0.2, "0.001": 0.05, "0.0001": 0.01}
    for bad in ("0.01", "0.01=x", "0.05=0.2"):
        with pytest.raises(ConfigError, match="--max-tpr-at-fpr"):
            parse_tpr_limits([bad])


def test_meta_from_the_command_line_and_from_a_table(tmp_path: Path) -> None:
    assert parse_meta(["auditor=J. Doe", "ticket = DPIA-17", "model_version=3.2"]) == {
        "auditor": "J. Doe",
        "ticket": "DPIA-17",
        "model_version": "3.2",
    }
    for bad in ("auditor", "=J. Doe", "auditor=", "two words=x"):
        with pytest.raises(ConfigError, match="--meta takes key=value"):
            parse_meta([bad])
    _project(tmp_path, '[tool.mia-audit.meta]\nauditor = "J. Doe"\nmodel_owner = "credit team"\n')
    loaded = _settings(tmp_path)
    assert loaded["meta"] == {"auditor": "J. Doe", "model_owner": "credit team"}
    config, _ = loaded.build()
    assert config.meta == {"auditor": "J. Doe", "model_owner": "credit team"}


# ----------------------------------------------------------------- through the CLI


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("config"))


def _scan_in(cwd: Path, case: AuditCase, *args: str) -> object:
    return runner.invoke(
        app,
        [
            "scan",
            str(case.model),
            "--trust-model",
            "--data",
            str(case.data),
            "--out",
            str(cwd / "out"),
            "--format",
            "json",
            "--attacks",
            "threshold",
            *args,
        ],
    )


def _report(cwd: Path) -> dict[str, object]:
    return json.loads((cwd / "out" / "report.json").read_text())


def test_pyproject_gate_fails_with_exit_1(case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, '[tool.mia-audit]\nfail_on = "medium"\nseed = 3\n')
    monkeypatch.chdir(tmp_path)
    result = _scan_in(tmp_path, case)
    assert result.exit_code == 1, result.output
    report = _report(tmp_path)
    assert report["gate"]["passed"] is False  # type: ignore[index]
    assert report["run"]["seed"] == 3  # type: ignore[index]
    source = report["run"]["config"]["config_source"]  # type: ignore[index]
    assert source["file"] == str(tmp_path / "pyproject.toml")
    assert source["settings"]["fail_on"] == "file" and source["settings"]["seed"] == "file"


def test_pyproject_gate_passes_with_exit_0(case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, '[tool.mia-audit]\nmax_auc = 1.0\nmax_tpr_at_fpr = { "0.01" = 1.0 }\n')
    monkeypatch.chdir(tmp_path)
    result = _scan_in(tmp_path, case)
    assert result.exit_code == 0, result.output
    gate = _report(tmp_path)["gate"]
    assert gate["configured"] and gate["passed"]  # type: ignore[index]
    assert [r["name"] for r in gate["rules"]] == ["max_auc", "max_tpr_at_fpr.0.01"]  # type: ignore[index]


def test_command_line_overrides_the_file(case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, "[tool.mia-audit]\nmax_auc = 0.55\n")
    monkeypatch.chdir(tmp_path)
    assert _scan_in(tmp_path, case).exit_code == 1
    result = _scan_in(tmp_path, case, "--max-auc", "1.0")
    assert result.exit_code == 0, result.output
    source = _report(tmp_path)["run"]["config"]["config_source"]  # type: ignore[index]
    assert source["settings"]["max_auc"] == "command line"


def test_explicit_config_option(case: AuditCase, tmp_path: Path) -> None:
    path = _project(tmp_path, 'fail_on = "medium"\n', "gate.toml")
    result = _scan_in(tmp_path, case, "--config", str(path))
    assert result.exit_code == 1, result.output


def _one_line_error(result: object, *fragments: str) -> None:
    one_line_error(result, *fragments, alone=True)


def test_unknown_key_exits_2_naming_it(case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, "[tool.mia-audit]\nfail_on = 'high'\nmax_aucc = 0.7\n")
    monkeypatch.chdir(tmp_path)
    _one_line_error(_scan_in(tmp_path, case), "unknown key 'max_aucc'", "max_auc, max_tpr_at_fpr")
    assert not (tmp_path / "out").exists()  # nothing ran


def test_bad_toml_exits_2_with_the_line(case: AuditCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, "[tool.mia-audit]\nfail_on = high\n")
    monkeypatch.chdir(tmp_path)
    _one_line_error(_scan_in(tmp_path, case), "not valid TOML", "line 2")


def test_missing_config_file_exits_2(case: AuditCase, tmp_path: Path) -> None:
    _one_line_error(_scan_in(tmp_path, case, "--config", str(tmp_path / "gate.toml")), "config file not found")


def test_bad_tpr_limit_option_exits_2(case: AuditCase, tmp_path: Path) -> None:
    _one_line_error(_scan_in(tmp_path, case, "--max-tpr-at-fpr", "0.05=0.1"), "--max-tpr-at-fpr")


def test_meta_is_recorded_and_shown_with_the_scope(case: AuditCase, tmp_path: Path) -> None:
    result = _scan_in(tmp_path, case, "--meta", "auditor=J. Doe", "--meta", "ticket=DPIA-17", "--format", "json,html")
    assert result.exit_code in (0, 1), result.output  # type: ignore[attr-defined]
    assert _report(tmp_path)["run"]["config"]["meta"] == {"auditor": "J. Doe", "ticket": "DPIA-17"}  # type: ignore[index]
    html = (tmp_path / "out" / "report.html").read_text()
    scope = html[html.index('<section id="scope">') :]
    assert "Who and what for" in scope and "J. Doe" in scope and "DPIA-17" in scope
    bad = _scan_in(tmp_path, case, "--meta", "auditor")
    assert bad.exit_code == 2 and "--meta takes key=value" in bad.output  # type: ignore[attr-defined]
