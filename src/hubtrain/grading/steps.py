"""The grading process's steps for one submission: check, sanitize, then record.

They mirror `nbgrader autograde` (nbgrader/converters/autograde.py) and use its
own preprocessor lists from the course configuration, split around `Execute`:

1. `open_submission`: create the student and submission in the gradebook, copy
   the files into the course's `submitted/` and `autograded/` folders (the
   learner's originals are only read), and say what is wrong with each notebook.
2. `sanitize`: nbgrader's `sanitize_preprocessors` (ClearOutput, DeduplicateIds,
   OverwriteKernelspec, OverwriteCells, CheckCellMetadata); edited locked cells
   are restored here, and reported.
3. (a worker runs `Execute`: see `execute.py`.)
4. `record`: the `autograde_preprocessors` after Execute (IgnorePattern, ...,
   SaveAutoGrades, ...), which write the scores. Only this process calls it.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, SaveAutoGrades
from nbgrader.utils import find_all_files, parse_utc
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from hubtrain.grading.collect import Submission
from hubtrain.grading.course import Course, NotebookInfo
from hubtrain.grading.gradebook import SaveAutoGradesOnce

__all__ = ["Opened", "open_submission", "record", "resources_for", "sanitize", "zero_missing"]


@dataclass
class Opened:
    """A submission after step 1: readable notebooks, problems found, files for the run."""

    submission: Submission
    notebooks: dict[str, NotebookNode] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: str = ""
    # The files in `files` that are the assignment's own, not the learner's.
    course_files: tuple[str, ...] = ()


def _chain(name: str, config: Config) -> list[type]:
    """nbgrader's preprocessor list `name` of Autograde, as configured for this course."""
    configured = config.get("Autograde", {}).get(name)
    return list(configured) if configured else list(Autograde.class_traits()[name].default())


def _run(classes: list[type], nb: NotebookNode, resources: dict, config: Config) -> NotebookNode:
    for cls in classes:
        # __call__ skips a preprocessor whose `enabled` is False, as nbconvert's exporter does.
        nb, resources = cls(config=config)(nb, resources)
    return nb


def resources_for(course: Course, sub: Submission, notebook: str) -> dict[str, Any]:
    folder = course.root / "autograded" / sub.student / sub.assignment
    return {
        "unique_key": notebook,
        "metadata": {"name": notebook, "path": str(folder)},
        "nbgrader": {
            "student": sub.student,
            "assignment": sub.assignment,
            "notebook": notebook,
            "db_url": course.db_url,
        },
    }


def _read_notebook(path: Path) -> NotebookNode | str:
    """The notebook at `path`, or a sentence saying why it cannot be graded."""
    data = path.read_bytes()
    if not data.strip():
        return f"{path.name} is empty (0 bytes of notebook)"
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return f"{path.name} is not a text file (not a notebook)"
    except json.JSONDecodeError as exc:
        return (
            f"{path.name} is not valid JSON (cut short or damaged near line {exc.lineno}); "
            "ask the learner to download it again"
        )
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        return f"{path.name} is JSON but not a Jupyter notebook (it has no cells)"
    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"{path.name} is not a notebook nbformat can read: {first[:160]}"


def _ids(nb: NotebookNode) -> list[str]:
    return [
        c.metadata.nbgrader["grade_id"]
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    ]


def _restore_metadata(nb: NotebookNode, release: Path) -> bool:
    """Put nbgrader metadata back by cell position when the cells still line up."""
    original = nbformat.read(release, as_version=4)
    if [c.cell_type for c in original.cells] != [c.cell_type for c in nb.cells]:
        return False
    for mine, theirs in zip(nb.cells, original.cells, strict=True):
        if "nbgrader" in theirs.metadata:
            mine.metadata["nbgrader"] = theirs.metadata["nbgrader"]
    return True


