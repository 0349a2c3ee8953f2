"""Sphinx directives that put the hub's facts on book pages.

`hubtrain build` writes the facts to a JSON file and points the `hubtrain_facts`
setting at it. Pages then use:

- ``{hub-profiles}``: the hub's profile table, generated from its `profile_list`;
- ``{hub-if} options-page`` / ``{hub-if} no-options-page``: content for hubs with
  (or without) a profile list, so no page describes an options page a learner
  never sees;
- ``{exercise-link} 01-login/login.ipynb``: a button that opens that notebook of
  the student release on the hub through nbgitpuller, and a second one for its R
  twin (the R assignment `01-login-r/login_r.ipynb`) when the release has one;
- ``{hub-storage-example}``: Python that writes and reads the hub's scratch bucket
  with the provider's fsspec package (s3fs or gcsfs);
- ``{hub-image-checklist}``: what the hub's image and settings must provide (the
  list `hubtrain doctor` checks on the hub).

A reference to a notebook that is not in the release is a build warning, which
the strict build turns into an error.

The extension also starts the kernels of executed pages on unix sockets (see
`_page_kernels_on_unix_sockets`).
"""

from __future__ import annotations

import atexit
import functools
import html
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from hubtrain.a11y.report import AccessibilityReport
from hubtrain.course.release import r_twin
from hubtrain.localcloud.localenv import kernel_sockets

logger = logging.getLogger(__name__)

PROFILE_COLUMNS = (
    ("name", "Profile"),
    ("description", "What it is for"),
    ("who", "Who can choose it"),
    ("cpu", "CPU"),
    ("memory", "Memory"),
    ("gpu", "GPUs"),
    ("image", "Image"),
    ("options", "Choices on the options page"),
)
# Shown only when some profile needs them: most hubs offer every profile to
# everyone and have no GPUs, and an empty column only widens the table.
OPTIONAL_COLUMNS = {"who": "everyone", "gpu": ""}


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
        if not rows:
            logger.warning(
                "hub-profiles: this hub has no profile list; show the table only where "
                "profiles are offered (inside {hub-if} options-page)",
                location=self.get_location(),
            )
            return []
        columns = [
            (key, label)
            for key, label in PROFILE_COLUMNS
            if key not in OPTIONAL_COLUMNS or any(r[key] != OPTIONAL_COLUMNS[key] for r in rows)
        ]
        table = nodes.table(classes=["hubtrain-profiles"])
        # Names exactly as the options page shows them ("Other...", not "Other…").
        table["support_smartquotes"] = False
        group = nodes.tgroup(cols=len(columns))
        table += group
        for _ in columns:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        head += self._row([label for _, label in columns])
        body = nodes.tbody()
        group += body
        for row in rows:
            body += self._row([row[key] or "–" for key, _ in columns])
        return [table]

    @staticmethod
    def _row(cells: list[str]) -> nodes.row:
        """A table row; a cell of several lines (one choice per line) becomes a list."""
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            lines = text.splitlines()
            if len(lines) > 1:
                items = nodes.bullet_list()
                for line in lines:
                    item = nodes.list_item()
                    item += nodes.paragraph(text=line)
                    items += item
                entry += items
            else:
                entry += nodes.paragraph(text=text)
            row += entry
        return row


class HubIf(SphinxDirective):
    """Content shown only on hubs where a condition holds, so a page never describes
    what this hub's learners will not see.

    ``options-page``: the hub has a profile list, so KubeSpawner shows its options
    page; ``no-options-page``: it has none, and servers start straight away.
    The content may hold whole sections (headings included), so a section that
    only one kind of hub has can be left out of the other's book.
    """

    required_arguments = 1
    has_content = True
    CONDITIONS = ("options-page", "no-options-page")

    def run(self) -> list[nodes.Node]:
        condition = self.arguments[0]
        if condition not in self.CONDITIONS:
            raise self.error(f"hub-if: expected one of {', '.join(self.CONDITIONS)}")
        has_list = bool(_facts(self)["hub"]["profile_list"])
        if has_list != (condition == "options-page"):
            return []
        return self.parse_content_to_nodes(allow_section_headings=True)


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
        # The R twin (`01-login/login.ipynb` -> `01-login-r/login_r.ipynb`) gets its own button.
        twin = r_twin(path)
        buttons = [(path, link, "")]
        if twin in facts["links"]:
            buttons = [(path, link, " in Python"), (twin, facts["links"][twin], " in R")]
        markup = "".join(
            f'<a class="hubtrain-launch btn btn-primary" '
            f'href="{html.escape(href)}" data-hubtrain-path="{html.escape(target)}">'
            f"Open this exercise{language} on "
            f'<span class="hubtrain-hub-name">{html.escape(hub_name)}</span></a> '
            for target, href, language in buttons
        )
        return [nodes.raw("", f'<p class="hubtrain-launch-wrap">{markup}</p>', format="html")]


