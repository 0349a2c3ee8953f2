"""The `{accessibility-report}` directive: the gate's recorded results on a book page.

It reads `accessibility/results.json` and `accessibility/waivers.yml` from the
book's source folder, never a browser, so the strict build gives the same page
every time. Parts: ``checked`` (tools, browser, views), ``found`` (each rule
that failed, with its waiver) and ``waivers`` (what is waived and why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from hubtrain.a11y.waivers import load_waivers

__all__ = ["AccessibilityReport"]

# Results are recorded per test module ("book", "hub"); waivers name where the
# fault lives ("book", "hub" for JupyterHub's pages, "lab" for JupyterLab).
SCOPE_NAMES = {
    "book": "the book's pages",
    "hub": "the practice hub's pages and JupyterLab",
    "room": "the TA's room view (hubtrain room)",
}
WAIVER_SCOPES = {"book": "the book's pages", "hub": "JupyterHub's pages", "lab": "JupyterLab"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _issue_link(upstream: str) -> str:
    repo, number = upstream.split("#")
    return f"[{upstream}](https://github.com/{repo}/issues/{number})"


class AccessibilityReport(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / "accessibility"
        results_path, waivers_path = folder / "results.json", folder / "waivers.yml"
        for path in (results_path, waivers_path):
            self.env.note_dependency(str(path))
        results: dict[str, Any] = (
            json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
        )
        part = self.arguments[0]
        if part == "checked":
            text = self._checked(results)
        elif part == "found":
            text = self._found(results)
        elif part == "waivers":
            text = self._waivers(waivers_path)
        else:
            raise self.error(f"accessibility-report: unknown part {part!r}")
        container = nodes.container()
        self.state.nested_parse(
            StringList(text.splitlines(), source="accessibility"), self.content_offset, container
        )
        return container.children

    @staticmethod
    def _checked(results: dict[str, Any]) -> str:
        if not results:
            return "The gate has not recorded results yet."
        lines = [
            f"Checked with axe-core {results['axe']} against the rule tags "
            + ", ".join(f"`{t}`" for t in results["tags"])
            + ".",
            "",
        ]
        for scope, data in sorted(results.get("scopes", {}).items()):
            lines.append(
                f"- {_capital(SCOPE_NAMES.get(scope, scope))}: {len(data['views'])} views in "
                f"{data['browser']} (Debian's package, driven by Playwright)."
            )
        return "\n".join(lines)

    @staticmethod
    def _found(results: dict[str, Any]) -> str:
        rows = [
            (scope, entry)
            for scope, data in sorted(results.get("scopes", {}).items())
            for entry in data["found"]
        ]
        if not rows:
            return "axe found no violations."
        lines = [
            "| Where | Rule | Impact | Views | Waived, waiting on |",
            "| --- | --- | --- | --- | --- |",
        ]
        for scope, e in rows:
            waived = ", ".join(_issue_link(u) for u in e["waived"]) or "–"
            lines.append(
                f"| {SCOPE_NAMES.get(scope, scope)} | `{e['rule']}`: {e['help']} | {e['impact']} "
                f"| {e['views']} | {waived} |"
            )
        return "\n".join(lines)

    @staticmethod
    def _waivers(path: Path) -> str:
        waivers = load_waivers(path)
        if not waivers:
            return "Nothing is waived."
        return "\n".join(
            f"- `{w.rule}` in {WAIVER_SCOPES[w.scope]} (`{w.where}`), waiting on "
            f"{_issue_link(w.upstream)}: {w.why}"
            for w in waivers
        )
