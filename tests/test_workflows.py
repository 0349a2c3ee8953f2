"""The shipped publishing workflows, checked here rather than discovered broken on GitHub.

The files are linted (actionlint, zizmor), and their own shell steps are run
locally: the commands are read from the workflow YAML and run as GitHub and GitLab
would run them, in a copy of this repository, with a hub file written by
`hubtrain init` whose content repository is a local bare repository. So the
workflows, the Makefile and `hubtrain publish` cannot drift apart unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubtrain.cli import main
from hubtrain.course.publish import git_env
from hubtrain.course.release import find_leaks

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GITHUB_WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
GITLAB_CI = ROOT / ".gitlab-ci.yml"
HUB_FILE = "hubs/workflow-check.yml"
# What the expressions of the workflow stand for in this test; an expression not
# listed here fails the test, so a new one cannot slip in untried.
EXPRESSIONS = {
    "vars.HUBTRAIN_HUB": HUB_FILE,
    "secrets.HUBTRAIN_PUBLISH_TOKEN || github.token": "token-not-used-by-a-local-remote",
}
# Actions cannot run here; these are the only ones the workflow may use.
ACTIONS = {
    "actions/checkout",  # the copy of the repository below stands for it
    "actions/setup-python",  # this test's Python 3.11 environment stands for it
    "actions/upload-pages-artifact",  # its `path` is checked after the build
    "actions/deploy-pages",
}
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_github_workflow_passes_actionlint() -> None:
    result = subprocess.run(
        [str(BIN / "actionlint"), "-no-color"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_passes_zizmor() -> None:
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", str(GITHUB_WORKFLOW.parent)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_pins_every_action_by_commit_and_starts_switched_off() -> None:
    text = GITHUB_WORKFLOW.read_text(encoding="utf-8")
    uses = [line for line in text.splitlines() if "uses:" in line]
    assert uses
    for line in uses:
        match = PINNED.match(line)
        assert match, f"not pinned to a full commit SHA with a version comment: {line.strip()}"
        assert match[1] in ACTIONS, f"{match[1]} cannot be stood in for by the local run"
    jobs = yaml.safe_load(text)["jobs"]
    assert "vars.HUBTRAIN_HUB != ''" in jobs["build"]["if"]
    assert jobs["deploy"]["needs"] == "build"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this repository's files (as a checkout would be) plus a hub file
    from `hubtrain init` that publishes to a local bare repository."""
    copy = tmp_path_factory.mktemp("workflow") / "course"
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    # The steps' `make` finds the installed environment up to date (an older
    # requirements.txt), so it neither reinstalls nor re-points it at the copy.
    (copy / ".venv").symlink_to(BIN.parent)
    installed = (BIN / ".installed").stat().st_mtime
    for name in ("requirements.txt", "pyproject.toml"):
        os.utime(copy / name, (installed - 60, installed - 60))
    remote = copy.parent / "student.git"
    _git(copy.parent, "init", "--quiet", "--bare", str(remote))
    status = main(
        [
            "init",
            "--no-input",
            "--file",
            str(copy / HUB_FILE),
            "--root",
            str(copy),
            "--name",
            "Workflow Check Hub",
            "--url",
            "https://hub.workflow-check.example.org",
            "--profile",
            "Standard;cpu_limit=2;mem_limit=4G",
            "--content-repo",
            str(remote),
        ]
    )
    assert status == 0
    return copy


def _expand(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        expression = match[1].strip()
        if expression not in EXPRESSIONS:
            pytest.fail(f"the workflow uses ${{{{ {expression} }}}}; say in EXPRESSIONS what it is")
        return EXPRESSIONS[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", replace, str(value))


def _run(script: str, cwd: Path, env: dict[str, Any]) -> None:
    """Run a step's script the way `shell: bash` does on GitHub (and GitLab's bash)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "VIRTUAL_ENV"))}
    full.update({key: _expand(value) for key, value in env.items()})
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _published(remote: Path, tmp: Path) -> Path:
    """A clone of the student branch, the way learners get it."""
    clone = tmp / "learner"
    shutil.rmtree(clone, ignore_errors=True)
    _git(tmp, "clone", "--quiet", "--branch", "student", str(remote), str(clone))
    return clone


def test_github_workflow_steps_build_and_publish_locally(course: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load(GITHUB_WORKFLOW.read_text(encoding="utf-8"))
    assert workflow["defaults"]["run"]["shell"] == "bash"
    job = workflow["jobs"]["build"]
    remote = course.parent / "student.git"
    upload = ""
    scripts = []
    for step in job["steps"]:
        if "run" in step:
            scripts.append((step["run"], {**job.get("env", {}), **step.get("env", {})}))
        elif step["uses"].startswith("actions/upload-pages-artifact@"):
            upload = step["with"]["path"]
    assert len(scripts) == 2 and upload

    for script, env in scripts:
        _run(script, course, env)
    assert (course / upload / "index.html").is_file()
    intro = course / upload / "book" / "intro.html"
    assert "Workflow Check Hub" in intro.read_text(encoding="utf-8")
    first = _git(remote, "rev-parse", "refs/heads/student")
    clone = _published(remote, tmp_path)
    assert sorted(p.name for p in clone.glob("*/*.ipynb"))
    assert find_leaks(ROOT / "exercises", clone) == []

    # The next push runs the publish step again: nothing changed, so no new commit.
    script, env = scripts[1]
    _run(script, course, env)
    assert _git(remote, "rev-parse", "refs/heads/student") == first


def test_gitlab_pipeline_script_builds_pages_and_publishes_locally(
    course: Path, tmp_path: Path
) -> None:
    pipeline = yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))
    job = pipeline["pages"]
    assert any("$HUBTRAIN_HUB" in rule["if"] for rule in job["rules"])
    remote = course.parent / "student.git"
    before = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "refs/heads/student"],
        cwd=remote,
        capture_output=True,
        text=True,
    ).stdout.strip()
    env = {
        "HUBTRAIN_HUB": HUB_FILE,
        "CI_SERVER_URL": "https://gitlab.example.org",
        "HUBTRAIN_PUBLISH_TOKEN": "token-not-used-by-a-local-remote",
    }
    _run("\n".join(job["script"]), course, env)
    (artifact,) = job["artifacts"]["paths"]
    intro = course / artifact / "book" / "intro.html"
    assert "Workflow Check Hub" in intro.read_text(encoding="utf-8")
    after = _git(remote, "rev-parse", "refs/heads/student")
    if before:  # published before by the GitHub steps: the same or a later commit
        _git(remote, "merge-base", "--is-ancestor", before, after)
    assert find_leaks(ROOT / "exercises", _published(remote, tmp_path)) == []
