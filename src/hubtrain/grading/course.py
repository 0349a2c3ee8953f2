"""The grading course: an nbgrader course folder whose gradebook holds every grade.

`hubtrain grade` keeps one real nbgrader course under `OUT/course/` (source,
release, gradebook.db, submitted/ and autograded/), so `nbgrader export`,
`nbgrader generate_feedback` and the formgrader work on the result, and stock
`nbgrader autograde` run in the same folder reads the same configuration.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from hubtrain.course.release import run_nbgrader, stage_course
from hubtrain.grading.declared import declared_answers
from hubtrain.hubfile.config import HubConfig

__all__ = ["GRADING_CONFIG", "Course", "NotebookInfo", "prepare_course"]

# Appended to the course's nbgrader_config.py, so stock nbgrader reads it too.
# nbgrader's `determine_grade` scores a test cell 0 when it has *any* stderr output,
# so a correct answer whose code calls `warnings.warn` (or logs a warning, or hits
# debugpy's frozen-modules notice at kernel start) loses its marks. IgnorePattern
# runs between Execute and SaveAutoGrades and drops the stderr outputs that match;
# it is off by default (`enabled = False`) and its pattern is empty. The pattern
# matches only warnings, so a real failure (an exception) still scores 0.
GRADING_CONFIG = r"""
# --- added by `hubtrain grade` ---
# A warning on stderr is not a failed test: see hubtrain/grading/course.py.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(?:.*:\d+: \w*Warning: |WARNING:|[\d.]+s - Debugger warning: )"
)
"""
FINGERPRINT_FILE = ".hubtrain-course"


@dataclass(frozen=True)
class NotebookInfo:
    """What the gradebook knows of one notebook: its nbgrader cells in source order."""

    name: str
    cell_ids: tuple[str, ...]
    graded_ids: tuple[str, ...]
    locked_ids: tuple[str, ...]
    max_score: float
    # The locked cells as the learner received them (the release has no hidden tests).
    released: tuple[tuple[str, str], ...] = ()
    # grade_id of each locked cell -> the learner's answers it reads (declared.py).
    answers: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Course:
    root: Path
    config: Config
    assignments: dict[str, dict[str, NotebookInfo]]

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def notebook_names(self) -> dict[str, list[str]]:
        return {a: sorted(nbs) for a, nbs in self.assignments.items()}


def _fingerprint(course_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((course_dir / "source").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(course_dir)).encode())
            digest.update(path.read_bytes())
    digest.update((course_dir / "nbgrader_config.py").read_bytes())
    return digest.hexdigest()


def load_config(course_dir: Path) -> Config:
    """The course's nbgrader configuration, as nbgrader itself would read it there."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    return config


def _read_gradebook(course_dir: Path, names: list[str]) -> dict[str, dict[str, NotebookInfo]]:
    found: dict[str, dict[str, NotebookInfo]] = {}
    source = course_dir / "source"
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for name in names:
            notebooks = {}
            for nb in gb.find_assignment(name).notebooks:
                # SourceCell rows do not keep their order; the release notebook does.
                release = course_dir / "release" / name / f"{nb.name}.ipynb"
                cells = json.loads(release.read_text(encoding="utf-8"))["cells"]
                ids = {
                    c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                    for c in cells
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                }
                order = list(ids)
                graded = {c.name for c in nb.grade_cells} | {c.name for c in nb.solution_cells}
                locked = {c.name for c in nb.source_cells if c.locked}
                instructor = nbformat.read(source / name / f"{nb.name}.ipynb", as_version=4)
                notebooks[nb.name] = NotebookInfo(
                    nb.name,
                    tuple(order),
                    tuple(i for i in order if i in graded),
                    tuple(i for i in order if i in locked),
                    float(nb.max_score),
                    tuple((i, ids[i]) for i in order if i in locked),
                    declared_answers(instructor),
                )
            found[name] = notebooks
    return found


def _has_submissions(course_dir: Path) -> bool:
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        return any(s.submissions for s in gb.students)


def prepare_course(hub: HubConfig, exercises: Path, course_dir: Path) -> Course:
    """Stage `exercises/` as the course under `course_dir` and fill its gradebook.

    Re-running with unchanged exercises and hub leaves the course folder and the
    gradebook untouched (nbgrader is not run again), so grades already recorded
    stay exactly as they are.
    """
    course_dir.mkdir(parents=True, exist_ok=True)
    staging = course_dir.parent / ".staging"
    names = stage_course(hub, exercises, staging)
    (staging / "nbgrader_config.py").write_text(
        (staging / "nbgrader_config.py").read_text(encoding="utf-8") + GRADING_CONFIG,
        encoding="utf-8",
    )
    wanted = _fingerprint(staging)
    marker = course_dir / FINGERPRINT_FILE
    current = marker.read_text().strip() if marker.is_file() else ""
    if current != wanted or not (course_dir / "gradebook.db").is_file():
        if current and _has_submissions(course_dir):
            raise ValueError(
                f"{course_dir}: holds grades for different exercises or another hub file; "
                "grade into a new --out folder (nbgrader cannot change graded assignments)"
            )
        stage_course(hub, exercises, course_dir)
        (course_dir / "nbgrader_config.py").write_text(
            (staging / "nbgrader_config.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        # One nbgrader run for every assignment: each run costs seconds of start-up.
        try:
            run_nbgrader(
                course_dir, "generate_assignment", "--force", "--CourseDirectory.assignment_id=*"
            )
        except RuntimeError as exc:
            errors = [line for line in str(exc).splitlines() if "Error" in line]
            raise ValueError(
                f"{exercises}: nbgrader could not make the course: "
                + (errors[-1].strip() if errors else "see nbgrader's output")
            ) from None
        marker.write_text(wanted + "\n")
    return Course(course_dir, load_config(course_dir), _read_gradebook(course_dir, names))
