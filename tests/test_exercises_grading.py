"""The exercises under real nbgrader, in the grading environment, for every module.

One course run covers every assignment: real `nbgrader generate_assignment`, then
learners' notebooks for every assignment (the release with the right answers typed
in, the untouched release, and one partly wrong), then stock `nbgrader autograde` run
through `hubtrain grading-env` against a real moto bucket server. Each module is two
assignments of one notebook each: Python (`01-login/login.ipynb`) and its R twin
(`01-login-r/login_r.ipynb`, run by IRkernel), graded in the same batch. The right
answers come from two learners who each did the course in one language only: every
Python assignment, or every R assignment. Assertions are parametrised over the results.

`hubtrain grade` then grades the very same notebooks in a course of its own, and must
store exactly what stock nbgrader stored; nbgrader's own `export` and
`generate_feedback` work on its gradebook; stock feedback shows hidden tests and
ours does not.

The same run grades a small extra assignment about nbgrader's stderr rule for R: a
graded cell that writes anything to stderr scores zero, and loading `sf` prints a
start-up message there. A check wrapped in `hubcheck$task()` must still score.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from test_grading import hidden_lines, own_home, page_text

from hubtrain.cli import main
from hubtrain.course.release import (
    LEARNER_RUNTIME_R,
    R_SUFFIX,
    assignments,
    find_answer_literals,
    find_leaks,
    nbgrader_env,
    run_nbgrader,
    stage_course,
)
from hubtrain.grading.course import prepare_course
from hubtrain.grading.environment import GRADING_USER, grading_environment, hub_env, profile_env
from hubtrain.grading.execute import Limits
from hubtrain.grading.gradebook import autograde_rows
from hubtrain.grading.runner import grade_batch
from hubtrain.grading.samples import answered
from hubtrain.hubfile.config import HubConfig

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


# The same kinds of mistake in the R assignments.
PARTIAL_R = {
    "01-login-r": ("who_am_i", 'my_username <- "alice"\nmy_server_name <- ""', "test_who_am_i"),
    "02-profiles-r": ("fits_in_memory", "fits_in_memory <- TRUE", "test_fits_in_memory"),
    # nbgrader's own stub for an unanswered R cell.
    "03-nbgitpuller-r": ("later_click", "# YOUR CODE HERE\nfail()", "test_later_click"),
    "04-jupyterlab-r": (
        "kernel_for",
        "kernel_for <- function(sessions, path) {\n"
        "  for (entry in sessions) {\n"
        "    if (basename(entry$path) == basename(path)) return(entry$kernel$id)\n"
        "  }\n"
        "  NULL\n"
        "}",
        "test_kernel_for",
    ),
    "05-cloud-data-r": ("leaked_line", "leaked_line <- 4", "test_leaked_line"),
}
NOTEBOOKS = [(m, "r" if m.endswith(R_SUFFIX) else "python") for m in MODULES]
TRAP = "r-stderr"


def _notebook(folder: Path) -> Path:
    """The assignment's one notebook."""
    found = sorted(folder.glob("*.ipynb"))
    assert len(found) == 1, f"{folder}: {found}"
    return found[0]


def _with_answer(notebook: NotebookNode, solution_cell: str, answer: str) -> NotebookNode:
    """`notebook` with `answer` typed into its solution cell `solution_cell`."""
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == solution_cell
    )
    cell.source = answer
    return notebook


# The learners. Each right answer comes from a learner who did the course in one language
# only (an R exercise is its own assignment): each must get full marks out of that
# language's maximum, with no note about the assignments of the other language.
PYONLY, RONLY = "pyonly", "ronly"
STUDENTS = (PYONLY, RONLY, "blank", "partial")


