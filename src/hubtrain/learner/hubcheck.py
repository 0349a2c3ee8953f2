"""Checks for hubtrain exercises: plain-sentence feedback instead of tracebacks.

This file ships inside the student release next to each notebook, because the
learner's hub does not have hubtrain installed. Standard library only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["CheckFailed", "hub_facts", "need_env"]


class CheckFailed(AssertionError):
    """A check that did not pass; its message is one sentence and a hint."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: learners see only
        # the sentence. nbgrader still sees an error, so the cell scores zero.
        return [f"✗ {self}"]


def need_env(name: str) -> str:
    """The value of an environment variable the hub sets, or a plain failure."""
    value = os.environ.get(name, "")
    if not value:
        raise CheckFailed(f"this check must run on your hub: {name} is not set.")
    return value


def hub_facts() -> dict:
    """The hub facts the course was built for (`hub.json` beside the notebook)."""
    path = Path(__file__).with_name("hub.json")
    return json.loads(path.read_text(encoding="utf-8"))
