"""The R track on the real practice hub: its R profile, the R exercises' live checks,
and every R code block of the book.

One practice hub for the module. The learner `ada` logs in with the hub's password,
starts a server with the R image choice of the `medium` profile (through the hub's
REST API, as the options form would), pulls the course the way the course link does
(a clone of the published release into `~/<content directory>`), types the solutions
in, and follows the tasks' instructions in her home. Notebooks then run cell by cell
in `ir` kernels that her server starts, over the Jupyter server's websocket: the real
environment, token, hub API, buckets (moto, with GDAL pointed at it) and cgroup files.
The book's R tabs run there too; the instructors' out-of-memory demo, meant to fail,
runs on its own under a memory limit.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
import websocket
from hublike import hub_token

from hubtrain.course.release import R_SUFFIX, stage_course
from hubtrain.grading.samples import answered
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.practice.run import SCRATCH_BUCKET

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.xdist_group("practice-hub-r")]

ROOT = Path(__file__).resolve().parent.parent
USER = "ada"
PASSWORD = "practice-hub-password"
R_CHOICE = {"profile": "medium", "image": "r"}
# Each R exercise is its own assignment, `<module>-r`.
R_NOTEBOOKS = sorted(ROOT.glob(f"exercises/*{R_SUFFIX}/*.ipynb"))
# R tabs in the book: "```r" blocks inside a `:sync: r` tab item.
BOOK_PAGES = sorted(ROOT.glob("book/**/*.md"))


@dataclass
class Server:
    url: str  # this learner's server, ending with /
    token: str
    home: Path
    course: Path
    hub: PracticeHub


def _wait(condition: object, what: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()  # type: ignore[operator]
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server(practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("r-live")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_CONFIG_DIR", str(base / "jupyter-config"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(base / "jupyter-runtime"))
        port = free_port()
        with PracticeHub(
            practice_hub, base / "state", root=ROOT, port=port, password=PASSWORD
        ) as hub:
            token = hub_token(hub.url, USER, PASSWORD, "r-track test")
            api = f"{hub.url}/hub/api/users/{USER}"
            auth = {"Authorization": f"token {token}"}
            started = requests.post(f"{api}/server", json=R_CHOICE, headers=auth, timeout=60)
            assert started.status_code in (201, 202), started.text

            def ready() -> bool:
                user = requests.get(api, headers=auth, timeout=30).json()
                return bool((user.get("servers") or {}).get("", {}).get("ready"))

            _wait(ready, "the R server to start")
            home = base / "state" / "homes" / USER
            course = home / hub.hub.content.directory
            content = hub.hub.content
            subprocess.run(
                ["git", "clone", "--depth", "1", "--branch", content.branch, content.repo, course],
                check=True,
                capture_output=True,
                timeout=120,
            )
            # The learner answers every task: the source's solutions typed into the release.
            staged = base / "staged"
            stage_course(hub.hub, ROOT / "exercises", staged)
            for notebook in R_NOTEBOOKS:
                rel = notebook.relative_to(ROOT / "exercises")
                release = nbformat.read(course / rel, as_version=4)
                source = nbformat.read(staged / "source" / rel, as_version=4)
                nbformat.write(answered(release, source, "correct"), course / rel)
            # Module 4, task 5: a library folder in home, named in ~/.Renviron.
            (home / "R" / "library").mkdir(parents=True)
            (home / ".Renviron").write_text(f"R_LIBS_USER={home}/R/library\n")
            try:
                yield Server(f"{hub.url}/user/{USER}/", token, home, course, hub)
            finally:
                requests.delete(f"{api}/server", headers=auth, timeout=60)


# A cell may run this long; a kernel silent about a request for this long never got it.
CELL_TIMEOUT = 240.0
LOST_AFTER = 60.0


class Kernel:
    """An `ir` kernel of the learner's server, for one notebook path, driven over websocket.

    As JupyterLab does, it waits for the kernel's answer to `kernel_info` before
    sending code. A request the kernel never acknowledges (no status for it in a
    minute: the message was lost on its way) is sent once more, as a learner would
    run the cell again; anything else that stalls fails the test with what arrived.
    """

    def __init__(self, server: Server, path: str) -> None:
        self.server = server
        self.auth = {"Authorization": f"token {server.token}"}
        body = {"path": path, "type": "notebook", "kernel": {"name": "ir"}}
        reply = requests.post(server.url + "api/sessions", json=body, headers=self.auth, timeout=60)
        reply.raise_for_status()
        self.session = reply.json()
        kernel = self.session["kernel"]["id"]
        channels = server.url.replace("http://", "ws://") + f"api/kernels/{kernel}/channels"
        self.session_id = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"{channels}?session_id={self.session_id}",
            header=[f"Authorization: token {server.token}"],
            timeout=10,
        )
        self._request("kernel_info_request", {}, "kernel_info_reply")

    def _send(self, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.session_id,
            "username": USER,
            "version": "5.3",
        }
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        self.ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
        return msg_id

    def _request(self, msg_type: str, content: dict, done: str) -> list[dict]:
        """Send a request; return its replies up to `done` (a reply type, or "idle")."""
        for _ in range(2):
            msg_id = self._send(msg_type, content)
            sent = time.monotonic()
            replies: list[dict] = []
            while time.monotonic() - sent < CELL_TIMEOUT:
                if not replies and time.monotonic() - sent > LOST_AFTER:
                    break  # never acknowledged: send it again
                try:
                    reply = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                replies.append(reply)
                kind, body = reply["msg_type"], reply["content"]
                if kind == done or (done == "idle" and body.get("execution_state") == "idle"):
                    return replies
            if replies:
                kinds = [r["msg_type"] for r in replies]
                pytest.fail(f"{msg_type} did not finish in {CELL_TIMEOUT:.0f} s; got {kinds}")
        pytest.fail(f"the kernel never acknowledged {msg_type}, sent twice")

    def run(self, code: str) -> list[dict]:
        """Run `code`; return its outputs as (kind, text) dicts, in order."""
        content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
        outputs = []
        for reply in self._request("execute_request", content, "idle"):
            kind, body = reply["msg_type"], reply["content"]
            if kind == "stream":
                outputs.append({"kind": body["name"], "text": body["text"]})
            elif kind in ("display_data", "execute_result"):
                outputs.append({"kind": kind, "text": body["data"].get("text/plain", "")})
            elif kind == "error":
                outputs.append({"kind": "error", "text": "\n".join(body["traceback"])})
        return outputs

    def close(self) -> None:
        self.ws.close()
        url = self.server.url + f"api/sessions/{self.session['id']}"
        requests.delete(url, headers=self.auth, timeout=60)


def _run_notebook(server: Server, notebook: Path) -> dict[str, str]:
    """Run a notebook of the course cell by cell; return each cell's output by grade_id."""
    path = notebook.relative_to(server.home).as_posix()
    kernel = Kernel(server, path)
    said = {}
    try:
        for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
            if cell.cell_type == "code":
                outputs = kernel.run(cell.source)
                key = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index}"
                said[key] = "".join(o["text"] for o in outputs)
                said[key + ":stderr"] = "".join(o["text"] for o in outputs if o["kind"] != "stdout")
    finally:
        kernel.close()
    return said


