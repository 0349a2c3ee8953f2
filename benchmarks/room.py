"""Benchmark `hubtrain room` for a room of 100 learners on the practice hub.

100 learners are made through the hub's API and put in the "workshop" group; a
number of them (`--running`, default 10) get a real server with a progress
record in their home, as a learner's checks leave it, and the others have none
(not started). The room's own poller, with the practice hub's room token, reads
the hub every `--every` seconds (default 10) for `--seconds` (default 60), and
one learner's record changes every poll. Measured: requests per second the room
sends, the room's CPU, and the hub's (JupyterHub + proxy) CPU with the room
reading versus the same time without it. A room reads only *running* servers'
records, so the rate for 100 running servers is 1 + 100 requests per poll; the
benchmark prints the measured per-request costs scaled to that. It measures and
prints; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/room.py [--running N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.room.grid import Rules
from hubtrain.room.hubreader import Reader
from hubtrain.room.poller import Poller
from hubtrain.room.tasks import find_modules, module_tasks

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LEARNERS = 100


def cpu(pid: int) -> dict[int, tuple[bool, float]]:
    """CPU seconds of each process in the hub's tree: (is it the hub or its proxy, seconds)."""
    hub = psutil.Process(pid)
    found = {pid: (True, sum(hub.cpu_times()[:2]))}
    for child in hub.children(recursive=True):
        try:
            proxy = "configurable-http-proxy" in " ".join(child.cmdline())
            found[child.pid] = (proxy, sum(child.cpu_times()[:2]))
        except psutil.Error:
            continue  # a process that ended meanwhile
    return found


def spent(before: dict, after: dict) -> tuple[float, float]:
    """CPU seconds used between two snapshots by (hub and proxy, servers and services),
    over the processes alive at both."""
    own = rest = 0.0
    for pid, (proxy, seconds) in after.items():
        if pid in before:
            used = seconds - before[pid][1]
            own, rest = (own + used, rest) if proxy else (own, rest + used)
    return own, rest


def record(tick: int) -> str:
    now = int(time.time())
    entry = {"title": "T", "passed": tick % 2 == 0, "tries": tick + 1, "time": now, "message": ""}
    return json.dumps({"01-login": {"who_am_i": entry}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--running", type=int, default=10, help="learners with a server")
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    hub = load_hub(ROOT / "hubs" / "practice.yml")
    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-room-") as name:
        tmp = Path(name)
        os.environ["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
        os.environ["PATH"] = os.pathsep.join(
            [str(BIN), str(ROOT / "node_modules" / ".bin"), os.environ["PATH"]]
        )
        with PracticeHub(hub, tmp / "state", root=ROOT, port=free_port()) as practice:
            admin = requests.Session()
            admin.headers["Authorization"] = (
                "token " + practice.rehearsal_token_path.read_text().strip()
            )
            api = practice.url + "/hub/api/"
            names = [f"learner{i:03d}" for i in range(LEARNERS)]
            admin.post(api + "users", json={"usernames": names}, timeout=60).raise_for_status()
            admin.post(api + "groups/workshop/users", json={"users": names}, timeout=60)
            running = names[: args.running]
            for learner in running:
                home = practice.state / "homes" / learner
                home.mkdir(parents=True, exist_ok=True)
                (home / "hubtrain-progress.json").write_text(record(0))
                reply = admin.post(api + f"users/{learner}/server", json={"profile": "small"})
                assert reply.status_code in (201, 202), reply.text
            deadline = time.monotonic() + 300
            while True:
                users = admin.get(api + "users", params={"state": "ready"}, timeout=60).json()
                if len(users) >= args.running or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert practice._process is not None
            pid = practice._process.pid

            # The hub's CPU over the same span with nobody reading: the baseline.
            before = cpu(pid)
            time.sleep(args.seconds)
            idle_hub, idle_rest = spent(before, cpu(pid))

            reader = Reader(practice.url, practice.room_token_path.read_text().strip())
            reader.check()
            tasks = module_tasks(find_modules(ROOT / "exercises", ["01"]))
            poller = Poller(reader, tasks, Rules(), args.every)
            me = psutil.Process()
            reader.requests = reader.unchanged = 0
            cpu0, hub0, wall0 = sum(me.cpu_times()[:2]), cpu(pid), time.monotonic()
            thread = threading.Thread(target=poller.run, daemon=True)
            thread.start()
            tick = 0
            while time.monotonic() - wall0 < args.seconds:
                time.sleep(args.every)
                tick += 1
                home = practice.state / "homes" / running[tick % len(running)]
                (home / "hubtrain-progress.json").write_text(record(tick))
            poller.stop()
            thread.join(args.every + 5)
            wall = time.monotonic() - wall0
            room_cpu = sum(me.cpu_times()[:2]) - cpu0
            busy_hub, busy_rest = spent(hub0, cpu(pid))
            sent, polls, same = reader.requests, poller.polls, reader.unchanged
            shown = poller.room
    per_poll = sent / max(polls, 1)
    rate = sent / wall
    full = (1 + LEARNERS) / args.every
    scale = (1 + LEARNERS) / max(per_poll, 1)
    print(f"Room of {LEARNERS} learners ({args.running} running), read every {args.every:.0f} s")
    print(f"  learners shown: {shown['learners']}, running: {shown['running']}")
    print(f"  polls: {polls} in {wall:.0f} s; requests per poll: {per_poll:.1f}")
    print(f"  requests per second sent: {rate:.2f}; records unchanged (304, no body): {same}")
    print(f"  room CPU: {room_cpu:.2f} CPU-s = {100 * room_cpu / wall:.1f}% of one core")
    print(
        f"  hub+proxy CPU: {busy_hub:.2f} CPU-s with the room, {idle_hub:.2f} without "
        f"({100 * (busy_hub - idle_hub) / wall:+.1f}% of one core)"
    )
    print(f"  learners' servers CPU: {busy_rest:.2f} CPU-s with the room, {idle_rest:.2f} without")
    print(f"With all {LEARNERS} servers running (same per-request costs, scaled x{scale:.1f}):")
    print(f"  requests per second: {full:.1f} (at most 4 at a time)")
    print(f"  room CPU: {100 * room_cpu * scale / wall:.1f}% of one core")
    print(f"  hub+proxy CPU added: {100 * (busy_hub - idle_hub) * scale / wall:+.1f}% of one core")
    added = (busy_rest - idle_rest) / max(args.running, 1) * LEARNERS
    print(f"  learners' servers CPU added, all together: {100 * added / wall:+.1f}% of one core")


if __name__ == "__main__":
    main()
