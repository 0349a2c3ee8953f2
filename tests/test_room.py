"""`hubtrain room` on a real practice hub, watched in Chromium.

Simulated learners in the hub's "workshop" group run the course's own check
runtime (hubcheck.py, as the release ships it) in real kernels on their servers:
one passes, one fails the same check three times, one is idle, one never starts
a server and one has stopped it. The room page, served by the real command with
the practice hub's room token, must turn each cell to the right state by itself,
flag the stuck and idle learners, show only counts in projector mode, offer a
CSV that says what the grid says, and refuse a token without its scopes in one
line.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from terminal import as_foreground_job

from hubtrain.course.release import LEARNER_RUNTIME, write_hub_facts
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.rehearse.kernel import KernelSocket

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.xdist_group("room")]

ROOT = Path(__file__).resolve().parent.parent
HUBTRAIN = Path(sys.executable).with_name("hubtrain")
MODULE = "01-login"
WHO, PANEL = f"{MODULE}/who_am_i", f"{MODULE}/control_panel"
# ada passes, bob fails three times, cy idles, dee never starts, eve stopped;
# zed is not in the workshop group and must not be shown.
IN_ROOM = ["ada", "bob", "cy", "dee", "eve"]
OUTSIDER = "zed"
# A deadline for each wait (Playwright's `expect` gives up after 5 s unless told),
# never a measured speed: a poll every 2 s and a redraw every 3 s, on a busy machine.
WAIT_MS = 60_000


class Room:
    """The hub, its admin API (the rehearsal token) and the learners' kernels."""

    def __init__(self, practice: PracticeHub, hub_file: Path) -> None:
        self.practice = practice
        self.hub_file = hub_file
        self.url = practice.url
        self.admin = requests.Session()
        self.admin.headers["Authorization"] = f"token {_read(practice.rehearsal_token_path)}"
        self.room_token = _read(practice.room_token_path)
        self.kernels: dict[str, KernelSocket] = {}

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        reply = self.admin.request(method, f"{self.url}/hub/api/{path}", timeout=60, **kw)
        assert reply.status_code < 300, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply

    def start(self, name: str) -> None:
        self.api("POST", f"users/{name}/server", json={"profile": "small"})
        deadline = time.monotonic() + 120
        while not self.api("GET", f"users/{name}").json()["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, f"{name}'s server did not start"
            time.sleep(0.5)

    def give_course(self, name: str) -> None:
        """What the nbgitpuller link leaves in the learner's home: the check runtime."""
        folder = self.practice.state / "homes" / name / "hubtrain-course" / MODULE
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hubcheck.py").write_bytes(LEARNER_RUNTIME.read_bytes())
        write_hub_facts(self.practice.hub, folder)

    def kernel(self, name: str) -> KernelSocket:
        """A kernel in the module's folder, opened with a token for this server only."""
        if name not in self.kernels:
            token = self.api(
                "POST",
                f"users/{name}/tokens",
                json={"scopes": [f"access:servers!server={name}/"], "note": "room test"},
            ).json()["token"]
            headers = {"Authorization": f"token {token}"}
            session = requests.post(
                f"{self.url}/user/{name}/api/sessions",
                json={
                    "path": f"hubtrain-course/{MODULE}/room.ipynb",
                    "type": "notebook",
                    "name": "room.ipynb",
                    "kernel": {"name": "python3"},
                },
                headers=headers,
                timeout=60,
            )
            assert session.status_code == 201, session.text
            kernel_id = session.json()["kernel"]["id"]
            ws = (
                self.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel_id}/channels"
            )
            self.kernels[name] = KernelSocket(ws, headers, timeout=60)
        return self.kernels[name]

    def check(self, name: str, task_id: str, title: str, passes: bool) -> None:
        """Run one graded check in the learner's kernel, the way a test cell does."""
        body = (
            "pass"
            if passes
            else (
                'hubcheck.expect(False, "the path is /hub/home, not /hub/control.", "Look again.")'
            )
        )
        ran = self.kernel(name).run(
            f"import hubcheck\nwith hubcheck.task({task_id!r}, {title!r}):\n    {body}\n"
        )
        assert bool(ran.error) != passes, ran


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


