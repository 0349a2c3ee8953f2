"""One simulated learner's walk through the course, as a Locust user.

The walk is the path a real learner takes on the day: ask the hub for a server
with the chosen profile, wait on the spawn progress stream, click the course's
nbgitpuller link, open the module's notebook in a kernel and run its checks,
then stop the server. Each step is timed and also reported to Locust as a
"request", so Locust's own statistics (and its web view, if used) show them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlencode, urljoin

import requests
from locust import User, constant, task
from locust.exception import StopUser

from hubtrain.rehearse.hubapi import HubAPI, same_origin
from hubtrain.rehearse.kernel import KernelDied, KernelSocket
from hubtrain.rehearse.module import ModuleWalk
from hubtrain.rehearse.plan import FAILURE_KINDS
from hubtrain.rehearse.pullcause import git_said, repository_cause

__all__ = ["FAILURE_KINDS", "Learner", "LearnerResult", "Walks"]

STEPS = ("ready", "pull", "first_check")


class StepFailed(Exception):
    """A step of the walk failed; `kind` is one of FAILURE_KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LearnerResult:
    """One learner's timings (seconds) and outcome, one row of the CSV."""

    name: str
    profile: str
    arrived: float = 0.0  # since the rehearsal began
    ready: float | None = None  # spawn request -> server ready
    pull: float | None = None  # link clicked -> nbgitpuller finished
    first_check: float | None = None  # notebook opened -> first check answered
    checks: float | None = None  # notebook opened -> every check answered
    stop: float | None = None  # stop requested -> server gone
    image: str = ""  # what the server says it got: JUPYTER_IMAGE_SPEC
    mem_limit: str = ""  # and MEM_LIMIT (bytes), to check the profile took effect
    checks_passed: int = 0
    checks_total: int = 0
    retries_429: int = 0
    outcome: str = "ok"
    message: str = ""
    walked_by: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    events: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("events")
        return data


class Walks:
    """What the learners of one process share: the hub, the module, and for each
    learner its name, arrival time (seconds after `started`) and user_options."""

    def __init__(
        self,
        api: HubAPI,
        options: list[dict[str, str]],
        walk: ModuleWalk,
        names: list[str],
        arrivals: list[float],
        timeout: float,
        on_done: Callable[[LearnerResult], None],
    ) -> None:
        self.api = api
        self.options = options
        self.walk = walk
        self.names = names
        self.arrivals = arrivals
        self.timeout = timeout
        self.on_done = on_done
        self.started = time.monotonic()
        self._next = 0

    def take(self) -> int | None:
        """The next learner's index, or None when everyone has set off."""
        if self._next >= len(self.names):
            return None
        self._next += 1
        return self._next - 1


