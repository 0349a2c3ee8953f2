"""nbgitpuller links: one pure function builds them, everything else calls it."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

from hubtrain.hubfile.config import HubConfig

__all__ = ["exercise_link", "nbgitpuller_link", "valid_server_name"]

# JupyterHub 6's rule for new named servers (jupyterhub/slugs.py, is_valid_safe_slug):
# 1-30 characters, lowercase ASCII letters, digits and single hyphens, starting with a
# letter and ending with a letter or digit.
_SERVER_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")


def valid_server_name(name: str) -> bool:
    """True when JupyterHub 6 accepts `name` for a new named server."""
    return len(name) <= 30 and _SERVER_NAME.fullmatch(name) is not None


def nbgitpuller_link(
    hub_url: str,
    repo: str,
    path: str = "",
    *,
    branch: str = "",
    app: str = "lab",
    target_dir: str = "",
    server_name: str = "",
    user_name: str = "",
) -> str:
    """Build the link that clones or updates `repo` on the learner's server.

    `path` is relative to the clone. The file part of the link (`urlpath`) names the
    clone directory explicitly: nbgitpuller's default is the last part of the repo
    URL, *including* a trailing `.git`, so when `target_dir` is empty we reproduce
    that default and when it is set we pass it as `targetPath` too. `app` is `lab`
    (JupyterLab) or `tree` (the classic file view).

    For the default server the link goes through `/hub/user-redirect/`, so one link
    serves every learner. A named server needs its owner's name: JupyterHub's
    user-redirect always goes through the *default* server's spawn page first
    (jupyterhub/handlers/base.py, UserRedirectHandler), so the link goes to the named
    server's own spawn page, `/hub/spawn/<user>/<server>?next=/user/<user>/<server>/
    git-pull?...`, which starts that server (options form included) if it is stopped
    and then sends the learner on to the pull (jupyterhub/handlers/pages.py).
    """
    if app not in ("lab", "tree"):
        raise ValueError(f"app must be 'lab' or 'tree', not {app!r}")
    if "token=" in repo:
        raise ValueError("never put a token in an nbgitpuller link")
    directory = target_dir.strip("/") or repo.rstrip("/").rsplit("/", 1)[-1]
    file_path = "/".join(part for part in (directory, path.strip("/")) if part)
    urlpath = f"lab/tree/{file_path}" if app == "lab" else f"tree/{file_path}"
    params = {"repo": repo}
    if branch:
        params["branch"] = branch
    if target_dir:
        params["targetPath"] = directory
    params["urlpath"] = urlpath
    query = urlencode(params, safe="/", quote_via=quote)
    hub = hub_url.rstrip("/")
    if not server_name:
        return f"{hub}/hub/user-redirect/git-pull?{query}"
    if not valid_server_name(server_name):
        raise ValueError(
            f"server name {server_name!r} is not one JupyterHub accepts: 1-30 lowercase"
            " letters, digits and single hyphens, starting with a letter"
        )
    if not user_name:
        raise ValueError("a link to a named server must name its user (the learner's username)")
    user = quote(user_name, safe="@~")  # as JupyterHub escapes names in its own URLs
    pull = f"{urlsplit(hub).path}/user/{user}/{server_name}/git-pull?{query}"
    next_query = urlencode({"next": pull}, safe="/", quote_via=quote)
    return f"{hub}/hub/spawn/{user}/{server_name}?{next_query}"


def exercise_link(
    hub: HubConfig, path: str = "", hub_url: str = "", *, server_name: str = "", user_name: str = ""
) -> str:
    """The link that opens `path` of the student release on `hub`.

    `hub_url` replaces the hub file's URL (the practice hub on another port, or the
    learner's own hub chosen in the book). `server_name` and `user_name` make a link
    to one learner's named server (see `nbgitpuller_link`).
    """
    return nbgitpuller_link(
        hub_url or hub.url,
        hub.content.repo,
        path,
        branch=hub.content.branch,
        app=hub.server.default_url.strip("/"),
        target_dir=hub.content.target_dir,
        server_name=server_name,
        user_name=user_name,
    )