@pytest.fixture(scope="module")
def room(
    tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig, running_practice_hub
) -> Iterator[Room]:
    base = tmp_path_factory.mktemp("room")
    with running_practice_hub(base, practice_hub, "room-password") as practice:
        data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
        data["url"] = practice.hub.url
        data["content"]["repo"] = practice.hub.content.repo
        hub_file = base / "hub.yml"
        hub_file.write_text(yaml.safe_dump(data, sort_keys=False))
        room = Room(practice, hub_file)
        room.api("POST", "users", json={"usernames": [*IN_ROOM, OUTSIDER]})
        room.api("POST", "groups/workshop/users", json={"users": IN_ROOM})
        for name in ["ada", "bob", "cy", "eve"]:
            room.give_course(name)
            room.start(name)
        room.api("DELETE", "users/eve/server")
        try:
            yield room
        finally:
            for kernel in room.kernels.values():
                kernel.close()


@pytest.fixture(scope="module")
def command(room: Room, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`hubtrain room` running against the hub, reading every 2 seconds."""
    port = free_port()
    out = tmp_path_factory.mktemp("room-out")
    env = {**os.environ, "HUBTRAIN_HUB_TOKEN": room.room_token}
    process = subprocess.Popen(
        [
            str(HUBTRAIN),
            "room",
            "--hub",
            str(room.hub_file),
            "--module",
            "01",
            "--port",
            str(port),
            "--every",
            "2",
            "--stuck-tries",
            "3",
            "--idle-minutes",
            "0.5",
            "--csv",
            str(out / "end.csv"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_foreground_job,  # the tests stop it with Ctrl-C (SIGINT)
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if requests.get(url, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the room page did not answer"
        time.sleep(0.2)
    info = {"url": url, "process": process, "csv": out / "end.csv"}
    yield info
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(command: dict[str, Any], launched_chromium) -> Iterator[Any]:
    with launched_chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(WAIT_MS)
        tab = context.new_page()
        tab.goto(command["url"])
        yield tab
        context.close()


def cell(page: Any, name: str, key: str) -> Any:
    return page.locator(f'#grid tr[data-name="{name}"] td[data-task="{key}"]')


def grid_rows(page: Any) -> dict[str, list[str]]:
    """Each learner's row as shown: the server's state and every task cell's text.

    (Not "last activity": it says "1 min ago", which may change between two reads.)"""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#grid tbody tr')].map(
            tr => [tr.dataset.name, [...tr.querySelectorAll('td.server, td.cell')].map(
                td => td.innerText)]))"""
    )


def test_the_room_turns_cells_flags_help_and_saves_what_it_shows(
    room: Room, command: dict[str, Any], page: Any
) -> None:
    from playwright.sync_api import expect

    # Everyone in the group, with their server's state; no one else.
    for name, state in [("ada", "running"), ("dee", "not started"), ("eve", "stopped")]:
        expect(page.locator(f'#grid tr[data-name="{name}"] td.server')).to_have_text(
            state, timeout=WAIT_MS
        )
    assert OUTSIDER not in grid_rows(page)
    expect(cell(page, "ada", WHO)).to_have_attribute("data-state", "not tried", timeout=WAIT_MS)

    # ada passes a check: her cell turns green without a reload.
    room.check("ada", "who_am_i", "Your username and server name", passes=True)
    expect(cell(page, "ada", WHO)).to_have_attribute("data-state", "passed", timeout=WAIT_MS)
    expect(page.locator('#counts tr[data-task="01-login/who_am_i"] td.passed')).to_have_text(
        "1", timeout=WAIT_MS
    )

    # bob fails the same check three times: tries, the check's sentence, and a flag.
    for _ in range(3):
        room.check("bob", "control_panel", "The path of your control panel", passes=False)
    expect(cell(page, "bob", PANEL)).to_have_text(
        "failing, 3 tries: the path is /hub/home, not /hub/control.", timeout=WAIT_MS
    )
    expect(page.locator('#help li[data-name="bob"]')).to_contain_text("failed", timeout=WAIT_MS)

    # cy (idle, server running) and dee (no server) are flagged once ada has moved
    # on for longer than the idle rule while they did nothing.
    deadline = time.monotonic() + 120
    while page.locator('#help li[data-name="cy"]').count() == 0:
        assert time.monotonic() < deadline, "the idle learner was never flagged"
        room.check("ada", "who_am_i", "Your username and server name", passes=True)
        page.wait_for_timeout(2000)
    expect(page.locator('#help li[data-name="cy"]')).to_contain_text("no progress", timeout=WAIT_MS)
    expect(page.locator('#help li[data-name="dee"]')).to_contain_text(
        "no progress", timeout=WAIT_MS
    )
    expect(page.locator('#help li[data-name="ada"]')).to_have_count(0, timeout=WAIT_MS)

    # The CSV says what the grid says, cell for cell.
    shown = grid_rows(page)
    reply = page.request.get(command["url"] + "room.csv")
    rows = list(csv.reader(io.StringIO(reply.text())))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["learner", "server", "last activity"] and WHO in header
    assert {row[0]: [row[1], *row[3:-1]] for row in body} == shown
    assert "failing, 3 tries" in dict(zip(header, body[1], strict=True))[PANEL]


