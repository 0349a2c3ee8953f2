"""Sphinx directives that put the hub's facts on book pages.

`hubtrain build` writes the facts to a JSON file and points the `hubtrain_facts`
setting at it. Pages then use:

- ``{hub-profiles}``: the hub's profile table, generated from its `profile_list`;
- ``{exercise-link} 01-login/login.ipynb``: a button that opens that notebook of
  the student release on the hub through nbgitpuller.

A reference to a notebook that is not in the release is a build warning, which
the strict build turns into an error.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

PROFILE_COLUMNS = (
    ("name", "Profile"),
    ("description", "What it is for"),
    ("cpu", "CPU"),
    ("memory", "Memory"),
    ("image", "Image"),
    ("options", "Choices on the options page"),
)


def _facts(directive: SphinxDirective) -> dict[str, Any]:
    env = directive.env
    cached = getattr(env, "_hubtrain_facts", None)
    if cached is None:
        path = env.config.hubtrain_facts
        if not path:
            raise directive.error("hubtrain_facts is not set: build the book with `hubtrain build`")
        cached = json.loads(Path(path).read_text(encoding="utf-8"))
        env._hubtrain_facts = cached
    return cached


class HubProfiles(SphinxDirective):
    """The profile table of the hub the book is built for."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = _facts(self)["profiles"]
        table = nodes.table(classes=["hubtrain-profiles"])
        group = nodes.tgroup(cols=len(PROFILE_COLUMNS))
        table += group
        for _ in PROFILE_COLUMNS:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        head += self._row([label for _, label in PROFILE_COLUMNS])
        body = nodes.tbody()
        group += body
        for row in rows:
            body += self._row([row[key] or "–" for key, _ in PROFILE_COLUMNS])
        return [table]

    @staticmethod
    def _row(cells: list[str]) -> nodes.row:
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=text)
            row += entry
        return row


class ExerciseLink(SphinxDirective):
    """A launch button for one notebook of the student release."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        facts = _facts(self)
        path = self.arguments[0]
        link = facts["links"].get(path)
        if link is None:
            known = ", ".join(sorted(facts["links"])) or "none"
            logger.warning(
                "exercise-link: %s is not a notebook of the student release (known: %s)",
                path,
                known,
                location=self.get_location(),
            )
            return []
        hub_name = facts["hub"]["name"]
        markup = (
            f'<p class="hubtrain-launch-wrap"><a class="hubtrain-launch btn btn-primary" '
            f'href="{html.escape(link)}" data-hubtrain-path="{html.escape(path)}">'
            f'Open this exercise on <span class="hubtrain-hub-name">{html.escape(hub_name)}</span>'
            f"</a></p>"
        )
        return [nodes.raw("", markup, format="html")]


def _write_link_base(app: Sphinx) -> None:
    """Expose the link recipe to the page's JavaScript (the "my hub" control)."""
    path = app.config.hubtrain_facts
    if not path:
        return
    facts = json.loads(Path(path).read_text(encoding="utf-8"))
    recipe = {
        "hub_url": facts["hub"]["url"],
        "hub_name": facts["hub"]["name"],
        **facts["link_base"],
    }
    app.add_js_file(None, body=f"window.HUBTRAIN = {json.dumps(recipe)};", priority=100)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("hubtrain_facts", "", "env")
    app.add_directive("hub-profiles", HubProfiles)
    app.add_directive("exercise-link", ExerciseLink)
    app.connect("builder-inited", _write_link_base)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
