"""Benchmark the practice hub's start-up against a bare JupyterHub, in the same run.

Times, from launching the command to: the hub answering (`/hub/health`), and a
learner's server running (logged in, default profile, server ready). For
`hubtrain hub` twice: a first start on an empty state folder (it builds and
publishes the student release with nbgrader) and a restart on that state (the
course is unchanged, so nothing is rebuilt). The bare hub is JupyterHub with
the same proxy and the same local-process spawner, and no course, buckets or
culler. It measures and prints ratios; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/hub.py [--hub FILE]`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from hubtrain.localcloud.localenv import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "benchmark-password"
TIMEOUT = 300.0


def wait_health(url: str, started: float) -> float:
    while time.monotonic() - started < TIMEOUT:
        try:
            with urllib.request.urlopen(f"{url}/hub/health", timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {TIMEOUT:.0f} s")


def spawn_server(url: str, user: str, form: dict[str, str] | None, started: float) -> float:
    """Log in through the login form, start the default server, wait until ready."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/hub/login").read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    login = {"username": user, "password": PASSWORD, "_xsrf": xsrf}
    opener.open(f"{url}/hub/login", urllib.parse.urlencode(login).encode()).read()
    if form is not None:
        # The options page carries the token for the signed-in user.
        page = opener.open(f"{url}/hub/spawn").read().decode()
        xsrf = re.search(r'xsrf_token: "([^"]+)"', page).group(1)  # type: ignore[union-attr]
        body = urllib.parse.urlencode({**form, "_xsrf": xsrf}).encode()
        opener.open(f"{url}/hub/spawn", body).read()
    while time.monotonic() - started < TIMEOUT:
        request = urllib.request.Request(f"{url}/hub/api/user", headers={"X-XSRFToken": xsrf})
        with opener.open(request) as reply:
            server = json.load(reply).get("servers", {}).get("")
        if server and server.get("ready"):
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"{user}'s server did not start within {TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def environment(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, HUBTRAIN_PASSWORD=PASSWORD)
    env["PATH"] = os.pathsep.join([str(BIN), str(ROOT / "node_modules" / ".bin"), env["PATH"]])
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    return env


def time_start(
    command: list[str], cwd: Path, tmp: Path, url: str, user: str, form: dict[str, str] | None
) -> tuple[float, float]:
    """Seconds from running `command` until the hub answers, and until `user`'s
    server runs; the hub is stopped afterwards whatever happens."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=environment(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        answered = wait_health(url, started)
        running = spawn_server(url, user, form, started)
    finally:
        stop(process)
    return answered, running


def practice(hub: str, state: Path, tmp: Path, user: str) -> tuple[float, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "hubtrain"), "hub", "--hub", hub, "--port", str(port)]
    command += ["--state", str(state)]
    return time_start(command, ROOT, tmp, url, user, {"profile": "small"})


def bare(tmp: Path) -> tuple[float, float]:
    folder = tmp / "bare"
    folder.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "jupyterhub"),
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--JupyterHub.hub_port={free_port()}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
        "--JupyterHub.authenticator_class=dummy",
        "--JupyterHub.spawner_class=simple",
        "--Authenticator.allow_all=True",
        f"--SimpleLocalProcessSpawner.home_dir_template={folder}/homes/{{username}}",
    ]
    if os.geteuid() == 0:
        # As the practice hub does: a Jupyter server refuses root without this.
        command.append("--Spawner.args=['--ServerApp.allow_root=True']")
    return time_start(command, folder, tmp, url, "baseline", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", default="hubs/practice.yml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-hub-") as name:
        tmp = Path(name)
        base = bare(tmp)
        first = practice(args.hub, tmp / "state", tmp, "first")
        again = practice(args.hub, tmp / "state", tmp, "again")
    print("Practice hub start-up, seconds from the command (ratio to a bare JupyterHub):")
    print(f"{'':34}{'hub answers':>18}{'server running':>20}")
    rows = [
        ("bare JupyterHub (baseline)", base),
        ("hubtrain hub, first start", first),
        ("hubtrain hub, restart", again),
    ]
    for label, (answered, running) in rows:
        print(
            f"{label:34}{answered:9.1f} s ({answered / base[0]:4.1f}x)"
            f"{running:10.1f} s ({running / base[1]:4.1f}x)"
        )


if __name__ == "__main__":
    main()
