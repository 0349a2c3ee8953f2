"""Feedback pages: nbgrader's own feedback template, without the hidden tests.

Stock `nbgrader generate_feedback` renders the autograded notebook, whose test
cells were restored from the gradebook *with* their hidden tests, so a learner
reads every hidden assert (and, in a failed one, sees it again in the
traceback). Here each test cell's hidden region is cut out of the source, and
any output line that repeats a hidden line (tracebacks, messages, prints) is
dropped before the page is rendered.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from pathlib import Path

import nbformat
import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets.config import Config

__all__ = ["HideHiddenTests", "render_feedback", "with_grades", "write_page"]

# As `hubtrain.release.secret_lines`: shorter lines are not distinctive.
MIN_SECRET = 12
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test regions from sources and their text from outputs."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict, cell_index: int
    ) -> tuple[NotebookNode, dict]:
        clear = ClearHiddenTests(parent=self, enforce_metadata=False)
        begin, end = clear.begin_test_delimeter, clear.end_test_delimeter
        hidden, visible, inside = [], set(), False
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside:
                hidden.append(line.strip())
            else:
                visible.add(line.strip())
        # Short lines (`)`, `else:`) are everywhere and say nothing; lines that are
        # also in the visible part of the cell are no secret.
        hidden = [h for h in hidden if len(h) >= MIN_SECRET and h not in visible]
        if not clear._remove_hidden_test_region(cell) or cell.cell_type != "code":
            return cell, resources
        # Tracebacks quote the lines around the failing one, markers included.
        hidden += [begin, end]

        def scrub(text: str) -> str:
            kept = [
                line
                for line in text.split("\n")
                if not any(h in _ANSI.sub("", line) for h in hidden)
            ]
            return "\n".join(kept)

        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out.traceback = [scrub(t) for t in out.traceback if scrub(t).strip()]
                if any(h in out.evalue for h in hidden):
                    out.evalue = "(the message of a hidden test is not shown)"
            elif out.output_type == "stream":
                out.text = scrub(out.text)
            elif "data" in out:
                for key in list(out.data):
                    if isinstance(out.data[key], str) and any(h in out.data[key] for h in hidden):
                        del out.data[key]
        return cell, resources


def with_grades(nb: NotebookNode, resources: dict, config: Config) -> tuple[str, dict]:
    """In the grading process: nbgrader's GetGrades (reads the gradebook) on a copy of `nb`.

    Returns the notebook as JSON and the `nbgrader` resources the template needs,
    both picklable, for `render_feedback` to run on a worker.
    """
    nb, resources = GetGrades(config=config)(copy.deepcopy(nb), copy.deepcopy(resources))
    return nbformat.writes(nb), dict(resources["nbgrader"])


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


def render_feedback(nb_json: str, grades: dict, config: Config) -> str:
    """The feedback page (HTML) of a notebook from `with_grades`; runs anywhere.

    It is CPU work (syntax highlighting), so the runner sends it to the workers.
    """
    nb = nbformat.reads(nb_json, as_version=4)
    html, _ = _exporter(config).from_notebook_node(nb, resources={"nbgrader": grades})
    return html


def write_page(html: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
