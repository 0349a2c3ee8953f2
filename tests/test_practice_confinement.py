"""From inside a learner's server on the practice hub: what the learner can and cannot read.

One practice hub for a GCS hub file, two learners logged in through the hub's own
login form. Code runs in each learner's kernel through the Jupyter server's REST
and websocket API, as the learner (their own hub token), and reports what it saw.
The course is pulled with nbgitpuller's own API, and the scratch bucket is a
`gs://` prefix on the local GCS emulator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
import websocket

from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.practice.spawner import SERVER_HOME

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.xdist_group("confinement")]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "confinement-password"


def log_in(session: requests.Session, hub: PracticeHub, name: str) -> requests.Response:
    """Submit the hub's login form as a browser does (XSRF cookie and field)."""
    session.get(f"{hub.url}/hub/login", timeout=30).raise_for_status()
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    return session.post(
        f"{hub.url}/hub/login",
        data={"username": name, "password": PASSWORD, "_xsrf": xsrf},
        timeout=30,
    )


class Learner:
    """A learner logged in to the hub, with a token for their own server."""

    def __init__(self, hub: PracticeHub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.browser = session = requests.Session()
        log_in(session, hub, name).raise_for_status()
        # Logging in issues a new XSRF cookie, tied to the session.
        xsrf = session.cookies.get("_xsrf", path="/hub/")
        reply = session.post(
            f"{hub.url}/hub/api/users/{name}/tokens",
            json={"note": "confinement test", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf},
            timeout=30,
        )
        reply.raise_for_status()
        self.headers = {"Authorization": f"token {reply.json()['token']}"}
        self.server = f"{hub.url}/user/{name}"

    def start(self, server_name: str = "", options: dict[str, str] | None = None) -> None:
        """Start the default server, or the named one, with these user options."""
        path = f"servers/{server_name}" if server_name else "server"
        reply = requests.post(
            f"{self.hub.url}/hub/api/users/{self.name}/{path}",
            headers=self.headers,
            json=options or {},
            timeout=30,
        )
        assert reply.status_code in (201, 202), reply.text
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            user = requests.get(
                f"{self.hub.url}/hub/api/users/{self.name}", headers=self.headers, timeout=30
            ).json()
            server = user.get("servers", {}).get(server_name, {})
            if server.get("ready"):
                return
            assert server or user.get("pending"), f"{self.name}'s server stopped:\n" + (
                self.hub.log_tail(30)
            )
            time.sleep(0.5)
        pytest.fail(f"{self.name}'s server did not start:\n{self.hub.log_tail(30)}")

    def pull(self, repo: str, branch: str) -> str:
        """Pull the course with nbgitpuller's own API; return its progress output."""
        query = urlencode({"repo": repo, "branch": branch})
        reply = requests.get(
            f"{self.server}/git-pull/api?{query}", headers=self.headers, stream=True, timeout=180
        )
        reply.raise_for_status()
        said = []
        for line in reply.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                event = json.loads(line[5:])
                said.append(event.get("output", "") or event.get("message", ""))
                if event.get("phase") in ("finished", "error"):
                    assert event["phase"] == "finished", "".join(said)
                    break
        return "".join(said)

    def run(self, code: str) -> str:
        """Run `code` in a new kernel of this learner's server; return what it printed."""
        reply = requests.post(f"{self.server}/api/kernels", headers=self.headers, timeout=60)
        reply.raise_for_status()
        kernel = reply.json()["id"]
        url = self.server.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
        ws = websocket.create_connection(url, header=self.headers, timeout=120)
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id}
        ws.send(
            json.dumps(
                {
                    "header": {**header, "username": self.name, "version": "5.3"},
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {"code": code, "silent": False, "allow_stdin": False},
                }
            )
        )
        out: list[str] = []
        try:
            while True:
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    out.append("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(out)
        finally:
            ws.close()
            requests.delete(f"{self.server}/api/kernels/{kernel}", headers=self.headers)

    def terminal(self, command: str) -> str:
        """Type `command` in a new terminal of this learner's server; return what it showed
        (the prompt included: the shell's first output comes before the command is typed)."""
        reply = requests.post(f"{self.server}/api/terminals", headers=self.headers, timeout=60)
        reply.raise_for_status()
        name = reply.json()["name"]
        url = self.server.replace("http://", "ws://") + f"/terminals/websocket/{name}"
        ws = websocket.create_connection(url, header=self.headers, timeout=120)
        screen = ""
        try:
            # The marker is computed by the shell, so the echoed command cannot match it.
            ws.send(json.dumps(["stdin", f"{command}; echo END-$((40+2))\r"]))
            while "END-42" not in screen:
                kind, *rest = json.loads(ws.recv())
                if kind == "stdout":
                    screen += rest[0]
            return screen
        finally:
            ws.close()
            requests.delete(f"{self.server}/api/terminals/{name}", headers=self.headers)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig) -> Iterator[PracticeHub]:
    state = tmp_path_factory.mktemp("confined") / "state"
    storage = practice_hub.storage.model_copy(update={"provider": "gcs"})
    gcs_hub = practice_hub.model_copy(update={"storage": storage})
    # Course data an instructor put in the shared folder (read-only for learners).
    shared = state / "shared" / practice_hub.storage.shared_dirs[0].path
    shared.mkdir(parents=True)
    (shared / "stations.csv").write_text("station,lat\nA,1.5\n")
    # Claims as on a public hub (--public), while listening on 127.0.0.1 only.
    practice = PracticeHub(
        gcs_hub, state, root=ROOT, port=free_port(), password=PASSWORD, claim_usernames=True
    )
    with practice:
        yield practice


