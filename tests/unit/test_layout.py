"""The domain layout holds: each folder of app/ imports only from the folders below it
(../shared/DESIGN.md "Domain layout"), and no module imports itself back through others.

Lazy imports inside functions count too: a cycle that only bites at run time is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = {"state", "state_base", "config", "errors"}  # app/*.py that every part shares

# What each room may import, besides itself and BASE.
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "safety": set(),
    "store": set(),
    "research": set(),
    "models": {"research", "safety"},
    "nodes": {"research", "models", "safety", "store"},
    "graphs": {"nodes", "research", "models", "safety"},
    "service": {"graphs", "nodes", "research", "models", "safety", "store"},
    "cli": {"service", "graphs", "nodes", "research", "models", "safety", "store"},
    # app/runs.py: the public import path of the Python API, a re-export of app.service.runs.
    "facade": {"service"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "graphs":
        return "graphs"
    if len(parts) == 1:
        return "base"  # app/__init__.py
    if parts[1] in BASE:
        return "base"
    if parts[1] == "runs":
        return "facade"
    return parts[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in ("app", "graphs"))
    return found


def _graph() -> dict[str, set[str]]:
    files = [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("graphs").rglob("*.py")]
    return {_module_name(f): _imports(f) for f in files}


def test_every_folder_imports_only_from_folders_below_it():
    wrong = []
    for module, targets in _graph().items():
        room = _room(module)
        for target in targets:
            other = _room(target)
            if other not in (room, "base") and other not in ALLOWED[room]:
                wrong.append(f"{module} ({room}) imports {target} ({other})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_module_imports_itself_back():
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_each_folder_says_what_lives_there():
    for folder in ("research", "models", "nodes", "store", "safety", "service", "cli"):
        doc = ast.get_docstring(ast.parse(ROOT.joinpath("app", folder, "__init__.py").read_text()))
        assert doc and len(doc) > 20, f"app/{folder}/__init__.py has no docstring"
