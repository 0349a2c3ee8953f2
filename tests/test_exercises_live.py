"""Live self-checks on a hub-like server: they pass when the learner has done the task.

The notebooks run by nbclient with the variables a hub gives a server (the hub
file's default profile), a home folder in tmp_path where the learner's work is
laid out as the tasks ask, the course where the course link puts it, and a real
Jupyter server whose kernel the learner shuts down through its REST API.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from hublike import api, hublike_env, jupyter_server

from hubtrain.course.release import stage_course
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import execute_notebook

# One worker runs this module's tests, so its module fixture runs once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exercises-live")]

ROOT = Path(__file__).resolve().parent.parent
USER = "ada"
TOKEN = "live-test-token"
PRACTICE_NOTEBOOK = "hubtrain-practice/shutdown-me.ipynb"


def _api(url: str, method: str = "GET", body: dict | None = None) -> object:
    return api(url, TOKEN, method, body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real Jupyter server on 127.0.0.1 rooted in a learner's home; yields (url, home)."""
    base = tmp_path_factory.mktemp("server")
    home = base / "home"
    home.mkdir()
    with jupyter_server(base, home, TOKEN) as url:
        yield url, home


def _outputs(path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run a notebook; return what each nbgrader cell printed, by grade_id.

    The learner's optional REST API cell has no grade_id; it is filed as "use_api".
    """
    notebook = nbformat.read(path, as_version=4)
    execute_notebook(notebook, path.parent, env)
    said = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        key = grade_id or ("use_api" if "use_api = " in cell.source else "")
        if key:
            said[key] = "".join(
                o.get("text", "")
                or o.get("data", {}).get("text/plain", "")
                or "\n".join(o.get("traceback", []))
                for o in cell.outputs
            )
    return said


@pytest.fixture(scope="module")
def live(
    practice_hub: HubConfig,
    server: tuple[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict]:
    url, home = server
    base = tmp_path_factory.mktemp("live")
    staged = base / "staged"
    stage_course(practice_hub, ROOT / "exercises", staged)
    # Where the course link puts the course: ~/<content directory>/.
    course = home / practice_hub.content.directory
    shutil.copytree(staged / "source", course)
    # The learner's work from the file browser and the terminal (module 4).
    practice = home / "hubtrain-practice"
    (practice / "data" / "raw").mkdir(parents=True)
    (practice / "notes.md").write_text("# Notes\n")
    (practice / "from-terminal.txt").write_text(f"{USER}\n")
    # The learner opened shutdown-me.ipynb and ran its cell: a kernel is running for it.
    (practice / ".kernel-started").touch()
    _api(url + "api/sessions", "POST", {"path": PRACTICE_NOTEBOOK, "type": "notebook"})
    # ... and now takes the REST API route to shut it down (module 4, task 6).
    notebook = course / "04-jupyterlab" / "jupyterlab.ipynb"
    text = notebook.read_text()
    assert text.count("use_api = False") == 1
    notebook.write_text(text.replace("use_api = False", "use_api = True"))

    env = hublike_env(practice_hub, USER, home, url, TOKEN, base / "progress.json")
    return {
        # The Python notebooks; the R ones run on the practice hub (test_r_track_live.py).
        name: _outputs(next((course / name).glob("*.ipynb")), env)
        for name in ("02-profiles", "03-nbgitpuller", "04-jupyterlab")
    }


@pytest.mark.parametrize(
    ("module", "check", "title"),
    [
        ("02-profiles", "check_my_profile", "The profile you started with"),
        ("03-nbgitpuller", "check_course_folder", "Where the course is"),
        ("04-jupyterlab", "check_layout", "Make a folder layout"),
        ("04-jupyterlab", "check_terminal", "Leave a file from a terminal"),
        ("04-jupyterlab", "check_shutdown", "Shut down a kernel"),
    ],
)
def test_a_done_task_passes_its_live_check(live: dict, module: str, check: str, title: str) -> None:
    assert live[module][check].startswith(f"✓ {title}: passed (checked live on your hub).")


def test_a_kernel_shut_down_through_the_rest_api_passes_its_check(
    live: dict, server: tuple[str, Path]
) -> None:
    url, _ = server
    assert "Asked the server to shut down kernel" in live["04-jupyterlab"]["use_api"]
    paths = [s["path"] for s in _api(url + "api/sessions")]  # type: ignore[union-attr]
    assert PRACTICE_NOTEBOOK not in paths


def test_graded_answers_work_against_the_real_server(live: dict) -> None:
    said = live["04-jupyterlab"]
    assert said["test_sessions_url"].startswith("✓ Your server's sessions API: passed.")
    assert said["test_auth_headers"].startswith("✓ The header that proves it is you: passed.")
