"""The hub's REST API as the rehearsal's service token sees it.

The token comes from an environment variable only (never a flag or a file), is
sent only to the hub file's own address, and every request that would leave
that address (a redirect to another host) is refused, so a typo in a hub file
or a hostile redirect cannot hand the token to someone else.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlparse

import requests

__all__ = ["NEEDED_SCOPES", "TOKEN_ENV", "HubAPI", "HubAPIError"]

TOKEN_ENV = "HUBTRAIN_HUB_TOKEN"
# What the rehearsal does with the hub: create and delete users, start and stop
# their servers, give each a token for its own server, and (if asked) groups.
NEEDED_SCOPES = ("admin:users", "admin:servers", "tokens")
GROUP_SCOPE = "groups"
TIMEOUT = 30.0


class HubAPIError(RuntimeError):
    """The hub refused or cannot be reached; `str()` is one line."""


def same_origin(url: str, base: str) -> bool:
    a, b = urlparse(url), urlparse(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


class HubAPI:
    """Admin calls to `/hub/api/` with the service token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/"
        self.api = self.base + "hub/api/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        # Never pick up a token from ~/.netrc or proxies from the environment
        # for loopback hubs: what we send is exactly what we mean to send.
        self.session.trust_env = False

    def request(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        """One API call; a status outside `ok` is a HubAPIError naming the call."""
        url = urljoin(self.api, path)
        try:
            reply = self.session.request(
                method, url, timeout=kw.pop("timeout", TIMEOUT), allow_redirects=False, **kw
            )
        except requests.ConnectionError:
            raise HubAPIError(f"cannot reach the hub at {self.base} (connection failed)") from None
        except requests.Timeout:
            raise HubAPIError(
                f"the hub at {self.base} did not answer within {TIMEOUT:.0f} s"
            ) from None
        if reply.is_redirect:
            target = urljoin(url, reply.headers.get("Location", ""))
            if not same_origin(target, self.base):
                raise HubAPIError(f"refusing to follow {url} to {target}: not the hub file's hub")
        if reply.status_code not in ok:
            raise HubAPIError(f"{method} {url} answered HTTP {reply.status_code}: {_reason(reply)}")
        return (
            reply.json()
            if reply.content and "json" in reply.headers.get("Content-Type", "")
            else None
        )

    # -- who we are ----------------------------------------------------------

    def check(self, groups: bool = False) -> dict[str, Any]:
        """Make sure this is a JupyterHub that accepts the token with the scopes we need."""
        info = self.request("GET", "")  # the version, no token needed
        if not isinstance(info, dict) or "version" not in info:
            raise HubAPIError(
                f"{self.base} does not answer like a JupyterHub (no /hub/api/ version)"
            )
        try:
            me = self.request("GET", "user")
        except HubAPIError as exc:
            if " HTTP 403" in str(exc) or " HTTP 401" in str(exc):
                raise HubAPIError(
                    f"the hub at {self.base} does not accept the token in ${TOKEN_ENV} (HTTP 403)"
                ) from None
            raise
        have = set(me.get("scopes", []))
        needed = [*NEEDED_SCOPES, *([GROUP_SCOPE] if groups else [])]
        missing = [s for s in needed if s not in have]
        if missing:
            raise HubAPIError(
                f"the token in ${TOKEN_ENV} lacks the scopes {', '.join(missing)} "
                "(give its service a role with them)"
            )
        return me

    # -- users -------------------------------------------------------------

    def users_named(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every user whose name starts with `prefix` (paged, however many there are)."""
        offset = 0
        headers = {"Accept": "application/jupyterhub-pagination+json"}
        while True:
            page = self.request(
                "GET",
                "users",
                params={"name_filter": prefix, "offset": offset, "limit": 200},
                headers=headers,
            )
            items = page["items"]
            yield from (u for u in items if u["name"].startswith(prefix))
            nxt = (page.get("_pagination") or {}).get("next")
            if not items or not nxt:
                return
            offset = nxt["offset"]

    def create_users(self, names: list[str]) -> None:
        self.request("POST", "users", ok=(201,), json={"usernames": names})

    def add_to_group(self, group: str, names: list[str]) -> None:
        try:
            self.request("POST", f"groups/{quote(group, safe='')}/users", json={"users": names})
        except HubAPIError as exc:
            if "HTTP 404" in str(exc):
                raise HubAPIError(f"the hub has no group {group!r} (create it first)") from None
            raise

    def delete_user(self, name: str, wait: float = 300.0) -> None:
        """Stop the user's server, then delete the user.

        The hub cannot delete a user while a server is starting or stopping
        (JupyterHub answers 500 or 400), so this waits for a pending spawn to
        end, stops a running server, and only then deletes.
        """
        path = f"users/{quote(name, safe='')}"
        deadline = time.monotonic() + wait
        while True:
            model = self.request("GET", path, ok=(200, 404)) or {}
            if model.get("name") != name:
                return  # already gone
            servers = model.get("servers") or {}
            pending = model.get("pending") or any(s.get("pending") for s in servers.values())
            if not pending and not servers:
                self.request("DELETE", path, ok=(204, 404))
                return
            if time.monotonic() > deadline:
                raise HubAPIError(f"{name}'s server did not stop within {wait:.0f} s")
            if not pending:
                self.request("DELETE", f"{path}/server", ok=(202, 204, 400, 404))
            time.sleep(1)

    def user_token(self, name: str, scopes: list[str], note: str) -> str:
        reply = self.request(
            "POST",
            f"users/{quote(name, safe='')}/tokens",
            ok=(200, 201),
            json={"scopes": scopes, "note": note, "expires_in": 4 * 3600},
        )
        return reply["token"]


def _reason(reply: requests.Response) -> str:
    try:
        message = reply.json().get("message")
    except ValueError:
        message = None
    return str(message or reply.reason or "no message").splitlines()[0][:200]
