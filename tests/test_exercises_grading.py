"""The exercises under real nbgrader, in the grading environment, for every module.

One course run covers all five assignments: real `nbgrader generate_assignment`,
three submissions per assignment (the source with its solutions, the untouched
release, and a partly wrong notebook), then stock `nbgrader autograde` run through
`hubtrain grading-env` against a real moto bucket server. Assertions are
parametrised over the results.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from hubtrain.cli import main
from hubtrain.config import HubConfig
from hubtrain.gradingenv import GRADING_USER, grading_environment, hub_env, profile_env
from hubtrain.release import (
    assignments,
    find_answer_literals,
    find_leaks,
    nbgrader_env,
    stage_course,
)

# One worker runs this module's tests, so its module fixture runs once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exercises-grading")]

ROOT = Path(__file__).resolve().parent.parent
MODULES = assignments(ROOT / "exercises")

# A partly wrong answer per module: (solution cell, what the learner wrote, the test
# cell that must score zero). Each is a mistake the module is meant to catch.
PARTIAL = {
    # Typed instead of read from the environment: right on alice's hub, wrong when graded.
    "01-login": ("who_am_i", 'my_username = "alice"\nmy_server_name = ""', "test_who_am_i"),
    # Typed for a bigger profile: the grader's server has the default profile's limit.
    "02-profiles": ("fits_in_memory", "fits_in_memory = True", "test_fits_in_memory"),
    # Not answered at all.
    "03-nbgitpuller": ("later_click", "raise NotImplementedError()", "test_later_click"),
    # Passes the visible checks but matches on the file name only: hidden tests catch it.
    "04-jupyterlab": (
        "kernel_for",
        "def kernel_for(sessions, path):\n"
        "    for entry in sessions:\n"
        '        if entry["path"].endswith(path.split("/")[-1]):\n'
        '            return entry["kernel"]["id"]\n'
        "    return None",
        "test_kernel_for",
    ),
    "05-cloud-data": ("leaked_line", "leaked_line = 5", "test_leaked_line"),
}


def _notebook(folder: Path) -> Path:
    return next(folder.glob("*.ipynb"))


def _submit(source: Path, target: Path, solution_cell: str = "", answer: str = "") -> None:
    shutil.copytree(source, target)
    if solution_cell:
        path = _notebook(target)
        notebook = nbformat.read(path, as_version=4)
        cell = next(
            c
            for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == solution_cell
        )
        cell.source = answer
        nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def course(practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graded course: every module submitted three ways and autograded once."""
    course = tmp_path_factory.mktemp("course")
    stage_course(practice_hub, ROOT / "exercises", course)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for name in MODULES:
        submitted = course / "submitted"
        _submit(course / "source" / name, submitted / "solution" / name)
        _submit(course / "release" / name, submitted / "blank" / name)
        solution_cell, answer, _ = PARTIAL[name]
        _submit(course / "source" / name, submitted / "partial" / name, solution_cell, answer)
    # Stock nbgrader, inside the grading environment given by the command line.
    hubtrain = Path(sys.executable).with_name("hubtrain")
    hub_file = ROOT / "hubs" / "practice.yml"
    autograde = [sys.executable, "-m", "nbgrader", "autograde", "*", "--create"]
    run = subprocess.run(
        [str(hubtrain), "grading-env", "--hub", str(hub_file), "--", *autograde],
        cwd=course,
        env={**nbgrader_env(), "HOME": str(course / "home")},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return course


def _scores(course: Path, module: str, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission(module, student).notebooks[0]
        return {grade.name: grade.score for grade in notebook.grades if grade.max_score}


def _max_scores(course: Path, module: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_assignment(module).notebooks[0]
        return {cell.name: cell.max_score for cell in notebook.grade_cells}


@pytest.mark.parametrize("module", MODULES)
def test_the_source_notebook_gets_full_marks(course: Path, module: str) -> None:
    assert _scores(course, module, "solution") == _max_scores(course, module)


@pytest.mark.parametrize("module", MODULES)
def test_the_untouched_release_scores_zero(course: Path, module: str) -> None:
    scores = _scores(course, module, "blank")
    assert scores.keys() == _max_scores(course, module).keys()
    assert set(scores.values()) == {0}


@pytest.mark.parametrize("module", MODULES)
def test_a_partly_wrong_notebook_loses_exactly_that_task(course: Path, module: str) -> None:
    wrong_test = PARTIAL[module][2]
    expected = {**_max_scores(course, module), wrong_test: 0}
    assert _scores(course, module, "partial") == expected


@pytest.mark.parametrize("module", MODULES)
def test_the_release_holds_no_solution_or_hidden_test(course: Path, module: str) -> None:
    assert find_leaks(ROOT / "exercises", course / "release" / module) == []
    text = _notebook(course / "release" / module).read_text()
    assert "NotImplementedError" in text


def test_nbgrader_validate_passes_every_source_notebook(
    course: Path, practice_hub: HubConfig
) -> None:
    notebooks = [str(_notebook(course / "source" / name)) for name in MODULES]
    with grading_environment(practice_hub, course / "validate") as env:
        run = subprocess.run(
            [sys.executable, "-m", "nbgrader", "validate", *notebooks],
            cwd=course,
            env={**env, "HOME": str(course / "home")},
            capture_output=True,
            text=True,
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("Success! Your notebook passes all the tests.") == len(MODULES)


def test_every_graded_cell_has_a_docstring_and_a_snake_case_id() -> None:
    for name in MODULES:
        notebook = nbformat.read(_notebook(ROOT / "exercises" / name), as_version=4)
        graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, name
        for cell in graded:
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            assert grade_id.replace("_", "").isalnum() and grade_id == grade_id.lower()
            assert cell.source.startswith('"""'), f"{name}:{grade_id} has no docstring"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{name}:{grade_id}"


def test_grading_environment_is_the_hub_file_default_profile(
    practice_hub: HubConfig, tmp_path: Path
) -> None:
    with grading_environment(practice_hub, tmp_path) as env:
        assert env["JUPYTERHUB_USER"] == GRADING_USER
        assert env["JUPYTERHUB_SERVER_NAME"] == ""
        assert env["JUPYTERHUB_SERVICE_PREFIX"] == f"/user/{GRADING_USER}/"
        # JupyterHub writes memory in bytes (1G = 2**30) and CPU as a float.
        assert env["MEM_LIMIT"] == str(2**30)
        assert env["CPU_LIMIT"] == "1.0"
        assert env["JUPYTER_IMAGE_SPEC"] == "quay.io/jupyter/scipy-notebook:2025-11-10"
        assert env["SCRATCH_BUCKET"] == f"s3://hubtrain-scratch/{GRADING_USER}"
        assert env["PERSISTENT_BUCKET"] == f"s3://hubtrain-persistent/{GRADING_USER}"
        assert env["HUBTRAIN_GRADING"] == "1"


def test_hub_variables_follow_the_hub_file(managed_hub: HubConfig) -> None:
    env = {**hub_env(managed_hub, "ada", "gpu-run"), **profile_env(managed_hub.default_profile)}
    assert env["JUPYTERHUB_BASE_URL"] == "/"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/user/ada/gpu-run/"
    assert env["JUPYTERHUB_API_URL"] == "https://hub.example-research.org/hub/api"
    assert env["MEM_LIMIT"] == str(4 * 2**30)
    assert env["MEM_GUARANTEE"] == str(int(1.9 * 2**30))
    # The default profile's image comes from its default `profile_options` choice.
    assert env["JUPYTER_IMAGE_SPEC"] == "quay.io/pangeo/pangeo-notebook:2025.11.05"


def test_grading_env_command_returns_the_command_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = "import os, sys; sys.exit(7 if os.environ['JUPYTERHUB_USER'] == 'learner' else 1)"
    hub_file = str(ROOT / "hubs" / "practice.yml")
    assert main(["grading-env", "--hub", hub_file, "--", sys.executable, "-c", script]) == 7
    assert main(["grading-env", "--hub", hub_file, "--"]) == 2
    error = capsys.readouterr().err
    assert "needs a command" in error
    assert "Traceback" not in error


def test_no_visible_test_or_question_shows_its_answer(tmp_path: Path) -> None:
    assert find_answer_literals(ROOT / "exercises") == []
    # The check itself: a visible test that compares with the literal answer is caught.
    planted = nbformat.v4.new_notebook()
    solution = {"solution": True, "grade": False, "locked": False, "grade_id": "spot"}
    test = {"solution": False, "grade": True, "locked": True, "grade_id": "test_spot"}
    planted.cells = [
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\nleaked_line = 4\n### END SOLUTION",
            metadata={"nbgrader": solution},
        ),
        nbformat.v4.new_code_cell("assert leaked_line == 4", metadata={"nbgrader": test}),
    ]
    nbformat.write(planted, tmp_path / "planted.ipynb")
    [leak] = find_answer_literals(tmp_path)
    assert "test_spot: shows 4, the answer of leaked_line" in leak
