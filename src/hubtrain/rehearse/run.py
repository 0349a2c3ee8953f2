"""The rehearsal from start to end: check, create learners, let Locust walk them,
clean up whatever happens, report.

Runs in the process `python -m hubtrain.rehearse` starts (gevent-patched by
Locust). Clean-up runs at the end, on Ctrl-C or SIGTERM, and after any error;
after a kill -9 nothing can run, so every rehearsal (and `--clean-up`) first
removes users an earlier one left behind. Only names with the rehearsal prefix
are ever created or deleted.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import gevent
from gevent.event import Event
from locust.env import Environment
from locust.runners import MASTER_HEARTBEAT_TIMEOUT, STATE_MISSING

from hubtrain.hubfile.config import HubFileError
from hubtrain.hubfile.load import load_hub
from hubtrain.rehearse import add_arguments
from hubtrain.rehearse.hubapi import TOKEN_ENV, HubAPI, HubAPIError
from hubtrain.rehearse.learner import Learner, LearnerResult, Walks
from hubtrain.rehearse.module import find_module
from hubtrain.rehearse.plan import PREFIX, Plan, PlanError, make_plan
from hubtrain.rehearse.report import STEP_NAMES, step_stats, verdict, write_csv, write_html

__all__ = ["ASK_ABOVE", "main"]

# "More than a few" users: above this a rehearsal asks first (or needs --yes).
ASK_ABOVE = 5
# Seconds a worker waits for a silent master before leaving: Locust's own minute,
# unless this variable says otherwise (the test of a killed master shortens it).
MASTER_TIMEOUT_ENV = "HUBTRAIN_REHEARSE_MASTER_TIMEOUT"


class UsageError(Exception):
    """One line for the user; exit status 2."""


def master_timeout() -> float:
    """Locust's MASTER_HEARTBEAT_TIMEOUT, or the positive number in MASTER_TIMEOUT_ENV."""
    value = os.environ.get(MASTER_TIMEOUT_ENV, "").strip()
    if not value:
        return float(MASTER_HEARTBEAT_TIMEOUT)
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise UsageError(f"{MASTER_TIMEOUT_ENV}={value!r}: expected a number of seconds above 0")
    return seconds


def arrivals(plan: Plan) -> list[float]:
    """Seconds after the start at which each learner asks for a server.

    Burst and ramp start everyone at 0 (a ramp is Locust's spawn rate); Poisson
    arrivals have exponential gaps of mean 1/rate, the same for the same seed.
    """
    if plan.arrival != "poisson":
        return [0.0] * plan.users
    rng = random.Random(plan.seed)
    times, now = [], 0.0
    for _ in range(plan.users):
        times.append(now)
        now += rng.expovariate(plan.rate)
    return times


def remove_leftovers(api: HubAPI) -> int:
    """Delete every user with the rehearsal prefix; return how many there were."""
    leftovers = [u["name"] for u in api.users_named(PREFIX)]
    for name in leftovers:
        api.delete_user(name)
    return len(leftovers)


def _confirm(plan: Plan, url: str, yes: bool) -> None:
    if plan.users <= ASK_ABOVE or yes:
        return
    question = f"Create {plan.users} users named {PREFIX}* on {url} and start their servers? [y/N] "
    if not sys.stdin.isatty():
        raise UsageError(f"refusing to create {plan.users} users without asking; add --yes")
    if input(question).strip().lower() not in ("y", "yes"):
        raise UsageError("nothing done")


RESULT_MESSAGE = "hubtrain-result"
WALKS_MESSAGE = "hubtrain-walks"
WORKERS_TIMEOUT = 120.0
# After the last learner's own time limit, how long results may still be on their way.
RESULTS_GRACE = 60.0
# Seconds a worker asked to stop (Ctrl-C, SIGTERM) may take before it exits regardless.
WORKER_STOP_GRACE = 10.0


