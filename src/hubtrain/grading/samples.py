"""Made-up submissions (correct, partial, blank) built from a course's release and source.

Tests and `benchmarks/grading.py` need realistic learner notebooks for whatever
the exercises are today: a learner starts from the *release* notebook and types
answers into its solution cells. A correct answer here is the source's solution
with the nbgrader markers removed; a partial one answers the first half.
"""

from __future__ import annotations

import copy

from nbformat.notebooknode import NotebookNode

__all__ = ["KINDS", "answered"]

KINDS = ("correct", "partial", "blank")
_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _solution(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() not in _MARKERS]
    return "\n".join(lines)


def answered(release: NotebookNode, source: NotebookNode, kind: str) -> NotebookNode:
    """The release notebook with `kind` answers typed in (a new notebook; inputs untouched)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    nb = copy.deepcopy(release)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: _solution(c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    count = {"correct": len(cells), "partial": len(cells) // 2, "blank": 0}[kind]
    for cell in cells[:count]:
        cell.source = solutions.get(cell.metadata["nbgrader"]["grade_id"], cell.source)
    return nb
