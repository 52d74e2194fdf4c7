"""Gate and run settings from a TOML file, merged under the command line.

Where the settings come from:

* ``--config FILE``: a TOML file with the keys at the top level, or under ``[tool.mia-audit]``
  (so a ``pyproject.toml`` can be given too). No other file is read.
* Otherwise the nearest ``pyproject.toml`` with a ``[tool.mia-audit]`` table, looking in the
  current directory and then its parents, up to the root of the repository (the first folder
  holding ``.git``) or of the file system. A ``pyproject.toml`` without the table is passed over,
  as ruff and pytest do, so a sub-package's own ``pyproject.toml`` does not hide the project's.

Keys: ``fail_on``, ``max_auc``, ``max_tpr_at_fpr`` (a table keyed by FPR, ``"0.01"``,
``"0.001"``, ``"0.0001"``), ``max_epsilon``, ``attacks``, ``seed``; ``fail-on`` style spellings
are accepted too. A value given on the command line wins over the file; ``max_tpr_at_fpr`` merges
per FPR. An unknown key, a wrong type or invalid TOML is a ``ConfigError`` (exit 2) that names the
file and the key or line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mia_audit.errors import ConfigError, InputFileError
from mia_audit.judge.gate import GateConfig
from mia_audit.result import FPR_LEVELS, RISK_LEVELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SECTION = ("tool", "mia-audit")
FROM_FILE, FROM_COMMAND_LINE, FROM_DEFAULT = "file", "command line", "default"


@dataclass(frozen=True)
class Settings:
    """The settings a file or the command line may give; ``None`` (or empty) where not given."""

    fail_on: str | None = None
    max_auc: float | None = None
    max_tpr_at_fpr: dict[str, float] = field(default_factory=dict)
    max_epsilon: float | None = None
    attacks: tuple[str, ...] | None = None
    seed: int | None = None


ALLOWED_KEYS = tuple(f.name for f in fields(Settings))


@dataclass(frozen=True)
class FileSettings:
    """The settings read from ``path`` (``None``: no file was given or found)."""

    path: Path | None
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class ResolvedSettings:
    """The merged settings, and for each key where its value came from (for ``run.config``)."""

    settings: Settings
    file: str | None
    sources: dict[str, str]

    def source_dict(self) -> dict[str, object]:
        return {"file": self.file, "settings": dict(self.sources)}

    def gate(self) -> GateConfig:
        s = self.settings
        return GateConfig(s.fail_on, s.max_auc, dict(s.max_tpr_at_fpr), s.max_epsilon)


def resolve(cli: Settings, config: Path | None, cwd: Path | None = None) -> ResolvedSettings:
    """The command line's settings over those of ``--config FILE`` or the project's ``pyproject.toml``."""
    return merge(cli, load_settings(config, cwd))


def load_settings(config: Path | None, cwd: Path | None = None) -> FileSettings:
    """Settings from ``--config FILE``, else from the nearest ``pyproject.toml`` that has our table."""
    if config is not None:
        return FileSettings(config, _parse(config, _read_toml(config), explicit=True))
    found = find_pyproject(cwd or Path.cwd())
    if found is None:
        return FileSettings(None)
    path, document = found
    return FileSettings(path, _parse(path, document, explicit=False))


def find_pyproject(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``pyproject.toml`` with ``[tool.mia-audit]`` from ``start`` up to the repository root."""
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            document = _read_toml(candidate)
            if _section(document) is not None:
                return candidate, document
        if (folder / ".git").exists():
            return None
    return None


