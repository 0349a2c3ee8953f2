"""Run axe-core (from the project's node_modules) on a page open in Playwright.

Callers get plain `Violation` records, one per rule and element, so that tests
can compare them with the waiver file and the recorded results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AXE_JS", "GATING", "TAGS", "Violation", "axe_version", "run_axe"]

ROOT = Path(__file__).resolve().parents[3]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Impacts that fail the gate unless waived; lesser ones are reported only.
GATING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    """One element failing one axe rule on one checked view."""

    view: str  # what was checked, e.g. "book/intro.html (dark)"
    rule: str
    impact: str
    target: str  # axe's CSS selector for the element
    html: str  # the element's markup, cut short
    help: str

    @property
    def gating(self) -> bool:
        return self.impact in GATING


def axe_version() -> str:
    """The pinned axe-core version, as installed by `npm ci`."""
    package = json.loads((AXE_JS.parent / "package.json").read_text(encoding="utf-8"))
    return package["version"]


def run_axe(page: Any, view: str, context: Any = None) -> list[Violation]:
    """Every violation axe finds on `page` (or in `context`, an axe context object)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async ([context, tags]) => {
            const r = await axe.run(context || document, {
                runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
            });
            return r.violations.map(v => ({
                rule: v.id, impact: v.impact || 'minor', help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.flat().join(' '), html: n.html})),
            }));
        }""",
        [context, TAGS],
    )
    return [
        Violation(view, v["rule"], v["impact"], n["target"], n["html"][:300], v["help"])
        for v in result
        for n in v["nodes"]
    ]
