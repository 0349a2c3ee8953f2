"""The exercise notebooks run by nbclient on a machine that is not a hub.

Every check must then say, in a plain sentence, what it needs (no traceback), the
interactive questions must carry a plain-text form, and the course-wide progress
notebook must report what the checks recorded.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from hubtrain.config import HubConfig
from hubtrain.localenv import execute_notebook
from hubtrain.release import LEARNER_PROGRESS, LEARNER_RUNTIME, assignments, stage_course

# One worker runs this module's tests, so its module fixture runs once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exercises-offhub")]

ROOT = Path(__file__).resolve().parent.parent
MODULES = assignments(ROOT / "exercises")
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
    runs = {name: _run(next((course / "source" / name).glob("*.ipynb")), env) for name in MODULES}
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


@pytest.mark.parametrize("module", MODULES)
def test_off_hub_every_check_is_a_plain_sentence(off_hub_run: tuple, module: str) -> None:
    runs, _ = off_hub_run
    for cell in _checks(runs[module]):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        for output in cell.outputs:
            text = _text(output)
            assert "Traceback" not in text, f"{module}:{grade_id}: {text[:300]}"
            if output.output_type == "error":
                assert output.ename == "CheckFailed", f"{module}:{grade_id}"
                assert output.traceback[0].startswith("✗ ")
        if "need_env(" in cell.source:
            said = "".join(_text(o) for o in cell.outputs)
            assert "this check must run on your hub: " in said, f"{module}:{grade_id}"
            assert " is not set." in said


@pytest.mark.parametrize("module", MODULES)
def test_questions_render_as_widgets_with_a_plain_text_form(
    off_hub_run: tuple, module: str
) -> None:
    runs, _ = off_hub_run
    asked = [c for c in runs[module].cells if "hubcheck.question(" in c.source]
    assert asked, f"{module} has no question"
    for cell in asked:
        shown = [o for o in cell.outputs if o.output_type == "display_data"]
        assert shown and WIDGET in shown[0].data
        plain = shown[0].data["text/plain"]
        assert "  a) " in plain and "hubcheck.answer(" in plain


@pytest.mark.parametrize("module", MODULES)
def test_each_notebook_ends_with_its_progress(off_hub_run: tuple, module: str) -> None:
    runs, _ = off_hub_run
    last = runs[module].cells[-1]
    assert last.source == "hubcheck.summary()"
    assert _text(last.outputs[0]).startswith(f"{module}: ")


def test_the_course_progress_notebook_reports_every_module(off_hub_run: tuple) -> None:
    _, summary = off_hub_run
    for name in MODULES:
        assert f"{name}: " in summary
    # Checks that need no hub pass off-hub too, and are recorded as passed.
    assert "✓ What survives a restart (graded)" in summary
    assert "✗ Your username and server name (graded)" in summary
    assert "– Log out or stop? (question)" in summary
