"""JupyterHub configuration for the practice hub, from one settings file.

`hubtrain hub` writes `<state>/settings.json` and a two-line
`jupyterhub_config.py` that calls `configure(c, settings_path)`; JupyterHub then
runs in its own process with this configuration. Keeping the settings as data
(and the password out of them) means nothing secret is ever written to disk.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PASSWORD_ENV",
    "REHEARSAL_TOKEN_ENV",
    "ROOM_GROUP",
    "ROOM_TOKEN_ENV",
    "Settings",
    "configure",
    "write_config",
]

# The hub process reads the password from this variable and removes it from its
# environment at once, so no child process (proxy, services, servers) inherits it.
PASSWORD_ENV = "HUBTRAIN_HUB_PASSWORD"
# Likewise the API token of the "rehearsal" service (`hubtrain rehearse`).
REHEARSAL_TOKEN_ENV = "HUBTRAIN_REHEARSAL_SERVICE_TOKEN"
# What `hubtrain rehearse` needs: make and delete users, start and stop their
# servers, give each a token for its own server, and put them in groups.
REHEARSAL_SCOPES = ["admin:users", "admin:servers", "tokens", "groups"]
# And of the "room" service (`hubtrain room`): the role the book's "Run the room"
# page gives a TA on a managed hub, for the practice hub's "workshop" group.
ROOM_TOKEN_ENV = "HUBTRAIN_ROOM_SERVICE_TOKEN"
ROOM_GROUP = "workshop"
ROOM_SCOPES = [
    f"list:users!group={ROOM_GROUP}",
    f"read:users:activity!group={ROOM_GROUP}",
    f"read:servers!group={ROOM_GROUP}",
    # Not `!group=`: a learner's server cannot resolve a group filter (it has no
    # hub database; jupyterhub.services.auth.check_scopes says so) and answers 403.
    "access:servers",
]


@dataclass(frozen=True)
class Settings:
    """Everything the hub process needs to know, as JSON-able data."""

    state: str
    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    course_port: int
    course_root: str
    profile_list: list[dict[str, Any]]
    default_url: str
    named_servers: bool
    idle_timeout: int
    max_age: int
    # JupyterHub.shutdown_on_logout from the hub file (unset there: JupyterHub's False).
    shutdown_on_logout: bool = False
    # How often (s) the hub reads each server's last activity from the proxy:
    # JupyterHub's `last_activity_interval`, 300 by default, as on managed hubs.
    activity_interval: int = 300
    # How often (s) Jupyter Server pings each open kernel websocket; 0 keeps its
    # default of 30 s. Tests of the idle culler shorten both to run in seconds.
    websocket_ping_interval: int = 0
    server_env: dict[str, str] = field(default_factory=dict)
    server_defaults: dict[str, Any] = field(default_factory=dict)
    shared_dirs: list[str] = field(default_factory=list)
    writable_shared_dirs: list[str] = field(default_factory=list)
    confine: bool = False
    claim_usernames: bool = False
    proxy_command: str = "configurable-http-proxy"
    bin_dir: str = str(Path(sys.executable).parent)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"http://{host}:{self.port}"


def write_config(settings: Settings) -> Path:
    """Write the settings and the config file that loads them; return the config path."""
    state = Path(settings.state)
    (state / "settings.json").write_text(json.dumps(asdict(settings), indent=1), encoding="utf-8")
    _write_server_config(state / "jupyter", settings.websocket_ping_interval)
    config = state / "jupyterhub_config.py"
    config.write_text(
        "# Written by `hubtrain hub` at each start; edit the hub file instead.\n"
        "from hubtrain.practice.hubconfig import configure\n\n"
        "configure(c, __file__)  # noqa: F821\n",
        encoding="utf-8",
    )
    return config


# nbgrader is installed in the same environment (the course is built with it),
# but a learner's hub does not show the instructor's tools. JupyterLab's news
# pop-up is off too: it asks a question no learner on a managed hub is asked.
_LAB_PAGE_CONFIG = {
    "disabledExtensions": {
        "@jupyter/nbgrader": True,
        "@jupyterlab/apputils-extension:announcements": True,
    }
}
_SERVER_CONFIG = {
    "ServerApp": {
        "jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": False,
            "nbgrader.server_extensions.validate_assignment": False,
            "nbgrader.server_extensions.assignment_list": False,
            "nbgrader.server_extensions.course_list": False,
        }
    }
}


def _write_server_config(folder: Path, ping_interval: int = 0) -> None:
    """Configuration every learner's server reads (on `JUPYTER_CONFIG_PATH`: it
    outranks the environment's own files, while `~/.jupyter` stays each learner's)."""
    server_config = _SERVER_CONFIG
    if ping_interval:
        # Jupyter Server reads its kernel websockets' ping interval, in ms, from here.
        server_app = {**_SERVER_CONFIG["ServerApp"]}
        server_app["tornado_settings"] = {"ws_ping_interval": ping_interval * 1000}
        server_config = {"ServerApp": server_app}
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(
        json.dumps(_LAB_PAGE_CONFIG, indent=1), encoding="utf-8"
    )
    (folder / "jupyter_server_config.json").write_text(
        json.dumps(server_config, indent=1), encoding="utf-8"
    )


def _cull_every(timeout: int) -> int:
    """Check often enough that a server is stopped soon after its idle timeout."""
    return max(1, min(300, timeout // 4))


def configure(c: Any, config_file: str) -> None:
    """Fill JupyterHub's config object `c` from the settings beside `config_file`."""
    state = Path(config_file).resolve().parent
    data = json.loads((state / "settings.json").read_text(encoding="utf-8"))
    s = Settings(**data)
    python = str(Path(s.bin_dir) / "python")

    c.JupyterHub.ip = s.ip
    c.JupyterHub.port = s.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    # Stopping the hub stops every learner's server too (JupyterHub's default,
    # stated because the "what survives a restart" lesson depends on it).
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.allow_named_servers = s.named_servers
    # Module 1 tells learners what logging out does on this hub, from the hub file.
    c.JupyterHub.shutdown_on_logout = s.shutdown_on_logout
    # The hub also counts what the proxy saw (any traffic, websocket pings
    # included) as activity; it asks the proxy this often.
    c.JupyterHub.last_activity_interval = s.activity_interval

    c.ConfigurableHTTPProxy.command = [s.proxy_command]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

    # Any username logs in with the one password printed at start-up (JupyterHub's
    # SharedPasswordAuthenticator, which replaces DummyAuthenticator's deprecated
    # password); on a public hub the first log-in under a name claims it.
    c.JupyterHub.authenticator_class = "hubtrain.practice.auth.ClaimingPasswordAuthenticator"
    c.SharedPasswordAuthenticator.user_password = os.environ.pop(PASSWORD_ENV, None)
    c.ClaimingPasswordAuthenticator.claim_usernames = s.claim_usernames
    c.ClaimingPasswordAuthenticator.claims_file = str(state / "claims.json")
    c.Authenticator.allow_all = True

    c.JupyterHub.spawner_class = "hubtrain.practice.spawner.PracticeSpawner"
    c.PracticeSpawner.profile_list = s.profile_list
    c.PracticeSpawner.server_defaults = s.server_defaults
    c.PracticeSpawner.home_dir_template = str(state / "homes" / "{username}")
    c.PracticeSpawner.notebook_dir = str(state / "homes" / "{username}")
    c.PracticeSpawner.default_url = s.default_url
    c.PracticeSpawner.cmd = [str(Path(s.bin_dir) / "jupyterhub-singleuser")]
    c.PracticeSpawner.environment = {**s.server_env, "JUPYTER_CONFIG_PATH": str(state / "jupyter")}
    c.PracticeSpawner.shared_dirs = {name: str(state / "shared" / name) for name in s.shared_dirs}
    c.PracticeSpawner.writable_shared_dirs = s.writable_shared_dirs
    # Confined servers see their home, the shared folders and this configuration,
    # nothing else of the state folder or the repository (see PracticeSpawner).
    c.PracticeSpawner.confine = s.confine
    c.PracticeSpawner.readable_paths = [str(state / "jupyter")]
    c.PracticeSpawner.system_dir = str(state / "server-etc")
    c.PracticeSpawner.start_timeout = 120
    c.PracticeSpawner.http_timeout = 120

    c.JupyterHub.services = [
        {
            "name": "course",
            "url": f"http://127.0.0.1:{s.course_port}",
            "command": [python, "-m", "hubtrain.practice.course", s.course_root],
            "display": False,
        }
    ]
    roles = []
    if s.idle_timeout:
        c.JupyterHub.services.append(
            {
                "name": "idle-culler",
                "command": [
                    python,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={s.idle_timeout}",
                    f"--cull-every={_cull_every(s.idle_timeout)}",
                    f"--max-age={s.max_age}",
                ],
                "display": False,
            }
        )
        roles.append(
            {
                "name": "idle-culler",
                "scopes": [
                    "list:users",
                    "read:users:activity",
                    "read:servers",
                    "delete:servers",
                ],
                "services": ["idle-culler"],
            }
        )
    rehearsal_token = os.environ.pop(REHEARSAL_TOKEN_ENV, None)
    if rehearsal_token:
        # An API-only service (no URL, no command), as on Zero to JupyterHub:
        # hub.services.<name>.apiToken plus a role in hub.loadRoles.
        c.JupyterHub.services.append(
            {"name": "rehearsal", "api_token": rehearsal_token, "display": False}
        )
        roles.append({"name": "rehearsal", "scopes": REHEARSAL_SCOPES, "services": ["rehearsal"]})
    room_token = os.environ.pop(ROOM_TOKEN_ENV, None)
    if room_token:
        c.JupyterHub.services.append({"name": "room", "api_token": room_token, "display": False})
        roles.append({"name": "room", "scopes": ROOM_SCOPES, "services": ["room"]})
        c.JupyterHub.load_groups = {ROOM_GROUP: {"users": []}}
    c.JupyterHub.load_roles = roles