def test_the_projector_shows_counts_and_no_names(command: dict[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    projector = page.context.new_page()
    projector.goto(command["url"] + "projector")
    expect(projector.locator("#counts tbody tr")).not_to_have_count(0, timeout=WAIT_MS)
    expect(projector.locator("#helpcount")).to_contain_text("of 5 learners", timeout=WAIT_MS)
    text = projector.locator("body").inner_text()
    counts = projector.request.get(command["url"] + "api/counts").text()
    for name in [*IN_ROOM, OUTSIDER]:
        assert f"{name}" not in text.split() and f'"{name}"' not in counts
    projector.close()


def test_stopping_the_room_saves_the_csv(command: dict[str, Any], page: Any) -> None:
    process = command["process"]
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    saved = list(csv.reader(command["csv"].open(encoding="utf-8")))
    assert [row[0] for row in saved[1:]] == IN_ROOM
    assert f"Room saved: {command['csv']}" in output
    # The terminal's summary names who needs help, as the page does.
    assert "needs help: bob (failed" in output


def test_a_token_without_the_scopes_gets_one_clear_line(room: Room) -> None:
    token = room.api(
        "POST",
        f"users/{OUTSIDER}/tokens",
        json={"scopes": [f"read:users:name!user={OUTSIDER}"], "note": "no room scopes"},
    ).json()["token"]
    result = subprocess.run(
        [str(HUBTRAIN), "room", "--hub", str(room.hub_file), "--once"],
        cwd=ROOT,
        env={**os.environ, "HUBTRAIN_HUB_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "lacks the scopes list:users, read:users:activity, read:servers, access:servers" in (
        result.stderr
    )


def test_the_role_printed_names_each_learner_of_the_group(room: Room) -> None:
    result = subprocess.run(
        [str(HUBTRAIN), "room", "--hub", str(room.hub_file), "--print-role"],
        cwd=ROOT,
        env={**os.environ, "HUBTRAIN_HUB_TOKEN": room.room_token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    role = yaml.safe_load(result.stdout)["hub"]["loadRoles"]["room"]
    assert role["services"] == ["room"]
    assert role["scopes"] == [
        "list:users!group=workshop",
        "read:users:activity!group=workshop",
        "read:servers!group=workshop",
        *(f"access:servers!user={name}" for name in IN_ROOM),
    ]


def test_once_prints_the_summary_and_saves_the_room(room: Room, tmp_path: Path) -> None:
    """`--once`, for a script or a quick look from a terminal: one read, one CSV."""
    saved = tmp_path / "now.csv"
    room.check("ada", "who_am_i", "Your username and server name", passes=True)
    result = subprocess.run(
        [str(HUBTRAIN), "room", "--hub", str(room.hub_file), "--once", "--csv", str(saved)],
        cwd=ROOT,
        env={**os.environ, "HUBTRAIN_HUB_TOKEN": room.room_token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert ": 5 learners, " in result.stdout.splitlines()[0]
    assert result.stdout.rstrip().endswith(f"Room saved: {saved}")
    rows = list(csv.reader(saved.open(encoding="utf-8")))
    assert [row[0] for row in rows[1:]] == IN_ROOM
    assert dict(zip(rows[0], rows[1], strict=True))[WHO] == "passed"
