"""The page a browser gets at the course repository's address on the practice hub.

Module 3 links to the course repository, and nbgitpuller's own sync page names it,
so learners open that address in a browser. Git never asks for the repository's
bare address (it asks for `<repo>/info/refs`, `<repo>/git-upload-pack`, ...), so
the course service answers that one address with this page and everything else
with git's own server.
"""

from __future__ import annotations

import html
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hubtrain.course.links import nbgitpuller_link

__all__ = ["Branch", "branches", "course_page", "index_page"]


@dataclass(frozen=True)
class Branch:
    """A branch of a served repository, as the page shows it."""

    name: str
    updated: str  # the tip's commit date, ISO 8601
    default: bool


def branches(repo: Path) -> list[Branch]:
    """The branches of the bare repository `repo`, the default (HEAD) first."""
    run = {"capture_output": True, "text": True, "check": False}
    head = subprocess.run(["git", "-C", str(repo), "symbolic-ref", "--short", "HEAD"], **run)
    default = head.stdout.strip()
    refs = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "for-each-ref",
            "refs/heads",
            "--format=%(refname:short)%09%(committerdate:iso-strict)",
        ],
        **run,
    )
    found = []
    for line in refs.stdout.splitlines():
        name, _, updated = line.partition("\t")
        found.append(Branch(name, updated, name == default))
    return sorted(found, key=lambda b: (not b.default, b.name))


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em;"
    "line-height:1.5;color:#1a1a1a;background:#fff}code{background:#f2f2f2;padding:0 .2em;"
    "word-break:break-all}a{color:#0b57d0}"
)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def course_page(repo: Path, repo_url: str, hub_url: str) -> str:
    """The page for the repository `repo`, served at `repo_url` by the hub at `hub_url`."""
    found = branches(repo)
    e = html.escape
    items = "".join(
        f"<li><code>{e(b.name)}</code>"
        + (" (the default branch)" if b.default else "")
        + (f", last updated {e(b.updated)}" if b.updated else "")
        + "</li>\n"
        for b in found
    )
    listing = f"<ul>\n{items}</ul>\n" if found else "<p>It has no branches yet.</p>\n"
    branch = found[0].name if found else ""
    body = (
        "<h1>The course repository of this practice hub</h1>\n"
        f"<p>This address, <code>{e(repo_url)}</code>, is a git repository: the student "
        "copy of the course's exercise notebooks, published by <code>hubtrain hub</code> "
        "when the hub started. It has no web view of its files. Your server fetches it "
        "with nbgitpuller when you click an exercise link in the book.</p>\n"
        "<h2>Branches</h2>\n"
        f"{listing}"
        "<h2>How the book's links use it</h2>\n"
        "<p>Each exercise button in the book is an nbgitpuller link. It sends you to your "
        "server's <code>git-pull</code> page with this address as <code>repo</code> and "
        "the branch as <code>branch</code>. The first click copies the repository into a "
        "folder of your home named after its last part; later clicks bring in updates and "
        "keep your own changes.</p>\n"
    )
    if branch:
        link = nbgitpuller_link(hub_url, repo_url, branch=branch)
        body += (
            f'<p><a href="{e(link)}">Copy or update the whole course on my server</a> '
            "(you log in to the hub first if you have not).</p>\n"
            "<p>To copy it with git on your own computer instead, run:</p>\n"
            f"<pre><code>git clone --branch {e(branch)} {e(repo_url)}</code></pre>\n"
        )
    return _document("Course repository - practice hub", body)


def index_page(names: list[str], base_url: str) -> str:
    """The page at the course service's own address: the repositories it serves."""
    e = html.escape
    items = "".join(
        f'<li><a href="{e(base_url + name)}"><code>{e(name)}</code></a></li>\n' for name in names
    )
    body = (
        "<h1>Course repositories of this practice hub</h1>\n"
        "<p>This service serves the course to learners' servers as git repositories.</p>\n"
        + (f"<ul>\n{items}</ul>\n" if names else "<p>Nothing is published yet.</p>\n")
    )
    return _document("Course repositories - practice hub", body)
