"""The practice hub: KubeSpawner's profile semantics, the course repository,
state that survives a restart, and a Ctrl-C that stops everything."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from hubtrain.config import HubConfig
from hubtrain.localenv import free_port
from hubtrain.practice import PracticeHub, served_hub
from hubtrain.practice.run import kubespawner_profile
from hubtrain.practice.spawner import PracticeSpawner, kubespawner_templates
from hubtrain.release import find_leaks

ROOT = Path(__file__).resolve().parent.parent
HUBTRAIN = Path(sys.executable).with_name("hubtrain")
PASSWORD = "practice-hub-password"
# One worker runs the module, so the course is built and published once.
pytestmark = pytest.mark.xdist_group("practice-hub")


def _spawner(hub: HubConfig, user_options: dict[str, str] | None = None) -> PracticeSpawner:
    user = SimpleNamespace(name="ada", escaped_name="ada", url="/user/ada/")
    spawner = PracticeSpawner(
        user=user, profile_list=[kubespawner_profile(p) for p in hub.profile_list]
    )
    spawner.user_options = user_options or {}
    return spawner


# -- the spawner: KubeSpawner's rules, no hub needed ---------------------------


def test_options_page_is_kubespawners_form(practice_hub: HubConfig) -> None:
    """The form is KubeSpawner's own template, with every profile and choice."""
    assert (kubespawner_templates() / "form.html").is_file()
    html = _spawner(practice_hub).render_options_form()
    assert 'id="kubespawner-profiles-list"' in html
    for profile in practice_hub.profile_list:
        assert f'value="{profile.key}"' in html
        assert profile.display_name in html
        for key, option in profile.profile_options.items():
            assert f'name="profile-option-{profile.key}--{key}"' in html
            for choice in option.choices.values():
                assert choice.display_name in html


def test_default_profile_applies_its_overrides(practice_hub: HubConfig) -> None:
    """No choice made: the default profile's limits and image, in bytes and CPUs."""
    spawner = _spawner(practice_hub)
    spawner.load_user_options()
    override = practice_hub.default_profile.kubespawner_override
    assert spawner.mem_limit == 1024**3  # "1G": JupyterHub counts in powers of 1024
    assert spawner.mem_guarantee == 512 * 1024**2
    assert spawner.cpu_limit == float(override["cpu_limit"])
    assert spawner.image == override["image"]


def test_form_choice_and_unlisted_choice(practice_hub: HubConfig) -> None:
    """A listed choice and a typed "Other" value both override the profile's image."""
    form = {"profile": ["medium"], "profile-option-medium--image": ["r"]}
    spawner = _spawner(practice_hub)
    spawner.user_options = spawner.user_options_from_form(form)
    assert spawner.user_options == {"profile": "medium", "image": "r"}
    spawner.load_user_options()
    assert spawner.image == "quay.io/jupyter/r-notebook:2025-11-10"
    assert spawner.mem_limit == 4 * 1024**3

    typed = {"profile": "medium", "image--unlisted-choice": "quay.io/jupyter/base-notebook:x1"}
    spawner = _spawner(practice_hub, typed)
    spawner.load_user_options()
    assert spawner.image == "quay.io/jupyter/base-notebook:x1"


def test_bad_choices_are_refused(practice_hub: HubConfig) -> None:
    """An unknown profile or an "Other" value failing the hub file's regex is an error."""
    with pytest.raises(ValueError, match="No such profile"):
        _spawner(practice_hub, {"profile": "huge"}).load_user_options()
    bad = {"profile": "medium", "image--unlisted-choice": "no tag here"}
    with pytest.raises(ValueError, match="Give an image name with a tag"):
        _spawner(practice_hub, bad).load_user_options()


def test_served_hub_follows_the_port(practice_hub: HubConfig) -> None:
    """On another port the hub URL and the course repo on it move together."""
    moved = served_hub(practice_hub, "http://127.0.0.1:9123")
    assert moved.url == "http://127.0.0.1:9123"
    assert moved.content.repo == "http://127.0.0.1:9123/services/course/hubtrain-course"


