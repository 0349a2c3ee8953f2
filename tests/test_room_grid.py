"""The room as data (`hubtrain.room.grid`, `tasks`): the states JupyterHub's user
models mean, the needs-help rules, counts without names, and the CSV.

User models below are shaped as JupyterHub 6.1 answers `GET /hub/api/users
?include_stopped_servers=1` (copied field for field from a practice hub's reply).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hubtrain.room.grid import Learner, Rules, build, counts_only, csv_text, server_state, summary
from hubtrain.room.tasks import find_modules, module_tasks

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0


def _server(**fields: object) -> dict:
    base = {"name": "", "last_activity": "2026-12-07T01:22:57.255116Z", "started": None}
    return {"name": "ann", "last_activity": "2026-12-07T01:22:59Z", "servers": {"": base | fields}}


@pytest.mark.parametrize(
    ("user", "state"),
    [
        ({"name": "ann", "last_activity": None, "servers": {}}, "not started"),
        (_server(pending="spawn", ready=False, stopped=False), "starting"),
        (_server(pending=None, ready=True, stopped=False), "running"),
        (_server(pending="stop", ready=False, stopped=False), "stopped"),
        (_server(pending=None, ready=False, stopped=True), "stopped"),
        (_server(pending=None, ready=False, stopped=True, last_activity=None), "not started"),
    ],
)
def test_server_states_are_read_from_the_hubs_model(user: dict, state: str) -> None:
    assert server_state(user)[0] == state


def test_a_running_named_server_is_read_when_the_default_one_is_stopped() -> None:
    user = _server(pending=None, ready=False, stopped=True)
    user["servers"]["lab2"] = {"name": "lab2", "ready": True, "url": "/user/ann/lab2/"}
    assert server_state(user)[::2] == ("running", "/user/ann/lab2/")
    user["servers"][""] |= {"ready": True, "url": "/user/ann/"}
    assert server_state(user)[::2] == ("running", "/user/ann/")


@pytest.fixture
def tasks() -> list:
    return module_tasks(find_modules(ROOT / "exercises", ["01"]))


def entry(passed: bool, tries: int, at: float, message: str = "") -> dict:
    return {"title": "t", "passed": passed, "tries": tries, "time": int(at), "message": message}


def test_tasks_come_from_the_module_sources_in_order(tasks: list) -> None:
    notebook = json.loads((ROOT / "exercises/01-login/login.ipynb").read_text())
    text = json.dumps(notebook)
    assert tasks and all(task.module == "01-login" for task in tasks)
    assert [text.index(f'\\"{t.task_id}\\"') for t in tasks] == sorted(
        text.index(f'\\"{t.task_id}\\"') for t in tasks
    )
    with pytest.raises(ValueError, match=r"--module 09: no such module .*01-login-r"):
        find_modules(ROOT / "exercises", ["09"])
    with pytest.raises(ValueError, match=r"no exercises folder .*--root"):
        find_modules(ROOT / "book" / "exercises", ["01"])


def test_stuck_and_idle_learners_are_flagged_and_finished_ones_are_not(tasks: list) -> None:
    first, second = tasks[0], tasks[1]
    mod = first.module
    learners = [
        Learner("ada", "running", record={mod: {first.task_id: entry(True, 1, NOW - 30)}}),
        Learner("bob", "running", record={mod: {second.task_id: entry(False, 3, NOW - 20, "no")}}),
        Learner("cy", "running", first_seen=NOW - 700),
        Learner("dee", "not started", first_seen=NOW - 60),
        Learner(
            "fin", "running", record={mod: {t.task_id: entry(True, 1, NOW - 900) for t in tasks}}
        ),
    ]
    room = build(learners, tasks, Rules(stuck_tries=3, idle_minutes=10), NOW)
    helped = {h["name"]: h["reasons"] for h in room["needs_help"]}
    assert helped == {"bob": [f"failed “{second.title}” 3 times"], "cy": ["no progress for 11 min"]}
    # Nobody moved on lately: nobody is idle "while others moved on".
    quiet = build(learners[2:], tasks, Rules(idle_minutes=10), NOW)
    assert quiet["needs_help"] == []


def test_counts_csv_and_summary_say_the_same_and_the_projector_has_no_names(tasks: list) -> None:
    first = tasks[0]
    learners = [
        Learner("ada", "running", record={first.module: {first.task_id: entry(True, 2, NOW)}}),
        Learner(
            "bob", "stopped", record={first.module: {first.task_id: entry(False, 1, NOW, "x")}}
        ),
    ]
    room = build(learners, tasks, Rules(), NOW)
    column = room["tasks"][0]
    assert (column["passed"], column["failing"], column["not_tried"]) == (1, 1, 0)
    rows = list(csv.reader(io.StringIO(csv_text(room))))
    assert rows[0][3] == first.key
    assert [row[3] for row in rows[1:]] == ["passed", "failing, 1 try: x"]
    assert "1 passed" in summary(room) and "needs help: nobody" in summary(room)
    shown = json.dumps(counts_only(room))
    assert "ada" not in shown and "bob" not in shown and '"passed": 1' in shown