@pytest.fixture(scope="module")
def live(server: Server) -> dict[str, dict[str, str]]:
    return {
        nb.parent.name: _run_notebook(server, server.course / nb.parent.name / nb.name)
        for nb in R_NOTEBOOKS
    }


def test_the_r_profile_starts_a_server_with_the_ir_kernel(server: Server) -> None:
    auth = {"Authorization": f"token {server.token}"}
    specs = requests.get(server.url + "api/kernelspecs", headers=auth, timeout=30).json()
    assert specs["kernelspecs"]["ir"]["spec"]["language"] == "R"
    kernel = Kernel(server, "probe.ipynb")
    try:
        said = kernel.run('cat(Sys.getenv(c("JUPYTER_IMAGE_SPEC", "MEM_LIMIT")), sep = "\\n")')
    finally:
        kernel.close()
    image, memory = said[0]["text"].split()
    assert image == "quay.io/jupyter/r-notebook:2025-11-10"
    assert memory == str(4 * 2**30)


@pytest.mark.parametrize(
    ("module", "check", "title"),
    [
        ("01-login-r", "check_user_record", "Your user record from the hub API"),
        ("02-profiles-r", "check_enforced_memory", "What the kernel enforces"),
        ("03-nbgitpuller-r", "check_course_folder", "Where the course is"),
        ("04-jupyterlab-r", "check_library", "R uses your library"),
    ],
)
def test_a_done_r_task_passes_its_live_check_on_the_hub(
    live: dict, module: str, check: str, title: str
) -> None:
    assert live[module][check].startswith(f"✓ {title}: passed (checked live on your hub).")


