"""The real exercises: `hubtrain grade` and stock `nbgrader autograde` give identical scores.

Both grade the same submissions (a partial learner for every assignment, and two
correct learners who each did the course in one language only: every Python
assignment, or every R assignment `<module>-r`) in the same grading environment
(`hubtrain grading-env`) from copies of one course. nbgrader's own `export` and
`generate_feedback` then work on our gradebook; stock feedback shows hidden tests
and ours does not.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_exercises_grading import TRAP, write_trap
from test_grading import hidden_lines, page_text

from hubtrain.course.release import R_SUFFIX, nbgrader_env, run_nbgrader
from hubtrain.grading.course import prepare_course
from hubtrain.grading.execute import Limits
from hubtrain.grading.gradebook import autograde_rows
from hubtrain.grading.runner import grade_batch
from hubtrain.grading.samples import answered
from hubtrain.hubfile.config import HubConfig

# Who submits what: (kind of answers, kernel language of the notebooks they hand in, or
# "" for all). An R exercise is its own assignment, so each one-language learner must
# get full marks out of that language's maximum, with no note about the other language.
STUDENTS = {"pyonly": ("correct", "python"), "ronly": ("correct", "R"), "part": ("partial", "")}


def cell_scores(course: Path) -> dict[tuple[str, str, str, str], float]:
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        key = (sub.student.id, assignment.name, nb.name, grade.name)
                        scores[key] = grade.score
    return scores


@pytest.mark.slow
def test_real_exercises_score_like_stock_nbgrader(
    practice_hub: HubConfig, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    exercises = tmp_path / "exercises"
    shutil.copytree(root / "exercises", exercises)
    # R checks whose passing cell loads a chatty package (see test_exercises_grading).
    write_trap(exercises / TRAP)
    out = tmp_path / "out"
    course = prepare_course(practice_hub, exercises, out / "course")
    stock = tmp_path / "stock"
    shutil.copytree(course.root, stock)

    incoming = tmp_path / "in" / "submitted"
    for assignment, notebooks in course.assignments.items():
        for name in notebooks:
            release = nbformat.read(course.root / "release" / assignment / f"{name}.ipynb", 4)
            source = nbformat.read(course.root / "source" / assignment / f"{name}.ipynb", 4)
            language = source.metadata.kernelspec.language
            for student, (kind, only) in STUDENTS.items():
                if only and only != language:
                    continue
                target = incoming / student / assignment / f"{name}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(answered(release, source, kind), target)

    result = grade_batch(
        practice_hub,
        exercises,
        incoming.parent,
        out,
        workers=2,
        limits=Limits(),
        say=lambda _: None,
    )
    assert {r.status for r in result.rows} <= {"graded", "flagged"}
    by_student = {s: {r.assignment: r for r in result.rows if r.student == s} for s in STUDENTS}
    assert by_student["part"].keys() == course.assignments.keys()
    r_assignments = {a for a in course.assignments if a.endswith(R_SUFFIX)} | {TRAP}
    assert by_student["ronly"].keys() == r_assignments
    assert by_student["pyonly"].keys() == course.assignments.keys() - r_assignments

    shutil.copytree(incoming, stock / "submitted")
    grading = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubtrain.cli",
            "grading-env",
            "--hub",
            str(root / "hubs/practice.yml"),
            "--",
            sys.executable,
            "-m",
            "nbgrader",
            "autograde",
            "*",
            f"--CourseDirectory.root={stock}",
        ],
        cwd=stock,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert grading.returncode == 0, grading.stderr[-3000:]

    ours, theirs = cell_scores(out / "course"), cell_scores(stock)
    assert ours == theirs
    # Not only the scores: every flag and comment autograding writes, row for row.
    assert autograde_rows(course.db_url) == autograde_rows(f"sqlite:///{stock / 'gradebook.db'}")
    # sf's start-up message on stderr zeroes the bare R check, not the one in hubcheck$task.
    assert ours[("ronly", TRAP, "wrapped", "test")] == 1
    assert ours[("ronly", TRAP, "bare", "test")] == 0
    # Full marks for each one-language learner, out of their own assignments' maximum, with
    # nothing flagged about the other language (the trap's bare check is meant to score 0).
    for student in ("pyonly", "ronly"):
        for row in by_student[student].values():
            if row.assignment != TRAP:
                assert "was not submitted" not in row.reason, row
                assert (row.status, row.score, row.reason) == ("graded", row.max_score, ""), row
                assert row.max_score > 0

    run_nbgrader(out / "course", "export", "--to=grades-export.csv")
    with (out / "course" / "grades-export.csv").open(newline="") as fh:
        exported = {
            (r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(fh)
        }
    ours_rows = {(r.assignment, r.student): r.score for r in result.rows}
    assert {key: score for key, score in exported.items() if key in ours_rows} == ours_rows
    # nbgrader's export lists every student for every assignment: the other language's
    # assignments of a one-language learner are simply not submitted, scored 0.
    assert {score for key, score in exported.items() if key not in ours_rows} == {0.0}

    run_nbgrader(out / "course", "generate_feedback", "*")
    secrets = hidden_lines(exercises)
    stock_pages = list((out / "course" / "feedback").rglob("*.html"))
    assert stock_pages and any(any(s in page_text(p) for s in secrets) for p in stock_pages), (
        "stock nbgrader feedback was expected to show hidden tests"
    )
    for page in (out / "feedback").rglob("*.html"):
        assert not [s for s in secrets if s in page_text(page)], page
