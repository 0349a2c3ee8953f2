"""The exercise notebooks run by nbclient on a machine that is not a hub.

Every check must then say, in a plain sentence, what it needs (no traceback), the
interactive questions must carry a plain-text form, and the course-wide progress
notebook must report what the checks recorded. The R notebooks (each its own
assignment, `01-login-r/login_r.ipynb`, run by the real IRkernel) are held to the
same rules.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from hubtrain.course.release import (
    LEARNER_PROGRESS,
    LEARNER_RUNTIME,
    R_SUFFIX,
    assignments,
    stage_course,
)
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import execute_notebook

# One worker runs this module's tests, so its module fixture runs once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exercises-offhub")]

ROOT = Path(__file__).resolve().parent.parent
MODULES = assignments(ROOT / "exercises")
# Every assignment's notebook, as (assignment, notebook file name): each module's
# Python assignment and its R twin `<module>-r`.
NOTEBOOKS = [
    (name, path.name)
    for name in MODULES
    for path in sorted((ROOT / "exercises" / name).glob("*.ipynb"))
]
R_NOTEBOOKS = [(m, n) for m, n in NOTEBOOKS if m.endswith(R_SUFFIX)]
PY_NOTEBOOKS = [(m, n) for m, n in NOTEBOOKS if not m.endswith(R_SUFFIX)]
WIDGET = "application/vnd.jupyter.widget-view+json"
HUB_VARIABLES = ("JUPYTERHUB_", "MEM_", "CPU_", "JUPYTER_IMAGE", "HUBTRAIN_", "AWS_", "FSSPEC_")


def _run(path: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    execute_notebook(notebook, path.parent, env)
    return notebook


def _text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return output.get("data", {}).get("text/plain", "")


@pytest.fixture(scope="module")
def off_hub_run(
    practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, nbformat.NotebookNode], str]:
    """Every source notebook run off-hub, then the progress notebook; returns both."""
    base = tmp_path_factory.mktemp("offhub")
    course = base / "course"
    stage_course(practice_hub, ROOT / "exercises", course)
    env = {k: v for k, v in os.environ.items() if not k.startswith(HUB_VARIABLES)}
    env.update(
        HOME=str(base / "home"),
        HUBTRAIN_PROGRESS=str(base / "progress.json"),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
    )
    (base / "home").mkdir()
    runs = {(m, n): _run(course / "source" / m / n, env) for m, n in NOTEBOOKS}
    # The course root of a release: module folders, the runtime and the progress page.
    root = course / "source"
    shutil.copy(LEARNER_RUNTIME, root / "hubcheck.py")
    shutil.copy(LEARNER_PROGRESS, root / "progress.ipynb")
    progress = _run(root / "progress.ipynb", env)
    summary = "".join(_text(o) for cell in progress.cells for o in cell.get("outputs", []))
    return runs, summary


def _checks(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells the course wrote (locked or graded), not the learner's answers."""
    return [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code"
        and cell.metadata.get("nbgrader", {}).get("locked")
        and cell.metadata["nbgrader"]["grade_id"] != "setup"
    ]


@pytest.mark.parametrize(("module", "name"), NOTEBOOKS)
def test_off_hub_every_check_is_a_plain_sentence(
    off_hub_run: tuple, module: str, name: str
) -> None:
    runs, _ = off_hub_run
    for cell in _checks(runs[module, name]):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        for output in cell.outputs:
            text = _text(output)
            # The same for Python and R (run by the real IRkernel): no traceback, no
            # "Error:", no source of the check; one box with the sentence and the hint.
            for crash in ("Traceback", "Error:", "hubcheck$task(", "hubcheck.task("):
                assert crash not in text, f"{name}:{grade_id}: {text[:300]}"
            if output.output_type == "error":
                assert output.ename == "CheckFailed", f"{module}:{grade_id}"
                assert output.traceback[0].startswith("✗ ")
                assert output.traceback[1:] == [] or output.traceback[1].startswith("  Hint: ")
            # nbgrader zeroes a graded cell with any stderr output, passing or not.
            assert not (output.output_type == "stream" and output.name == "stderr"), text
        if "need_env(" in cell.source:
            said = "".join(_text(o) for o in cell.outputs)
            assert "this check must run on your hub: " in said, f"{name}:{grade_id}"
            assert " is not set." in said


@pytest.mark.parametrize(("module", "name"), PY_NOTEBOOKS)
def test_questions_render_as_widgets_with_a_plain_text_form(
    off_hub_run: tuple, module: str, name: str
) -> None:
    runs, _ = off_hub_run
    asked = [c for c in runs[module, name].cells if "hubcheck.question(" in c.source]
    assert asked, f"{module} has no question"
    for cell in asked:
        shown = [o for o in cell.outputs if o.output_type == "display_data"]
        assert shown and WIDGET in shown[0].data
        plain = shown[0].data["text/plain"]
        assert "  a) " in plain and "hubcheck.answer(" in plain


@pytest.mark.parametrize(("module", "name"), R_NOTEBOOKS)
def test_r_questions_print_their_choices_and_take_an_answer(
    off_hub_run: tuple, module: str, name: str
) -> None:
    cells = off_hub_run[0][module, name].cells
    asked = [i for i, c in enumerate(cells) if "hubcheck$question(" in c.source]
    assert asked, f"{name} has no question"
    for i in asked:
        printed = "".join(_text(o) for o in cells[i].outputs)
        assert "  a) " in printed and "hubcheck$answer(" in printed
        # The learner's answer cell follows, with a blank letter until they fill it in.
        answer_cell = cells[i + 1]
        assert answer_cell.source.startswith("hubcheck$answer(")
        assert "Put your letter between the quotes" in "".join(
            _text(o) for o in answer_cell.outputs
        )


@pytest.mark.parametrize(("module", "name"), NOTEBOOKS)
def test_each_notebook_ends_with_its_progress(off_hub_run: tuple, module: str, name: str) -> None:
    runs, _ = off_hub_run
    last = runs[module, name].cells[-1]
    if module.endswith(R_SUFFIX):
        assert last.source == "hubcheck$summary()"
        # The R assignment `01-login-r` is labelled as its module, in R.
        assert _text(last.outputs[0]).startswith(f"{module.removesuffix(R_SUFFIX)} (R): ")
    else:
        assert last.source == "hubcheck.summary()"
        assert _text(last.outputs[0]).startswith(f"{module}: ")


def test_the_course_progress_notebook_reports_every_module(off_hub_run: tuple) -> None:
    _, summary = off_hub_run
    for module, _ in PY_NOTEBOOKS:
        assert f"\n{module}: " in f"\n{summary}"
    # Checks that need no hub pass off-hub too, and are recorded as passed.
    assert "✓ What survives a restart (graded)" in summary
    assert "✗ Your username and server name (graded)" in summary
    assert "– Log out or stop? (question)" in summary
    # The R notebooks write the same progress file; the page shows each module once per
    # language, the R assignment `01-login-r` as "01-login (R)".
    for module, _ in R_NOTEBOOKS:
        assert summary.count(f"{module.removesuffix(R_SUFFIX)} (R): ") == 1
        assert f"{module}:" not in summary
    py_login = summary.split("01-login: ", 1)[1].split("\n\n", 1)[0]
    assert "RStudio" not in py_login
    r_login = summary.split("01-login (R): ", 1)[1].split("\n\n", 1)[0]
    assert "✓ What survives a restart (graded)" in r_login
    assert "✗ Your username and server name (graded)" in r_login
    assert "– The power button in RStudio (question)" in r_login
