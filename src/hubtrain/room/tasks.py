"""The checks of the session's modules, read from the exercise sources.

The room shows one column per check (`task`, `self_check` or `question` call),
in notebook order, keyed by the module folder and the task id: the same keys the
learner runtime writes into the progress record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RoomTask", "find_modules", "module_tasks"]

# A check call as authors write it: kind("task_id", "Title", ...).
_CHECK = re.compile(r"\b(task|self_check|question)\(\s*\"([a-z0-9_]+)\",\s*\"([^\"]+)\"")


@dataclass(frozen=True)
class RoomTask:
    """One column of the grid."""

    module: str  # the module folder, e.g. "01-login"
    task_id: str
    title: str

    @property
    def key(self) -> str:
        return f"{self.module}/{self.task_id}"


def find_modules(exercises: Path, wanted: list[str]) -> list[Path]:
    """The module folders named by `wanted` ("01", "01-login" or "01-login-r").

    A bare number means the Python module of that number; raises ValueError (one
    line, naming the known modules) for a name that matches nothing.
    """
    if not exercises.is_dir():
        raise ValueError(
            f"{exercises}: no exercises folder (run in the course repository, or give --root)"
        )
    folders = sorted(p for p in exercises.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    chosen: list[Path] = []
    for name in wanted:
        exact = [p for p in folders if p.name == name]
        numbered = [
            p for p in folders if p.name.split("-")[0] == name and not p.name.endswith("-r")
        ]
        found = exact or numbered[:1]
        if not found:
            known = ", ".join(p.name for p in folders)
            raise ValueError(f"--module {name}: no such module in {exercises} (modules: {known})")
        chosen += [p for p in found if p not in chosen]
    return chosen


def module_tasks(folders: list[Path]) -> list[RoomTask]:
    """Every check in the folders' notebooks, in folder, notebook and cell order."""
    found: list[RoomTask] = []
    for folder in folders:
        for notebook in sorted(folder.glob("*.ipynb")):
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
            for cell in cells:
                if cell.get("cell_type") != "code":
                    continue
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else source
                for _, task_id, title in _CHECK.findall(text):
                    task = RoomTask(folder.name, task_id, title)
                    if task not in found:
                        found.append(task)
    return found
