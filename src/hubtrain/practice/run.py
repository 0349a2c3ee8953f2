"""Start and stop the practice hub: release, buckets, JupyterHub and its children.

`PracticeHub` is what `hubtrain hub`, the end-to-end test, the screenshot script
and the benchmark all use, so each of them runs exactly the hub a learner gets.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import psutil

from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.buckets import LocalS3
from hubtrain.localcloud.gcsbuckets import LocalGCS, bucket_env, local_buckets
from hubtrain.localcloud.localenv import free_port, with_venv_on_path
from hubtrain.practice.hubconfig import (
    PASSWORD_ENV,
    REHEARSAL_TOKEN_ENV,
    ROOM_TOKEN_ENV,
    Settings,
    write_config,
)
from hubtrain.practice.storage import load_objects, save_objects

__all__ = [
    "COURSE_SERVICE",
    "PracticeHub",
    "PracticeHubError",
    "add_commands",
    "kubespawner_profile",
    "served_hub",
    "unconfined_warning",
]

COURSE_SERVICE = "/services/course/"
SCRATCH_BUCKET = "hubtrain-scratch"
PERSISTENT_BUCKET = "hubtrain-persistent"
# How often start() tries again when an internal port was taken meanwhile.
HUB_START_ATTEMPTS = 3
START_TIMEOUT = 90.0
# Ctrl-C: everything the hub started is asked to stop at once, and what is still
# running this many seconds later is killed (a person expects a few seconds).
STOP_DEADLINE = 4.0
# Held (flock) by the process running a hub on a state folder, for as long as it runs.
LOCK_FILE = "hubtrain-hub.lock"
MIN_PASSWORD = 8  # SharedPasswordAuthenticator refuses shorter passwords.


class PracticeHubError(RuntimeError):
    """The practice hub cannot start; `str()` is one line saying what to do."""


def served_hub(hub: HubConfig, url: str) -> HubConfig:
    """The hub file as served at `url`: its URL, and a course repo on it, follow.

    The practice hub file names port 8000; on another port every link and the
    facts shipped in the release must name the port actually used.
    """
    url = url.rstrip("/")
    repo = hub.content.repo
    if repo.startswith(hub.url + "/"):
        repo = url + repo[len(hub.url) :]
    content = hub.content.model_copy(update={"repo": repo})
    return hub.model_copy(update={"url": url, "content": content})


def _check_port(ip: str, port: int) -> None:
    with socket.socket() as sock:
        # As servers do: connections of a hub stopped a moment ago may linger in
        # TIME_WAIT, and they do not stop a new server from listening.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            raise PracticeHubError(
                f"port {port} on {ip} is in use (is a hub already running?); "
                "stop it or choose another port with --port"
            ) from None


def _proxy_command(root: Path) -> str:
    found = shutil.which("configurable-http-proxy")
    local = root / "node_modules" / ".bin" / "configurable-http-proxy"
    if found:
        return found
    if local.exists():
        return str(local)
    raise PracticeHubError(
        "configurable-http-proxy is not installed; run `npm ci` in the repository (or `make hub`)"
    )


class _Background(threading.Thread):
    """Run one function in a thread; `result()` waits and re-raises its error."""

    def __init__(self, func: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._func = func
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._func()
        except BaseException as exc:
            self._error = exc

    def result(self) -> None:
        self.join()
        if self._error is not None:
            raise self._error


class PracticeHub:
    """A running practice hub. Use as a context manager, or `start()` then `stop()`.

    State lives in `state`: the hub database and cookie secret, homes in
    `state/homes/<user>`, the published course in `state/course/`, bucket
    objects in `state/buckets/` (S3) or `state/gcs/` (GCS), and the hub's log
    in `state/jupyterhub.log`.
    """

    def __init__(
        self,
        hub: HubConfig,
        state: Path,
        *,
        root: Path = Path("."),
        port: int = 8000,
        public: bool = False,
        password: str = "",
        idle_timeout: int | None = None,
        confine: bool | None = None,
        claim_usernames: bool | None = None,
        activity_interval: int = 300,
        websocket_ping_interval: int = 0,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.state = Path(state).resolve()
        self.port = port
        self.ip = "0.0.0.0" if public else "127.0.0.1"
        self.password = password or secrets.token_urlsafe(9)
        if len(self.password) < MIN_PASSWORD:
            raise PracticeHubError(
                f"the hub password must be at least {MIN_PASSWORD} characters "
                "(set a longer HUBTRAIN_PASSWORD)"
            )
        self.url = f"http://127.0.0.1:{port}"
        self.hub = served_hub(hub, self.url)
        self.idle_timeout = hub.server.idle_timeout if idle_timeout is None else idle_timeout
        # JupyterHub's and Jupyter Server's defaults (300 s, 30 s); tests shorten them.
        self.activity_interval = activity_interval
        self.websocket_ping_interval = websocket_ping_interval
        # None: confine learners' servers whenever bubblewrap works here.
        self.confine = confine
        self.unconfined_reason = ""
        # A hub others can reach lets each username be claimed only once.
        self.claim_usernames = public if claim_usernames is None else claim_usernames
        self.log_path = self.state / "jupyterhub.log"
        self.buckets: LocalS3 | LocalGCS | None = None
        # The "rehearsal" service's API token, for `hubtrain rehearse`
        # (HUBTRAIN_HUB_TOKEN="$(cat <this file>)"); only its owner may read it.
        self.rehearsal_token_path = self.state / "rehearsal-token"
        # The "room" service's token, for `hubtrain room` (the TA's live view of
        # the "workshop" group), kept the same way.
        self.room_token_path = self.state / "room-token"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: object | None = None
        self._buckets_loaded = False
        # Where stop() says what it waits for (`hubtrain hub` prints it).
        self.say = say or (lambda _: None)
        self._lock: object | None = None

    @property
    def s3(self) -> LocalS3 | None:
        """The S3 bucket server while it runs (None on a GCS hub)."""
        return self.buckets if isinstance(self.buckets, LocalS3) else None

    # -- the course repository --------------------------------------------

    def course_repo(self) -> Path | None:
        """The bare repository the course service serves, or None if `content.repo`
        points somewhere other than this hub's course service."""
        prefix = self.url + COURSE_SERVICE
        repo = self.hub.content.repo
        if not repo.startswith(prefix) or not repo[len(prefix) :].strip("/"):
            return None
        return self.state / "course" / repo[len(prefix) :].strip("/")

    def _fingerprint(self) -> str:
        """A hash of everything the release is made from: exercises, the learner
        runtime, the hub facts and the release code. Same hash, same release."""
        from hubtrain.course import release

        digest = hashlib.sha256()
        exercises = self.root / "exercises"
        for path in sorted(exercises.rglob("*")):
            parts = path.relative_to(exercises).parts
            if path.is_file() and not {".ipynb_checkpoints", "__pycache__"} & set(parts):
                digest.update(str(path.relative_to(exercises)).encode() + b"\0")
                digest.update(path.read_bytes())
        digest.update(release.LEARNER_RUNTIME.read_bytes())
        digest.update(Path(release.__file__).read_bytes())
        digest.update(json.dumps(self.hub.facts(), sort_keys=True).encode())
        return digest.hexdigest()

    def publish_course(self) -> str:
        """Build the student release for this hub and commit it to the course repo.

        Each change adds a commit on top of the last one, so learners' clones
        merge it like any course update. When nothing the release is made from
        has changed since the last publish, nbgrader is not run again (it takes
        most of a start-up). Returns the new tip, or "" when nothing was done.
        """
        from hubtrain.course.publish import publish
        from hubtrain.course.release import make_release

        target = self.course_repo()
        if target is None:
            return ""
        stamp = self.state / "course" / f"{target.name}.fingerprint"
        fingerprint = self._fingerprint()
        if target.exists() and stamp.exists() and stamp.read_text() == fingerprint:
            return ""
        exercises = self.root / "exercises"
        release = make_release(self.hub, exercises, self.state / "build")
        sha = publish(
            release,
            str(target),
            self.hub.content.branch,
            exercises=exercises,
            message="Update the student release (hubtrain hub)",
        )
        stamp.write_text(fingerprint)
        return sha

    # -- start and stop -----------------------------------------------------

    def start(self) -> PracticeHub:
        """Publish the course, start the buckets and JupyterHub; wait until it answers."""
        exercises = self.root / "exercises"
        if not exercises.is_dir():
            raise PracticeHubError(f"{exercises}: no exercises folder (use --root)")
        self.claim_state()
        try:
            _check_port(self.ip, self.port)
            proxy = _proxy_command(self.root)
            self._check_confinement()
        except BaseException:
            self._release_state()
            raise
        (self.state / "homes").mkdir(exist_ok=True)
        # The release builds while the buckets and the hub start: nbgrader is the
        # slowest step, and the hub does not need the course until a learner pulls.
        # The bucket server starts alongside too: its address is fixed up front,
        # so the hub's configuration can name it before it answers.
        publishing = _Background(self.publish_course)
        self.buckets = local_buckets(
            self.hub.storage.provider, port=free_port(), data_dir=self.state / "gcs"
        )
        buckets = _Background(self._start_buckets)
        try:
            self._start_hub_with_retries(proxy)
            buckets.result()
            publishing.result()
        except BaseException:
            publishing.join()
            buckets.join()
            self.stop()
            raise
        return self

    def claim_state(self) -> None:
        """Make the state folder this hub's, or say in one line whose it is.

        A second hub on the same folder would append to the first one's log and
        share its database; a JupyterHub left running by a `hubtrain hub` that
        was killed still uses the folder without holding the lock. A PID file
        whose process is gone is only reported, and removed.
        """
        self.state.mkdir(parents=True, exist_ok=True)
        lock = open(self.state / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 (held until stop)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "its process holds the lock"
            lock.close()
            raise PracticeHubError(
                f"another practice hub is running on {self.state} ({holder}); stop it first "
                "(Ctrl-C where it runs), or give this one another --state"
            ) from None
        pid_file = self.state / "jupyterhub.pid"
        pid = _read_pid(pid_file)
        if pid and _jupyterhub_in(pid, self.state):
            lock.close()
            raise PracticeHubError(
                f"a JupyterHub left running by an earlier practice hub (pid {pid}) still uses "
                f"{self.state}; stop it (`kill {pid}`) and start again"
            )
        if pid_file.exists():
            pid_file.unlink()
            self.say(
                f"Removed {pid_file}: the hub that wrote it (pid {pid or 'unknown'}) is gone; "
                "it did not stop cleanly"
            )
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, {self.url}\n")
        lock.flush()
        self._lock = lock

    def _release_state(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.close()  # type: ignore[attr-defined]

    def _start_hub_with_retries(self, proxy: str) -> None:
        """Start JupyterHub and wait for it; start again if an internal port was taken.

        The hub's internal ports are picked free, but another program (a test
        running beside this one, a learner's kernel) can bind one before the hub
        does; the hub then exits with "Address already in use". New ports fix that.
        """
        for attempt in range(1, HUB_START_ATTEMPTS + 1):
            self._start_hub(proxy)
            try:
                self._wait_ready()
                return
            except PracticeHubError:
                if attempt == HUB_START_ATTEMPTS or "Address already in use" not in self.log_tail(
                    40
                ):
                    raise
                self._stop_hub()

    def _check_confinement(self) -> None:
        """Decide whether learners' servers run in bubblewrap; a public hub must."""
        from hubtrain.grading.sandbox import find_sandbox
        from hubtrain.practice.spawner import server_user_works

        if self.confine is False:
            self.unconfined_reason = "confinement was turned off"
            return
        sandbox, reason = find_sandbox()
        # A confined server runs as jovyan, which needs a user namespace.
        reason = reason or (server_user_works(sandbox.bwrap) if sandbox else "")
        if sandbox is not None and not reason:
            self.confine = True
            return
        if self.confine or self.ip != "127.0.0.1":
            raise PracticeHubError(
                f"cannot confine learners' servers ({reason}); a public hub needs "
                "bubblewrap: install it (`make test-deps` or `apt-get install bubblewrap`)"
            )
        self.confine = False
        self.unconfined_reason = reason

    def _start_buckets(self) -> None:
        """Start the bucket server, restore saved objects, make the hub's buckets.

        The GCS emulator keeps its objects on disk in `state/gcs` itself; moto's
        are copied back from `state/buckets`.
        """
        assert self.buckets is not None
        self.buckets.start()
        if self.s3 is not None:
            load_objects(self.s3.client(), self.state / "buckets")
        for bucket in (SCRATCH_BUCKET, PERSISTENT_BUCKET):
            self.buckets.ensure_bucket(bucket)
        # Only a server that got every saved object back may overwrite the copy.
        self._buckets_loaded = True

    def _server_env(self) -> dict[str, str]:
        assert self.buckets is not None
        storage = self.hub.storage
        env = bucket_env(self.buckets)
        for variable, bucket in (
            (storage.scratch_env, SCRATCH_BUCKET),
            (storage.persistent_env, PERSISTENT_BUCKET),
        ):
            if variable:
                env[variable] = f"{storage.scheme}://{bucket}/{{username}}"
        return env

    def _start_hub(self, proxy: str) -> None:
        settings = Settings(
            state=str(self.state),
            ip=self.ip,
            port=self.port,
            hub_port=free_port(),
            proxy_api_port=free_port(),
            course_port=free_port(),
            course_root=str(self.state / "course"),
            profile_list=[kubespawner_profile(p) for p in self.hub.profile_list],
            default_url=self.hub.server.default_url,
            named_servers=self.hub.server.named_servers,
            shutdown_on_logout=bool(self.hub.server.shutdown_on_logout),
            idle_timeout=self.idle_timeout,
            max_age=self.hub.server.max_age,
            activity_interval=self.activity_interval,
            websocket_ping_interval=self.websocket_ping_interval,
            server_env=self._server_env(),
            server_defaults=self.hub.defaults.overrides(),
            shared_dirs=[d.name for d in self.hub.storage.shared_dirs],
            writable_shared_dirs=[d.name for d in self.hub.storage.shared_dirs if d.writable],
            confine=bool(self.confine),
            claim_usernames=self.claim_usernames,
            proxy_command=proxy,
        )
        config = write_config(settings)
        env = with_venv_on_path(dict(os.environ))
        env.pop("HUBTRAIN_PASSWORD", None)
        env[PASSWORD_ENV] = self.password
        env[REHEARSAL_TOKEN_ENV] = self._service_token(self.rehearsal_token_path)
        env[ROOM_TOKEN_ENV] = self._service_token(self.room_token_path)
        bin_dir = str(Path(sys.executable).parent)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        # Its own session: Ctrl-C reaches only us, and we stop the hub in order.
        self._process = subprocess.Popen(
            [str(Path(bin_dir) / "jupyterhub"), "-f", str(config)],
            cwd=self.state,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _service_token(self, path: Path) -> str:
        """A service's token: kept across restarts, made on first start."""
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        token = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        return token

    def _wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PracticeHubError(
                    f"JupyterHub exited at start; see {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/hub/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise PracticeHubError(
            f"JupyterHub did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the hub's log (it never holds the password)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop JupyterHub, its servers, proxy and services at once, then save the
        buckets and stop their server, then free the state folder. Safe to call twice."""
        try:
            self._stop_hub()
            server, self.buckets = self.buckets, None
            if server is not None:
                try:
                    if self._buckets_loaded and isinstance(server, LocalS3):
                        save_objects(server.client(), self.state / "buckets")
                finally:
                    self._buckets_loaded = False
                    server.stop()
        finally:
            self._release_state()

    def _stop_hub(self) -> None:
        """Stop the JupyterHub process, the servers and proxy it started, and close its log."""
        process, self._process = self._process, None
        if process is not None:
            try:
                hub = psutil.Process(process.pid)
                family = [hub, *hub.children(recursive=True)]
            except psutil.NoSuchProcess:
                family = []
            _stop_together(family, STOP_DEADLINE, self.say)
            process.wait()
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
        if process is not None:
            # A hub that died at start may leave its proxy behind in its session.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)

    @property
    def running(self) -> bool:
        """True while the JupyterHub process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> PracticeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0


def _jupyterhub_in(pid: int, state: Path) -> bool:
    """Whether `pid` is a JupyterHub working in `state` (not a reused pid)."""
    try:
        process = psutil.Process(pid)
        names = [Path(part).name for part in process.cmdline()[:2]]
        return "jupyterhub" in names and Path(process.cwd()) == state
    except (psutil.Error, OSError):
        return False


def _what(process: psutil.Process) -> str:
    """What a process of the hub is, for "waiting for ..." ("" for bubblewrap's wrappers)."""
    try:
        if process.name() == "bwrap":
            return ""
        command = " ".join(process.cmdline())
        if "jupyterhub-singleuser" in command:
            return f"{process.environ().get('JUPYTERHUB_USER', 'a learner')}'s server"
    except (psutil.Error, OSError):
        return ""
    for marker, what in (
        ("configurable-http-proxy", "the proxy"),
        ("hubtrain.practice.course", "the course service"),
        ("jupyterhub_idle_culler", "the idle culler"),
        ("kernel", "a kernel"),
        ("jupyterhub", "JupyterHub"),
    ):
        if marker in command:
            return what
    return command.split(" ", 1)[0]


def _stop_together(
    processes: list[psutil.Process], deadline: float, say: Callable[[str], None]
) -> None:
    """Ask every process to stop at once (SIGTERM); kill what is left after `deadline` s.

    JupyterHub alone stops its services one after the other, then the servers;
    its spawner interrupts each (SIGINT) and waits up to 30 s, and a Jupyter
    server with no terminal answers SIGINT by waiting 5 s for a "y" that never
    comes. Signalled together, each stops by itself, JupyterHub's own clean-up
    finds them gone, and nothing waits longer than `deadline`. Bubblewrap is not
    signalled: it ends with the server inside it.
    """
    for process in processes:
        if _what(process) != "":
            with contextlib.suppress(psutil.Error):
                process.terminate()
    end = time.monotonic() + deadline
    alive = processes
    try:
        while alive and (left := end - time.monotonic()) > 0:
            _, alive = psutil.wait_procs(alive, timeout=min(1.0, left))
            waiting = sorted({w for w in map(_what, alive) if w})
            if alive and time.monotonic() < end:
                what = ", ".join(waiting) or "sandboxes"
                say(f"Waiting for {what} to stop ({end - time.monotonic():.0f} s at most) ...")
    finally:
        # Also when telling failed or a second signal came: nothing outlives the deadline.
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(alive, timeout=5)


def kubespawner_profile(profile: object) -> dict[str, object]:
    """A hub-file profile as KubeSpawner receives it: only the keys that were given,
    with the slug the book shows (so the form and the book agree)."""
    data = profile.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    data["slug"] = profile.key  # type: ignore[attr-defined]
    for option in data.get("profile_options", {}).values():
        if option.get("unlisted_choice") is None:
            option.pop("unlisted_choice", None)
    return data


# -- the command line ------------------------------------------------------------


def _tell(line: str) -> None:
    """Print a line of progress; a terminal that is gone (closed pipe) stops nothing."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


def _serve(args: argparse.Namespace) -> int:
    """Run the hub in this process until SIGTERM or Ctrl-C; errors are one line."""
    from hubtrain.course.publish import PublishError
    from hubtrain.course.release import LeakError
    from hubtrain.hubfile.config import HubFileError
    from hubtrain.hubfile.load import load_hub
    from hubtrain.localcloud.buckets import LocalS3Error

    # A polite stop (from `hubtrain hub`, `kill`, a CI runner) stops everything.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    practice: PracticeHub | None = None
    try:
        hub = load_hub(args.hub)
        practice = PracticeHub(
            hub,
            Path(args.state),
            root=Path(args.root),
            port=args.port,
            public=args.public,
            password=os.environ.get("HUBTRAIN_PASSWORD", ""),
            idle_timeout=args.idle_timeout,
            say=_tell,
        )
        print(f"Starting the practice hub for {hub.name} (state in {args.state}) ...", flush=True)
        practice.start()
        print(f"Practice hub: {practice.url}", flush=True)
        if warning := unconfined_warning(practice):
            print(warning, file=sys.stderr, flush=True)
        who = "any username not yet taken" if practice.claim_usernames else "any username"
        print(f"Password: {practice.password}  ({who})", flush=True)
        print(
            f"Rehearsal token (for hubtrain rehearse): in {practice.rehearsal_token_path}",
            flush=True,
        )
        print(f"Room token (for hubtrain room): in {practice.room_token_path}", flush=True)
        print(f"Log: {practice.log_path}. Press Ctrl-C to stop.", flush=True)
        while practice.running:
            time.sleep(0.5)
        print(f"hubtrain: JupyterHub stopped; see {practice.log_path}", file=sys.stderr)
        return 1
    except (HubFileError, PracticeHubError, PublishError, LocalS3Error, LeakError) as exc:
        print(f"hubtrain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _tell("Stopping the practice hub ...")
        return 0
    finally:
        if practice is not None:
            practice.stop()


PUBLIC_WARNING = """\
hubtrain: warning: --public listens on every network interface. What that exposes:
  - Anyone who can reach this machine and has the password can log in under a
    username nobody has used yet and run code here. The first log-in under a name
    claims it for that browser; to free the names, delete {state}/claims.json
    (or restart with a new HUBTRAIN_PASSWORD: claims belong to one password).
  - Learners' servers see only their own home, the shared folders and a read-only
    Python. Inside they are jovyan, but to this machine they are its user ({user}),
    with its network: they can reach every service this machine can (including
    ones on 127.0.0.1), and use its CPU, memory and disk without limits.
  - Every learner can read and write every other learner's bucket prefix (as on
    most managed hubs: a prefix is a convention, not a lock).
  - The hub speaks plain HTTP: anyone on the network can read the password and
    sessions in transit. Use it on a network you trust, for the workshop only."""


def unconfined_warning(practice: PracticeHub) -> str:
    """What `hubtrain hub` says at start when servers are not confined ("" if they are)."""
    if not practice.unconfined_reason:
        return ""
    return (
        "hubtrain: warning: learners' servers are not confined "
        f"({practice.unconfined_reason}); they run as this machine's user "
        f"({_this_user()}) with their homes in {practice.state / 'homes'}, not as "
        "jovyan in /home/jovyan, and any learner can read this repository, "
        "including the solutions"
    )


def _this_user() -> str:
    """The name this process runs as (what an unconfined server runs as)."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def cmd_hub(args: argparse.Namespace) -> int:
    """Run the practice hub until Ctrl-C.

    The hub runs in a child process with its own session. Ctrl-C in a terminal
    reaches every process of the foreground group at once, so the bucket server
    would die before its objects could be saved; instead, this process turns
    Ctrl-C into one SIGTERM for the child, which stops everything in order.
    """
    from hubtrain.hubfile.load import load_hub

    load_hub(args.hub)
    root = Path(args.root).resolve()
    state = Path(args.state).resolve() if args.state else root / ".hubtrain" / "practice"
    if args.public:
        print(PUBLIC_WARNING.format(state=state, user=_this_user()), file=sys.stderr)
    argv = ["--hub", str(args.hub), "--port", str(args.port), "--state", str(state)]
    argv += ["--root", str(root)]
    if args.public:
        argv.append("--public")
    if args.idle_timeout is not None:
        argv += ["--idle-timeout", str(args.idle_timeout)]
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    child = subprocess.Popen(
        [sys.executable, "-m", "hubtrain.practice", *argv], start_new_session=True
    )
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGTERM)
    while True:
        try:
            child.wait()
            return 0
        except KeyboardInterrupt:
            print("hubtrain: still stopping, please wait ...", file=sys.stderr)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hub", default="hubs/practice.yml", help="hub file (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument(
        "--public", action="store_true", help="listen on all interfaces, not only 127.0.0.1"
    )
    parser.add_argument(
        "--state", default="", help="state folder (default: ROOT/.hubtrain/practice)"
    )
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.add_argument(
        "--idle-timeout",
        type=int,
        default=None,
        help="stop idle servers after this many seconds (default: the hub file's)",
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `hubtrain hub`."""
    parser = sub.add_parser("hub", help="run the local practice hub (Ctrl-C stops it)")
    _add_arguments(parser)
    parser.set_defaults(func=cmd_hub)


def main(argv: list[str] | None = None) -> int:
    """The hub process that `hubtrain hub` starts (`python -m hubtrain.practice`)."""
    parser = argparse.ArgumentParser(prog="hubtrain hub")
    _add_arguments(parser)
    return _serve(parser.parse_args(argv))
