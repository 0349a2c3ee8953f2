"""One SQLAlchemy engine for all the nbgrader gradebooks a grading batch opens.

nbgrader's preprocessors each open `Gradebook(db_url)` (about seven times per
submission), and each opening creates a new engine. An engine holds SQLAlchemy's
cache of compiled statements, so with a new engine every query is compiled again:
that was most of the grading process's own time per submission. Inside
`shared_engine()`, nbgrader gets the same engine back for the same database URL.
Its queries and writes are unchanged; `Gradebook.close()` still disposes of the
connections (the compiled-statement cache outlives that).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import nbgrader.api

__all__ = ["shared_engine"]


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