def _learners(course: Path) -> dict[tuple[str, str, str], NotebookNode]:
    """{(student, assignment, notebook name): notebook} for every assignment of `course`,
    made from its release and source as a learner would hand them in."""
    handed_in = {}
    for assignment in [*MODULES, TRAP]:
        for path in sorted((course / "release" / assignment).glob("*.ipynb")):
            release = nbformat.read(path, as_version=4)
            source = nbformat.read(course / "source" / assignment / path.name, as_version=4)
            right = RONLY if source.metadata.kernelspec.language == "R" else PYONLY
            handed_in[right, assignment, path.stem] = answered(release, source, "correct")
            if assignment == TRAP:
                continue
            handed_in["blank", assignment, path.stem] = release
            wrong = {**PARTIAL, **PARTIAL_R}[assignment][:2]
            partial = _with_answer(answered(release, source, "correct"), *wrong)
            handed_in["partial", assignment, path.stem] = partial
    return handed_in


def _trap_notebook(test_source: str) -> nbformat.NotebookNode:
    """An R notebook: a setup cell, an answer, and one graded cell with `test_source`."""

    def meta(grade_id: str, **kw: object) -> dict:
        base = {"grade": False, "solution": False, "locked": True, "schema_version": 3}
        return {"nbgrader": {**base, "grade_id": grade_id, "task": False, **kw}}

    cells = [
        nbformat.v4.new_code_cell('source("hubcheck.R")', metadata=meta("setup")),
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\nanswer <- 42\n### END SOLUTION",
            metadata=meta("answer", solution=True, locked=False),
        ),
        nbformat.v4.new_code_cell(test_source, metadata=meta("test", grade=True, points=1)),
    ]
    kernel = {"name": "ir", "display_name": "R", "language": "R"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})


def write_trap(folder: Path) -> None:
    """Two R notebooks whose passing graded cell loads sf, which prints a start-up message.

    `wrapped.ipynb` checks inside `hubcheck$task()`, `bare.ipynb` does not; each has one
    graded cell named "test". The folder gets its own copy of hubcheck.R.
    """
    folder.mkdir(parents=True)
    shutil.copy(LEARNER_RUNTIME_R, folder / "hubcheck.R")
    checks = "library(sf)\nmessage('a note')\nwarning('a warning')\n"
    check = 'hubcheck$expect(answer == 42, "no")'
    wrapped = f'hubcheck$task("loud", "A chatty check", {{\n{checks}{check}\n}})'
    nbformat.write(_trap_notebook(wrapped), folder / "wrapped.ipynb")
    nbformat.write(_trap_notebook(checks + "stopifnot(answer == 42)"), folder / "bare.ipynb")


