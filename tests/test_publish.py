"""Publishing the student release: normal commits that real nbgitpuller can merge."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from nbgitpuller.pull import GitPuller

from hubtrain.cli import main
from hubtrain.course.publish import PublishError, git_env, is_remote, publish
from hubtrain.course.release import LeakError

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True, check=True
    ).stdout.strip()


def _notebook(path: Path, *sources: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(notebook, path)


def _release(folder: Path, version: int) -> Path:
    """A small student release; version 2 changes one notebook and adds another."""
    _notebook(folder / "01-login" / "login.ipynb", "name = None  # your username here")
    _notebook(folder / "02-profiles" / "profiles.ipynb", f"print('profiles, version {version}')")
    if version >= 2:
        _notebook(folder / "03-nbgitpuller" / "nbgitpuller.ipynb", "print('new module')")
    return folder


def _pull(repo: Path, clone: Path, branch: str = "student") -> None:
    """Run real nbgitpuller as its server extension does: consume every output line."""
    for _ in GitPuller(str(repo), str(clone), branch=branch).pull():
        pass


def test_publish_twice_and_nbgitpuller_keeps_learner_edit(tmp_path: Path) -> None:
    """A learner who pulled v1 and edited a notebook gets v2 and keeps the edit."""
    remote = tmp_path / "course.git"
    first = publish(_release(tmp_path / "v1", 1), str(remote), "student", exercises=EXERCISES)
    assert _git(remote, "rev-parse", "refs/heads/student") == first
    # A new bare repository names the course branch as its default.
    assert _git(remote, "symbolic-ref", "HEAD") == "refs/heads/student"

    clone = tmp_path / "home" / "hubtrain-course"
    _pull(remote, clone)
    login = clone / "01-login" / "login.ipynb"
    notebook = nbformat.read(login, as_version=4)
    notebook.cells[0].source = "name = 'ada'  # the learner's answer"
    nbformat.write(notebook, login)

    second = publish(_release(tmp_path / "v2", 2), str(remote), "student", exercises=EXERCISES)
    assert second != first
    # A normal commit on top of the previous one, never a rewrite.
    assert _git(remote, "rev-parse", f"{second}^") == first

    _pull(remote, clone)
    assert "name = 'ada'" in login.read_text()
    assert "version 2" in (clone / "02-profiles" / "profiles.ipynb").read_text()
    assert (clone / "03-nbgitpuller" / "nbgitpuller.ipynb").exists()
    assert (clone / ".gitignore").read_text().startswith(".ipynb_checkpoints/")


def test_republishing_unchanged_release_makes_no_commit(tmp_path: Path) -> None:
    remote = tmp_path / "course.git"
    release = _release(tmp_path / "release", 1)
    first = publish(release, str(remote), "student", exercises=EXERCISES)
    assert publish(release, str(remote), "student", exercises=EXERCISES) == first
    assert _git(remote, "rev-list", "--count", "student") == "1"


def test_files_removed_from_release_leave_the_branch(tmp_path: Path) -> None:
    remote = tmp_path / "course.git"
    publish(_release(tmp_path / "v2", 2), str(remote), "student", exercises=EXERCISES)
    publish(_release(tmp_path / "v1", 1), str(remote), "student", exercises=EXERCISES)
    files = _git(remote, "ls-tree", "-r", "--name-only", "student").splitlines()
    assert "03-nbgitpuller/nbgitpuller.ipynb" not in files
    assert "01-login/login.ipynb" in files


def test_checkpoints_are_never_published(tmp_path: Path) -> None:
    release = _release(tmp_path / "release", 1)
    _notebook(release / "01-login" / ".ipynb_checkpoints" / "login-checkpoint.ipynb", "x = 1")
    remote = tmp_path / "course.git"
    publish(release, str(remote), "student", exercises=EXERCISES)
    files = _git(remote, "ls-tree", "-r", "--name-only", "student").splitlines()
    assert not [f for f in files if "checkpoint" in f]
    assert ".gitignore" in files


def test_refuses_to_publish_a_solution(tmp_path: Path) -> None:
    release = _release(tmp_path / "release", 1)
    _notebook(
        release / "01-login" / "leak.ipynb", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"
    )
    remote = tmp_path / "course.git"
    with pytest.raises(LeakError, match=r"leak\.ipynb"):
        publish(release, str(remote), "student", exercises=EXERCISES)
    assert not remote.exists()


def test_refuses_a_hidden_test_into_an_existing_branch(tmp_path: Path) -> None:
    remote = tmp_path / "course.git"
    first = publish(_release(tmp_path / "v1", 1), str(remote), "student", exercises=EXERCISES)
    release = _release(tmp_path / "v2", 2)
    _notebook(release / "02-profiles" / "check.ipynb", "### BEGIN HIDDEN TESTS\nassert True")
    with pytest.raises(LeakError):
        publish(release, str(remote), "student", exercises=EXERCISES)
    assert _git(remote, "rev-parse", "student") == first


def test_someone_elses_push_is_not_overwritten(tmp_path: Path) -> None:
    """If the branch moved since we fetched it, nothing is forced over it."""
    remote = tmp_path / "course.git"
    publish(_release(tmp_path / "v1", 1), str(remote), "student", exercises=EXERCISES)
    other = tmp_path / "other"
    _git(tmp_path, "clone", "--quiet", "--branch", "student", str(remote), str(other))
    (other / "NOTE.md").write_text("added by hand\n")
    _git(other, "add", "NOTE.md")
    _git(other, "commit", "--quiet", "-m", "hand edit")
    _git(other, "push", "--quiet", "origin", "student")
    hand = _git(remote, "rev-parse", "student")
    after = publish(_release(tmp_path / "v2", 2), str(remote), "student", exercises=EXERCISES)
    assert _git(remote, "rev-parse", f"{after}^") == hand


def test_local_path_that_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(PublishError, match="not a git repository"):
        publish(
            _release(tmp_path / "r", 1), str(tmp_path / "plain"), "student", exercises=EXERCISES
        )


@pytest.mark.parametrize(
    ("repo", "remote"),
    [
        ("https://github.com/org/course", True),
        ("git@github.com:org/course.git", True),
        ("file:///srv/course.git", True),
        ("ssh://git@host/course", True),
        ("/srv/git/course.git", False),
        ("build/course.git", False),
    ],
)
def test_remote_or_local(repo: str, remote: bool) -> None:
    assert is_remote(repo) is remote


@pytest.mark.slow
def test_cli_builds_and_publishes_to_content_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hubtrain publish --hub FILE` makes the real nbgrader release and pushes it."""
    data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
    data["content"] = {"repo": str(tmp_path / "published.git"), "branch": "learners"}
    hub_file = tmp_path / "hub.yml"
    hub_file.write_text(yaml.safe_dump(data))
    args = ["publish", "--hub", str(hub_file), "--root", str(ROOT), "--out", str(tmp_path)]
    assert main(args) == 0
    assert "Published" in capsys.readouterr().out
    remote = tmp_path / "published.git"
    files = _git(remote, "ls-tree", "-r", "--name-only", "learners").splitlines()
    assert "01-login/login.ipynb" in files
    assert "01-login/hub.json" in files
    facts = json.loads(_git(remote, "show", "learners:01-login/hub.json"))
    assert facts["content"]["branch"] == "learners"


def test_cli_reports_a_bad_target_in_one_line_before_building(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").mkdir()
    hub = str(ROOT / "hubs" / "practice.yml")
    args = ["publish", "--hub", hub, "--root", str(ROOT), "--out", str(tmp_path)]
    code = main([*args, "--repo", str(tmp_path / "plain")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"hubtrain: {tmp_path / 'plain'}: exists but is not a git repository"
    assert not (tmp_path / "_build").exists()
