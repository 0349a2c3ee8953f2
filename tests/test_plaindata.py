"""Answers as plain data (grading/plaindata.py and .R): what the judge rebuilds is what the
learner had, type for type, and nothing a learner defines can stand in for a value."""

from __future__ import annotations

import collections
import datetime
import json
import math
import pathlib
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hubtrain.grading import plaindata
from hubtrain.grading.declared import declared_answers

R_CODEC = Path(plaindata.__file__).with_suffix(".R")


def round_trip(value: Any) -> Any:
    """Through JSON text, as it travels from the learner's kernel to the judge's."""
    calls = []
    text = json.dumps(plaindata.encode(value, "x"))
    return plaindata.decode(json.loads(text), "x", lambda *a: calls.append(a))


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        nan = a.dtype.kind in "fc"
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=nan)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


HONEST = [
    None,
    True,
    0,
    -(2**70),
    0.1 + 0.2,
    float("nan"),
    float("-inf"),
    -0.0,
    complex(1.5, -2),
    "é ✓ \x00",
    b"\x00\xff",
    [1, [2, (3, "4")]],
    (1,),
    {"a", "e", "f"},
    frozenset({1, 2}),
    {"k": [1, 2], (1, 2): {3}, 4: None},
    collections.OrderedDict([("b", 1), ("a", 2)]),
    collections.Counter("hello"),
    pathlib.PosixPath("/home/jovyan/x.txt"),
    datetime.datetime(2026, 11, 29, 17, 44, 52),
    datetime.date(2026, 1, 2),
    np.arange(12, dtype="float32").reshape(3, 4),
    np.array([True, False]),
    np.array(["ab", "c"]),
    np.float32(0.1),
    np.int64(-3),
    np.float64(2.5),
]


@pytest.mark.parametrize("value", HONEST, ids=lambda v: type(v).__name__)
def test_honest_answers_arrive_with_their_type_and_value(value: Any) -> None:
    assert same(round_trip(value), value)


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True


