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

__all__ = ["SaveAutoGradesOnce", "shared_engine"]


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
