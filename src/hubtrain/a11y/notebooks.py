"""Accessibility checks for the Markdown of a notebook, where screen readers meet it.

Four checks, each a function of the notebook's Markdown and HTML:

- ``alt-text``: every image (Markdown or `<img>`) has alt text;
- ``headings``: one top (`#`) heading, first, and no level skipped on the way down;
- ``link-text``: link text says where it goes: not empty, not "here" or "click
  here", not a bare address;
- ``table-headers``: every table has a header row with text.

`check_notebook` returns `Problem`s; an empty list means the notebook passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from markdown_it import MarkdownIt

__all__ = ["CHECKS", "Problem", "check_notebook"]

CHECKS = ("alt-text", "headings", "link-text", "table-headers")
VAGUE_LINK_TEXT = {
    "here",
    "click here",
    "click",
    "this",
    "this link",
    "link",
    "more",
    "read more",
    "this page",
    "page",
    "go",
}
HTML_IMG = re.compile(r"<img\b[^>]*>", re.I)
HTML_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
HTML_HEADING = re.compile(r"<h([1-6])\b", re.I)
HTML_LINK = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.I | re.S)
HTML_TABLE = re.compile(r"<table\b.*?</table>", re.I | re.S)
TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Problem:
    notebook: str
    cell: int  # 1-based, as people count cells
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.notebook}, cell {self.cell}: {self.check}: {self.message}"


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def _text(children: list[Any]) -> str:
    return "".join(c.content for c in children if c.type in ("text", "code_inline")).strip()


def _link_problem(text: str, href: str) -> str:
    plain = " ".join(text.split()).strip().lower().rstrip(".:")
    if not plain:
        return f"a link to {href} has no text"
    if plain in VAGUE_LINK_TEXT:
        return f"link text {text!r} does not say where the link goes ({href})"
    if re.match(r"(https?://|www\.)", plain):
        return f"link text is a bare address ({text}); say what is there instead"
    return ""


def _cell_problems(source: str) -> list[tuple[str, str, int]]:
    """(check, message, heading level or 0) in the order they occur in the cell."""
    found: list[tuple[str, str, int]] = []
    tokens = _markdown().parse(source)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            found.append(("heading", _text(tokens[i + 1].children or []), int(token.tag[1])))
        elif token.type == "inline":
            children = token.children or []
            for j, child in enumerate(children):
                if child.type == "image" and not _text(child.children or []):
                    found.append(("alt-text", f"image {child.attrs.get('src')} has no alt text", 0))
                elif child.type == "link_open":
                    end = next(
                        k for k in range(j, len(children)) if children[k].type == "link_close"
                    )
                    inner = children[j + 1 : end]
                    text = _text(inner) or " ".join(
                        _text(c.children or []) for c in inner if c.type == "image"
                    )
                    message = _link_problem(text, str(child.attrs.get("href", "")))
                    if message:
                        found.append(("link-text", message, 0))
                elif child.type == "html_inline":
                    found += _html_problems(child.content, links=False)
            # An inline <a>...</a> comes as separate tokens: read it from the line.
            found += [p for p in _html_problems(token.content) if p[0] == "link-text"]
        elif token.type == "html_block":
            found += _html_problems(token.content)
        elif token.type == "thead_open":
            end = next(k for k in range(i, len(tokens)) if tokens[k].type == "thead_close")
            if not any(t.type == "inline" and t.content.strip() for t in tokens[i:end]):
                found.append(("table-headers", "a table's header row is empty", 0))
    return found


def _html_problems(html: str, links: bool = True) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    for level in HTML_HEADING.findall(html):
        found.append(("heading", "", int(level)))
    for img in HTML_IMG.findall(html):
        alt = HTML_ALT.search(img)
        if not alt or not "".join(g or "" for g in alt.groups()).strip():
            found.append(("alt-text", f"{img[:80]} has no alt text", 0))
    for attrs, inner in HTML_LINK.findall(html) if links else []:
        href = re.search(r"""href\s*=\s*["']([^"']*)""", attrs)
        text = TAGS.sub("", inner)
        if not text.strip():
            alt = HTML_ALT.search(inner)
            text = "".join(g or "" for g in alt.groups()) if alt else ""
        message = _link_problem(text, href.group(1) if href else "")
        if message:
            found.append(("link-text", message, 0))
    for table in HTML_TABLE.findall(html):
        headers = re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.I | re.S)
        if not any(TAGS.sub("", h).strip() for h in headers):
            found.append(("table-headers", "an HTML table has no header cells with text", 0))
    return found


def check_notebook(path: Path, name: str = "") -> list[Problem]:
    """Every accessibility problem in the Markdown cells of the notebook at `path`."""
    name = name or path.name
    notebook = nbformat.read(path, as_version=4)
    problems: list[Problem] = []
    last_level = 0
    tops = 0
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "markdown":
            continue
        for check, message, level in _cell_problems(cell.source):
            if check != "heading":
                problems.append(Problem(name, number, check, message))
                continue
            if level == 1:
                tops += 1
                if tops > 1:
                    problems.append(Problem(name, number, "headings", "a second top heading"))
            elif last_level == 0:
                problems.append(Problem(name, number, "headings", "the first heading is not #"))
            elif level > last_level + 1:
                problems.append(
                    Problem(
                        name,
                        number,
                        "headings",
                        f"heading level {level} follows level {last_level} (a level is skipped)",
                    )
                )
            last_level = level
    if tops == 0:
        problems.append(Problem(name, 1, "headings", "no top (#) heading names the notebook"))
    return problems