class Sly(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("hostile", [AlwaysEqual(), Sly("x"), [1, AlwaysEqual()], {"k": Sly("v")}])
def test_nothing_a_learner_defines_arrives_as_itself(hostile: Any) -> None:
    arrived = round_trip(hostile)
    if isinstance(arrived, list):
        arrived = arrived[-1]
    elif isinstance(arrived, dict):
        arrived = arrived["k"]
    stand_in = arrived
    assert isinstance(stand_in, plaindata.Unsendable)
    for use in (
        lambda v: v == 42,
        lambda v: bool(v),
        lambda v: v + 1,
        lambda v: v.anything,
        hash,
        str,
    ):
        with pytest.raises(TypeError, match="which the grader cannot receive"):
            use(stand_in)
    assert "which the grader cannot receive" in repr(stand_in)


def test_a_function_answer_becomes_a_stand_in_that_sends_only_data() -> None:
    def square(x: int) -> int:
        return x * x

    calls: list[tuple] = []
    data = json.loads(json.dumps(plaindata.encode(square, "square")))
    stand_in = plaindata.decode(data, "square", lambda *a: calls.append(a) or 9)
    assert stand_in(-3, base={2}) == 9
    assert calls == [("square", (-3,), {"base": {2}})]
    # A function inside a value, or returned by one, does not travel.
    assert isinstance(round_trip([square])[0], plaindata.Unsendable)


def test_the_learner_side_runs_a_call_and_reports_its_exception_type(capsys: Any) -> None:
    published: list[dict] = []
    namespace = {"answer": lambda: {"a": (1, 2)}, "broken": lambda: [][1]}
    original = plaindata._publish
    plaindata._publish = published.append
    try:
        plaindata.answer_call(
            json.dumps({"name": "answer", "args": [], "kwargs": {"$dict": []}}), namespace
        )
        plaindata.answer_call(
            json.dumps({"name": "broken", "args": [], "kwargs": {"$dict": []}}), namespace
        )
    finally:
        plaindata._publish = original
    assert plaindata.decode(published[0]["value"]) == {"a": (1, 2)}
    assert published[1] == {"error": ["IndexError", "list index out of range"]}
    assert isinstance(plaindata._raise_like("IndexError", "x"), IndexError)
    assert type(plaindata._raise_like("SystemExit", "x")) is RuntimeError


def test_declared_answers_are_names_solutions_bind_and_locked_cells_read() -> None:
    import nbformat

    def cell(source: str, **meta: Any) -> Any:
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = {"grade_id": meta.pop("gid"), **meta}
        return made

    nb = nbformat.v4.new_notebook(
        cells=[
            cell("import hubcheck\nlimit = 3", gid="setup", locked=True),
            cell(
                "hubcheck = None\nlimit = 0\nx = 1\ndef f(y):\n    inner = y\n",
                gid="a",
                solution=True,
            ),
            cell(
                "assert f(x) == limit and inner\nhubcheck.expect(True, '')",
                gid="t",
                locked=True,
                grade=True,
            ),
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
    )
    # hubcheck and limit are the course's: an answer cell rebinding them changes nothing.
    assert declared_answers(nb)["t"] == ["f", "x"]


R_ROUND_TRIP = r"""
source(commandArgs(TRUE)[1])
values <- list(
  c(0.1, pi, NA, NaN, Inf, -0, 5e-324), c(1L, NA), c("é", NA, ""), c(TRUE, NA),
  factor(c("b", "a", "b")), list(a = 1, b = list("x", NULL)), matrix(1:6, 2),
  data.frame(n = c(1.5, 2), s = c("a", "b")), as.Date("2026-11-29"),
  complex(real = 1, imaginary = -2),
  as.raw(c(0, 255)), NULL, c(edited = "keep", deleted = "restore")
)
ok <- vapply(values, function(v) {
  text <- hubtrain_json(hubtrain_encode(v))
  identical(hubtrain_decode(jsonlite::fromJSON(text, simplifyVector = FALSE)), v)
}, TRUE)
travel <- function(v, ...) {
  text <- hubtrain_json(hubtrain_encode(v, "kernel_for"))
  hubtrain_decode(jsonlite::fromJSON(text, simplifyVector = FALSE), ...)
}
env <- travel(new.env())
f <- travel(sum, call = function(name, args) paste(name, length(args)))
cat(jsonlite::toJSON(list(ok = ok, env = class(env), f = f(1, 2))))
"""


def test_r_answers_arrive_identical_and_environments_do_not(tmp_path: Path) -> None:
    script = tmp_path / "round_trip.R"
    script.write_text(R_ROUND_TRIP, encoding="utf-8")
    done = subprocess.run(
        ["Rscript", str(script), str(R_CODEC)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert all(result["ok"]), result["ok"]
    assert result["env"] == ["hubtrain_unsendable"]
    assert result["f"] == ["kernel_for 2"]


def tree_aliases(source: str) -> list:
    import ast

    return [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.alias)]


def test_every_python_check_reads_only_course_names_and_declared_answers(root: Path) -> None:
    """What a graded test reads must reach the judge: the course's names or declared answers."""
    import ast
    import builtins

    import nbformat

    from hubtrain.grading.declared import _python_bound, _python_read

    unknown = []
    for path in sorted((root / "exercises").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if nb.metadata.kernelspec.language != "python":
            continue
        answers = declared_answers(nb)
        course: set[str] = set(dir(builtins))
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("solution"):
                continue
            if meta.get("locked"):
                # Whatever the cell binds anywhere (its functions' locals and arguments too).
                tree = ast.walk(ast.parse(cell.source))
                own = {
                    getattr(n, "id", None) or getattr(n, "arg", None) or getattr(n, "name", "")
                    for n in tree
                    if isinstance(n, ast.arg | ast.FunctionDef | ast.ExceptHandler)
                    or (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
                } | {a.asname or a.name.split(".")[0] for a in tree_aliases(cell.source)}
                missing = _python_read(cell.source) - course - own - set(answers[meta["grade_id"]])
                unknown += [f"{path.name}: {meta['grade_id']}: {name}" for name in sorted(missing)]
                course |= _python_bound(cell.source)
    assert not unknown
