"""The judge: graded tests run in a kernel of their own, never in the learner's.

Stock nbgrader runs each test cell in the learner's own kernel, where an answer
cell can have replaced the checker (`hubcheck.task = ...`), defined an object
that equals everything, or registered a hook that reads the hidden tests as
they run. Here a submission runs in two kernels, each in its own sandbox:

1. The learner's kernel runs the learner's cells and the locked setup cells, as
   nbgrader would, except that each graded test cell is replaced by an *export*:
   the answers that test reads (see `declared.py`) leave as plain data
   (`plaindata.py`). The hidden tests never reach this kernel.
2. The judge's kernel, which never runs learner code, runs the course's locked
   cells in order on a pristine copy of the assignment's files and an empty home
   at the same paths, each after loading the answers exported at that point. A
   learner function is called through a stand-in: its arguments go to the
   learner's kernel (still running) and only its plain-data result comes back.
   A worker starts one judge kernel per language and clears it between
   notebooks (`judging.py`): a kernel start costs more than a notebook's checks.

The graded cells get the judge's outputs, so nbgrader's SaveAutoGrades scores
what the judge saw. For an honest submission that is what stock nbgrader sees.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import json
import queue
import re
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient
from nbformat.notebooknode import NotebookNode

from hubtrain.grading import plaindata
from hubtrain.grading.declared import notebook_language

__all__ = [
    "LearnerLink",
    "answer_stdin",
    "call_code",
    "export_code",
    "exports",
    "graded_tests",
    "judge_only",
    "judged_cells",
    "load_code",
    "not_checked",
    "prelude",
    "refused",
    "snapshot_text",
]

_SOURCE = Path(plaindata.__file__).read_text(encoding="utf-8")


@functools.cache
def _r_source() -> str:
    return Path(plaindata.__file__).with_suffix(".R").read_text(encoding="utf-8")


def _with_helpers(language: str, call: str) -> str:
    """Kernel code that defines the helpers privately, runs `call` with them, and forgets them."""
    if language == "R":
        return f"local({{\n{_r_source()}\n{call}\n}})"
    return (
        f'_hubtrain = {{"__name__": "hubtrain_plaindata"}}\n'
        f"exec({_SOURCE!r}, _hubtrain)\n"
        f"try:\n    {call}\nfinally:\n    del _hubtrain\n"
    )


def _r_string(text: str, where: str = "") -> str:
    """R code for the string `text` (base64, so no character needs escaping)."""
    return f'{where}hubtrain_b64("{base64.b64encode(text.encode()).decode("ascii")}")'


def export_code(names: list[str], language: str) -> str:
    """The cell that sends the answers `names` from the learner's kernel."""
    if language == "R":
        return _with_helpers("R", f"hubtrain_export({_r_string(json.dumps(names))})")
    return _with_helpers("python", f'_hubtrain["export"]({names!r}, globals())')


def call_code(request: str, language: str) -> str:
    """The code that runs one call of a learner function in the learner's kernel."""
    if language == "R":
        return _with_helpers("R", f"hubtrain_answer_call({_r_string(request)})")
    return _with_helpers("python", f'_hubtrain["answer_call"]({request!r}, globals())')


def load_code(snapshot: str, names: list[str], language: str) -> str:
    if language == "R":
        helpers = "hubtrain_judge$"
        texts = _r_string(snapshot, helpers), _r_string(json.dumps(names), helpers)
        return f"{helpers}hubtrain_load({texts[0]}, {texts[1]})"
    return f'_hubtrain["load"]({snapshot!r}, {names!r}, globals())'


def prelude(language: str) -> str:
    if language == "R":
        return f"hubtrain_judge <- local({{\n{_r_source()}\nenvironment()\n}})"
    return f'_hubtrain = {{"__name__": "hubtrain_plaindata"}}\nexec({_SOURCE!r}, _hubtrain)'


def _meta(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def _judged(cell: NotebookNode) -> bool:
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("locked")) and not meta.get("solution")


def graded_tests(nb: NotebookNode) -> set[int]:
    """Indices of the cells the learner's kernel must not run: the graded tests."""
    return {i for i, c in enumerate(nb.cells) if _judged(c) and _meta(c).get("grade")}


_HUBCHECK_CALL = re.compile(r"hubcheck[.$](question|self_check|summary)")


def _hubcheck_only(source: str, r: bool) -> bool:
    """Whether a cell only calls hubcheck's question, self_check or summary.

    Such a cell changes nothing the learner's later cells use, and its output is
    the judge's anyway: it runs in the judge's kernel only (a round trip saved).
    """
    if r:
        code = re.sub(r"#[^\n]*", "", source).strip()
        return _HUBCHECK_CALL.match(code) is not None and "<-" not in code
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and _HUBCHECK_CALL.fullmatch(ast.unparse(statement.value.func)) is not None
        for statement in body
    )


def judge_only(nb: NotebookNode) -> set[int]:
    """Indices of the locked cells only the judge's kernel runs (see `_hubcheck_only`)."""
    r = notebook_language(nb) == "R"
    return {
        index
        for index, cell in enumerate(nb.cells)
        if _judged(cell) and not _meta(cell).get("grade") and _hubcheck_only(cell.source, r)
    }


