"""The practice hub: KubeSpawner's profile semantics, the course repository,
state that survives a restart, and a Ctrl-C that stops everything."""

from __future__ import annotations

import fcntl
import html
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests
from terminal import as_foreground_job

from hubtrain.course.links import nbgitpuller_link
from hubtrain.course.release import find_leaks
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub, served_hub
from hubtrain.practice.run import (
    COURSE_SERVICE,
    PracticeHubError,
    kubespawner_profile,
    unconfined_warning,
)
from hubtrain.practice.spawner import PracticeSpawner, image_kernels, kubespawner_templates
from hubtrain.rehearse.hubapi import HubAPI

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


@pytest.mark.parametrize(
    ("image", "kernels"),
    [
        # The images of hubs/practice.yml and hubs/example-managed.yml.
        ("quay.io/jupyter/scipy-notebook:2025-11-10", {"python3"}),
        ("quay.io/jupyter/r-notebook:2025-11-10", {"python3", "ir"}),
        ("quay.io/pangeo/pangeo-notebook:2025.11.05", {"python3"}),
        ("rocker/binder:4.4", {"python3", "ir"}),
        # What a learner may type as "Other image", and how registries name images.
        ("quay.io/jupyter/datascience-notebook:latest", {"python3", "ir"}),
        ("quay.io/jupyter/base-notebook:latest", {"python3"}),
        ("localhost:5000/jupyter/r-notebook@sha256:" + "0" * 64, {"python3", "ir"}),
        ("registry.example.org:443/team/r-notebook-extras:1", {"python3"}),
    ],
)
def test_an_image_offers_the_kernels_it_has(image: str, kernels: set[str]) -> None:
    """A Python image has no R kernel, as on a real hub; an image with R has both."""
    assert image_kernels(image) == kernels


def test_no_image_named_offers_every_kernel() -> None:
    assert image_kernels("") is None


def test_start_up_says_when_servers_run_as_this_machines_user(
    practice_hub: HubConfig, tmp_path: Path
) -> None:
    """Unconfined servers are not jovyan in /home/jovyan: `hubtrain hub` says so."""
    hub = PracticeHub(practice_hub, tmp_path, root=ROOT, password=PASSWORD, confine=False)
    hub._check_confinement()
    warning = unconfined_warning(hub)
    me = pwd.getpwuid(os.geteuid()).pw_name
    for said in ("not confined", f"this machine's user ({me})", str(tmp_path / "homes")):
        assert said in warning, said
    # Where bubblewrap works (as here), confined servers need no warning.
    confined = PracticeHub(practice_hub, tmp_path, root=ROOT, password=PASSWORD)
    confined._check_confinement()
    assert confined.confine is True and unconfined_warning(confined) == ""


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
        _assert_the_repo_address_opens_a_page(hub)
        log = hub.log_path.read_text(encoding="utf-8")
        assert "idle-culler" in log  # the culler service is running and calling the hub
    assert PASSWORD not in log
    for path in state.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".json", ".log"):
            assert PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path


# What Chromium sends when a person opens an address.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)


def _assert_the_repo_address_opens_a_page(hub: PracticeHub) -> None:
    """Module 3 and nbgitpuller's sync page link to the repository's address."""
    repo, branch = hub.hub.content.repo, hub.hub.content.branch
    headers = {"Accept": BROWSER_ACCEPT, "User-Agent": "Mozilla/5.0"}
    for address in (repo, repo + "/"):
        page = requests.get(address, headers=headers, timeout=30)
        assert page.status_code == 200, address
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        text = page.text
        assert '<html lang="en">' in text and "<h1>" in text and "<main>" in text
        assert f"<code>{repo}</code>" in text and f"<code>{branch}</code>" in text
        pull = re.search(r'<a href="([^"]+)">Copy or update the whole course', text)
        assert pull, text
        assert html.unescape(pull.group(1)) == nbgitpuller_link(hub.url, repo, branch=branch)
        assert f"git clone --branch {branch} {repo}" in text
    # The service's own address lists what it serves; an unknown repository is a 404.
    index = requests.get(hub.url + COURSE_SERVICE, headers=headers, timeout=30)
    assert index.status_code == 200 and f'href="{COURSE_SERVICE}{Path(repo).name}"' in index.text
    assert requests.get(repo + "-nope", headers=headers, timeout=30).status_code == 404


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