def _check_cells(
    nb: NotebookNode, info: NotebookInfo, course: Course, sub: Submission
) -> tuple[list[str], str]:
    """(problems to report, reason it cannot be graded or "") for one notebook."""
    ids = _ids(nb)
    mine = set(info.cell_ids)
    if not ids:
        release = course.root / "release" / sub.assignment / f"{info.name}.ipynb"
        if _restore_metadata(nb, release):
            return [
                f"{info.name}: nbgrader metadata was missing (saved by another editor?) "
                "and was restored from the assignment by cell position"
            ], ""
        return [], (
            f"{info.name}: nbgrader metadata was removed (saved by another editor?) and the "
            "cells no longer line up with the assignment; ask for a fresh copy with the answers"
        )
    if not set(ids) & mine:
        for other, notebooks in course.assignments.items():
            if other != sub.assignment and any(
                set(ids) & set(n.cell_ids) for n in notebooks.values()
            ):
                return (
                    [],
                    f"{info.name} holds the graded cells of assignment {other}, "
                    f"not {sub.assignment}",
                )
        return [], (
            f"{info.name} has none of the graded cells of {sub.assignment} "
            "(an old or a different version of the notebook?)"
        )
    notes = []
    counts = Counter(ids)
    pasted = sorted(i for i, n in counts.items() if n > 1)
    if pasted:
        notes.append(
            f"{info.name}: graded cells pasted more than once: {', '.join(pasted)} "
            "(the last copy was graded)"
        )
    missing = [i for i in info.graded_ids if i not in counts]
    if missing:
        notes.append(f"{info.name}: graded cells deleted: {', '.join(missing)} (they score 0)")
    order = [i for i in dict.fromkeys(reversed(ids)) if i in mine][::-1]
    expected = [i for i in info.cell_ids if i in order]
    if order != expected:
        notes.append(f"{info.name}: graded cells are out of order ({', '.join(order)})")
    return notes, ""


def open_submission(sub: Submission, course: Course) -> Opened:
    """Step 1: register the submission in the gradebook and read its notebooks."""
    opened = Opened(sub, notes=list(sub.notes))
    expected = course.assignments[sub.assignment]
    submitted = course.root / "submitted" / sub.student / sub.assignment
    autograded = course.root / "autograded" / sub.student / sub.assignment
    for folder in (submitted, autograded):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    if sub.timestamp:
        (submitted / "timestamp.txt").write_text(sub.timestamp + "\n")
    for name, path in sub.notebooks.items():
        shutil.copyfile(path, submitted / f"{name}.ipynb")
    # As nbgrader: the learner's other files first, then the assignment's own files on top.
    files = {rel: path.read_bytes() for rel, path in sub.extra_files.items()}
    if sub.timestamp:
        files["timestamp.txt"] = (sub.timestamp + "\n").encode()
    source = course.root / "source" / sub.assignment
    ignore = list(course.config.CourseDirectory.get("ignore", CourseDirectory().ignore))
    # Autograde.exclude_overwriting: files the learner may change and submit.
    keep = set(
        course.config.get("Autograde", {}).get("exclude_overwriting", {}).get(sub.assignment, [])
    )
    course_files = []
    for found in sorted(find_all_files(str(source), [*ignore, "*.ipynb"])):
        rel = Path(found).relative_to(source).as_posix()
        if rel in keep or str(Path(found).relative_to(source)) in keep:
            continue
        files[rel] = Path(found).read_bytes()
        course_files.append(rel)
    for rel, data in files.items():
        (autograded / rel).parent.mkdir(parents=True, exist_ok=True)
        (autograded / rel).write_bytes(data)
    opened.files = files
    opened.course_files = tuple(course_files)

    with Gradebook(course.db_url) as gb, warnings.catch_warnings():
        # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush
        # warning when it creates a submission; the rows are written correctly.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(sub.student)
        stamp = parse_utc(sub.timestamp) if sub.timestamp else None
        if stamp:
            gb.update_or_create_submission(sub.assignment, sub.student, timestamp=stamp)
        else:
            gb.update_or_create_submission(sub.assignment, sub.student)

    problems = []
    for name, info in sorted(expected.items()):
        path = sub.notebooks.get(name)
        if path is None:
            found = ", ".join(sorted(f"{n}.ipynb" for n in sub.notebooks)) or "no notebook"
            problems.append(f"{name}.ipynb was not submitted (found {found})")
            continue
        nb = _read_notebook(path)
        if isinstance(nb, str):
            problems.append(nb)
            continue
        notes, reason = _check_cells(nb, info, course, sub)
        if reason:
            problems.append(reason)
            continue
        opened.notes += notes
        opened.notebooks[name] = nb
    if not opened.notebooks:
        opened.failed = "; ".join(problems) or "nothing to grade"
    else:
        opened.notes += problems
    zero_missing(course, sub, set(expected) - set(opened.notebooks))
    return opened


