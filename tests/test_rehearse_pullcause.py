"""What a failed pull's row says: git's own message and the course repository's answer.

Against a real git over HTTP: a port nothing listens on, and the practice hub's
course service (run here on its own, as the hub runs it) with a missing repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hubtrain.localcloud.localenv import free_port
from hubtrain.rehearse.pullcause import git_said, repository_cause


def test_git_said_is_gits_reason_not_the_command() -> None:
    lines = [
        "$ git clone --depth 1 --branch main http://x/y /home/u/y",
        "Cloning into '/home/u/y'...",
        "fatal: unable to access 'http://x/y/': The requested URL returned error: 503",
    ]
    assert git_said(lines) == lines[-1]
    assert git_said(["$ git ls-remote --heads -- http://x/y"]) == ""


def test_a_port_nobody_listens_on_is_told_apart(tmp_path: Path) -> None:
    repo = f"http://127.0.0.1:{free_port()}/course.git"
    cause = repository_cause(repo)
    assert "Failed to connect" in cause and "cannot be reached (ConnectionError)" in cause


@pytest.fixture(scope="module")
def course_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The course service serving one bare repository, `course.git`, at /services/course/."""
    root = tmp_path_factory.mktemp("course")
    work = root / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README.md").write_text("course\n")
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "course"], check=True)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(root / "course.git")], check=True
    )
    port = free_port()
    env = {**os.environ, "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}"}
    service = subprocess.Popen(
        [sys.executable, "-m", "hubtrain.practice.course", str(root)], env=env
    )
    base = f"http://127.0.0.1:{port}/services/course/"
    try:
        for _ in range(300):
            try:
                requests.get(base + "course.git/info/refs", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        service.terminate()
        service.wait()


def test_a_missing_repository_is_a_404_with_gits_words(course_service: str) -> None:
    cause = repository_cause(course_service + "no-such-course.git")
    assert "the course repository answers HTTP 404" in cause
    assert "not found" in cause
    assert "works" in repository_cause(course_service + "course.git")
