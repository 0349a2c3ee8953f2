"""The waiver ceiling may only go down: checked against what main had, from git itself.

A ceiling constant alone can be raised in the same commit as a new waiver, and a
test comparing the two would pass. So the number of waivers and the ceiling in the
working tree are compared with those of the commit this branch started from on
main (the merge base), or, on main itself, with the commit before. Git is the
record a reviewer can trust: a branch cannot change what main already holds.

A count that stays put is not enough either: deleting a fixed waiver and adding
another in the same commit would waive a new fault (a regression on a page main
already scans) without raising anything. So every waiver must also be one main
has, named by its scope, rule and element; only its reason and issue may change.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Ceiling", "base_commit", "ceiling_at", "raised"]

WAIVERS_FILE = "accessibility/waivers.yml"
CEILING_FILE = "src/hubtrain/a11y/waivers.py"
_CONSTANT = re.compile(r"^WAIVER_CEILING\s*=\s*(\d+)\s*$", re.MULTILINE)
MAINS = ("origin/main", "main")


@dataclass(frozen=True)
class Ceiling:
    """The ceiling constant and the number of waivers, somewhere in history or on disk."""

    where: str
    ceiling: int
    waivers: int
    # What each waiver covers: (scope, rule, where).
    covered: frozenset[tuple[str, str, str]] = frozenset()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise LookupError((done.stderr.strip().splitlines() or ["git failed"])[-1])
    return done.stdout


def _read(where: str, waivers_text: str, ceiling_text: str) -> Ceiling:
    found = _CONSTANT.search(ceiling_text)
    if found is None:
        raise ValueError(f"{where}: {CEILING_FILE} sets no WAIVER_CEILING = <number>")
    entries = yaml.safe_load(waivers_text) or []
    covered = frozenset(
        (str(e.get("scope", "")), str(e.get("rule", "")), str(e.get("where", "")))
        for e in entries
        if isinstance(e, dict)
    )
    return Ceiling(where, int(found[1]), len(entries), covered)


def base_commit(repo: Path) -> str:
    """The commit of main to compare with: the merge base, or HEAD's parent on main itself.

    Raises LookupError (saying what to fetch) when no main is in this clone.
    """
    for main in MAINS:
        try:
            tip = _git(repo, "rev-parse", "--verify", "--quiet", f"{main}^{{commit}}").strip()
        except LookupError:
            continue
        head = _git(repo, "rev-parse", "HEAD").strip()
        if head == tip:
            return _git(repo, "rev-parse", "HEAD^").strip()
        return _git(repo, "merge-base", "HEAD", tip).strip()
    raise LookupError(
        "no main branch in this clone to compare the waiver ceiling with "
        "(git fetch origin main, or clone without --depth/--single-branch)"
    )


def ceiling_at(repo: Path, commit: str = "") -> Ceiling:
    """The ceiling and waiver count at `commit`, or in the working tree without one."""
    if not commit:
        return _read(
            "the working tree",
            (repo / WAIVERS_FILE).read_text(encoding="utf-8"),
            (repo / CEILING_FILE).read_text(encoding="utf-8"),
        )
    return _read(
        f"commit {commit[:12]}",
        _git(repo, "show", f"{commit}:{WAIVERS_FILE}"),
        _git(repo, "show", f"{commit}:{CEILING_FILE}"),
    )


def raised(repo: Path) -> str:
    """Why the ceiling or the waivers went up since main (more of them, or one main
    lacks), or "" if nothing did."""
    before = ceiling_at(repo, base_commit(repo))
    now = ceiling_at(repo)
    problems = []
    if now.ceiling > before.ceiling:
        problems.append(f"WAIVER_CEILING went up from {before.ceiling} to {now.ceiling}")
    if now.waivers > before.waivers:
        problems.append(f"the waivers went up from {before.waivers} to {now.waivers}")
    new = sorted(now.covered - before.covered)
    if new:
        problems.append(
            "waivers main does not have (a new or widened one, even in place of a deleted "
            "one): " + ", ".join(" ".join(key) for key in new)
        )
    if not problems:
        return ""
    return (
        f"{'; '.join(problems)} since {before.where} on main: fix the fault instead "
        "(waivers may only be deleted, and their number only go down)"
    )
