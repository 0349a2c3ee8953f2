"""One module's exercise as a simulated learner works it: which notebook the link
opens, and the code the learner runs in it.

The learner runs the notebook *as pulled onto their server* (the student
release, stubs and all), with each answer cell replaced by the instructor's
solution from `exercises/` (the rehearsal is run from the course repository).
The solutions travel only to the rehearsal users' kernels, are never written
into any file, and those users are deleted at the end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubtrain.course.links import exercise_link
from hubtrain.hubfile.config import HubConfig

__all__ = ["ModuleWalk", "find_module"]

_SOLUTION_MARK = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ModuleWalk:
    """The notebook of one module: where it lands, the link, and its answers."""

    folder: str  # e.g. "01-login"
    notebook: str  # e.g. "login.ipynb"
    server_path: str  # relative to the learner's home, e.g. "hubtrain-course/01-login/login.ipynb"
    link: str  # the nbgitpuller link the book gives out
    answers: dict[str, str]  # grade_id -> solution source

    def cells(self, pulled: dict[str, Any]) -> list[tuple[str, str, bool]]:
        """(grade_id, code, is_check) for each code cell of the pulled notebook,
        answers filled in. A check is a graded test or a live self-check cell."""
        out = []
        for cell in pulled.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if meta.get("solution") and grade_id in self.answers:
                source = self.answers[grade_id]
            is_check = bool(meta.get("grade")) or "hubcheck.self_check(" in source
            out.append((grade_id, source, is_check))
        return out


def _solutions(path: Path) -> dict[str, str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    answers = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution") and meta.get("grade_id"):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            answers[meta["grade_id"]] = _SOLUTION_MARK.sub("", source)
    return answers


def find_module(hub: HubConfig, exercises: Path, module: str) -> ModuleWalk:
    """The module whose folder starts with `module` ("01" or "01-login").

    Raises ValueError (one line) when there is no such module or notebook.
    """
    folders = sorted(
        p for p in exercises.glob(f"{module}*") if p.is_dir() and p.name.split("-")[0] == module[:2]
    )
    if not folders:
        known = ", ".join(sorted(p.name for p in exercises.iterdir() if p.is_dir()))
        raise ValueError(f"{exercises}: no module {module!r} (modules: {known})")
    folder = folders[0]
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"{folder}: no notebook to run")
    notebook = notebooks[0]
    relative = f"{folder.name}/{notebook.name}"
    return ModuleWalk(
        folder=folder.name,
        notebook=notebook.name,
        server_path=f"{hub.content.directory}/{relative}",
        link=exercise_link(hub, relative),
        answers=_solutions(notebook),
    )