# -- the command line: clear errors before anything starts --------------------


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [str(HUBTRAIN), "hub", "--port", str(port), "--state", str(tmp_path / "state")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and f"port {port}" in lines[0] and "in use" in lines[0]
    assert "Traceback" not in result.stderr


def test_short_password_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "HUBTRAIN_PASSWORD": "short"}
    result = subprocess.run(
        [str(HUBTRAIN), "hub", "--port", str(free_port()), "--state", str(tmp_path / "s")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "at least 8 characters" in result.stderr
    assert "Traceback" not in result.stderr


# -- a real hub ------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_state(
    tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig
) -> Iterator[Path]:
    """A state folder whose course has been built and published once.

    Tests copy it, so their hubs start without running nbgrader again.
    """
    state = tmp_path_factory.mktemp("published") / "state"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_CONFIG_DIR", str(state.parent / "jupyter-config"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(state.parent / "jupyter-runtime"))
        with PracticeHub(practice_hub, state, root=ROOT, port=free_port(), password=PASSWORD):
            pass
        yield state


def _copy(state: Path, tmp_path: Path) -> Path:
    target = tmp_path / "state"
    shutil.copytree(state, target, symlinks=True)
    return target


@pytest.mark.hub
@pytest.mark.slow
def test_course_repo_clones_shallow_over_http(
    published_state: Path, practice_hub: HubConfig, tmp_path: Path
) -> None:
    """What nbgitpuller does: a shallow clone of the course branch, with no solutions."""
    state = _copy(published_state, tmp_path)
    with PracticeHub(practice_hub, state, root=ROOT, port=free_port(), password=PASSWORD) as hub:
        clone = tmp_path / "clone"
        branch = hub.hub.content.branch
        subprocess.run(
            ["git", "clone", "--depth", "1", "--branch", branch, hub.hub.content.repo, str(clone)],
            check=True,
            capture_output=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            timeout=60,
        )
        assert (clone / "01-login").is_dir()
        assert find_leaks(ROOT / "exercises", clone) == []
        log = hub.log_path.read_text(encoding="utf-8")
        assert "idle-culler" in log  # the culler service is running and calling the hub
    assert PASSWORD not in log
    for path in state.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".json", ".log"):
            assert PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path


@pytest.mark.hub
@pytest.mark.slow
def test_state_survives_a_restart(
    published_state: Path, practice_hub: HubConfig, tmp_path: Path
) -> None:
    """Homes, bucket objects, the database and the cookie secret outlive the hub."""
    state = _copy(published_state, tmp_path)
    with PracticeHub(practice_hub, state, root=ROOT, port=free_port(), password=PASSWORD) as hub:
        assert hub.s3 is not None
        hub.s3.client().put_object(Bucket="hubtrain-scratch", Key="ada/notes.txt", Body=b"kept")
        (state / "homes" / "ada").mkdir(parents=True)
        (state / "homes" / "ada" / "work.txt").write_text("mine")
    secret = (state / "jupyterhub_cookie_secret").read_bytes()
    with PracticeHub(practice_hub, state, root=ROOT, port=free_port(), password=PASSWORD) as hub:
        assert hub.s3 is not None
        body = hub.s3.client().get_object(Bucket="hubtrain-scratch", Key="ada/notes.txt")
        assert body["Body"].read() == b"kept"
    assert (state / "homes" / "ada" / "work.txt").read_text() == "mine"
    assert (state / "jupyterhub_cookie_secret").read_bytes() == secret
    assert (state / "jupyterhub.sqlite").is_file()


@pytest.mark.hub
@pytest.mark.slow
def test_ctrl_c_stops_everything(published_state: Path, tmp_path: Path) -> None:
    """Ctrl-C in a terminal (SIGINT to the whole process group) stops every process
    the hub started, after saving the buckets."""
    state = _copy(published_state, tmp_path)
    port = free_port()
    env = {**os.environ, "HUBTRAIN_PASSWORD": PASSWORD}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["PATH"] = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), env["PATH"]])
    process = subprocess.Popen(
        [str(HUBTRAIN), "hub", "--port", str(port), "--state", str(state)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line or "hubtrain:" in line:
                break
        output = "".join(lines)
        assert f"Practice hub: http://127.0.0.1:{port}" in output, output
        assert f"Password: {PASSWORD}" in output
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= 4  # hub process, bucket server, JupyterHub, proxy, services
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=120) == 0
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == []
        assert (state / "buckets").is_dir()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
