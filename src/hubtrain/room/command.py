"""`hubtrain room`: check the token, serve the page, print a summary, save a CSV at the end."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from hubtrain.hubfile.load import load_hub
from hubtrain.room.grid import Rules, csv_text, summary
from hubtrain.room.hubreader import Reader, RoomError
from hubtrain.room.poller import Poller
from hubtrain.room.server import RoomServer
from hubtrain.room.tasks import find_modules, module_tasks

__all__ = ["add_arguments", "run"]

# Politeness: never faster than this, whatever is asked (100 learners every 10 s
# is about 10 small requests a second; see benchmarks/room.py).
MIN_EVERY = 2.0
MAX_PARALLEL = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hub", default="hubs/practice.yml", help="hub file (default: %(default)s)"
    )
    parser.add_argument(
        "--module",
        action="append",
        dest="modules",
        metavar="MODULE",
        help="the session's module: 01, 01-login or 01-login-r; repeat for more (default: 01)",
    )
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.add_argument("--port", type=int, default=0, help="local port (default: any free one)")
    parser.add_argument(
        "--every", type=float, default=10.0, help="seconds between reads of the hub (default: 10)"
    )
    parser.add_argument(
        "--parallel", type=int, default=4, help="learners' servers read at once (default: 4)"
    )
    parser.add_argument(
        "--stuck-tries",
        type=int,
        default=3,
        help="needs help after failing the same task this many times (default: 3)",
    )
    parser.add_argument(
        "--idle-minutes",
        type=float,
        default=10.0,
        help="needs help after no progress this long while others moved on (default: 10)",
    )
    parser.add_argument(
        "--csv", default="", help="where to save the room at the end (default: .hubtrain/room/)"
    )
    parser.add_argument(
        "--once", action="store_true", help="read the hub once, print the summary and the CSV path"
    )
    parser.add_argument(
        "--print-role",
        action="store_true",
        help="print the Zero to JupyterHub role for the learners the token lists now "
        "(one access:servers!user= line each), then stop",
    )


def _usage(args: argparse.Namespace) -> str:
    if args.every < MIN_EVERY:
        return f"--every {args.every}: at least {MIN_EVERY:.0f} seconds, to spare the hub"
    if not 1 <= args.parallel <= MAX_PARALLEL:
        return f"--parallel {args.parallel}: expected 1 to {MAX_PARALLEL}"
    if args.stuck_tries < 1 or args.idle_minutes <= 0:
        return "--stuck-tries and --idle-minutes: expected numbers above 0"
    return ""


def _save(room: dict, path: str) -> Path:
    target = (
        Path(path) if path else Path(".hubtrain/room") / time.strftime("room-%Y%m%d-%H%M%S.csv")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not path:
        target = target.with_name(target.stem + f"-{time.time_ns()}.csv")
    target.write_text(csv_text(room), encoding="utf-8")
    return target


def role_yaml(reader: Reader) -> str:
    """The `hub.loadRoles` entry for the room, naming each learner the token lists.

    Learners' servers cannot check a group filter on `access:servers` (see the
    design notes in CONTRIBUTING.md), so the role names each learner instead.
    """
    listed = reader.list_scopes()
    names = sorted(u["name"] for u in reader.learners() if u.get("kind", "user") == "user")
    scopes = [*listed, *(f"access:servers!user={name}" for name in names)]
    lines = [
        "hub:",
        "  services:",
        "    room: {}",
        "  loadRoles:",
        "    room:",
        "      description: The TA's room view (hubtrain room)",
        "      scopes:",
        *(f"        - {scope}" for scope in scopes),
        "      services: [room]",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """The command: one line and status 2 for anything the TA can fix."""
    problem = _usage(args)
    try:
        if problem:
            raise RoomError(problem)
        hub = load_hub(args.hub)
        folders = find_modules(Path(args.root) / "exercises", args.modules or ["01"])
        reader = Reader.from_env(hub.url)
        if args.print_role:
            print(role_yaml(reader))
            return 0
        who = reader.check()
    except (RoomError, ValueError) as exc:
        print(f"hubtrain: {exc}", file=sys.stderr)
        return 2
    rules = Rules(stuck_tries=args.stuck_tries, idle_minutes=args.idle_minutes)
    poller = Poller(reader, module_tasks(folders), rules, args.every, args.parallel)
    if args.once:
        try:
            poller.poll()
        except RoomError as exc:
            print(f"hubtrain: {exc}", file=sys.stderr)
            return 2
        finally:
            poller.close()
        print(summary(poller.room))
        print(f"Room saved: {_save(poller.room, args.csv)}")
        return 0
    server = RoomServer(lambda: poller.room, args.port)
    server.start()
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    print(f"The room ({who} on {hub.url}): open {server.url}", flush=True)
    print(f"Projector view: {server.url}projector   Ctrl-C saves a CSV and stops.", flush=True)
    try:
        while thread.is_alive():
            thread.join(60.0)
            print(summary(poller.room), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        poller.stop()
        thread.join(args.every + 15)
        server.stop()
    print(summary(poller.room))
    print(f"Room saved: {_save(poller.room, args.csv)}", flush=True)
    return 0
