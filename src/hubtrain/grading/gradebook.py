"""Faster ways into nbgrader's gradebook that store exactly what nbgrader stores.

nbgrader's preprocessors each open `Gradebook(db_url)` (about seven times per
submission), and each opening creates a new engine. An engine holds SQLAlchemy's
cache of compiled statements, so with a new engine every query is compiled again:
that was most of the grading process's own time per submission. Inside
`shared_engine()`, nbgrader gets the same engine back for the same database URL.
Its queries and writes are unchanged; `Gradebook.close()` still disposes of the
connections (the compiled-statement cache outlives that).

nbgrader's `SaveAutoGrades` commits once per graded cell and once per answer
cell, and every SQLite commit waits for the disk (fsync): a dozen waits per
notebook. `SaveAutoGradesOnce` writes the same rows in one commit per notebook.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import nbgrader.api
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

__all__ = ["SaveAutoGradesOnce", "autograde_rows", "shared_engine"]


@contextlib.contextmanager
def shared_engine() -> Iterator[None]:
    """While active, `nbgrader.api.Gradebook` reuses one engine per database URL.

    Only for the grading process's main thread, which is the only writer.
    """
    original = nbgrader.api.create_engine
    engines: dict[str, Any] = {}

    def create_engine(url: Any, **kwargs: Any) -> Any:
        key = f"{url}|{sorted(kwargs.items())}"
        if key not in engines:
            engines[key] = original(url, **kwargs)
        return engines[key]

    nbgrader.api.create_engine = create_engine
    try:
        yield
    finally:
        nbgrader.api.create_engine = original
        for engine in engines.values():
            engine.dispose()


class _OneCommit(NbGraderPreprocessor):
    """Runs the cells of a gradebook-writing preprocessor as one transaction.

    Sits after `SaveAutoGrades` in the method order, so its `preprocess` runs
    inside `SaveAutoGrades.preprocess`, while that one's gradebook is open.
    """

    gradebook: nbgrader.api.Gradebook

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        session = self.gradebook.db
        # The per-cell commits become flushes: the same statements, sent at the same
        # points (later queries see them), made durable together below. On an error
        # nothing of this notebook is kept; the runner then scores the submission 0.
        session.commit = session.flush
        try:
            nb, resources = super().preprocess(nb, resources)
        finally:
            del session.commit
        session.commit()
        return nb, resources


class SaveAutoGradesOnce(SaveAutoGrades, _OneCommit):
    """nbgrader's `SaveAutoGrades` (same scores, flags and comments), one commit per notebook."""


def autograde_rows(db_url: str) -> dict[tuple[str, ...], tuple]:
    """Every grade, flag, comment and notebook total autograding wrote to a gradebook.

    Keyed by (kind, student, assignment, notebook, cell name), not by row id (ids
    are random), so two gradebooks that graded the same submissions compare equal
    exactly when they hold the same results: how the tests and the benchmark check
    that `hubtrain grade` stores what stock `nbgrader autograde` stores.
    """
    found: dict[tuple[str, ...], tuple] = {}
    with nbgrader.api.Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                key = (sub.student.id, assignment.name)
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        found[("grade", *key, nb.name, grade.name)] = (
                            grade.auto_score,
                            grade.manual_score,
                            grade.extra_credit,
                            grade.needs_manual_grade,
                        )
                    for comment in nb.comments:
                        found[("comment", *key, nb.name, comment.name)] = (
                            comment.auto_comment,
                            comment.manual_comment,
                        )
                    found[("notebook", *key, nb.name, "")] = (
                        nb.score,
                        nb.needs_manual_grade,
                        nb.late_submission_penalty,
                    )
    return found