def _start_local_workers(args: argparse.Namespace, count: int) -> list[subprocess.Popen]:
    """Worker processes on this computer, each on its own core if there are enough."""
    command = [sys.executable, "-m", "hubtrain.rehearse", "--hub", args.hub, "--root", args.root]
    command += ["--worker", f"127.0.0.1:{args.master_port}"]
    return [subprocess.Popen(command, stdin=subprocess.DEVNULL) for _ in range(count)]


def _walk_all(
    api: HubAPI, plan: Plan, walks_args: dict, interrupted: Event, args: argparse.Namespace
) -> list[LearnerResult]:
    """Start Locust with one user per learner; wait until every walk has ended.

    With workers (Locust's master/worker mode), this process is the master: it
    sends each worker its share of the learners (names, arrivals, options; never
    the token, which each worker reads from its own environment) and collects
    their results; Locust spreads the users over the workers.
    """
    results: list[LearnerResult] = []
    done = Event()
    shares: dict[str, list[str]] = {}

    def on_done(result: LearnerResult) -> None:
        results.append(result)
        mark = "ok" if result.outcome == "ok" else result.outcome
        ready = "–" if result.ready is None else f"{result.ready:.1f} s"
        print(f"  {result.name}: {mark} (ready in {ready})", flush=True)
        if len(results) == plan.users:
            done.set()

    names = walks_args["names"]
    options = [plan.user_options(i) for i in range(plan.users)]
    env = Environment(user_classes=[Learner])
    workers = args.workers or args.expect_workers
    local: list[subprocess.Popen] = []
    if workers:
        host = "127.0.0.1" if args.workers else "*"
        runner = env.create_master_runner(master_bind_host=host, master_bind_port=args.master_port)
        runner.register_message(
            RESULT_MESSAGE, lambda environment, msg, **kw: on_done(LearnerResult(**msg.data))
        )
        local = _start_local_workers(args, args.workers) if args.workers else []
    else:
        runner = env.create_local_runner()
        Learner.walks = Walks(api=api, options=options, on_done=on_done, **walks_args)
    try:
        users = plan.users
        if workers:
            shares = _share_out(
                runner, workers, names, options, walks_args, plan.module, interrupted
            )
            # Locust shares users out evenly; each worker gets at least its share
            # of learners, and users without a learner stop at once.
            users = workers * math.ceil(plan.users / workers)
        runner.start(users, spawn_rate=plan.rate if plan.arrival == "ramp" else users)
        # No learner walks longer than its own time limit, so nobody waits longer than this.
        deadline = time.monotonic() + max(walks_args["arrivals"], default=0.0)
        deadline += plan.users / plan.rate if plan.arrival == "ramp" else 0.0
        deadline += walks_args["timeout"] + RESULTS_GRACE
        while not done.wait(0.5) and not interrupted.is_set():
            if workers:
                reported = {r.name for r in results}
                lost = _lost_learners(runner, shares, local, reported)
                if lost and len(reported) + len(lost) == plan.users:
                    results += lost
                    break
            elif runner.user_count == 0 and Learner.walks.take() is None:
                # Every user has left; any missing result was lost to an error.
                gevent.sleep(1)
                if runner.user_count == 0:
                    break
            if time.monotonic() > deadline:
                print("  gave up waiting for the learners who never reported", flush=True)
                break
    finally:
        runner.quit()
        Learner.walks = None
        for process in local:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
    if interrupted.is_set():
        raise KeyboardInterrupt
    return results


def _lost_learners(
    runner: object, shares: dict[str, list[str]], local: list[subprocess.Popen], reported: set[str]
) -> list[LearnerResult]:
    """The learners, not yet reported, of workers that are gone.

    A worker is gone when Locust has dropped it (no heartbeat for a minute, or it
    quit), or when it is late with its heartbeat while one of the worker processes
    this computer started has died. Their learners will never report, so the
    rehearsal stops waiting for them instead of waiting for ever.
    """
    clients = runner.clients  # type: ignore[attr-defined]
    died = any(process.poll() is not None for process in local)
    lost: list[LearnerResult] = []
    for client_id, share in shares.items():
        client = clients.get(client_id)
        if client is not None and not (died and client.state == STATE_MISSING):
            continue
        message = f"the worker walking this learner stopped answering ({client_id})"
        lost += [
            LearnerResult(
                name=name, profile="", outcome="other", message=message, walked_by=client_id
            )
            for name in share
            if name not in reported
        ]
    return lost


