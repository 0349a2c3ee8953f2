"""The learner's declared answers: which names each locked cell reads from the learner.

An answer is a name a solution cell binds at the top level of the source
notebook (`my_username = ...`, `def square(x): ...`). A locked cell (a test, or a
setup cell the judge runs again) needs the answers it reads, and only those: a
name a locked cell binds itself (`hubcheck`, `scratch_env`) is never taken from
the learner, so an answer cell that rebinds it changes nothing in the judge.
Python cells are read with `ast`; R cells by their top-level assignments and the
names they mention (extra names are harmless: an answer is only sent if the
learner defined it).
"""

from __future__ import annotations

import ast
import re

from nbformat.notebooknode import NotebookNode

__all__ = ["declared_answers", "notebook_language"]

_R_ASSIGNED = re.compile(r"^([A-Za-z.][\w.]*)\s*(?:<<-|<-|=)(?!=)", re.M)
_R_NAME = re.compile(r"(?<![\w.$@])([A-Za-z.][\w.]*)")
_R_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|#[^\n]*')


def notebook_language(nb: NotebookNode) -> str:
    """ "python" or "R" (from the kernelspec, as nbgrader's release records it)."""
    spec = nb.metadata.get("kernelspec", {})
    language = spec.get("language") or nb.metadata.get("language_info", {}).get("name", "")
    return "R" if str(language).lower() == "r" else "python"


def _python_bound(source: str) -> set[str]:
    """Names a cell binds at its top level (not inside its functions or classes)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _python_read(source: str) -> set[str]:
    """Every name a cell reads, in its functions too (they read globals when called)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _r_bound(source: str) -> set[str]:
    return set(_R_ASSIGNED.findall(_R_STRINGS.sub('""', source)))


def _r_read(source: str) -> set[str]:
    return set(_R_NAME.findall(_R_STRINGS.sub('""', source)))


def declared_answers(source: NotebookNode) -> dict[str, list[str]]:
    """grade_id of each locked code cell -> the answers it reads, in sorted order.

    `source` is the instructor's notebook (with solutions and hidden tests).
    """
    r = notebook_language(source) == "R"
    bound, read = (_r_bound, _r_read) if r else (_python_bound, _python_read)
    answers: set[str] = set()
    locked_bound: set[str] = set()
    cells = [c for c in source.cells if c.cell_type == "code"]
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers |= bound(cell.source)
        elif meta.get("locked"):
            locked_bound |= bound(cell.source)
    answers -= locked_bound
    result = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution") and meta.get("grade_id"):
            result[meta["grade_id"]] = sorted(read(cell.source) & answers)
    return result
