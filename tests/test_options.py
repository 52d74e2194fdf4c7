"""Every option is declared once, and the CLI, the config file and run.config all come from that declaration."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.data.records import DataSpec
from mia_audit.errors import ConfigError
from mia_audit.judge.gate import GateConfig
from mia_audit.options import BY_KEY, FILE_KEYS, OPTIONS, AuditConfig, describe, from_command_line, resolve
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig

SECTIONS = {
    "audit": AuditConfig,
    "shadow": ShadowConfig,
    "reference": ReferenceConfig,
    "gate": GateConfig,
    "data": DataSpec,
}


def test_keys_and_flags_are_unique() -> None:
    keys = [o.key for o in OPTIONS]
    flags = [f for o in OPTIONS for f in o.flags]
    assert len(keys) == len(set(keys)) and len(flags) == len(set(flags))
    assert all(f.startswith("--") or re.fullmatch("-[a-z]", f) for f in flags)


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.lands], ids=lambda o: o.key)
def test_every_option_lands_on_a_real_field(option: object) -> None:
    section, name = option.lands.split(".")  # type: ignore[attr-defined]
    assert name in {f.name for f in dataclasses.fields(SECTIONS[section])}


def test_defaults_build_the_default_configuration() -> None:
    """The declared defaults are the library's defaults: an audit from the CLI with no flags is `audit()`."""
    config, spec = resolve({}, set(), None, {}).build()
    assert dataclasses.replace(config, config_source=None) == AuditConfig()
    assert spec == DataSpec()


def test_run_config_reads_back_every_option_that_shapes_the_audit() -> None:
    settings = resolve(
        {"shadow_models": 3, "reference_family": "rf", "risk_from": ["supervised"], "drop_cols": ["a,b"]},
        {"shadow_models", "reference_family", "risk_from", "drop_cols"},
        None,
        {},
    )
    config, spec = settings.build()
    described = describe(config, spec)
    assert {o.key for o in OPTIONS if o.lands} <= set(described)
    assert described["shadow_models"] == 3 and described["reference_family"] == "rf"
    assert described["risk_from"] == ["supervised"] and described["drop_cols"] == ["a", "b"]
    assert described["config_source"]["settings"]["shadow_models"] == "command line"  # type: ignore[index]
    for key in FILE_KEYS:
        option = BY_KEY[key]
        if option.lands:
            assert described[key] == _json(settings[key]), key


def _json(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list, frozenset)):
        return sorted(value) if isinstance(value, frozenset) else list(value)
    return value


def test_command_line_errors_name_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--shadow-models must lie between 1 and 1024"):
        from_command_line(BY_KEY["shadow_models"], 0)
    with pytest.raises(ConfigError, match=r"^--shadow-family must be one of"):
        from_command_line(BY_KEY["shadow_family"], "xgb")
    assert BY_KEY["balance"].display == "--no-balance"  # a flag on by default is named by the side one types


def test_help_shows_every_flag_in_its_panel() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in OPTIONS:
        assert option.flags[0].split("/")[0] in result.output, option.key
    for panel in {o.panel for o in OPTIONS}:
        assert panel in result.output


def test_a_bad_flag_value_exits_2_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "missing.onnx"), "--shadow-models", "0"])
    assert result.exit_code == 2
    assert "--shadow-models must lie between 1 and 1024" in result.output


def test_attacks_name_only_declared_options() -> None:
    from mia_audit.attacks.registry import infos

    for info in infos():
        assert set(info.options) <= set(BY_KEY), info.id
    assert any("shadow_models" in info.options for info in infos())


def test_a_core_error_names_the_option_as_the_user_gave_it(tmp_path: Path) -> None:
    """The configuration names options by key; the CLI shows the flag, a file its key and path."""
    with pytest.raises(ConfigError, match=r"^risk_from takes auditor-only attacks"):
        AuditConfig(risk_include=frozenset({"threshold.loss"}))
    from_cli = resolve({"risk_from": ["threshold.loss"]}, {"risk_from"}, None, {})
    with pytest.raises(ConfigError, match=r"^--risk-from takes auditor-only attacks \(supervised\), got"):
        from_cli.build()
    file = tmp_path / "pyproject.toml"
    from_file = resolve({}, set(), file, {"risk_from": ["threshold.loss"]})
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.mia-audit\]: risk_from takes"):
        from_file.build()