def _share_out(
    runner: object,
    workers: int,
    names: list[str],
    options: list[dict[str, str]],
    walks_args: dict,
    module: str,
    interrupted: Event,
) -> dict[str, list[str]]:
    """Wait for the workers, then send each its learners (every `workers`-th one);
    return each worker's learners by its Locust client id."""
    deadline = time.monotonic() + WORKERS_TIMEOUT
    while runner.worker_count < workers:  # type: ignore[attr-defined]
        if time.monotonic() > deadline or interrupted.is_set():
            count = runner.worker_count  # type: ignore[attr-defined]
            raise UsageError(f"only {count} of {workers} workers connected")
        gevent.sleep(0.2)
    shares: dict[str, list[str]] = {}
    for i, client in enumerate(list(runner.clients.all)[:workers]):  # type: ignore[attr-defined]
        shares[client.id] = names[i::workers]
        share = {
            "names": shares[client.id],
            "arrivals": walks_args["arrivals"][i::workers],
            "options": options[i::workers],
            "module": module,
            "timeout": walks_args["timeout"],
        }
        runner.send_message(WALKS_MESSAGE, share, client_id=client.id)  # type: ignore[attr-defined]
    return shares


def work_for_master(args: argparse.Namespace, interrupted: Event) -> int:
    """`--worker HOST[:PORT]`: walk the learners a master sends, report each result."""
    hub = load_hub(args.hub)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"set {TOKEN_ENV} on this worker too")
    api = HubAPI(hub.url, token)
    host, _, port = args.worker.partition(":")
    silent_for = master_timeout()
    env = Environment(user_classes=[Learner])
    try:
        runner = env.create_worker_runner(host, int(port or args.master_port))
    except ConnectionError:
        raise UsageError(f"no rehearsal answered at {args.worker}; start it first") from None

    def on_walks(environment: Environment, msg: object, **kw: object) -> None:
        data = msg.data  # type: ignore[attr-defined]
        try:
            walk = find_module(hub, Path(args.root) / "exercises", data["module"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None

        def report(result: LearnerResult) -> None:
            runner.send_message(RESULT_MESSAGE, result.row())

        Learner.walks = Walks(
            api=api,
            walk=walk,
            names=data["names"],
            arrivals=data["arrivals"],
            options=data["options"],
            timeout=data["timeout"],
            on_done=report,
        )

    runner.register_message(WALKS_MESSAGE, on_walks)
    # The runner's greenlets end when the master says quit.
    while len(runner.greenlet) and not interrupted.is_set():
        gevent.sleep(0.5)
        heard = runner.last_heartbeat_timestamp
        if heard and time.time() - heard > silent_for:
            # The master is gone (killed, or its computer asleep). Locust's own
            # quit would wait for it for ever, so leave without it: the next
            # rehearsal, or --clean-up, removes the users it made.
            print(f"hubtrain: the rehearsal at {args.worker} stopped answering", file=sys.stderr)
            _leave_now(1)
    runner.quit()
    return 0


def _leave_now(status: int) -> None:
    """Exit at once, whatever Locust's greenlets are waiting for."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _print_summary(rows: list[dict], line: str, csv_path: Path, html_path: Path) -> None:
    print(f"\n{'step':38}{'n':>4}{'p50':>9}{'p95':>9}{'p99':>9}  slowest")
    for step, title in STEP_NAMES.items():
        s = step_stats(rows, step, slowest=1)

        def f(v: float | None) -> str:
            return "–" if v is None else f"{v:.1f}s"

        slow = f"{s.slowest[0][0]} ({s.slowest[0][1]:.1f}s)" if s.slowest else ""
        print(f"{title:38}{s.count:>4}{f(s.p50):>9}{f(s.p95):>9}{f(s.p99):>9}  {slow}")
    print(f"\nEvery learner's timings: {csv_path}\nReport: {html_path}\n{line}", flush=True)


def rehearse(args: argparse.Namespace, interrupted: Event) -> int:
    hub = load_hub(args.hub)
    flags = {
        "users": args.users,
        "arrival": args.arrival,
        "rate": args.rate,
        "module": args.module,
        "profiles": args.profiles,
        "groups": args.groups,
        "p95": args.p95,
        "p95_pull": args.p95_pull,
        "p95_check": args.p95_check,
        "max_failures": args.max_failures,
        "seed": args.seed,
    }
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"set {TOKEN_ENV} to an API token of a hub service with the scopes admin:users, "
            "admin:servers and tokens (see the book's instructor page on rehearsals)"
        )
    api = HubAPI(hub.url, token)
    if args.clean_up:
        api.check()
        print(f"Removed {remove_leftovers(api)} rehearsal user(s) from {hub.url}.")
        return 0
    plan = make_plan(hub, flags, Path(args.event) if args.event else None)
    try:
        walk = find_module(hub, Path(args.root) / "exercises", plan.module)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    api.check(groups=bool(plan.groups))
    _confirm(plan, hub.url, args.yes)
    out = Path(
        args.out or Path(".hubtrain") / "rehearsals" / datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    out.mkdir(parents=True, exist_ok=True)

    left = remove_leftovers(api)
    if left:
        print(f"Removed {left} user(s) left by an earlier rehearsal.", flush=True)
    run_id = secrets.token_hex(2)
    names = [f"{PREFIX}{run_id}-{i + 1:03d}" for i in range(plan.users)]
    print(
        f"Rehearsing {plan.users} learner(s) on {hub.url} ({plan.arrival}), "
        f"module {walk.folder} ...",
        flush=True,
    )
    started = time.monotonic()
    try:
        api.create_users(names)
        for group in plan.groups:
            api.add_to_group(group, names)
        results = _walk_all(
            api,
            plan,
            {"walk": walk, "names": names, "arrivals": arrivals(plan), "timeout": args.timeout},
            interrupted,
            args,
        )
    finally:
        # Whatever happened, the learners go; a second Ctrl-C must not stop this.
        interrupted.clear()
        print("Removing the rehearsal's users ...", flush=True)
        remove_leftovers(api)
    took = time.monotonic() - started
    by_name = {r.name: r for r in results}
    rows = [
        (
            by_name.get(n)
            or LearnerResult(name=n, profile="", outcome="other", message="never reported")
        ).row()
        for n in names
    ]
    result = verdict(rows, plan.limits)
    facts = {
        "Hub": hub.url,
        "Learners": str(plan.users),
        "Arrival": plan.arrival
        + ("" if plan.arrival == "burst" else f", {plan.rate:g} per second"),
        "Module": walk.folder,
        "Profiles": "; ".join(sorted({r["profile"] for r in rows if r["profile"]})),
        "Took": f"{took:.0f} s",
        "When": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    csv_path, html_path = out / "learners.csv", out / "report.html"
    write_csv(rows, csv_path)
    write_html(rows, plan.limits, result, facts, html_path)
    _print_summary(rows, result.line, csv_path, html_path)
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubtrain rehearse")
    add_arguments(parser)
    args = parser.parse_args(argv)
    interrupted = Event()

    def interrupt() -> None:
        if not interrupted.is_set():
            print("\nhubtrain: interrupted; cleaning up ...", file=sys.stderr, flush=True)
        interrupted.set()
        if args.worker:
            # A worker whose master has gone can be stuck inside Locust (connecting,
            # or saying goodbye) for minutes; asked to stop, it stops soon anyway.
            gevent.spawn_later(WORKER_STOP_GRACE, _leave_now, 130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, interrupt)
    try:
        if args.worker:
            return work_for_master(args, interrupted)
        return rehearse(args, interrupted)
    except (HubFileError, PlanError, HubAPIError, UsageError) as exc:
        print(f"hubtrain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hubtrain: rehearsal interrupted; its users were removed", file=sys.stderr)
        return 130
