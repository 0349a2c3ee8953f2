"""Mend two accessibility faults of the book theme in the built pages.

pydata-sphinx-theme 0.17.1 (under sphinx-book-theme 1.3.0) writes:

- sidebar `<summary>` toggles that hold only an icon, so a screen reader
  announces an unnamed control (axe: summary-name, serious); each gets a
  visually hidden name, "Pages of <section title>";
- a search button whose `aria-label="Search"` hides its visible text "Search
  Ctrl+K" from speech input users (axe: label-content-name-mismatch, serious);
  without the attribute its name is its visible text.

The accessibility gate finds both if a theme update brings them back in a new
form. Safe to run again on its own output.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["fix_theme"]

UNNAMED_SUMMARY = re.compile(
    r'(<a class="[^"]*reference internal" href="[^"]*">(?P<title>[^<]*)</a><details[^>]*><summary>)'
    r'(?!<span class="visually-hidden">)'
)
SEARCH_LABEL = re.compile(
    r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"'
)


def fix_theme(html_dir: Path) -> None:
    """Name the sidebar toggles and let the search button keep its visible name."""
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = UNNAMED_SUMMARY.sub(
            lambda m: f'{m.group(1)}<span class="visually-hidden">Pages of {m["title"]}</span>',
            text,
        )
        new = SEARCH_LABEL.sub(r"\1", new)
        if new != text:
            page.write_text(new, encoding="utf-8")