@pytest.mark.parametrize("notebook", R_NOTEBOOKS, ids=lambda p: p.name)
def test_every_graded_r_task_passes_on_the_hub_without_stderr(live: dict, notebook: Path) -> None:
    source = nbformat.read(notebook, as_version=4)
    graded = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded
    for cell in graded:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        said = live[notebook.parent.name]
        assert said[grade_id].startswith("✓ "), f"{notebook.name}:{grade_id}: {said[grade_id]}"
        assert said[grade_id].rstrip().endswith(": passed.")
        assert said[grade_id + ":stderr"] == "", f"{notebook.name}:{grade_id}"


def test_r_progress_lands_in_the_file_the_progress_page_reads(live: dict, server: Server) -> None:
    progress = json.loads((server.home / "hubtrain-progress.json").read_text())
    assert progress["01-login-r"]["r_user_record"]["passed"] is True
    assert progress["05-cloud-data-r"]["r_corner"]["passed"] is True
    # The course's progress page (Python) shows the R assignment `04-jupyterlab-r` as
    # "04-jupyterlab (R)".
    kernel_env = {"HOME": str(server.home)}
    script = "import hubcheck; hubcheck.course_summary()"
    shown = subprocess.run(
        [sys.executable, "-c", script],
        cwd=server.course,
        env=kernel_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "04-jupyterlab (R): " in shown.stdout, shown.stderr
    assert "✓ R uses your library (self-checked)" in shown.stdout


def _r_blocks(page: Path, language: str = "r") -> list[str]:
    """The ```r (or other `language`) blocks inside R tab items of a book page, in order."""
    blocks, in_r_tab = [], False
    for chunk in re.split(r"(?m)^(:::\{tab-item\}.*|:::+\s*)$", page.read_text()):
        if chunk.startswith(":::{tab-item}"):
            in_r_tab = chunk.strip() == ":::{tab-item} R"
            continue
        if in_r_tab:
            blocks += re.findall(rf"(?ms)^```{language}\n(.*?)^```", chunk)
    return blocks


BOOK_R = [(p, b) for p in BOOK_PAGES if (b := _r_blocks(p))]
# The instructors' out-of-memory demonstration: meant to die, so it runs on its own.
OOM_DEMO = "x <- numeric(too_big)"


def test_every_r_block_of_the_book_is_run_by_a_test() -> None:
    """An ```r block outside an R tab is not run on the hub: only the OOM demo may be."""
    in_tabs = {block for _, blocks in BOOK_R for block in blocks}
    for page in BOOK_PAGES:
        for block in re.findall(r"(?ms)^```r\n(.*?)^```", page.read_text()):
            assert block in in_tabs or OOM_DEMO in block, f"{page.name}: an R block no test runs"


def test_the_out_of_memory_demo_asks_for_twice_the_limit(tmp_path: Path) -> None:
    page = ROOT / "book" / "instructors" / "02-choose-an-environment.md"
    demo = next(b for b in re.findall(r"(?ms)^```r\n(.*?)^```", page.read_text()) if OOM_DEMO in b)
    limit = 256 * 2**20
    # As in a hub's container, the limit covers all the process's memory, R's own included.
    cap = limit
    ran = subprocess.run(
        ["Rscript", "-e", demo],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MEM_LIMIT": str(limit)},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)),
    )
    assert ran.returncode != 0
    assert "cannot allocate vector of size 512.0 Mb" in ran.stderr


def test_the_book_has_r_tabs_to_run() -> None:
    assert len(BOOK_R) >= 5
    assert sum(len(blocks) for _, blocks in BOOK_R) >= 8


@pytest.mark.parametrize(("page", "blocks"), BOOK_R, ids=[p.stem for p, _ in BOOK_R])
def test_every_r_block_of_the_book_runs_on_the_practice_hub(
    server: Server, page: Path, blocks: list[str]
) -> None:
    s3 = server.hub.s3
    assert s3 is not None
    # What the examples assume exists: a public bucket (anyone may read it, so unsigned
    # requests work), and a raster under the learner's scratch prefix.
    s3.ensure_bucket("some-public-bucket")
    public = "arn:aws:s3:::some-public-bucket"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [public, f"{public}/*"],
            }
        ],
    }
    s3.client().put_bucket_policy(Bucket="some-public-bucket", Policy=json.dumps(policy))
    stations = '{"type": "FeatureCollection", "features": []}'
    s3.put("some-public-bucket", "some-prefix/stations.geojson", stations.encode())
    kernel = Kernel(server, f"book-{page.stem}.ipynb")
    try:
        kernel.run(
            "suppressPackageStartupMessages(library(stars)); Sys.setenv("
            'CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE = "YES"); write_stars(st_as_stars('
            'matrix(1, 120, 120)), paste0(sub("^s3://", "/vsis3/", '
            'Sys.getenv("SCRATCH_BUCKET")), "/temperature.tif"))'
        )
        for block in blocks:
            outputs = kernel.run(block)
            errors = [o["text"] for o in outputs if o["kind"] == "error"]
            assert not errors, f"{page.name}: this R block fails:\n{block}\n{errors[0][:800]}"
    finally:
        kernel.close()