@pytest.fixture(scope="module")
def exercises(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course's exercises, and the R stderr trap beside them."""
    exercises = tmp_path_factory.mktemp("exercises") / "exercises"
    shutil.copytree(ROOT / "exercises", exercises)
    write_trap(exercises / TRAP)
    return exercises


@pytest.fixture(scope="module")
def course(
    practice_hub: HubConfig, exercises: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A course graded by stock nbgrader: every assignment handed in by every learner
    (`_learners`) and autograded once. The notebooks handed in are also kept, as
    they were, in `_handed_in(course)`."""
    course = tmp_path_factory.mktemp("graded") / "course"
    stage_course(practice_hub, exercises, course)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for (student, assignment, name), notebook in _learners(course).items():
        target = _handed_in(course) / "submitted" / student / assignment / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    shutil.copytree(_handed_in(course) / "submitted", course / "submitted")
    # Stock nbgrader, inside the grading environment given by the command line.
    hubtrain = Path(sys.executable).with_name("hubtrain")
    hub_file = ROOT / "hubs" / "practice.yml"
    autograde = [sys.executable, "-m", "nbgrader", "autograde", "*", "--create"]
    run = subprocess.run(
        [str(hubtrain), "grading-env", "--hub", str(hub_file), "--", *autograde],
        cwd=course,
        env={**nbgrader_env(), "HOME": own_home(course / "home")},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return course


def _handed_in(course: Path) -> Path:
    """Where the `course` fixture keeps the notebooks as handed in (`submitted/...`)."""
    return course.parent / "handed-in"


def _learner(module: str) -> str:
    """Who handed in the right answers for `module`."""
    return RONLY if module.endswith(R_SUFFIX) else PYONLY


def cell_scores(course: Path) -> dict[tuple[str, str, str, str], float]:
    """{(student, assignment, notebook, cell): score} of every grade in `course`'s gradebook."""
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        key = (sub.student.id, assignment.name, nb.name, grade.name)
                        scores[key] = grade.score
    return scores


def _name(course: Path, module: str) -> str:
    return _notebook(course / "source" / module).stem


def _scores(course: Path, module: str, student: str) -> dict[str, float]:
    name = _name(course, module)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(name, module, student)
        return {grade.name: grade.score for grade in notebook.grades if grade.max_score}


def _max_scores(course: Path, module: str) -> dict[str, float]:
    name = _name(course, module)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(name, module)
        return {cell.name: cell.max_score for cell in notebook.grade_cells}


@pytest.mark.parametrize("module", MODULES)
def test_the_right_answers_get_full_marks(course: Path, module: str) -> None:
    assert _scores(course, module, _learner(module)) == _max_scores(course, module)


@pytest.mark.parametrize("module", MODULES)
def test_the_untouched_release_scores_zero(course: Path, module: str) -> None:
    scores = _scores(course, module, "blank")
    assert scores.keys() == _max_scores(course, module).keys()
    assert set(scores.values()) == {0}


@pytest.mark.parametrize("module", MODULES)
def test_a_partly_wrong_notebook_loses_exactly_that_task(course: Path, module: str) -> None:
    wrong_test = {**PARTIAL, **PARTIAL_R}[module][2]
    expected = {**_max_scores(course, module), wrong_test: 0}
    assert _scores(course, module, "partial") == expected


@pytest.mark.parametrize(("module", "lang"), NOTEBOOKS)
def test_the_release_holds_no_solution_or_hidden_test(course: Path, module: str, lang: str) -> None:
    assert find_leaks(ROOT / "exercises", course / "release" / module) == []
    text = _notebook(course / "release" / module).read_text()
    # nbgrader's stub for the notebook's language; hubcheck.R makes R's fail() say it plainly.
    assert ("fail()" if lang == "r" else "NotImplementedError") in text
    # The check runtime for the assignment's language, and only that one.
    runtimes = sorted(p.name for p in (course / "release" / module).glob("hubcheck.*"))
    assert runtimes == ["hubcheck.R" if lang == "r" else "hubcheck.py"]


def test_a_passing_r_check_scores_even_when_a_package_writes_to_stderr(course: Path) -> None:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        bare = gradebook.find_submission_notebook("bare", TRAP, RONLY).grades[0].score
        wrapped = gradebook.find_submission_notebook("wrapped", TRAP, RONLY).grades[0].score
    autograded = course / "autograded" / RONLY / TRAP
    outputs = nbformat.read(autograded / "bare.ipynb", as_version=4).cells[2].outputs
    # The trap is real: sf's start-up message went to stderr, and the cell scored zero ...
    assert any(o.output_type == "stream" and o.name == "stderr" for o in outputs)
    assert bare == 0
    # ... while the same check inside hubcheck$task() wrote none, and scored.
    outputs = nbformat.read(autograded / "wrapped.ipynb", as_version=4).cells[2].outputs
    assert [o.name for o in outputs if o.output_type == "stream"] == ["stdout"]
    assert "Linking to GEOS" in outputs[0].text
    assert wrapped == 1


def test_hubtrain_grade_stores_what_stock_nbgrader_stores(
    course: Path,
    exercises: Path,
    practice_hub: HubConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`hubtrain grade` on the notebooks stock nbgrader graded, in a course of its own."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    out = tmp_path / "out"
    ours = prepare_course(practice_hub, exercises, out / "course")
    result = grade_batch(
        practice_hub, exercises, _handed_in(course), out, workers=2, limits=Limits(), say=print
    )
    assert {r.status for r in result.rows} <= {"graded", "flagged"}
    by_student = {s: {r.assignment: r for r in result.rows if r.student == s} for s in STUDENTS}
    r_assignments = {a for a in ours.assignments if a.endswith(R_SUFFIX)} | {TRAP}
    assert by_student[RONLY].keys() == r_assignments
    assert by_student[PYONLY].keys() == ours.assignments.keys() - r_assignments
    assert by_student["blank"].keys() == by_student["partial"].keys() == set(MODULES)

    scores = cell_scores(out / "course")
    assert scores == cell_scores(course)
    # Not only the scores: every flag and comment autograding writes, row for row.
    assert autograde_rows(ours.db_url) == autograde_rows(f"sqlite:///{course / 'gradebook.db'}")
    # sf's start-up message on stderr zeroes the bare R check, not the one in hubcheck$task.
    assert scores[(RONLY, TRAP, "wrapped", "test")] == 1
    assert scores[(RONLY, TRAP, "bare", "test")] == 0
    # Full marks for each one-language learner, out of their own assignments' maximum, with
    # nothing flagged about the other language (the trap's bare check is meant to score 0).
    for student in (PYONLY, RONLY):
        for row in by_student[student].values():
            if row.assignment != TRAP:
                assert "was not submitted" not in row.reason, row
                assert (row.status, row.score, row.reason) == ("graded", row.max_score, ""), row
                assert row.max_score > 0

    run_nbgrader(out / "course", "export", "--to=grades-export.csv")
    with (out / "course" / "grades-export.csv").open(newline="") as fh:
        exported = {
            (r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(fh)
        }
    our_rows = {(r.assignment, r.student): r.score for r in result.rows}
    assert {key: score for key, score in exported.items() if key in our_rows} == our_rows
    # nbgrader's export lists every student for every assignment: what a learner did not
    # hand in (the other language's assignments, the trap) is simply scored 0.
    assert {score for key, score in exported.items() if key not in our_rows} == {0.0}

    # Stock feedback for one learner is enough to show what stock nbgrader shows.
    run_nbgrader(out / "course", "generate_feedback", "*", f"--student={PYONLY}")
    secrets = hidden_lines(exercises)
    stock_pages = list((out / "course" / "feedback").rglob("*.html"))
    assert stock_pages and any(any(s in page_text(p) for s in secrets) for p in stock_pages), (
        "stock nbgrader feedback was expected to show hidden tests"
    )
    for page in (out / "feedback").rglob("*.html"):
        assert not [s for s in secrets if s in page_text(page)], page


def test_nbgrader_validate_passes_every_source_notebook(
    course: Path, practice_hub: HubConfig
) -> None:
    notebooks = [str(_notebook(course / "source" / m)) for m in MODULES]
    with grading_environment(practice_hub, course / "validate") as env:
        run = subprocess.run(
            [sys.executable, "-m", "nbgrader", "validate", *notebooks],
            cwd=course,
            env={**env, "HOME": own_home(course / "home")},
            capture_output=True,
            text=True,
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("Success! Your notebook passes all the tests.") == len(NOTEBOOKS)


def test_every_graded_cell_has_a_docstring_and_a_snake_case_id() -> None:
    for name, lang in NOTEBOOKS:
        notebook = nbformat.read(_notebook(ROOT / "exercises" / name), as_version=4)
        graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, name
        # What a graded cell checks, in the first line: a docstring, or a comment in R.
        opener = "# Checks " if lang == "r" else '"""'
        for cell in graded:
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            assert grade_id.replace("_", "").isalnum() and grade_id == grade_id.lower()
            assert cell.source.startswith(opener), f"{name}:{grade_id} has no docstring"
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


@pytest.mark.slow
def test_stock_nbgrader_kernels_in_the_grading_env_use_unix_sockets(tmp_path: Path) -> None:
    """A TCP port jupyter_client found free can be taken before the kernel binds it (a
    clean-clone run lost `nbgrader validate` that way); unix sockets cannot. The probe
    is a graded cell: nbgrader validate fails it unless the kernel's transport is ipc."""
    probe = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    test = {"solution": False, "grade": True, "locked": True, "grade_id": "transport"}
    test.update(points=1, schema_version=3)
    probe.cells = [
        nbformat.v4.new_code_cell(
            "from ipykernel import get_connection_info\n"
            "transport = get_connection_info(unpack=True)['transport']\n"
            "assert transport == 'ipc', transport",
            metadata={"nbgrader": test},
        )
    ]
    nbformat.write(probe, tmp_path / "probe.ipynb")
    hub_file = str(ROOT / "hubs" / "practice.yml")
    validate = [sys.executable, "-m", "nbgrader", "validate", "probe.ipynb"]
    run = subprocess.run(
        [sys.executable, "-m", "hubtrain.cli", "grading-env", "--hub", hub_file, "--", *validate],
        cwd=tmp_path,
        env={**nbgrader_env(), "HOME": own_home(tmp_path / "home")},
        capture_output=True,
        text=True,
    )
    assert "Success! Your notebook passes all the tests." in run.stdout, run.stdout + run.stderr


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


def _plant(path: Path, grade_id: str, old: str, new: str) -> None:
    """Replace `old` with `new` in one cell of a notebook (which must hold it once)."""
    notebook = nbformat.read(path, as_version=4)
    [cell] = [
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    ]
    assert cell.source.count(old) == 1, (grade_id, old)
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)


def test_visible_r_checks_that_show_their_answer_are_caught(tmp_path: Path) -> None:
    # Copies of the real R exercises, undoing their digests in the ways an author (or a
    # careless merge) could. The copies sit in a plain folder under plain names, so only
    # the kernel's language says they are R.
    copies = {}
    for module in ("01-login-r", "02-profiles-r", "03-nbgitpuller-r", "05-cloud-data-r"):
        copies[module] = tmp_path / module.removesuffix(R_SUFFIX) / "hostile.ipynb"
        copies[module].parent.mkdir()
        shutil.copy(_notebook(ROOT / "exercises" / module), copies[module])
    # The number itself, in a visible check.
    _plant(
        copies["05-cloud-data-r"],
        "test_leaked_line",
        "  ### BEGIN HIDDEN TESTS",
        '  hubcheck$expect(isTRUE(leaked_line == 3), "not that line")\n  ### BEGIN HIDDEN TESTS',
    )
    # A named vector holding the answer, written as a list and in another order.
    _plant(
        copies["03-nbgitpuller-r"],
        "test_later_click",
        "  missing <-",
        '  right_words = list(untouched = "update", clash = "rename", edited = "keep",'
        ' deleted = "restore")\n  missing <-',
    )
    # The letters, in another order; and the same letters inside hidden tests, which
    # the release removes, so they are no leak.
    _plant(
        copies["01-login-r"],
        "test_survives_restart",
        "  # Whether each letter",
        '  right <- c("g", "e", "a")\n  # Whether each letter',
    )
    _plant(
        copies["01-login-r"],
        "test_survives_restart",
        "  ### END HIDDEN TESTS",
        '  again <- c("a", "e", "g")\n  ### END HIDDEN TESTS',
    )
    # The question's right letter, given by name; and the size written as arithmetic.
    _plant(
        copies["02-profiles-r"],
        "question_as_integer",
        '  "83aa0b99b20511bd", # digest of the right letter\n',
        '  answer = "b",\n',
    )
    _plant(
        copies["02-profiles-r"],
        "test_matrix_bytes",
        "  ### BEGIN HIDDEN TESTS",
        "  hubcheck$expect(matrix_bytes == 2e4 * 2e4 * 8, 'no')\n  ### BEGIN HIDDEN TESTS",
    )
    leaks = [line.removeprefix(f"{tmp_path}/") for line in find_answer_literals(tmp_path)]
    assert leaks == [
        "01-login/hostile.ipynb: test_survives_restart:"
        " shows {'a', 'e', 'g'}, the answer of survives_restart",
        "02-profiles/hostile.ipynb: question_as_integer: the question's right letter 'b' is shown",
        "02-profiles/hostile.ipynb: test_matrix_bytes:"
        " shows 3200000000, the answer of matrix_bytes",
        "03-nbgitpuller/hostile.ipynb: test_later_click: shows {'untouched': 'update',"
        " 'clash': 'rename', 'edited': 'keep', 'deleted': 'restore'}, the answer of later_click",
        "05-cloud-data/hostile.ipynb: test_leaked_line: shows 3, the answer of leaked_line",
    ]


# Wrong answers to the R checks that compare digests, and the sentence each must still
# give: (module, test cell, the learner's answer, what the feedback must say).
R_FEEDBACK = [
    (
        "01-login-r",
        "test_survives_restart",
        'survives_restart <- c("a", "b", "e", "g")',
        "✗ your answer about b (a file in /tmp) is not right yet.",
    ),
    (
        "01-login-r",
        "test_survives_restart",
        'survives_restart <- c("a", "e")',
        "✗ your answer about g (a package library folder in your home directory) is not right",
    ),
    (
        "02-profiles-r",
        "test_matrix_bytes",
        "matrix_bytes <- 20000 * 20000 * 4",
        "✗ matrix_bytes is 1.6e+09, which is not 20000 x 20000 elements x 8 bytes.",
    ),
    (
        "02-profiles-r",
        "test_fits_in_memory",
        "matrix_bytes <- 20000 * 20000 * 8\nfits_in_memory <- TRUE",
        "✗ fits_in_memory is TRUE, but your matrix_bytes is not below MEM_LIMIT (2 GiB).",
    ),
    (
        "03-nbgitpuller-r",
        "test_clone_folder",
        'clone_folder <- "ocean-lessons-main"',
        '✗ "ocean-lessons-main" is not the last part of the repository URL.',
    ),
    (
        "03-nbgitpuller-r",
        "test_later_click",
        'later_click <- c(edited = "keep", deleted = "restore", clash = "keep",'
        ' untouched = "update")',
        '✗ clash is not "keep": your untracked file is renamed with a timestamp',
    ),
    (
        "05-cloud-data-r",
        "test_leaked_line",
        "leaked_line <- 2",
        "✗ Not that one: line 2 only reads your bucket address from the environment.",
    ),
    ("05-cloud-data-r", "test_leaked_line", "leaked_line <- 5", "✗ line 5 holds no credential."),
]


def test_r_checks_that_compare_digests_still_say_what_is_wrong(tmp_path: Path) -> None:
    cases = []
    for module, test_cell, answer, _ in R_FEEDBACK:
        notebook = nbformat.read(_notebook(ROOT / "exercises" / module), as_version=4)
        [code] = [
            c.source
            for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == test_cell
        ]
        visible = code.split("  ### BEGIN HIDDEN TESTS")[0] + "})\n"
        cases.append(answer + "\n" + visible)
    shutil.copy(LEARNER_RUNTIME_R, tmp_path / "hubcheck.R")
    script = (
        'source("hubcheck.R")\n'
        "for (code in jsonlite::fromJSON(file('stdin'))) {\n"
        "  here <- new.env()\n"
        "  said <- tryCatch({ eval(parse(text = code), here); 'passed' },"
        " error = conditionMessage)\n"
        "  cat(gsub('\\n', ' ', said), '\\n', sep = '')\n"
        "}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    result = subprocess.run(
        ["Rscript", "--vanilla", "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "HUBTRAIN_GRADING": "1", "JUPYTERHUB_USER": "ada", "MEM_LIMIT": str(2 * 2**30)},
        check=True,
    )
    said = result.stdout.splitlines()
    assert len(said) == len(R_FEEDBACK)
    for (module, test_cell, answer, expected), feedback in zip(R_FEEDBACK, said, strict=True):
        assert feedback.startswith(expected), (module, test_cell, answer, feedback)
