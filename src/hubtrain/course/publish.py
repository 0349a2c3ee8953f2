"""`hubtrain publish`: commit the student release to the branch learners pull from.

Learners pull with nbgitpuller, which *merges* each new version into their clone.
A merge needs shared history, so every publish is an ordinary commit whose parent
is the branch's previous tip, pushed without force. Rewriting the branch would
leave every learner who pulled before with unrelated history ("backup and resync").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from hubtrain.course.release import (
    RELEASE_GITIGNORE,
    LeakError,
    find_leaks,
    hub_facts_text,
    public_lines,
)

__all__ = ["PublishError", "add_commands", "check_target", "git_env", "is_remote", "publish"]

DEFAULT_MESSAGE = "Update the student release"
# Files of a working copy that must never reach learners.
_NEVER_COPY = (".git", ".ipynb_checkpoints", "__pycache__", "*.pyc")
# `user@host:path` (scp-like git syntax) or `scheme://...`.
_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/@:]+@[^/:]+:)", re.IGNORECASE)


class PublishError(RuntimeError):
    """Publishing failed; `str()` says what to fix, in a line or two."""


def git_env() -> dict[str, str]:
    """The environment every git command here runs in.

    `LANG`/`LC_ALL=C` keep git's messages in English, so errors we pass on read the
    same everywhere. The author and committer are fixed because the branch holds
    generated files: the publish must work on a CI runner or a fresh hub terminal
    where no `user.name` is configured (git refuses to commit there), and the
    history should not record whichever person happened to run the command.
    `GIT_TERMINAL_PROMPT=0` makes a remote that needs credentials fail at once
    instead of waiting for a password nobody will type.
    """
    env = dict(os.environ)
    env.update(
        LANG="C",
        LC_ALL="C",
        GIT_AUTHOR_NAME="hubtrain publish",
        GIT_AUTHOR_EMAIL="hubtrain@users.noreply.github.com",
        GIT_COMMITTER_NAME="hubtrain publish",
        GIT_COMMITTER_EMAIL="hubtrain@users.noreply.github.com",
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def _git(*args: str, cwd: Path | None = None) -> str:
    """Run git; return its stdout, or raise `PublishError` with git's own message."""
    # Signing would need the user's key and an agent; generated commits are unsigned.
    command = ["git", "-c", "commit.gpgsign=false", *args]
    result = subprocess.run(command, cwd=cwd, env=git_env(), capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PublishError(f"git {args[0]} failed: {' / '.join(detail[-3:]) or 'no output'}")
    return result.stdout.strip()


def is_remote(repo: str) -> bool:
    """True for a git URL (`https://`, `ssh://`, `file://`, `git@host:path`), False for a path."""
    return bool(_REMOTE.match(repo))


def check_target(repo: str) -> None:
    """Raise `PublishError` if `repo` is a local path that cannot become the target.

    Cheap, so callers run it before the slow release build.
    """
    if is_remote(repo):
        return
    path = Path(repo).expanduser().resolve()
    if path.exists() and not (path / "HEAD").exists() and not (path / ".git").exists():
        raise PublishError(f"{path}: exists but is not a git repository")


def _target(repo: str, branch: str) -> str:
    """The repository to push to; a missing local path becomes a new bare repository."""
    check_target(repo)
    if is_remote(repo):
        return repo
    path = Path(repo).expanduser().resolve()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # The new repository's HEAD names the course branch, so a link without
        # `branch=` (nbgitpuller then uses the remote's default) still finds it.
        _git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
    return str(path)


def _remote_tip(target: str, branch: str) -> str:
    """The commit `branch` points to in `target`, or "" if the branch does not exist."""
    out = _git("ls-remote", "--heads", "--", target, f"refs/heads/{branch}")
    return out.split()[0] if out else ""


def publish(
    release: Path,
    repo: str,
    branch: str,
    *,
    exercises: Path,
    message: str = DEFAULT_MESSAGE,
    public: frozenset[str] = frozenset(),
) -> str:
    """Commit the contents of `release` to `branch` of `repo` and push; return the tip sha.

    `repo` is a local path (a bare repository is created if it is missing) or any
    git remote URL. The new commit's parent is the branch's current tip, so
    nbgitpuller can merge it into learners' existing clones; the push is never
    forced, so if someone else pushed in between it fails rather than rewriting.
    The branch gets exactly the release's files plus a `.gitignore` for
    checkpoints. If nothing changed, no commit is made and the current tip is
    returned. Raises `LeakError` (and pushes nothing) if any solution or hidden
    test from `exercises` is in the release (lines in `public`, the hub's own facts, are
    not secrets), and `PublishError` for git problems.
    """
    release = Path(release)
    if not release.is_dir() or not any(release.iterdir()):
        raise PublishError(f"{release}: no student release here (run `hubtrain release` first)")
    leaks = find_leaks(Path(exercises), release, public)
    if leaks:
        raise LeakError("refusing to publish, the release would leak:\n" + "\n".join(leaks[:20]))
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch) or branch.startswith(("-", "/")):
        raise PublishError(f"{branch!r} is not a usable branch name")
    target = _target(repo, branch)
    tip = _remote_tip(target, branch)
    with tempfile.TemporaryDirectory(prefix="hubtrain-publish-") as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(release, work, ignore=shutil.ignore_patterns(*_NEVER_COPY))
        gitignore = work / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(RELEASE_GITIGNORE, encoding="utf-8")
        _git("init", "--quiet", f"--initial-branch={branch}", cwd=work)
        if tip:
            # Only the tip is needed as the parent; the remote already has the rest.
            _git("fetch", "--quiet", "--depth=1", "--", target, f"refs/heads/{branch}", cwd=work)
            _git("update-ref", f"refs/heads/{branch}", tip, cwd=work)
        # The index starts empty, so the commit holds exactly the release's files:
        # anything removed from the release disappears from the branch too.
        _git("add", "--all", ".", cwd=work)
        tree = _git("write-tree", cwd=work)
        if tip and tree == _git("rev-parse", f"{tip}^{{tree}}", cwd=work):
            return tip
        parent = ["-p", tip] if tip else []
        sha = _git("commit-tree", tree, *parent, "-m", message, cwd=work)
        _git("push", "--quiet", "--", target, f"{sha}:refs/heads/{branch}", cwd=work)
    return sha