def zero_missing(course: Course, sub: Submission, notebooks: set[str]) -> None:
    """Score 0 for notebooks that could not be graded, as nbgrader does for missing files."""
    if not notebooks:
        return
    with Gradebook(course.db_url) as gb:
        for name in notebooks:
            for grade in gb.find_submission_notebook(name, sub.assignment, sub.student).grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def _edited_locked(nb: NotebookNode, info: NotebookInfo) -> list[str]:
    """Locked cells whose source differs from the release (nbgrader will restore them)."""
    released = dict(info.released)
    edited = set()
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in released and cell.source.strip() != released[grade_id].strip():
            edited.add(grade_id)
    return sorted(edited)


def _drop_pasted(nb: NotebookNode) -> None:
    """Keep nbgrader metadata on the last copy of each pasted cell only.

    nbgrader's DeduplicateIds makes the same choice but leaves an empty
    `nbgrader` dict behind, which CheckCellMetadata then rejects as schema
    version 0, failing the whole submission; removing the key avoids that.
    """
    seen = set()
    for cell in reversed(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
        seen.add(grade_id)


def sanitize(opened: Opened, course: Course) -> dict[str, str]:
    """Step 2: nbgrader's sanitizing preprocessors; returns notebook name -> JSON to execute."""
    sub = opened.submission
    ready = {}
    for name, nb in sorted(opened.notebooks.items()):
        info = course.assignments[sub.assignment][name]
        _drop_pasted(nb)
        edited = _edited_locked(nb, info)
        if edited:
            opened.notes.append(
                f"{name}: edited locked or test cells were restored from the gradebook: "
                + ", ".join(edited)
            )
        config = course.config
        nb = _run(
            _chain("sanitize_preprocessors", config), nb, resources_for(course, sub, name), config
        )
        ready[name] = nbformat.writes(nb)
    return ready


def _after_execute(config: Config) -> list[type]:
    chain = _chain("autograde_preprocessors", config)
    cut = next((i for i, cls in enumerate(chain) if issubclass(cls, Execute)), -1)
    # nbgrader's own SaveAutoGrades (not a course's subclass of it) commits once per cell.
    return [SaveAutoGradesOnce if cls is SaveAutoGrades else cls for cls in chain[cut + 1 :]]


# R's error when an allocation fails (memory.c), as IRkernel reports it: an error
# output named "ERROR", not Python's MemoryError.
_R_OUT_OF_MEMORY = "cannot allocate vector of size"


def _cell_notes(name: str, nb: NotebookNode) -> list[str]:
    """Problems a TA should know that show only in the outputs (timeouts, memory)."""
    notes = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "CellTimeoutError":
                notes.append(f"{name}: cell {index + 1} ran past its time limit and was stopped")
            elif out.get("ename") == "MemoryError" or _R_OUT_OF_MEMORY in out.get("evalue", ""):
                notes.append(f"{name}: cell {index + 1} ran out of memory")

    return notes


def record(
    opened: Opened, executed: dict[str, str], course: Course
) -> tuple[dict[str, NotebookNode], list[str]]:
    """Step 4: nbgrader's preprocessors after Execute (they save the grades); writes autograded/.

    Returns the autograded notebooks and the problems found in their outputs.
    Must run in the grading process only.
    """
    sub = opened.submission
    folder = course.root / "autograded" / sub.student / sub.assignment
    notes, graded = [], {}
    for name, text in sorted(executed.items()):
        nb = nbformat.reads(text, as_version=4)
        notes += _cell_notes(name, nb)
        nb = _run(
            _after_execute(course.config), nb, resources_for(course, sub, name), course.config
        )
        nbformat.write(nb, folder / f"{name}.ipynb")
        graded[name] = nb
    return graded, notes
