"""Benchmark Ctrl-C on `hubtrain hub` with three learners' servers running.

Starts `hubtrain hub` on a fresh state folder, starts three servers through the
hub's REST API (the rehearsal service's token), sends SIGINT to the command's
process group as a terminal's Ctrl-C does, and prints the seconds until the
command has exited, and whether anything it started is still alive; twice (the
first start also publishes the course). Then the same stop with unconfined
servers (no bubblewrap), in process. It measures; it never fails on speed (the
behaviour is tested in tests/test_practice_hub.py).

Run: `make bench`, or `.venv/bin/python benchmarks/hub_stop.py [--servers N]`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.rehearse.hubapi import HubAPI

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 300.0


def start_servers(url: str, token: str, names: list[str]) -> None:
    """Create the users, start their default servers at once, wait until all are ready."""
    api = HubAPI(url, token)
    # 409: a second run on the same state folder finds them made.
    api.request("POST", "users", ok=(201, 409), json={"usernames": names})
    for name in names:
        api.request("POST", f"users/{name}/server", ok=(201, 202), json={})
    deadline = time.monotonic() + TIMEOUT
    while not all(
        api.request("GET", f"users/{n}")["servers"].get("", {}).get("ready") for n in names
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the servers did not start within {TIMEOUT:.0f} s")
        time.sleep(0.5)


def wait_started(process: subprocess.Popen[str]) -> str:
    """The hub's address, once `hubtrain hub` says it is ready."""
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if line.startswith("Practice hub: "):
            url = line.split(": ", 1)[1].strip()
        if "Press Ctrl-C" in line:
            return url
    raise RuntimeError("hubtrain hub exited before it was ready")


def one_run(state: Path, tmp: Path, servers: int) -> tuple[float, int, list[str]]:
    """Seconds from Ctrl-C to exit, processes started, and what outlived the command."""
    env = dict(os.environ, HUBTRAIN_PASSWORD="benchmark-password")
    env["PATH"] = os.pathsep.join([str(BIN), str(ROOT / "node_modules" / ".bin"), env["PATH"]])
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    command = [str(BIN / "hubtrain"), "hub", "--port", str(free_port()), "--state", str(state)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = wait_started(process)
        token = (state / "rehearsal-token").read_text().strip()
        start_servers(url, token, [f"learner{i}" for i in range(servers)])
        started = psutil.Process(process.pid).children(recursive=True)
        pressed = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=TIMEOUT)
        seconds = time.monotonic() - pressed
        alive = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        return seconds, len(started), [" ".join(p.cmdline()[:3]) for p in alive]
    finally:
        if process.poll() is None:
            # The hub runs in a session of its own: killing the command's group alone
            # would leave it running. Stop it as Ctrl-C does, then kill what is left.
            family = psutil.Process(process.pid).children(recursive=True)
            os.killpg(process.pid, signal.SIGINT)
            _, left = psutil.wait_procs([psutil.Process(process.pid), *family], timeout=60)
            for survivor in left:
                survivor.kill()
            process.wait()


def unconfined_run(state: Path, servers: int) -> float:
    """Seconds `PracticeHub.stop()` takes with `servers` unconfined servers running.

    Without bubblewrap the interrupt reaches each Jupyter server itself, which
    waits for a "y" on a terminal it does not have: the slow case for JupyterHub's
    own clean-up.
    """
    hub = PracticeHub(
        load_hub(ROOT / "hubs" / "practice.yml"),
        state,
        root=ROOT,
        port=free_port(),
        password="benchmark-password",
        confine=False,
    )
    with hub:
        start_servers(
            hub.url, hub.rehearsal_token_path.read_text().strip(), ["u0", "u1", "u2"][:servers]
        )
        pressed = time.monotonic()
    return time.monotonic() - pressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-stop-") as name:
        tmp = Path(name)
        # The first start publishes the course (nbgrader); both runs are timed.
        runs = [one_run(tmp / "state", tmp, args.servers) for _ in range(2)]
        os.environ["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
        unconfined = unconfined_run(tmp / "state", args.servers)
    print(f"Ctrl-C on `hubtrain hub` with {args.servers} learners' servers running:")
    for index, (seconds, started, alive) in enumerate(runs, 1):
        left = f"{len(alive)} left: {alive}" if alive else "nothing left"
        print(f"  run {index}: stopped in {seconds:5.1f} s ({started} processes; {left})")
    print(f"  unconfined servers (PracticeHub.stop): {unconfined:5.1f} s")


if __name__ == "__main__":
    main()