@pytest.fixture(scope="module")
def learners(hub: PracticeHub) -> dict[str, Learner]:
    ada, bob = Learner(hub, "ada"), Learner(hub, "bob")
    for learner in (ada, bob):
        learner.start()
    bob.run("open('diary.txt', 'w').write('bob private')")
    return {"ada": ada, "bob": bob}


# Run in ada's kernel: can each path be read (and listed)?
PROBE = """
import json, os
def readable(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, 'rb').read(1)
        return True
    except OSError:
        return False
print(json.dumps({name: readable(path) for name, path in PATHS.items()}))
"""


def test_a_learner_reads_only_their_home_the_shared_data_and_the_course(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    ada = learners["ada"]
    assert hub.confine is True
    ada.pull(hub.hub.content.repo, hub.hub.content.branch)
    course = Path(SERVER_HOME) / hub.hub.content.directory
    shared_name = hub.hub.storage.shared_dirs[0].path
    paths = {
        # Must NOT be readable: the course sources (solutions, hidden tests), the
        # nbgrader build with its source copy, the hub's database, another learner.
        "exercises": ROOT / "exercises",
        "exercise source": ROOT / "exercises" / "05-cloud-data" / "cloud_data.ipynb",
        "repository source": ROOT / "src" / "hubtrain",
        "build state": hub.state / "build",
        "built source": hub.state / "build" / "course" / "source",
        "hub database": hub.state / "jupyterhub.sqlite",
        "cookie secret": hub.state / "jupyterhub_cookie_secret",
        "bob's home": hub.state / "homes" / "bob",
        "bob's diary": hub.state / "homes" / "bob" / "diary.txt",
        "ada's home on this machine": hub.state / "homes" / "ada",
        "shadow": Path("/etc/shadow"),
        # Must be readable: own home (at /home/jovyan), shared data, the pulled course.
        "own home": Path(SERVER_HOME),
        "shared data": Path(SERVER_HOME) / shared_name / "stations.csv",
        "pulled exercise": course / "05-cloud-data" / "cloud_data.ipynb",
    }
    code = f"PATHS = {json.dumps({k: str(v) for k, v in paths.items()})}\n{PROBE}"
    seen = json.loads(ada.run(code).strip().splitlines()[-1])
    allowed = {"own home", "shared data", "pulled exercise"}
    assert {name for name, ok in seen.items() if ok} == allowed, seen
    # What was pulled is the student release: no solutions in it.
    text = ada.run(f"print(open({str(paths['pulled exercise'])!r}).read())")
    assert "NotImplementedError" in text
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text


def test_a_learners_terminal_cannot_read_the_solutions(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    source = ROOT / "exercises" / "05-cloud-data" / "cloud_data.ipynb"
    screen = learners["bob"].terminal(
        f"grep -c 'BEGIN SOLUTION' {source}; echo LS-$((1+1)); ls {hub.state}"
    )
    assert "No such file or directory" in screen, screen
    # Of the state folder, a learner's server sees only the server configuration:
    # its home is at /home/jovyan, the shared folder where its link leads.
    listing = screen.rsplit("LS-2", 1)[1]
    assert "jupyter" in listing
    for hidden in ("homes", "jupyterhub.sqlite", "build", "server-etc"):
        assert hidden not in listing, listing


def test_shared_data_is_read_only_and_home_is_writable(learners: dict[str, Learner]) -> None:
    code = """
import os
shared = [d for d in os.listdir('.') if os.path.islink(d)][0]
try:
    open(os.path.join(shared, 'mine.txt'), 'w').write('x')
    print('shared writable')
except OSError as exc:
    print('shared refused', type(exc).__name__)
open('notes.txt', 'w').write('mine')
print('home', open('notes.txt').read())
print([line for line in open('/proc/self/status') if line.startswith('CapEff')][0])
"""
    said = learners["ada"].run(code)
    assert "shared refused" in said, said
    assert "home mine" in said
    # Even when the hub runs as root, the learner's code holds no capabilities.
    assert "CapEff:\t0000000000000000" in said, said


def test_the_scratch_bucket_is_a_gs_prefix_that_gcsfs_reaches(learners: dict[str, Learner]) -> None:
    code = """
import os, fsspec, gcsfs
scratch = os.environ['SCRATCH_BUCKET']
fs = gcsfs.GCSFileSystem()
with fsspec.open(f'{scratch}/hello.txt', 'w') as f:
    f.write('from a confined server')
print(scratch, fs.cat(f'{scratch}/hello.txt').decode())
"""
    said = learners["bob"].run(code).strip()
    assert said == "gs://hubtrain-scratch/bob from a confined server", said


def test_a_claimed_username_cannot_be_taken_from_another_browser(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    stranger = requests.Session()
    refused = log_in(stranger, hub, "ada")
    assert refused.status_code == 403
    assert "The username ada is already taken on this hub" in refused.text
    assert requests.get(f"{hub.url}/hub/api/user", cookies=stranger.cookies).status_code == 403
    # ada herself logs out and back in from her browser.
    ada = learners["ada"].browser
    ada.get(f"{hub.url}/hub/logout", timeout=30).raise_for_status()
    again = log_in(ada, hub, "ada")
    assert again.status_code == 200 and "already taken" not in again.text
    # A name nobody has used is still free; the claims file holds no secret.
    assert log_in(stranger, hub, "carol").status_code == 200
    claims = (hub.state / "claims.json").read_text()
    assert PASSWORD not in claims and sorted(json.loads(claims)["users"]) == ["ada", "bob", "carol"]


def _lines(screen: str) -> list[str]:
    """A terminal's output as lines, without the terminal's colour and title codes."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", screen)
    return [line.strip() for line in plain.replace("\r", "").split("\n")]


def test_a_learners_terminal_is_jovyan_in_home_jovyan(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    """What a learner on a Zero to JupyterHub hub sees, and what module 4 says."""
    screen = learners["ada"].terminal("whoami; pwd; id -u; id -g; hostname; echo HOME=$HOME")
    lines = _lines(screen)
    for expected in ("jovyan", "/home/jovyan", "1000", "100", "jupyter-ada", "HOME=/home/jovyan"):
        assert expected in lines, screen
    # The prompt an image's terminal shows, not a root prompt; no path of this machine.
    assert "jovyan@jupyter-ada:~$" in screen, screen
    assert "#" not in screen.split("whoami", 1)[0], screen
    assert str(hub.state) not in screen


def test_a_new_kernel_starts_in_home_jovyan_and_its_files_land_in_the_hubs_home_folder(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    ada = learners["ada"]
    code = """
import getpass, json, os
with open('hubtrain-progress.json', 'w') as f:
    json.dump({'from': 'a kernel'}, f)
print(os.getcwd(), os.environ['HOME'], os.path.expanduser('~'), getpass.getuser(), os.getuid())
"""
    said = ada.run(code).split()
    assert said == ["/home/jovyan", "/home/jovyan", "/home/jovyan", "jovyan", "1000"], said
    host_file = hub.state / "homes" / "ada" / "hubtrain-progress.json"
    assert json.loads(host_file.read_text()) == {"from": "a kernel"}
    # The room view reads it through the contents API, at the root of the server.
    reply = requests.get(
        f"{ada.server}/api/contents/hubtrain-progress.json", headers=ada.headers, timeout=30
    )
    reply.raise_for_status()
    assert json.loads(reply.json()["content"]) == {"from": "a kernel"}


def test_the_cgroup_files_a_lesson_reads_are_there_for_jovyan(learners: dict[str, Learner]) -> None:
    """Module 2 reads the memory limit from the cgroup files, where this machine has them."""
    files = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
    here = {f: Path(f).read_text().strip() for f in files if Path(f).is_file()}
    code = f"""
import json, os
print(json.dumps({{f: open(f).read().strip() for f in {files!r} if os.path.isfile(f)}}))
"""
    inside = json.loads(learners["bob"].run(code).strip().splitlines()[-1])
    assert inside == here


def test_each_server_offers_only_its_images_kernels(
    hub: PracticeHub, learners: dict[str, Learner]
) -> None:
    """The default profile's Python image has no R kernel; the R image has one."""
    ada = learners["ada"]
    python = requests.get(f"{ada.server}/api/kernelspecs", headers=ada.headers, timeout=30)
    assert set(python.json()["kernelspecs"]) == {"python3"}
    ada.start("rlang", {"profile": "medium", "image": "r"})
    try:
        url = f"{hub.url}/user/ada/rlang/api/kernelspecs"
        specs = requests.get(url, headers=ada.headers, timeout=30).json()["kernelspecs"]
        assert set(specs) == {"python3", "ir"}
        assert specs["ir"]["spec"]["language"] == "R"
    finally:
        requests.delete(
            f"{hub.url}/hub/api/users/ada/servers/rlang", headers=ada.headers, timeout=30
        )


def test_public_warning_says_what_remains_exposed(tmp_path: Path) -> None:
    # A short password stops the hub right after the warning, before anything listens.
    hubtrain = Path(sys.executable).with_name("hubtrain")
    result = subprocess.run(
        [str(hubtrain), "hub", "--public", "--port", str(free_port()), "--state", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HUBTRAIN_PASSWORD": "short"},
        timeout=120,
    )
    assert result.returncode == 2
    warning = " ".join(result.stderr.split())
    for exposed in (
        "claims it for that browser",
        f"{tmp_path}/claims.json",
        "127.0.0.1",
        "without limits",
        "bucket prefix",
        "plain HTTP",
    ):
        assert exposed in warning, exposed