class _Clock:
    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout

    def left(self, what: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StepFailed("timeout", f"gave up waiting for {what}")
        return left


def _events(reply: requests.Response) -> Any:
    """The `data:` events of a text/event-stream reply, decoded from JSON."""
    for line in reply.iter_lines(decode_unicode=True):
        if line and line.startswith("data:"):
            yield json.loads(line[5:].strip())


def _spawn(
    walks: Walks, name: str, options: dict[str, str], clock: _Clock, result: LearnerResult
) -> None:
    """Request the server and follow the progress stream until it is ready."""
    api = walks.api
    path = f"users/{quote(name, safe='')}/server"
    while True:
        reply = api.session.post(
            api.api + path,
            json=options,
            timeout=clock.left("the spawn request"),
            allow_redirects=False,
        )
        if reply.status_code == 429:
            result.retries_429 += 1
            # A learner told "try again in a minute" tries again sooner than that.
            wait = min(float(reply.headers.get("Retry-After") or 10), 30.0)
            if clock.deadline - time.monotonic() < wait + 1:
                raise StepFailed("HTTP 429", "the hub kept answering 429 (too many spawns)")
            time.sleep(wait)
            continue
        if reply.status_code in (201, 202):
            break
        message = reply.text[:300]
        with contextlib.suppress(ValueError):
            message = reply.json().get("message", message)
        raise StepFailed("spawn error", f"HTTP {reply.status_code}: {message}")
    with api.session.get(
        api.api + path + "/progress",
        stream=True,
        timeout=(10, clock.left("the progress stream")),
    ) as stream:
        if stream.status_code != 200:
            raise StepFailed("spawn error", f"progress stream answered HTTP {stream.status_code}")
        for event in _events(stream):
            if event.get("message"):
                result.events.append(event["message"])
            if event.get("failed"):
                raise StepFailed("spawn error", event.get("message", "spawn failed"))
            if event.get("ready"):
                return
            clock.left("the server to be ready")
    raise StepFailed("spawn error", "the progress stream ended before the server was ready")


def _get_within(session: requests.Session, url: str, base: str, clock: _Clock) -> requests.Response:
    """GET `url`, following redirects only while they stay on the hub."""
    for _ in range(10):
        reply = session.get(url, allow_redirects=False, timeout=clock.left(url))
        if not reply.is_redirect:
            return reply
        target = urljoin(url, reply.headers["Location"])
        if not same_origin(target, base):
            raise StepFailed("pull error", f"the link redirected off the hub, to {target}")
        url = target
    raise StepFailed("pull error", "the link redirected more than 10 times")


def server_link(link: str, base: str, server: str) -> str:
    """The course link as the hub would redirect this learner: `/hub/user-redirect/X`
    becomes `<server>X`. The hub only lets a browser (a cookie, after login)
    through `user-redirect`, never a token, so the rehearsal takes that one step
    itself; everything after it is the learner's real path."""
    marker = base + "hub/user-redirect/"
    if not link.startswith(marker):
        raise StepFailed("pull error", f"the course link {link} does not start with {marker}")
    return server + link[len(marker) :]


def _pull(walks: Walks, user: requests.Session, server: str, clock: _Clock) -> None:
    """Open the link on the learner's server; then do what its page's script does:
    call git-pull/api and follow its event stream to the end."""
    url = server_link(walks.walk.link, walks.api.base, server)
    page = _get_within(user, url, walks.api.base, clock)
    if page.status_code != 200 or "data-targetpath" not in page.text:
        raise StepFailed(
            "pull error", f"the link gave HTTP {page.status_code}, not nbgitpuller's page"
        )
    data = {k: unquote(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', page.text)}
    params = {"repo": data["repo"], "targetpath": data["targetpath"]}
    for key in ("depth", "branch", "backup"):
        if data.get(key):
            params[key] = data[key]
    output: list[str] = []
    with user.get(
        f"{server}git-pull/api?{urlencode(params)}",
        stream=True,
        timeout=(10, clock.left("nbgitpuller")),
    ) as stream:
        if stream.status_code != 200:
            raise StepFailed("pull error", f"git-pull/api answered HTTP {stream.status_code}")
        for event in _events(stream):
            if event.get("phase") == "finished":
                return
            if event.get("phase") == "syncing":
                output += str(event.get("output", "")).splitlines()
            if event.get("phase") == "error":
                raise StepFailed("pull error", _pull_failure(event, output, data["repo"]))
    raise StepFailed("pull error", "nbgitpuller's stream ended without finishing")


def _pull_failure(event: dict[str, Any], output: list[str], repo: str) -> str:
    """nbgitpuller's message, git's own last words, and what the repository says now."""
    message = str(event.get("message") or "nbgitpuller failed")
    said = git_said(output)
    parts = [message, f"git said: {said}" if said else "", repository_cause(repo)]
    return "; ".join(p for p in parts if p)[:600]


# Run first in the learner's kernel: what the profile gave this server.
_PROBE = (
    "import json as _j, os as _o; print(_j.dumps({"
    "'image': _o.environ.get('JUPYTER_IMAGE_SPEC', ''), 'mem': _o.environ.get('MEM_LIMIT', '')"
    "})); del _j, _o"
)


def _checks(
    walks: Walks, user: requests.Session, server: str, clock: _Clock, result: LearnerResult
) -> None:
    """Open the notebook as JupyterLab does (a session), run it, answers filled in."""
    path = walks.walk.server_path
    opened = time.monotonic()
    reply = user.get(
        f"{server}api/contents/{quote(path)}", params={"content": 1}, timeout=clock.left(path)
    )
    if reply.status_code != 200:
        raise StepFailed(
            "pull error", f"{path} is not on the server after the pull (HTTP {reply.status_code})"
        )
    cells = walks.walk.cells(reply.json()["content"])
    result.checks_total = sum(1 for _, _, check in cells if check)
    body = {
        "path": path,
        "name": walks.walk.notebook,
        "type": "notebook",
        "kernel": {"name": "python3"},
    }
    reply = user.post(f"{server}api/sessions", json=body, timeout=clock.left("a kernel"))
    if reply.status_code != 201:
        raise StepFailed("kernel died", f"no kernel: HTTP {reply.status_code} {reply.text[:200]}")
    session = reply.json()
    ws_url = server.replace("http", "ws", 1) + f"api/kernels/{session['kernel']['id']}/channels"
    kernel = None
    try:
        kernel = KernelSocket(
            ws_url, {"Authorization": user.headers["Authorization"]}, clock.left("the kernel")
        )
        got = json.loads(kernel.run(_PROBE).text or "{}")
        result.image, result.mem_limit = got.get("image", ""), got.get("mem", "")
        for grade_id, code, is_check in cells:
            kernel.timeout = clock.left(f"cell {grade_id or '(no id)'}")
            run = kernel.run(code)
            if is_check:
                if result.first_check is None:
                    result.first_check = time.monotonic() - opened
                if run.error or "✓" not in run.text:
                    raise StepFailed(
                        "check failed", f"{grade_id}: {run.error or run.text.strip()[:200]}"
                    )
                result.checks_passed += 1
            elif run.error:
                raise StepFailed("check failed", f"cell {grade_id or '(no id)'}: {run.error}")
        result.checks = time.monotonic() - opened
    except KernelDied as exc:
        raise StepFailed("kernel died", str(exc)) from None
    except TimeoutError as exc:
        raise StepFailed("timeout", str(exc)) from None
    finally:
        if kernel is not None:
            kernel.close()
        user.delete(f"{server}api/sessions/{session['id']}", timeout=30)


def _stop(walks: Walks, name: str, clock: _Clock) -> None:
    api = walks.api
    path = f"users/{quote(name, safe='')}"
    api.request("DELETE", f"{path}/server", ok=(202, 204), timeout=clock.left("stop"))
    while api.request("GET", path, timeout=clock.left("stop")).get("servers"):
        time.sleep(0.5)


def walk_one(walks: Walks, index: int, fire: Callable[..., None]) -> LearnerResult:
    """Walk learner `index` through the course; never raises, the result says how it went."""
    name = walks.names[index]
    options = walks.options[index]
    label = ",".join(
        [options.get("profile", ""), *(f"{k}={v}" for k, v in options.items() if k != "profile")]
    )
    result = LearnerResult(name=name, profile=label)
    wait = walks.started + walks.arrivals[index] - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    result.arrived = time.monotonic() - walks.started
    clock = _Clock(walks.timeout)
    server = f"{walks.api.base}user/{quote(name, safe='')}/"

    def step(label: str, func: Callable[[], None]) -> float:
        began = time.monotonic()
        error: BaseException | None = None
        try:
            func()
        except BaseException as exc:
            error = exc
            raise
        finally:
            took = time.monotonic() - began
            fire(
                request_type="step",
                name=label,
                response_time=took * 1000,
                response_length=0,
                exception=error,
            )
        return took

    user = requests.Session()
    user.trust_env = False
    try:
        result.ready = step("request to ready", lambda: _spawn(walks, name, options, clock, result))
        token = walks.api.user_token(name, [f"access:servers!server={name}/"], "hubtrain rehearsal")
        user.headers["Authorization"] = f"token {token}"
        result.pull = step("pull", lambda: _pull(walks, user, server, clock))
        step("checks", lambda: _checks(walks, user, server, clock, result))
        result.stop = step("stop", lambda: _stop(walks, name, clock))
    except StepFailed as exc:
        result.outcome, result.message = exc.kind, str(exc)
    except (requests.Timeout, TimeoutError) as exc:
        result.outcome, result.message = "timeout", str(exc)[:300]
    except Exception as exc:
        # Anything else (a refused websocket, a reply of the wrong shape) is still
        # this learner's outcome: a walk that raised would never be reported, and
        # a master would wait for it.
        result.outcome, result.message = "other", f"{type(exc).__name__}: {exc}"[:300]
    finally:
        user.close()
    return result


class Learner(User):
    """A Locust user that walks the course once, then stops.

    `walks` is set by the rehearsal before Locust starts any user.
    """

    walks: ClassVar[Walks | None] = None
    wait_time = constant(0)

    @task
    def walk(self) -> None:
        walks = type(self).walks
        index = walks.take() if walks else None
        if walks is None or index is None:
            raise StopUser()
        result = walk_one(walks, index, self.environment.events.request.fire)
        walks.on_done(result)
        raise StopUser()