def cmd_publish(args: argparse.Namespace) -> int:
    """Build the student release for the hub, then publish it to `content.repo`."""
    from hubtrain.course.release import make_release
    from hubtrain.hubfile.cliutil import UsageError
    from hubtrain.hubfile.load import load_hub

    hub = load_hub(args.hub)
    root = Path(args.root).resolve()
    out = Path(args.out).resolve() if args.out else root
    repo = args.repo or hub.content.repo
    try:
        check_target(repo)
        release = make_release(hub, root / "exercises", out / "_build")
        sha = publish(
            release,
            repo,
            hub.content.branch,
            exercises=root / "exercises",
            message=args.message,
            public=public_lines(hub_facts_text(hub)),
        )
    except PublishError as exc:
        raise UsageError(str(exc)) from None
    print(f"Published {release} to branch {hub.content.branch} of {repo} at {sha[:12]}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `publish` on the CLI."""
    from hubtrain.hubfile.cliutil import add_hub

    parser = sub.add_parser(
        "publish", help="commit the student release to the branch learners pull from"
    )
    add_hub(parser)
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.add_argument("--out", default="", help="build the release in OUT/_build (default: ROOT)")
    parser.add_argument(
        "--repo", default="", help="publish here instead of the hub file's content.repo"
    )
    parser.add_argument("-m", "--message", default=DEFAULT_MESSAGE, help="the commit message")
    parser.set_defaults(func=cmd_publish)
