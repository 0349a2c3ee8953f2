"""The course repository's address, opened in real Chromium: a page, accessible, while
git clones the same address. The course service runs on its own here (no hub), serving
a real bare repository made with git."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hubtrain.a11y.axe import run_axe
from hubtrain.course.links import nbgitpuller_link
from hubtrain.course.pageweight import serving
from hubtrain.practice.course import make_handler

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PREFIX = "/services/course/"
BRANCH = "student"


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The course service on a free port, serving `<root>/hubtrain-course` (bare)."""
    base = tmp_path_factory.mktemp("course-page")
    work = base / "work"
    work.mkdir()
    _git("init", "-q", "-b", BRANCH, cwd=work)
    (work / "01-login").mkdir()
    (work / "01-login" / "login.ipynb").write_text("{}")
    _git("add", ".", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "r", cwd=work)
    root = base / "course"
    root.mkdir()
    _git("clone", "-q", "--bare", str(work), str(root / "hubtrain-course"))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), make_handler(root, PREFIX))) as url:
        yield url


def test_the_repository_address_is_a_page_a_browser_shows(
    service: str, launched_chromium: Any, tmp_path: Path
) -> None:
    repo = f"{service}{PREFIX}hubtrain-course"
    with launched_chromium() as chromium:
        page = chromium.new_page()
        reply = page.goto(repo)
        assert reply is not None and reply.status == 200
        assert page.locator("h1").inner_text() == "The course repository of this practice hub"
        text = page.locator("main").inner_text()
        for said in (repo, f"{BRANCH} (the default branch)", "nbgitpuller", "git clone"):
            assert said in text, said
        pull = page.get_by_role("link", name="Copy or update the whole course on my server")
        assert pull.get_attribute("href") == nbgitpuller_link(service, repo, branch=BRANCH)
        violations = run_axe(page, "course repository page")
        assert violations == [], violations
        # The service's own address lists the repository, linked.
        page.goto(f"{service}{PREFIX}")
        assert run_axe(page, "course service page") == []
        page.get_by_role("link", name="hubtrain-course").click()
        assert page.url == repo
    # git, at the same address, still gets the repository.
    clone = tmp_path / "clone"
    _git("clone", "-q", "--depth", "1", "--branch", BRANCH, repo, str(clone))
    assert (clone / "01-login" / "login.ipynb").is_file()
