"""Log-in for the practice hub: one room password, and usernames that stay claimed.

JupyterHub's `SharedPasswordAuthenticator` lets anyone with the password log in
as *any* user, so in a room one learner could open another's server. With
`claim_usernames` the first log-in under a name claims it: the hub gives that
browser a random claim (an HTTP-only cookie) and keeps only its hash in
`claims_file`; a later log-in under the same name must come with that claim.
Claims belong to the password they were made under: a hub restarted with a new
password is a new room, and names can be claimed afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from tornado import web
from traitlets import Bool, Unicode

__all__ = ["CLAIM_DAYS", "ClaimingPasswordAuthenticator", "claim_cookie"]

CLAIM_DAYS = 30


def claim_cookie(username: str) -> str:
    """The cookie that holds the claim on `username` (names may hold any character)."""
    return "hubtrain-claim-" + hashlib.sha256(username.encode()).hexdigest()[:16]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ClaimingPasswordAuthenticator(SharedPasswordAuthenticator):
    """`SharedPasswordAuthenticator`, plus: each username can be claimed once per password."""

    claim_usernames = Bool(
        False, config=True, help="The first log-in under a name claims it for that browser."
    )
    claims_file = Unicode("", config=True, help="Where the claims (hashes only) are kept.")

    def _room(self) -> str:
        # Claims are filed under a salted hash of the password, never the password.
        return _digest(f"hubtrain-room:{self.user_password}")

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(Path(self.claims_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("room") != self._room():
            data = {"room": self._room(), "users": {}}
        return data

    def _save(self, data: dict[str, Any]) -> None:
        path = Path(self.claims_file)
        staging = path.with_name(path.name + ".new")
        staging.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.chmod(staging, 0o600)
        staging.replace(path)

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, str]) -> Any:
        result = await super().authenticate(handler, data)
        if result is None or not self.claim_usernames:
            return result
        name = result["name"]
        claims = self._load()
        cookie = claim_cookie(name)
        held = handler.get_cookie(cookie) or ""
        known = claims["users"].get(name)
        if known is None:
            token = secrets.token_urlsafe(32)
            claims["users"][name] = _digest(token)
            self._save(claims)
            handler.set_cookie(
                cookie,
                token,
                path=handler.hub.base_url,
                expires_days=CLAIM_DAYS,
                httponly=True,
                samesite="Lax",
            )
            self.log.info("Username %s claimed", name)
            return result
        if held and secrets.compare_digest(_digest(held), known):
            return result
        self.log.warning("Refused a log-in as %s: the name is claimed by another browser", name)
        raise web.HTTPError(
            403,
            f"The username {name} is already taken on this hub. Choose another username "
            "(or log in from the browser that first used it).",
        )
