"""The room as data: one row per learner, one cell per task, counts and who needs help.

Pure functions of what the poller read, so the page, the CSV and the terminal
summary all say the same thing, and tests can build a room without a hub.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubtrain.room.tasks import RoomTask

__all__ = ["Learner", "Rules", "build", "counts_only", "csv_text", "server_state", "summary"]

PASSED, FAILING, NOT_TRIED = "passed", "failing", "not tried"


@dataclass(frozen=True)
class Rules:
    """When a learner needs help, in terms a TA uses."""

    stuck_tries: int = 3  # failed the same task this many times (and not passed it)
    idle_minutes: float = 10.0  # no progress this long while others moved on


@dataclass
class Learner:
    """What the room knows of one learner (kept between polls)."""

    name: str
    server: str = "not started"
    hub_activity: float | None = None  # seconds since 1970, from the hub
    record: dict[str, Any] = field(default_factory=dict)
    first_seen: float = 0.0
    note: str = ""  # why the record could not be read, if it could not
    url: str = ""  # path of a running server, e.g. "/user/ann/"


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def server_state(user: dict[str, Any]) -> tuple[str, float | None, str]:
    """The learner's server state as the room names it, their last activity, and the
    address path of a running server to read the record from ("" if none).

    The default server counts first; a running named server counts too, since every
    server of a learner sees the same home. JupyterHub lists a stopped server only
    with `include_stopped_servers`; one that never ran has no entry or no
    `last_activity`.
    """
    servers = user.get("servers") or {}
    ordered = sorted(servers.items(), key=lambda item: item[0] != "")
    activity = _seconds(user.get("last_activity"))
    for _, server in ordered:
        if server.get("ready"):
            return "running", activity, str(server.get("url") or "")
    if any(server.get("pending") == "spawn" for _, server in ordered):
        return "starting", activity, ""
    if any(server.get("last_activity") for _, server in ordered):
        return "stopped", activity, ""
    return "not started", activity, ""


def _cell(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or "passed" not in entry:
        return {"state": NOT_TRIED, "tries": 0, "message": "", "text": NOT_TRIED}
    tries = entry.get("tries") if isinstance(entry.get("tries"), int) else 1
    if entry["passed"] is True:
        return {"state": PASSED, "tries": tries, "message": "", "text": PASSED}
    message = str(entry.get("message") or "")
    text = f"{FAILING}, {tries} {'try' if tries == 1 else 'tries'}"
    return {
        "state": FAILING,
        "tries": tries,
        "message": message,
        "text": f"{text}: {message}" if message else text,
    }


def _entry(learner: Learner, task: RoomTask) -> Any:
    module = learner.record.get(task.module)
    return module.get(task.task_id) if isinstance(module, dict) else None


def _progress_time(learner: Learner, tasks: list[RoomTask]) -> float | None:
    """When the learner last ran one of the session's checks (their server's clock)."""
    times = [
        entry["time"]
        for entry in (_entry(learner, task) for task in tasks)
        if isinstance(entry, dict) and isinstance(entry.get("time"), int | float)
    ]
    return max(times) if times else None


def _ago(seconds: float | None, now: float) -> str:
    if seconds is None:
        return "never"
    minutes = int(max(0.0, now - seconds) // 60)
    return "just now" if minutes < 1 else f"{minutes} min ago"


def build(learners: list[Learner], tasks: list[RoomTask], rules: Rules, now: float) -> dict:
    """The whole room, as the page's JSON."""
    progress = {learner.name: _progress_time(learner, tasks) for learner in learners}
    window = rules.idle_minutes * 60
    moved = {name for name, t in progress.items() if t is not None and now - t < window}
    rows = []
    for learner in sorted(learners, key=lambda item: item.name):
        cells = [_cell(_entry(learner, task)) for task in tasks]
        reasons = [
            f"failed “{task.title}” {cell['tries']} times"
            for task, cell in zip(tasks, cells, strict=True)
            if cell["state"] == FAILING and cell["tries"] >= rules.stuck_tries
        ]
        last = progress[learner.name]
        others_moved = bool(moved - {learner.name})
        done = all(cell["state"] == PASSED for cell in cells)
        if not done and others_moved and now - (last or learner.first_seen) >= window:
            reasons.append(f"no progress for {int((now - (last or learner.first_seen)) // 60)} min")
        active = max((t for t in (last, learner.hub_activity) if t is not None), default=None)
        rows.append(
            {
                "name": learner.name,
                "server": learner.server,
                "last_activity": _ago(active, now),
                "cells": cells,
                "help": reasons,
                "note": learner.note,
            }
        )
    columns = []
    for index, task in enumerate(tasks):
        states = [row["cells"][index]["state"] for row in rows]
        columns.append(
            {
                "key": task.key,
                "module": task.module,
                "title": task.title,
                "passed": states.count(PASSED),
                "failing": states.count(FAILING),
                "not_tried": states.count(NOT_TRIED),
            }
        )
    return {
        "updated": datetime.fromtimestamp(now, UTC).strftime("%H:%M:%S UTC"),
        "learners": len(rows),
        "running": sum(row["server"] == "running" for row in rows),
        "tasks": columns,
        "rows": rows,
        "needs_help": [{"name": r["name"], "reasons": r["help"]} for r in rows if r["help"]],
        "rules": {"stuck_tries": rules.stuck_tries, "idle_minutes": rules.idle_minutes},
    }


def counts_only(room: dict) -> dict:
    """What the projector shows: counts per task, no names anywhere."""
    return {
        "updated": room["updated"],
        "learners": room["learners"],
        "running": room["running"],
        "needs_help": len(room["needs_help"]),
        "tasks": room["tasks"],
        "error": room.get("error", ""),
    }


def csv_text(room: dict) -> str:
    """The grid as CSV: one row per learner, the same words as the page's cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["learner", "server", "last activity", *[t["key"] for t in room["tasks"]], "needs help"]
    )
    for row in room["rows"]:
        writer.writerow(
            [
                row["name"],
                row["server"],
                row["last_activity"],
                *[cell["text"] for cell in row["cells"]],
                "; ".join(row["help"]),
            ]
        )
    return out.getvalue()


def summary(room: dict) -> str:
    """A few lines for the terminal: learners, servers, passes per task, who needs help."""
    lines = [
        f"{room['updated']}: {room['learners']} learners, {room['running']} servers running",
        *(f"  {t['passed']:>3} passed  {t['title']}" for t in room["tasks"]),
    ]
    helping = [f"{h['name']} ({'; '.join(h['reasons'])})" for h in room["needs_help"]]
    lines.append("  needs help: " + (", ".join(helping) if helping else "nobody"))
    return "\n".join(lines)
