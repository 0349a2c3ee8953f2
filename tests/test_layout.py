"""The house keeps its layout: one package per capability, imports flowing one way.

The rules are the map in CONTRIBUTING.md (each package, what it may import); these
tests read that map and the source (with `ast`, nothing is imported), so the map, the
packages' docstrings and the code cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "hubtrain"
MAP_ROW = re.compile(r"^\| `(\w+)/` \| .+ \| (.+) \|$", re.M)


def the_map() -> dict[str, set[str]]:
    """Package -> the packages it may import, from CONTRIBUTING.md's map."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return {
        name: set() if may == "nothing of hubtrain" else {p.strip() for p in may.split(",")}
        for name, may in MAP_ROW.findall(text)
    }


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every hubtrain module `path` names in an import, at the top or in a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] == "hubtrain"}


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports (`from a import b` counts `a.b` if it is one)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        targets = set()
        for imp in imported(path):
            while imp and imp not in files:
                imp = imp.rpartition(".")[0]
            if imp and imp != name:
                targets.add(imp)
        graph[name] = targets
    return graph


def test_only_the_command_line_sits_at_the_top_beside_the_packages():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix in (".py", ".R"))
    assert top == ["__init__.py", "cli.py"]


def test_the_map_lists_every_package_and_only_those():
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert set(the_map()) == packages


def test_every_package_says_what_it_owns_and_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "may import:" in doc.lower(), f"{init}: its docstring should say what it may import"


def test_imports_flow_one_way_and_nothing_imports_the_command_line():
    allowed = the_map()
    wrong = []
    for name, targets in import_graph().items():
        parts = name.split(".")
        for target in targets:
            if target == "hubtrain.cli":
                wrong.append(f"{name} imports hubtrain.cli")
                continue
            if len(parts) < 3 or target == "hubtrain":
                continue  # the package's own __init__ and the cli
            mine, theirs = parts[1], target.split(".")[1]
            if theirs != mine and theirs not in allowed[mine]:
                wrong.append(f"{name} imports {target}: {mine}/ may import {allowed[mine]}")
    assert wrong == []
    # and the map itself has no loop between packages
    TopologicalSorter(allowed).prepare()


def test_no_module_imports_itself_back_through_others():
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as exc:
        raise AssertionError(f"import loop: {' -> '.join(exc.args[1])}") from None
