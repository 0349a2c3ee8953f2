"""The grading process's shortcuts into nbgrader store and reject exactly what nbgrader does.

`SaveAutoGradesOnce` must write the same grades, flags and comments as
nbgrader's `SaveAutoGrades` (in one commit per notebook instead of one per cell),
and nbgrader's metadata check with `cached_schema_checks()` must reject the
same broken metadata with the same message.
"""

from __future__ import annotations

import copy
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import nbformat
import nbgrader.nbgraderformat.common as nbgrader_format
import pytest
from jsonschema import ValidationError
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SAWarning

from hubtrain.grading.course import prepare_course
from hubtrain.grading.gradebook import SaveAutoGradesOnce, autograde_rows, shared_engine
from hubtrain.grading.metadatacheck import cached_schema_checks
from hubtrain.hubfile.config import HubConfig

EXERCISES = Path(__file__).parent / "files" / "grading" / "exercises"


@pytest.fixture(scope="module")
def course(practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gradebook")
    return prepare_course(practice_hub, EXERCISES, out / "course").root


def _executed(release: NotebookNode, student: int) -> NotebookNode:
    """ps1 as a kernel might hand it back: each learner passes a different set of checks."""
    nb = copy.deepcopy(release)
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])
    warning = nbformat.v4.new_output("stream", name="stderr", text="careful\n")
    outcomes = {
        0: {"test_answer": [], "test_square": []},
        1: {"test_answer": [error], "test_square": []},
        2: {"test_answer": [warning], "test_square": [error]},
    }[student]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in outcomes:
            cell.outputs = outcomes[grade_id]
        if grade_id == "square" and student == 1:
            cell.source += "\n# answered"
    return nb


@pytest.fixture
def count_commits() -> Iterator[list[int]]:
    commits: list[int] = []

    def counted(_connection: object) -> None:
        commits.append(1)

    event.listen(Engine, "commit", counted)
    try:
        yield commits
    finally:
        event.remove(Engine, "commit", counted)


@pytest.mark.slow
def test_one_commit_per_notebook_stores_what_save_autogrades_stores(
    course: Path, tmp_path: Path, count_commits: list[int]
) -> None:
    release = nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4)
    commits = {}
    for name, cls in (("stock", SaveAutoGrades), ("once", SaveAutoGradesOnce)):
        db = tmp_path / name / "gradebook.db"
        db.parent.mkdir()
        shutil.copyfile(course / "gradebook.db", db)
        with Gradebook(f"sqlite:///{db}") as gb, warnings.catch_warnings():
            # As in steps.open_submission: nbgrader's own autoflush warning, rows correct.
            warnings.simplefilter("ignore", SAWarning)
            for student in range(3):
                gb.add_student(f"s{student}")
                gb.add_submission("ps1", f"s{student}")
        count_commits.clear()
        with shared_engine():
            for student in range(3):
                resources = {
                    "nbgrader": {
                        "notebook": "ps1",
                        "assignment": "ps1",
                        "student": f"s{student}",
                        "db_url": f"sqlite:///{db}",
                    }
                }
                cls()(_executed(release, student), resources)
        commits[name] = len(count_commits)
    stock, once = (
        autograde_rows(f"sqlite:///{tmp_path / 'stock' / 'gradebook.db'}"),
        autograde_rows(f"sqlite:///{tmp_path / 'once' / 'gradebook.db'}"),
    )
    assert once == stock
    # The three learners scored differently, and one answered a question: the rows hold it.
    assert {v for k, v in stock.items() if k[0] == "notebook"} == {
        (3.0, False, None),
        (1.0, False, None),
        (0.0, False, None),
    }
    assert stock[("comment", "s1", "ps1", "ps1", "square")] == (None, None)
    assert stock[("comment", "s0", "ps1", "ps1", "square")] == ("No response.", None)
    # nbgrader commits per graded cell and per answer cell (4 in ps1), ours once per notebook
    # (both also commit while opening the gradebook, which writes nothing).
    assert commits["stock"] - commits["once"] == 3 * (4 - 1)


def _cell(meta: dict) -> NotebookNode:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = meta
    return cell


GOOD = {"grade": True, "grade_id": "q1", "locked": True, "points": 2, "schema_version": 3,
        "solution": False, "task": False}  # fmt: skip


@pytest.mark.parametrize(
    "broken",
    [
        {**GOOD, "points": "two"},
        {**GOOD, "grade_id": 7},
        {**GOOD, "unknown_key": True},
        {k: v for k, v in GOOD.items() if k != "locked"},
    ],
    ids=["points-text", "id-number", "extra-key", "no-locked"],
)
def test_cached_schema_checks_reject_what_nbgrader_rejects(broken: dict) -> None:
    with pytest.raises(ValidationError) as stock:
        MetadataValidator().validate_cell(_cell(broken))
    with cached_schema_checks():
        MetadataValidator().validate_cell(_cell(GOOD))
        for _ in range(2):  # the second time from the cache
            with pytest.raises(ValidationError) as cached:
                MetadataValidator().validate_cell(_cell(broken))
            assert str(cached.value) == str(stock.value)
    # Outside the context nbgrader's own validation is back.
    assert nbgrader_format.jsonschema is jsonschema
