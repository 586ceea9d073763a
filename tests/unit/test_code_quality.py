"""The style and typing rules of DESIGN.md, kept by the test suite so CI catches a slip:
ruff over the tree, mypy --strict over monitor/, responders/ and tasks/, and imports that run one
way — no circles between files, no package importing a layer above it."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_is_clean():
    r = subprocess.run([_tool("ruff"), "check", "monitor", "responders", "tasks", "tests",
                        "bench", "scripts"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


@pytest.mark.timeout(600)
def test_the_three_packages_are_strictly_typed():
    r = subprocess.run([_tool("mypy"), "monitor", "responders", "tasks"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


# ---------------------------------------------------------------- imports

# The three packages of DESIGN.md, and what each may import: monitor ◀── responders ◀── tasks.
LAYERS = {"monitor": set(), "responders": {"monitor"}, "tasks": {"monitor", "responders"}}


def _modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every .py under the packages; a package is its
    __init__. Migrations are skipped: Alembic loads them by path, not by import."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported_names(name: str, path: Path, modules: Mapping[str, Path]) -> list[tuple[str, int]]:
    """(dotted name, line) of everything a file imports, at the top or inside a function.
    `from pkg import x` names pkg.x when that is a module of ours, pkg otherwise."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..y import z: relative to this package
                steps = package.split(".")
                anchor = ".".join(steps[: len(steps) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((full if full in modules else base, node.lineno))
    return out


def _import_graph(root: Path, packages: Iterable[str]) -> dict[str, dict[str, int]]:
    """Module → {module it imports: line}. Importing a.b.c also runs the __init__ of a and a.b,
    so those count too, except the packages the importer itself is in (already running)."""
    modules = _modules(root, packages)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for target, line in _imported_names(name, path, modules):
            steps = target.split(".")
            for depth in range(1, len(steps) + 1):
                hit = ".".join(steps[:depth])
                if hit in modules and hit != name and not name.startswith(hit + "."):
                    graph[name].setdefault(hit, line)
    return graph


def _circles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(graph[root])))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def _describe(circles: list[list[str]], graph: Mapping[str, Mapping[str, int]]) -> str:
    lines = []
    for members in circles:
        lines.append("circle: " + ", ".join(members))
        for source in members:
            for target, line in sorted(graph[source].items()):
                if target in members:
                    lines.append(f"    {source} → {target} (line {line})")
    return "\n".join(lines)


def test_import_graph_sees_what_python_runs(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "migrations").mkdir()
    files = {
        "__init__.py": "from pkg.registry import pick\n",
        "registry.py": "def pick():\n    from pkg import leaf\n    return leaf\n",
        "leaf.py": "from pkg.base import thing\n",
        "base.py": "import json\nthing = 1\n",
        "sub/__init__.py": "",
        "sub/a.py": "from . import b\nfrom ..base import thing\n",
        "sub/b.py": "from .a import x\n",
        "migrations/env.py": "import pkg.sub.a\n",
        "outside.py": "from pkg.sub.b import y\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text, encoding="utf-8")
    graph = _import_graph(tmp_path, ["pkg"])
    assert "pkg.migrations.env" not in graph
    assert graph["pkg.registry"] == {"pkg.leaf": 2}  # function-local; `from pkg import module`
    assert graph["pkg.leaf"] == {"pkg.base": 1}  # the package is running already: no edge
    assert graph["pkg.sub.a"] == {"pkg.sub.b": 1, "pkg.base": 2}  # relative, both levels
    assert graph["pkg.outside"] == {"pkg.sub": 1, "pkg.sub.b": 1}  # and the __init__ it runs
    assert _circles(graph) == [["pkg.sub.a", "pkg.sub.b"]]
    assert "pkg.sub.b → pkg.sub.a (line 1)" in _describe(_circles(graph), graph)


def test_no_import_circles():
    """DESIGN.md: no import cycles between files. Each circle is listed with its edges."""
    graph = _import_graph(ROOT, LAYERS)
    circles = _circles(graph)
    assert not circles, "import circles:\n" + _describe(circles, graph)


def test_layers_import_downward():
    """DESIGN.md: monitor ◀── responders ◀── tasks; nothing imports upward."""
    modules = _modules(ROOT, LAYERS)
    upward = []
    for name, path in modules.items():
        layer = name.partition(".")[0]
        for target, line in _imported_names(name, path, modules):
            top = target.partition(".")[0]
            if top in LAYERS and top != layer and top not in LAYERS[layer]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not upward, "\n".join(upward)


def test_the_core_knows_no_alert():
    """The alert is the desk's (responders.models, responders/migrations): no file of
    monitor/ defines it, imports it or creates its table."""
    found = []
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == "Alert":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} defines Alert")
            elif isinstance(node, ast.ImportFrom) and any(a.name == "Alert"
                                                          for a in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports Alert")
            elif isinstance(node, ast.Constant) and node.value == "alerts":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} names the alerts table")
    assert found == []
