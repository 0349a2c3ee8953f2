"""Why a pull failed, in words a TA can act on: git's own message and the repository's answer.

nbgitpuller reports a failed `git ls-remote` as "Remote content unavailable" and
keeps git's message to itself (it captures git's output and raises with the
command only). A wrong URL, a private repository and an overloaded server then
look alike. The rehearsal asks the repository itself, from this machine, once
per failed pull.
"""

from __future__ import annotations

import os
import subprocess

import requests

__all__ = ["git_said", "repository_cause"]

# Long enough for an overloaded server to answer; a pull failure waits this at most twice.
PROBE_SECONDS = 20


def git_said(lines: list[str]) -> str:
    """git's last message in nbgitpuller's output lines ("" if there is none).

    nbgitpuller echoes each command it runs as `$ git ...`; git's own lines are
    the rest, and its reason comes last ("fatal: ...", "error: ...").
    """
    said = [line.strip() for line in lines if line.strip() and not line.startswith("$ ")]
    reasons = [line for line in said if line.startswith(("fatal:", "error:"))]
    return (reasons or said or [""])[-1]


def repository_cause(repo: str) -> str:
    """What `repo` says from this machine: git's message, and the HTTP status of its refs."""
    parts = []
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LANG": "C"}
    try:
        done = subprocess.run(
            ["git", "ls-remote", "--heads", "--", repo],
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            env=env,
        )
        if done.returncode:
            message = git_said(done.stderr.splitlines()) or f"exit status {done.returncode}"
            parts.append(f"git ls-remote from here: {message}")
        else:
            parts.append("git ls-remote from here works")
    except subprocess.TimeoutExpired:
        parts.append(f"git ls-remote from here got no answer within {PROBE_SECONDS} s")
    except OSError as exc:
        parts.append(f"git could not run here ({exc})")
    if repo.startswith(("http://", "https://")):
        refs = repo.rstrip("/") + "/info/refs?service=git-upload-pack"
        try:
            reply = requests.get(refs, timeout=PROBE_SECONDS)
            parts.append(f"the course repository answers HTTP {reply.status_code}")
        except requests.RequestException as exc:
            parts.append(f"the course repository cannot be reached ({type(exc).__name__})")
    return "; ".join(parts)