def storage_example(provider: str, scratch_env: str) -> str:
    """Python that writes, reads back and removes one object under the scratch prefix.

    It needs no keys: on the hub the filesystem finds the hub's own credentials.
    """
    package, cls = {"s3": ("s3fs", "S3FileSystem"), "gcs": ("gcsfs", "GCSFileSystem")}[provider]
    return (
        "import os\n\n"
        f"import {package}\n\n"
        f"fs = {package}.{cls}()  # no keys: the hub provides the credentials\n"
        f'scratch = os.environ["{scratch_env}"]  # your own prefix in the scratch bucket\n'
        'path = f"{scratch}/hubtrain-check.txt"\n'
        'with fs.open(path, "w") as f:\n'
        '    f.write("written from the hub")\n'
        "print(fs.cat(path).decode())\n"
        "fs.rm(path)\n"
    )


class StorageExample(SphinxDirective):
    """The hub's storage code: s3fs or gcsfs and its scratch variable, from the hub file."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        storage = _facts(self)["hub"]["storage"]
        code = storage_example(storage["provider"], storage["scratch_env"])
        return [nodes.literal_block(code, code, language="python")]


class ImageChecklist(SphinxDirective):
    """What the hub must provide, for this hub: the same list `hubtrain doctor` checks."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from hubtrain.hubfile.doctor import requirements

        items = nodes.bullet_list(classes=["hubtrain-checklist"])
        for need in requirements(_facts(self)["hub"]):
            kind = {"package": "Python package", "command": "command", "env": "variable"}
            item = nodes.list_item()
            para = nodes.paragraph()
            para += nodes.Text(f"{kind[need.kind]} ")
            para += nodes.literal(text=need.name)
            # Text between backticks in the fix (commands) is shown as code.
            for i, part in enumerate(f": {need.why}. If it is missing: {need.fix}.".split("`")):
                para += nodes.literal(text=part) if i % 2 else nodes.Text(part)
            item += para
            items += item
        return [items]


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


_ROOT_REDIRECT = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Redirecting</title>
<script>location.replace("{url}" + location.search + location.hash);</script>
<meta http-equiv="Refresh" content="0; url={url}">
</head><body><a href="{url}">Open the book</a></body></html>
"""


def _write_root_redirect(app: Sphinx, exception: Exception | None) -> None:
    """Make `index.html` forward to the first page *with* its `?hub=` parameter.

    Jupyter Book's own redirect is a bare meta refresh, which drops the query, so
    a TA's `https://book.example.org/?hub=...` link would lose the hub. With
    JavaScript off the meta refresh still works (and the links use the build's hub).
    """
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    index = Path(app.outdir) / "index.html"
    if index.exists() and "Refresh" not in index.read_text(encoding="utf-8")[:400]:
        return  # a real page, not a generated redirect
    url = html.escape(f"{app.config.root_doc}.html")
    index.write_text(_ROOT_REDIRECT.format(url=url), encoding="utf-8")


def _lighten_pages(app: Sphinx, exception: Exception | None) -> None:
    """Only the icons the pages use, WebP screenshots (hubtrain.course.lightpages), and the
    theme's accessibility faults mended (hubtrain.a11y.themefixes)."""
    if exception is None and app.builder.format == "html":
        from hubtrain.a11y.themefixes import fix_theme
        from hubtrain.course.lightpages import lighten

        lighten(Path(app.outdir))
        fix_theme(Path(app.outdir))


def _page_kernels_on_unix_sockets(app: Sphinx) -> None:
    """Run the kernels of executed pages on unix sockets, not on TCP ports.

    MyST-NB executes a page through jupyter-cache, which starts nbclient without any
    Jupyter config, so each kernel gets TCP ports found free and let go; a program
    starting at that moment can take one and the page fails ("Address already in
    use"). jupyter-cache offers no setting for this, so its call into nbclient gets
    the same `KernelManager` config as the grading environment (ipc transport, in a
    short folder of this build's own). The folder is removed when the build ends,
    or when the process does if Sphinx stops before that.
    """
    from jupyter_cache.executors import utils
    from nbclient import execute

    sockets = ExitStack()
    config = sockets.enter_context(kernel_sockets())
    atexit.register(sockets.close)
    app.connect("build-finished", lambda _app, _exception: sockets.close())
    utils.executenb = functools.partial(execute, config=config)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("hubtrain_facts", "", "env")
    app.add_directive("hub-profiles", HubProfiles)
    app.add_directive("hub-if", HubIf)
    app.add_directive("exercise-link", ExerciseLink)
    app.add_directive("hub-storage-example", StorageExample)
    app.add_directive("hub-image-checklist", ImageChecklist)
    app.add_directive("accessibility-report", AccessibilityReport)
    app.connect("builder-inited", _write_link_base)
    app.connect("builder-inited", _page_kernels_on_unix_sockets)
    # Before sphinx-external-toc's redirect (priority 500), which skips an existing file.
    app.connect("build-finished", _write_root_redirect, priority=400)
    app.connect("build-finished", _lighten_pages, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
