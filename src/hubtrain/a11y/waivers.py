"""The waiver file: accessibility faults of upstream software we cannot fix here.

`accessibility/waivers.yml` lists each fault with the upstream issue it waits
on. A waiver matches a `Violation` of its scope ("book", "hub" or "lab") with its
rule whose selector or markup contains its `where` text. The gate fails on a
serious or critical violation no waiver matches, and on a waiver that matches
nothing (the fault is gone: delete the waiver). There may be at most
`WAIVER_CEILING` waivers: lower it when you delete one, never raise it
(`ceiling.py` compares both with main's, in git).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from hubtrain.a11y.axe import Violation

__all__ = ["WAIVERS", "WAIVER_CEILING", "Waiver", "load_waivers", "stale", "unwaived"]

ROOT = Path(__file__).resolve().parents[3]
WAIVERS = ROOT / "accessibility" / "waivers.yml"
WAIVER_CEILING = 5
SCOPES = ("book", "hub", "lab")
UPSTREAM = re.compile(r"[\w.-]+/[\w.-]+#\d+")


@dataclass(frozen=True)
class Waiver:
    scope: str
    rule: str
    where: str
    upstream: str  # owner/repo#number
    why: str

    def matches(self, violation: Violation) -> bool:
        return (
            violation.view.startswith(self.scope + ":")
            and violation.rule == self.rule
            and (self.where in violation.target or self.where in violation.html)
        )


def load_waivers(path: Path = WAIVERS) -> list[Waiver]:
    """The waivers, checked: known scope, an upstream issue, a reason."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    waivers = []
    for i, entry in enumerate(entries):
        waiver = Waiver(**{k: str(entry.get(k, "")) for k in Waiver.__dataclass_fields__})
        if waiver.scope not in SCOPES or not waiver.rule or not waiver.where or not waiver.why:
            raise ValueError(f"{path}: waiver {i + 1} needs scope ({SCOPES}), rule, where and why")
        if not UPSTREAM.fullmatch(waiver.upstream):
            raise ValueError(f"{path}: waiver {i + 1}: upstream must be owner/repo#number")
        waivers.append(waiver)
    return waivers


def unwaived(violations: list[Violation], waivers: list[Waiver]) -> list[Violation]:
    """The serious and critical violations that no waiver covers."""
    return [v for v in violations if v.gating and not any(w.matches(v) for w in waivers)]


def stale(violations: list[Violation], waivers: list[Waiver], scope: str) -> list[Waiver]:
    """The waivers of `scope` that match none of `violations`."""
    return [w for w in waivers if w.scope == scope and not any(w.matches(v) for v in violations)]