# -- module 5's objective in R: list, write, read and delete objects ---------------

MODULE_5 = ROOT / "book" / "05-files-and-data-in-the-cloud.md"


def test_r_learners_write_read_and_delete_objects_with_sf(server: Server) -> None:
    """The book's R round trip writes and reads an object under the prefix, then deletes it."""
    s3 = server.hub.s3
    assert s3 is not None
    (block,) = [b for b in _r_blocks(MODULE_5) if "st_delete(" in b]
    key = f"{USER}/sites.geojson"
    # An object already there: gone afterwards only if the block's st_delete() removed
    # what its st_write() had just written in its place.
    s3.put(SCRATCH_BUCKET, key, b'{"type": "FeatureCollection", "features": []}')
    kernel = Kernel(server, "book-round-trip.ipynb")
    try:
        outputs = kernel.run(block + "\ncat(nrow(back), class(back)[1])")
    finally:
        kernel.close()
    assert [o for o in outputs if o["kind"] == "error"] == []
    assert outputs[-1]["text"] == "2 sf"  # read back: both sites, as an sf data frame
    listed = s3.client().list_objects_v2(Bucket=SCRATCH_BUCKET, Prefix=key)
    assert listed.get("KeyCount") == 0, "st_delete() left the object in the bucket"


def test_r_learners_list_their_prefix_in_a_terminal(server: Server) -> None:
    """The book's terminal line, typed into a terminal of the R server, lists the prefix."""
    s3 = server.hub.s3
    assert s3 is not None
    (line,) = _r_blocks(MODULE_5, "bash")
    name = f"listed-{uuid.uuid4().hex[:8]}.txt"
    s3.put(SCRATCH_BUCKET, f"{USER}/{name}", b"to be listed")
    auth = {"Authorization": f"token {server.token}"}
    terminal = requests.post(server.url + "api/terminals", headers=auth, timeout=60).json()
    url = server.url.replace("http://", "ws://") + f"terminals/websocket/{terminal['name']}"
    ws = websocket.create_connection(url, header=[f"Authorization: token {server.token}"])
    try:
        ws.settimeout(5)
        ws.send(json.dumps(["stdin", line.strip() + "\r"]))
        said = ""
        deadline = time.monotonic() + 120
        while f"hubtrain-scratch/{USER}/{name}" not in said:
            assert time.monotonic() < deadline, f"the terminal never listed {name}:\n{said}"
            try:
                message = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if message[0] == "stdout":
                said += message[1]
        assert "Error" not in said
    finally:
        ws.close()
        requests.delete(server.url + f"api/terminals/{terminal['name']}", headers=auth, timeout=60)
