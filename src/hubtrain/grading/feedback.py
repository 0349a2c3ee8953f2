"""Feedback pages: nbgrader's own feedback template, without the hidden tests.

Stock `nbgrader generate_feedback` renders the autograded notebook, whose test
cells were restored from the gradebook *with* their hidden tests, so a learner
reads every hidden assert (and, in a failed one, sees it again in the
traceback). Here each test cell's hidden region is cut out of the source, any
output line that repeats a hidden line or one of its strings (tracebacks,
messages, hints, prints) is dropped, and an error raised by a hidden test says
only that a hidden test failed.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import textwrap
import threading
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets.config import Config

__all__ = ["HideHiddenTests", "render_feedback", "with_grades", "write_page"]

# As `hubtrain.course.release.secret_lines`: shorter lines are not distinctive.
MIN_SECRET = 12
# A hidden test's messages and hints are secret down to a few characters.
MIN_STRING = 4
HIDDEN_FAILED = "a hidden test failed (its code and message are not shown)"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _strings(code: str) -> set[str]:
    """The string constants in `code` (f-string parts too), or none if it does not parse."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return set(re.findall(r"[\"']([^\"'\n]{4,})[\"']", code))
    return {
        node.value.strip()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test regions from sources, and their text and messages from outputs.

    An output line that quotes a hidden line, or holds one of the hidden region's
    string constants (an assert's message, a check's sentence or hint), is
    dropped; an error that shows any of them becomes "a hidden test failed".
    """

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict, cell_index: int
    ) -> tuple[NotebookNode, dict]:
        clear = ClearHiddenTests(parent=self, enforce_metadata=False)
        begin, end = clear.begin_test_delimeter, clear.end_test_delimeter
        hidden, visible, inside = [], [], False
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            else:
                (hidden if inside else visible).append(line)
        seen = {line.strip() for line in visible} | _strings("\n".join(visible))
        # Short lines (`)`, `else:`) and strings are everywhere and say nothing; those
        # also in the visible part of the cell are no secret.
        secrets = [h.strip() for h in hidden if len(h.strip()) >= MIN_SECRET]
        secrets += _strings("\n".join(hidden))
        secrets = [h for h in secrets if len(h) >= MIN_STRING and h not in seen]
        if not clear._remove_hidden_test_region(cell) or cell.cell_type != "code":
            return cell, resources
        # Tracebacks quote the lines around the failing one, markers included.
        secrets += [begin, end]

        def shows(text: str) -> bool:
            plain = _ANSI.sub("", text)
            return any(h in plain for h in secrets)

        for out in cell.get("outputs", []):
            if out.output_type == "error":
                if shows(out.evalue) or any(shows(t) for t in out.traceback):
                    out.evalue = HIDDEN_FAILED
                    out.traceback = [f"{out.ename}: {HIDDEN_FAILED}"]
            elif out.output_type == "stream":
                out.text = "\n".join(line for line in out.text.split("\n") if not shows(line))
            elif "data" in out:
                for key in list(out.data):
                    if isinstance(out.data[key], str) and shows(out.data[key]):
                        del out.data[key]
        return cell, resources


def with_grades(nb: NotebookNode, resources: dict, config: Config) -> tuple[NotebookNode, dict]:
    """In the grading process: nbgrader's GetGrades (reads the gradebook) on `nb`, in place.

    Returns `nb`, now holding each cell's score and comment, and the `nbgrader`
    resources the template needs, both picklable, for `render_feedback` to run on a
    worker. The notebook travels as it is, not as JSON: writing it out and reading
    it back costs a schema validation and a copy each way.
    """
    nb, resources = GetGrades(config=config)(nb, copy.deepcopy(resources))
    return nb, dict(resources["nbgrader"])


_local = threading.local()


def _exporter(config: Config) -> HTMLExporter:
    # One exporter per thread: loading the template is the slow part, and an
    # exporter keeps per-conversion state, so threads (Dask) must not share one.
    if getattr(_local, "exporter", None) is None:
        base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
        extra = Config(config)
        extra.HTMLExporter.template_name = "feedback"
        extra.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
        extra.HTMLExporter.extra_template_paths = [
            str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")
        ]
        exporter = HTMLExporter(config=extra)
        for pp in (CSSHTMLHeaderPreprocessor, HideHiddenTests):
            exporter.register_preprocessor(pp(config=extra), enabled=True)
        _local.exporter = exporter
    return _local.exporter


def render_feedback(nb: NotebookNode, grades: dict, config: Config) -> str:
    """The feedback page (HTML) of a notebook from `with_grades`; runs anywhere.

    It is CPU work (syntax highlighting), so the runner sends it to the workers.
    """
    html, _ = _exporter(config).from_notebook_node(nb, resources={"nbgrader": grades})
    return html


def write_page(html: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
