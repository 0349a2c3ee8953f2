"""A hub-like place to run exercise notebooks with nbclient, shared by the tests that do.

A learner's kernel on a hub sees the hub's variables (user, URLs, the profile's
limits, bucket addresses), a token that the hub API and the learner's own Jupyter
server accept, and a home folder holding the course. These helpers make each of
those from real parts: a Jupyter server on loopback rooted in the home folder, a
token from the practice hub's login form, the course cloned from what the
practice hub publishes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from hubtrain.grading.environment import hub_env, profile_env
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port, stop_process

__all__ = ["api", "clone_course", "hub_token", "hublike_env", "jupyter_server"]


def api(url: str, token: str, method: str = "GET", body: dict | None = None) -> object:
    """Call a Jupyter server's or the hub's REST API with `token`; the decoded reply."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"null")


@contextmanager
def jupyter_server(base: Path, home: Path, token: str) -> Iterator[str]:
    """A real Jupyter server on 127.0.0.1 rooted in `home` that accepts `token`; yields its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={home}",
        f"--IdentityProvider.token={token}",
    ]
    if os.geteuid() == 0:
        # CI runs as root, and a Jupyter server refuses to start as root unless told.
        command.append("--allow-root")
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
    }
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                api(url + "api/status", token)
                break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, "the Jupyter server exited at start"
                assert time.monotonic() < deadline, "the Jupyter server did not answer in 60 s"
                time.sleep(0.2)
        yield url
    finally:
        stop_process(process, timeout=30)


def hub_token(hub_url: str, user: str, password: str, note: str = "test") -> str:
    """Log in through the hub's form, as a browser does; return a new API token of `user`."""
    web = requests.Session()
    page = web.get(f"{hub_url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf, "the login page has no _xsrf field"
    form = {"username": user, "password": password, "_xsrf": xsrf.group(1)}
    web.post(f"{hub_url}/hub/login", data=form, timeout=30).raise_for_status()
    reply = web.post(
        f"{hub_url}/hub/api/users/{user}/tokens",
        json={"note": note},
        headers={"X-XSRFToken": web.cookies.get("_xsrf", path="/hub/") or xsrf.group(1)},
        timeout=30,
    )
    reply.raise_for_status()
    return reply.json()["token"]


def clone_course(hub: HubConfig, home: Path) -> Path:
    """The published release cloned into `~/<content directory>`, as the course link does."""
    content = hub.content
    course = home / content.directory
    subprocess.run(
        ["git", "clone", "--depth", "1", "--branch", content.branch, content.repo, course],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return course


def hublike_env(
    hub: HubConfig, user: str, home: Path, server_url: str, token: str, progress: Path
) -> dict[str, str]:
    """What a kernel of `user`'s server (default profile) sees, with this server and token.

    The developer's own hub variables are dropped first, so nothing leaks in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "HUBTRAIN_"))}
    env.update(hub_env(hub, user))
    env.update(profile_env(hub.default_profile))
    env.update(
        HOME=str(home),
        HUBTRAIN_PROGRESS=str(progress),
        JUPYTERHUB_SERVICE_URL=server_url,
        JUPYTERHUB_API_TOKEN=token,
    )
    return env
