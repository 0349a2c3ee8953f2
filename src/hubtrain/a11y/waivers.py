"""The waiver file: accessibility faults of upstream software we cannot fix here.

`accessibility/waivers.yml` lists each fault with the upstream issue it waits
on. A waiver matches a `Violation` of its scope ("book", "hub" or "lab") with its
rule on the element its `where` names exactly: either a simple selector (a tag,
`.class`, `#id`, `[attr="value"]` or `[attr]`, combined as in `jp-button.x`), each
part equal to a tag, class, id or attribute of the element's own opening tag, or
the element's whole markup (`<h1>Sign in</h1>`). Never a piece of text: a class
`btn-jupyter-x` or a value "btn-jupyter" is not `.btn-jupyter`. The gate fails on a
serious or critical violation no waiver matches, and on a waiver that matches
nothing (the fault is gone: delete the waiver). There may be at most
`WAIVER_CEILING` waivers: lower it when you delete one, never raise it, and
never add or widen one (`ceiling.py` compares them with main's, in git).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

from hubtrain.a11y.axe import Violation

__all__ = ["WAIVERS", "WAIVER_CEILING", "Waiver", "load_waivers", "names", "stale", "unwaived"]

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
            and names(self.where, violation.html)
        )


# One part of a simple selector: a tag, .class, #id, [attr] or [attr="value"].
_PART = re.compile(r'([A-Za-z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w:-]+)(?:="([^"]*)")?\]')


def _parts(selector: str) -> list[re.Match[str]] | None:
    """The parts of a simple selector, or None if `selector` is not one (a tag comes first)."""
    parts, at = [], 0
    while at < len(selector):
        part = _PART.match(selector, at)
        if part is None or (part[1] and at > 0):
            return None
        parts.append(part)
        at = part.end()
    return parts or None


class _OpeningTag(HTMLParser):
    """The tag name and attributes of the first element in a piece of markup."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tag = ""
        self.attrs: dict[str, str] = {}
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.tag:
            self.tag = tag
            self.attrs = {name: value or "" for name, value in attrs}


def names(where: str, html: str) -> bool:
    """Whether `where` names the element whose markup is `html`, exactly (see above)."""
    if where.startswith("<"):
        return where == html
    parts = _parts(where)
    if not parts:
        return False
    element = _OpeningTag(html)
    classes = element.attrs.get("class", "").split()
    for tag, cls, ident, attr, value in (p.groups() for p in parts):
        if tag and tag.lower() != element.tag:
            return False
        if cls and cls not in classes:
            return False
        if ident and element.attrs.get("id") != ident:
            return False
        if attr and (
            attr not in element.attrs or (value is not None and element.attrs[attr] != value)
        ):
            return False
    return True


def load_waivers(path: Path = WAIVERS) -> list[Waiver]:
    """The waivers, checked: known scope, an upstream issue, a reason."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    waivers = []
    for i, entry in enumerate(entries):
        waiver = Waiver(**{k: str(entry.get(k, "")) for k in Waiver.__dataclass_fields__})
        if waiver.scope not in SCOPES or not waiver.rule or not waiver.where or not waiver.why:
            raise ValueError(f"{path}: waiver {i + 1} needs scope ({SCOPES}), rule, where and why")
        if not waiver.where.startswith("<") and _parts(waiver.where) is None:
            raise ValueError(
                f"{path}: waiver {i + 1}: where {waiver.where!r} must be a simple selector "
                '(tag, .class, #id, [attr="value"]) or the element\'s whole markup (<...>)'
            )
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
