"""nbgitpuller links: one pure function builds them, everything else calls it."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from hubtrain.config import HubConfig

__all__ = ["exercise_link", "nbgitpuller_link"]


def nbgitpuller_link(
    hub_url: str,
    repo: str,
    path: str = "",
    *,
    branch: str = "",
    app: str = "lab",
    target_dir: str = "",
    server_name: str = "",
) -> str:
    """Build the link that clones or updates `repo` on the learner's server.

    `path` is relative to the clone. The file part of the link (`urlpath`) names the
    clone directory explicitly: nbgitpuller's default is the last part of the repo
    URL, *including* a trailing `.git`, so when `target_dir` is empty we reproduce
    that default and when it is set we pass it as `targetPath` too. `app` is `lab`
    (JupyterLab) or `tree` (the classic file view). A named server gets its name in
    the path (`/hub/user-redirect/<server>/git-pull`): a link cannot choose a
    profile, because it only runs after the server has started.
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
    server = f"/{quote(server_name, safe='')}" if server_name else ""
    query = urlencode(params, safe="/", quote_via=quote)
    return f"{hub_url.rstrip('/')}/hub/user-redirect{server}/git-pull?{query}"


def exercise_link(hub: HubConfig, path: str = "", hub_url: str = "") -> str:
    """The link that opens `path` of the student release on `hub`.

    `hub_url` replaces the hub file's URL (the practice hub on another port, or the
    learner's own hub chosen in the book).
    """
    return nbgitpuller_link(
        hub_url or hub.url,
        hub.content.repo,
        path,
        branch=hub.content.branch,
        app=hub.server.default_url.strip("/"),
        target_dir=hub.content.target_dir,
    )