def _start_servers(hub_url: str, token: str, names: list[str]) -> None:
    """Start `names`' default servers through the REST API; return once all are ready."""
    api = HubAPI(hub_url, token)
    api.create_users(names)
    for name in names:
        api.request("POST", f"users/{name}/server", ok=(201, 202), json={})
    for _ in range(600):
        servers = [api.request("GET", f"users/{n}")["servers"].get("", {}) for n in names]
        if all(server.get("ready") for server in servers):
            return
        time.sleep(0.2)
    raise AssertionError(f"the servers of {names} did not start: {servers}")


@pytest.mark.hub
@pytest.mark.slow
def test_a_second_hub_is_refused_and_ctrl_c_stops_everything(
    published_state: Path, tmp_path: Path
) -> None:
    """With three servers running: a second `hubtrain hub` on the same state folder says so
    in one line and leaves the first one's log, token and database alone; then Ctrl-C in a
    terminal (SIGINT to the whole process group) stops every process the hub started,
    servers and kernels included, after saving the buckets, and frees the state folder."""
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
        preexec_fn=as_foreground_job,  # and SIGINT, whatever started this test run
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
        url = f"http://127.0.0.1:{port}"
        token = (state / "rehearsal-token").read_text().strip()
        _start_servers(url, token, ["ada", "bo", "cy"])

        database = (state / "jupyterhub.sqlite").stat().st_ino
        other = free_port()
        second = subprocess.run(
            [str(HUBTRAIN), "hub", "--port", str(other), "--state", str(state)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stdout + second.stderr
        [refused] = second.stderr.strip().splitlines()
        assert "another practice hub is running on" in refused and url in refused
        assert str(other) not in (state / "jupyterhub.log").read_text(encoding="utf-8")
        assert (state / "rehearsal-token").read_text().strip() == token
        assert (state / "jupyterhub.sqlite").stat().st_ino == database
        assert HubAPI(url, token).request("GET", "users/ada")["servers"][""]["ready"]

        started = psutil.Process(process.pid).children(recursive=True)
        servers = [p for p in started if "jupyterhub-singleuser" in " ".join(p.cmdline())]
        assert len(servers) >= 3  # each server (and its sandbox) is ours to stop
        # Nobody reads what it says while stopping (a closed terminal): it still stops all.
        process.stdout.close()
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=120) == 0
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == []
        assert (state / "buckets").is_dir()
        with (state / "hubtrain-hub.lock").open() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_stale_pid_file_is_reported_and_a_left_hub_refused(
    practice_hub: HubConfig, tmp_path: Path
) -> None:
    """The PID file of a hub that is gone: one line, removed. A JupyterHub still working in
    the folder (its `hubtrain hub` was killed): refused in one line naming its pid."""
    state = tmp_path / "state"
    state.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (state / "jupyterhub.pid").write_text(str(gone.pid))
    said: list[str] = []
    first = PracticeHub(practice_hub, state, root=ROOT, password=PASSWORD, say=said.append)
    first.claim_state()
    first.stop()
    [line] = said
    assert f"pid {gone.pid}" in line and "gone" in line
    assert not (state / "jupyterhub.pid").exists()

    left = tmp_path / "bin" / "jupyterhub"
    left.parent.mkdir()
    left.write_text("import time\ntime.sleep(120)\n")
    hub = subprocess.Popen([sys.executable, str(left)], cwd=state)
    try:
        (state / "jupyterhub.pid").write_text(str(hub.pid))
        with pytest.raises(PracticeHubError) as refused:
            PracticeHub(practice_hub, state, root=ROOT, password=PASSWORD).claim_state()
        [line] = str(refused.value).splitlines()
        assert f"(pid {hub.pid})" in line and f"kill {hub.pid}" in line
    finally:
        hub.kill()
        hub.wait()
