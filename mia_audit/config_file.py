"""Where settings are read from: ``--config FILE`` or the project's ``pyproject.toml``.

* ``--config FILE``: a TOML file with the keys at the top level, or under ``[tool.mia-audit]``
  (so a ``pyproject.toml`` can be given too). No other file is read.
* Otherwise the nearest ``pyproject.toml`` with a ``[tool.mia-audit]`` table, looking in the
  current directory and then its parents, up to the root of the repository (the first folder
  holding ``.git``) or of the file system. A ``pyproject.toml`` without the table is passed over,
  as ruff and pytest do, so a sub-package's own ``pyproject.toml`` does not hide the project's.

Every option of ``mia-audit scan`` is a key (``mia_audit.options``), spelt with ``_`` or ``-``; relative
paths are relative to the file's folder. A value given on the command line wins over the file;
``max_tpr_at_fpr`` merges per FPR. An unknown key, a wrong type or invalid TOML is a ``ConfigError``
(exit 2) that names the file and the key or line.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mia_audit.errors import ConfigError, InputFileError
from mia_audit.options import FILE_KEYS, Settings, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SECTION = ("tool", "mia-audit")


@dataclass(frozen=True)
class ConfigTable:
    """The keys read from ``path`` (``None``: no file was given or found), with ``_`` spellings, and the
    models ``mia-audit hook`` audits (``[[tool.mia-audit.hook]]``: a ``model`` and any scan keys each)."""

    path: Path | None
    values: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # how errors name the table
    hook: tuple[dict[str, Any], ...] = ()


def settings(
    command_line: Mapping[str, Any], given: set[str], config: Path | None, cwd: Path | None = None
) -> Settings:
    """The command line's values over those of ``--config FILE`` or the project's ``pyproject.toml``."""
    table = load_table(config, cwd)
    return resolve(command_line, given, table.path, table.values, table.where)


HOOK_PROFILE = "quick"
HOOK_OUT = ".mia-audit"  # each model's reports in HOOK_OUT/<its path, folders joined by "-">
_INPUT_KEYS = ("data", "members", "holdout", "population", "transfer_data", "baseline")


def hook_settings(table: ConfigTable, changed: Sequence[Path] = ()) -> list[tuple[Path, Settings]]:
    """Each ``[[tool.mia-audit.hook]]`` model with its settings: the file's keys, then ``--profile quick``
    and its own ``--out``, then the entry's keys. With ``changed`` files, only the entries whose model or
    data are among them (every entry when the config file itself changed)."""
    if table.path is None:
        return []
    base = table.path.parent
    touched = {p.resolve() for p in changed}
    everything = not changed or table.path.resolve() in touched
    chosen = []
    for entry in table.hook:
        model = base / entry["model"]
        merged = {**table.values, **entry}
        inputs = {(base / merged[k]).resolve() for k in _INPUT_KEYS if isinstance(merged.get(k), str)}
        if not everything and not ({model.resolve(), *inputs} & touched):
            continue
        merged = {**table.values, "profile": HOOK_PROFILE, "out": f"{HOOK_OUT}/{_folder_name(model, base)}", **entry}
        del merged["model"]
        chosen.append((model, resolve({}, set(), table.path, merged, table.where)))
    return chosen


def _folder_name(model: Path, base: Path) -> str:
    """``models/credit.onnx`` -> ``models-credit.onnx``: one report folder per model file, never shared."""
    try:
        relative = model.resolve().relative_to(base.resolve())
    except ValueError:
        relative = Path(model.name)
    return "-".join(relative.parts)


def load_table(config: Path | None, cwd: Path | None = None) -> ConfigTable:
    """The settings table of ``--config FILE``, else of the nearest ``pyproject.toml`` that has one."""
    if config is not None:
        return ConfigTable(config, *_parse(config, _read_toml(config), explicit=True))
    found = find_pyproject(cwd or Path.cwd())
    if found is None:
        return ConfigTable(None)
    path, document = found
    return ConfigTable(path, *_parse(path, document, explicit=False))


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


def _parse(
    path: Path, document: dict[str, Any], *, explicit: bool
) -> tuple[dict[str, Any], str, tuple[dict[str, Any], ...]]:
    """Check the keys; ``explicit`` files may hold them at the top level."""
    table = _section(document)
    if table is None:
        if not explicit:
            return {}, "", ()
        if "tool" in document:
            raise ConfigError(f"{path} has a [tool] table but no [tool.mia-audit]; put the settings there.")
        table = document
    where = str(path) if table is document else f"{path} [tool.mia-audit]"
    table = dict(table)
    hook = _hook_entries(table.pop("hook", []), f"{where}: hook")
    return _keys(table, where, FILE_KEYS), where, hook


def _keys(table: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    normalised: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed keys are {', '.join(allowed)}.")
        if name in normalised:
            raise ConfigError(f"{where}: '{key}' is given twice (with - and _).")
        normalised[name] = value
    return normalised


def _hook_entries(entries: Any, where: str) -> tuple[dict[str, Any], ...]:
    """``[[tool.mia-audit.hook]]``: each a table with a ``model`` path and any scan keys."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f'{where} must be an array of tables: [[tool.mia-audit.hook]] with model = "..." each.')
    checked = []
    for number, entry in enumerate(entries, start=1):
        keys = _keys(entry, f"{where} #{number}", ("model", *FILE_KEYS))
        if not isinstance(keys.get("model"), str) or not keys["model"]:
            raise ConfigError(f'{where} #{number} needs model = "path/to/model" (relative to the file).')
        checked.append(keys)
    return tuple(checked)