def merge(cli: Settings, file: FileSettings) -> ResolvedSettings:
    """Command-line values win; the file fills what the command line left unset."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in ALLOWED_KEYS:
        given, stored = getattr(cli, name), getattr(file.settings, name)
        if name == "max_tpr_at_fpr":
            values[name] = {**stored, **given}
            origin = [FROM_FILE] if set(stored) - set(given) else []
            origin += [FROM_COMMAND_LINE] if given else []
            sources[name] = ", ".join(origin) or FROM_DEFAULT
        elif given is not None:
            values[name], sources[name] = given, FROM_COMMAND_LINE
        elif stored is not None:
            values[name], sources[name] = stored, FROM_FILE
        else:
            values[name], sources[name] = None, FROM_DEFAULT
    return ResolvedSettings(Settings(**values), str(file.path) if file.path else None, sources)


def parse_tpr_limits(values: Iterable[str]) -> dict[str, float]:
    """``--max-tpr-at-fpr 0.01=0.2`` (repeatable, or comma-separated) as ``{"0.01": 0.2}``."""
    limits: dict[str, float] = {}
    for value in values:
        fpr, sep, limit = value.partition("=")
        try:
            if not sep:
                raise ValueError
            limits[_fpr_key(fpr.strip(), "--max-tpr-at-fpr")] = float(limit)
        except ValueError:
            raise ConfigError(
                f"--max-tpr-at-fpr takes FPR=LIMIT with FPR one of {', '.join(FPR_LEVELS)}, e.g. 0.01=0.2; "
                f"got '{value}'."
            ) from None
    return limits


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputFileError(f"config file not found: {path}.") from None
    except OSError as exc:
        raise InputFileError(f"cannot read the config file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None


def _section(document: Mapping[str, Any]) -> dict[str, Any] | None:
    tool = document.get(SECTION[0])
    table = tool.get(SECTION[1]) if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def _parse(path: Path, document: dict[str, Any], *, explicit: bool) -> Settings:
    """Check keys and types; ``explicit`` files may hold the keys at the top level."""
    table = _section(document)
    if table is None:
        if not explicit:
            return Settings()
        if "tool" in document:
            raise ConfigError(f"{path} has a [tool] table but no [tool.mia-audit]; put the settings there.")
        table = document
    where = str(path) if table is document else f"{path} [tool.mia-audit]"
    normalised: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in ALLOWED_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed keys are {', '.join(ALLOWED_KEYS)}.")
        if name in normalised:
            raise ConfigError(f"{where}: '{key}' is given twice (with - and _).")
        normalised[name] = value
    return Settings(**{name: _check(where, name, value) for name, value in normalised.items()})


def _check(where: str, name: str, value: Any) -> Any:
    """The value of one key in its Python type, or a ``ConfigError`` that says what was expected."""
    if name == "fail_on":
        if value not in RISK_LEVELS:
            raise ConfigError(f"{where}: fail_on must be one of {', '.join(RISK_LEVELS)}, got {value!r}.")
        return value
    if name in ("max_auc", "max_epsilon"):
        number = _number(where, name, value)
        if name == "max_auc" and not 0.0 <= number <= 1.0:
            raise ConfigError(f"{where}: max_auc must lie between 0 and 1, got {number}.")
        if number < 0.0:
            raise ConfigError(f"{where}: {name} must not be negative, got {number}.")
        return number
    if name == "max_tpr_at_fpr":
        return _tpr_table(where, value)
    if name == "attacks":
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{where}: attacks must be a list of attack ids, e.g. ["threshold", "shadow.shokri"].')
        ids = tuple(v.strip() for v in value if v.strip())
        return ids or None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: seed must be a non-negative integer, got {value!r}.")
    return value


def _number(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}.")
    return float(value)


def _tpr_table(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: max_tpr_at_fpr must be a table such as {{ "0.01" = 0.2 }}, got {value!r}.')
    limits: dict[str, float] = {}
    for fpr, limit in value.items():
        if isinstance(limit, dict):
            # An unquoted key 0.01 is a dotted key in TOML: {"0": {"01": ...}}.
            raise ConfigError(f'{where}: quote the FPR keys of max_tpr_at_fpr, e.g. "0.01" = 0.2 (not 0.01 = 0.2).')
        key = _fpr_key(fpr, f"{where}: max_tpr_at_fpr")
        number = _number(where, f"max_tpr_at_fpr.{fpr}", limit)
        if not 0.0 <= number <= 1.0:
            raise ConfigError(f'{where}: max_tpr_at_fpr."{fpr}" must lie between 0 and 1, got {number}.')
        limits[key] = number
    return limits


def _fpr_key(fpr: str, what: str) -> str:
    """``"0.01"`` and spellings of the same number (``"1e-2"``) as the key the reports use."""
    try:
        number = float(fpr)
    except ValueError:
        number = float("nan")
    for level in FPR_LEVELS:
        if number == float(level):
            return level
    raise ConfigError(f"{what}: FPR '{fpr}' is not one of {', '.join(FPR_LEVELS)}.")
