"""What the room reads from the hub, with the TA's token and nothing else.

The token comes from `$HUBTRAIN_HUB_TOKEN` only (never a flag or a file), goes
only to the hub file's own address, and no redirect is followed, so it cannot
be handed to another host. The room reads two things: the hub's user list
(server state and activity) and, from each running learner server, the one
file `hubtrain-progress.json` through Jupyter Server's contents API.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

__all__ = ["NEEDED_SCOPES", "PROGRESS_FILE", "TOKEN_ENV", "Reader", "RecordRead", "RoomError"]

TOKEN_ENV = "HUBTRAIN_HUB_TOKEN"
# The learner runtime writes it here (hubcheck.py's PROGRESS_FILE), not hidden,
# because the contents API refuses hidden paths unless the server allows them.
PROGRESS_FILE = "hubtrain-progress.json"
# List the learners; read their activity and server state; open the one file.
NEEDED_SCOPES = ("list:users", "read:users:activity", "read:servers", "access:servers")
TIMEOUT = 10.0


class RoomError(RuntimeError):
    """The hub refused, cannot be reached, or the token lacks scopes; one line."""


@dataclass(frozen=True)
class RecordRead:
    """One learner's progress record as read now.

    `status` is "ok" (data is the record), "same" (unchanged since `etag`),
    "none" (no check run yet), "refused" (the server said 403) or "unreachable".
    """

    status: str
    data: dict[str, Any] | None = None
    etag: str = ""


def _has(scopes: set[str], base: str) -> bool:
    return any(s == base or s.startswith(base + "!") for s in scopes)


def _filters(scopes: set[str], base: str) -> list[str]:
    return [s.partition("!")[2] for s in scopes if s.startswith(base + "!")]


class Reader:
    """Calls to the hub and to learners' servers, counted (for the benchmark)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/"
        parts = urlsplit(self.base)
        self.origin = f"{parts.scheme}://{parts.netloc}/"
        self._token = token
        self._local = threading.local()
        self._lock = threading.Lock()
        self.requests = 0
        self.unchanged = 0  # records answered 304: no body sent

    @classmethod
    def from_env(cls, base_url: str) -> Reader:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise RoomError(
                f"set ${TOKEN_ENV} to the room service's API token "
                "(the instructors' page 'Run the room' says how to make one)"
            )
        return cls(base_url, token)

    def _session(self) -> requests.Session:
        # One session per thread: connections are reused, never shared mid-request.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"token {self._token}"
            # Nothing from ~/.netrc or proxy variables: we send exactly what we mean.
            session.trust_env = False
            self._local.session = session
        return session

    def get(self, path: str, **kw: Any) -> requests.Response:
        """GET `path` (relative to the hub's address); connection errors are RoomError."""
        with self._lock:
            self.requests += 1
        try:
            return self._session().get(
                self.base + path, timeout=TIMEOUT, allow_redirects=False, **kw
            )
        except requests.RequestException as exc:
            raise RoomError(f"cannot reach the hub at {self.base} ({type(exc).__name__})") from None

    def scopes(self) -> set[str]:
        """The token's scopes, as the hub expands them; RoomError if it is refused."""
        me = self.get("hub/api/user")
        if me.status_code in (401, 403):
            raise RoomError(f"the hub at {self.base} does not accept the token in ${TOKEN_ENV}")
        return set(_json(me).get("scopes", []))

    def list_scopes(self) -> list[str]:
        """The hub-side scopes the room needs, with the filter the token has (or none)."""
        have = self.scopes()
        if not _has(have, "list:users"):
            raise RoomError(f"the token in ${TOKEN_ENV} lacks the scope list:users")
        kept = [] if "list:users" in have else _filters(have, "list:users")
        bases = ("list:users", "read:users:activity", "read:servers")
        return [f"{base}!{f}" for base in bases for f in kept] or list(bases)

    def check(self) -> str:
        """Make sure the token has what the room needs; return who the room shows."""
        reply = self.get("hub/api/")
        if reply.status_code != 200 or "version" not in _json(reply):
            raise RoomError(f"{self.base} does not answer like a JupyterHub (no /hub/api/)")
        scopes = self.scopes()
        missing = [s for s in NEEDED_SCOPES if not _has(scopes, s)]
        if missing:
            raise RoomError(
                f"the token in ${TOKEN_ENV} lacks the scopes {', '.join(missing)}: give its "
                "service the role on the instructors' page 'Run the room'"
            )
        access = _filters(scopes, "access:servers")
        if "access:servers" not in scopes and all(f.startswith("group=") for f in access):
            raise RoomError(
                f"the token in ${TOKEN_ENV} has access:servers only as !{access[0]}, which "
                "learners' servers cannot check (JupyterHub resolves groups in the hub only): "
                "use access:servers, or access:servers!user=NAME for each learner"
            )
        groups = [f[6:] for f in _filters(scopes, "list:users") if f.startswith("group=")]
        if "list:users" in scopes or not groups:
            return "every learner the token may list"
        return "group " + ", ".join(sorted(groups))

    def learners(self) -> list[dict[str, Any]]:
        """Every user the token may list, with servers (stopped ones too), paged."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            reply = self.get(
                "hub/api/users",
                params={"include_stopped_servers": "1", "offset": offset, "limit": 200},
                headers={"Accept": "application/jupyterhub-pagination+json"},
            )
            if reply.status_code != 200:
                raise RoomError(f"the hub's user list answered HTTP {reply.status_code}")
            page = _json(reply)
            items = page.get("items", [])
            found += items
            following = (page.get("_pagination") or {}).get("next")
            if not items or not following:
                return found
            offset = following["offset"]

    def record(self, server_url: str, etag: str = "") -> RecordRead:
        """The learner's progress record, read from the running server at `server_url`
        (the path the hub gives, such as "/user/ann/")."""
        if not server_url.startswith("/") or "//" in server_url:
            return RecordRead("unreachable")  # not a path on the hub's own address
        path = urljoin(self.origin, server_url).removeprefix(self.base)
        if path.startswith(("http:", "https:")):
            return RecordRead("unreachable")  # outside the hub file's address
        headers = {"If-None-Match": etag} if etag else {}
        try:
            reply = self.get(
                path.rstrip("/") + f"/api/contents/{PROGRESS_FILE}",
                params={"type": "file", "format": "text"},
                headers=headers,
            )
        except RoomError:
            return RecordRead("unreachable")
        if reply.status_code == 304:
            with self._lock:
                self.unchanged += 1
            return RecordRead("same", etag=etag)
        if reply.status_code == 404:
            return RecordRead("none")
        if reply.status_code == 403:
            return RecordRead("refused")
        if reply.status_code != 200:
            return RecordRead("unreachable")
        try:
            data = json.loads(_json(reply).get("content") or "{}")
        except ValueError:
            data = None  # half-written or edited by hand: keep what we had
        if not isinstance(data, dict):
            return RecordRead("unreachable")
        return RecordRead("ok", data, reply.headers.get("Etag", ""))


def _json(reply: requests.Response) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