def exports(nb: NotebookNode, answers: dict[str, list[str]]) -> dict[int, list[str]]:
    """Cell index -> the answers to export just before it (every graded test has one)."""
    found = {}
    for index, cell in enumerate(nb.cells):
        if not _judged(cell):
            continue
        names = answers.get(_meta(cell).get("grade_id", ""), [])
        if names or _meta(cell).get("grade"):
            found[index] = names
    return found


def judged_cells(nb: NotebookNode) -> list[int]:
    """Indices of the cells the judge runs: every locked code cell, tests and setup alike."""
    return [i for i, c in enumerate(nb.cells) if _judged(c)]


def not_checked(cell: NotebookNode, why: str) -> None:
    """Give a graded test an error (so it scores 0) saying why it was not checked."""
    cell.outputs = [
        *[o for o in cell.get("outputs", []) if o.get("output_type") != "error"],
        nbformat.v4.new_output(
            "error",
            ename="NotChecked",
            evalue=f"not checked: {why}",
            traceback=[f"NotChecked: not checked: {why}"],
        ),
    ]


def unsendable(encoded: Any) -> str:
    """The kind of value that could not travel ("" if it did), in either language's encoding."""
    if isinstance(encoded, dict):
        kind = encoded.get("$unsendable", encoded.get("u"))
        if isinstance(kind, list) and kind:
            kind = kind[0]
        if isinstance(kind, str):
            return kind
    return ""


def refused(snapshot: str) -> list[str]:
    """One sentence per exported answer that could not travel."""
    answers = json.loads(snapshot)
    return [
        f"{name} is a {kind}, which the grader cannot receive"
        for name, value in answers.items()
        if (kind := unsendable(value))
    ]


def snapshot_text(payload: Any) -> str | None:
    """The answers an export sent (JSON text), or None if it is not an export's message."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]  # R's jsonlite wraps a lone object in a list unless unboxed
    if not isinstance(payload, dict) or not isinstance(payload.get("answers"), dict):
        return None
    return json.dumps(payload["answers"])


class LearnerLink:
    """Calls into the learner's kernel while the judge runs: one call at a time, with a deadline.

    Only the call's result (plain data) or its exception's type and message come
    back; whatever the call prints is dropped.
    """

    def __init__(self, connection: dict[str, Any], language: str, seconds: float) -> None:
        self.language = language
        self.seconds = seconds
        self.stuck = ""
        # What could not travel back from the learner's functions, one sentence each.
        self.refused: list[str] = []
        self.client = AsyncKernelClient()
        self.client.load_connection_info(connection)
        self.started = False

    def close(self) -> None:
        if self.started:
            with contextlib.suppress(Exception):
                self.client.stop_channels()

    async def call(self, request: str) -> str:
        """The reply (JSON text) for one request from the judge's stand-in."""
        if not self.started:
            # Started here, in the judge's event loop, which its sockets then use.
            self.client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            self.started = True
        if self.stuck:
            return json.dumps({"error": ["RuntimeError", self.stuck]})
        payload: list[Any] = []

        def hook(msg: dict[str, Any]) -> None:
            data = msg.get("content", {}).get("data", {})
            if msg.get("msg_type") == "display_data" and plaindata.MIME in data:
                payload.append(data[plaindata.MIME])

        try:
            await self.client.execute_interactive(
                call_code(request, self.language),
                store_history=False,
                allow_stdin=False,
                timeout=self.seconds,
                output_hook=hook,
            )
        except TimeoutError:
            self.stuck = f"the function did not return within {self.seconds:.0f} s"
            return json.dumps({"error": ["TimeoutError", self.stuck]})
        except Exception as exc:
            self.stuck = f"the learner's kernel stopped answering ({type(exc).__name__}: {exc})"
            return json.dumps({"error": ["RuntimeError", self.stuck]})
        reply = payload[-1] if payload else None
        if isinstance(reply, list) and len(reply) == 1:
            reply = reply[0]
        if isinstance(reply, str):
            with contextlib.suppress(ValueError):
                reply = json.loads(reply)
        if not isinstance(reply, dict) or not ("value" in reply or "error" in reply):
            return json.dumps({"error": ["RuntimeError", "the function's result did not arrive"]})
        if kind := unsendable(reply.get("value")):
            name = json.loads(request).get("name", "the function")
            name = name[0] if isinstance(name, list) and name else name
            self.refused.append(
                f"the result of {name}() is a {kind}, which the grader cannot receive"
            )
        return json.dumps(reply)


_GONE = json.dumps(
    {"error": ["RuntimeError", "the notebook had stopped, so its functions could not be called"]}
)


async def answer_stdin(kc: Any, link: LearnerLink | None) -> None:
    """Serve the judge's calls of learner functions (its `input()` requests) until cancelled."""
    while True:
        try:
            msg = await kc.get_stdin_msg(timeout=0.5)
        except queue.Empty:
            continue
        if msg.get("msg_type") != "input_request":
            continue
        prompt = msg["content"].get("prompt", "")
        if not prompt.startswith(plaindata.PROMPT):
            kc.input("")
            continue
        reply = _GONE if link is None else await link.call(prompt[len(plaindata.PROMPT) :])
        kc.input(reply)
