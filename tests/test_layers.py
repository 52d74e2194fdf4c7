"""The package's layers import only downward, and no modules import each other in a cycle.

Layers, bottom first (docs/architecture.md): the floor (errors, result, signals, stats, streams), then
models and data, training, attacks, judge, the pipeline (options, audit), report, and the CLI on top.
Lazy imports inside functions count too: a layer may not reach up even at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mia_audit"

LAYERS = {
    "errors": 0,
    "result": 0,
    "signals": 0,
    "stats": 0,
    "streams": 0,
    "environment": 0,
    "progress": 0,
    "models": 1,
    "data": 1,
    "training": 2,
    "attacks": 3,
    "judge": 4,
    "defences": 4,
    "options": 5,
    "config_file": 5,
    "audit": 5,
    "report": 6,
    "cli": 7,
    "__main__": 8,
    "pipeline": 8,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module: str, name: str | None) -> str:
    """``from module import name`` names a submodule when one exists, else the module itself."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _top_level(tree.body) if module_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mia_audit":
            found |= {_resolve(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "mia_audit"}
    return found


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run on import: the module body, minus ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.extend(node.orelse)
        elif isinstance(node, (ast.Try, ast.If)):
            out.extend(_top_level([*node.body, *getattr(node, "orelse", [])]))
        else:
            out.append(node)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if m != "mia_audit" and _layer(m) is None)
    assert not unplaced, f"add these to LAYERS (and docs/architecture.md): {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "mia_audit"))
def test_imports_only_downward(module: str) -> None:
    own = _layer(module)
    assert own is not None
    upward = sorted(i for i in _imports(MODULES[module], module_level_only=False) if (_layer(i) or 0) > own)
    assert not upward, f"{module} (layer {own}) imports from a layer above: {upward}"


def test_no_import_cycles() -> None:
    graph = {m: _imports(p, module_level_only=True) & MODULES.keys() for m, p in MODULES.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                return [*path, module, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, module])):
                return cycle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The parser sees an upward import, lazy or not: a CLI import inside an attack is caught; an import
    under ``if TYPE_CHECKING:`` does not count as one that runs on import."""
    module = tmp_path / "attack.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mia_audit import audit\n"
        "def f():\n    from mia_audit.cli import app\n"
    )
    assert _imports(module, module_level_only=False) == {"mia_audit.cli", "mia_audit.audit"}
    assert _imports(module, module_level_only=True) == set()
    assert (_layer("mia_audit.cli") or 0) > (_layer("mia_audit.attacks.threshold") or 0)


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_80_lines() -> None:
    """Functions short enough to read at once (docs/architecture.md)."""
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert not long, long
