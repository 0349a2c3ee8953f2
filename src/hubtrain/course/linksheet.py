"""`hubtrain link-sheet`: one printable page of every module's exercise link, with QR codes.

For a workshop room: learners scan a code (or type the short path) instead of
copying a long nbgitpuller link from a projector. The links are the book's own
(`links.exercise_link`); the QR codes come from segno.
"""

from __future__ import annotations

import argparse
import html
import json
from dataclasses import dataclass
from pathlib import Path

import segno

from hubtrain.course.links import exercise_link
from hubtrain.course.release import assignments
from hubtrain.hubfile.config import HubConfig

__all__ = ["SheetEntry", "add_commands", "sheet_entries", "sheet_html", "write_link_sheet"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.intro { max-width: 50em; }
.card { display: flex; gap: 1.2em; align-items: center; padding: 0.8em 0;
        border-top: 1px solid #999; break-inside: avoid; page-break-inside: avoid; }
.card svg { flex: none; }
.card h2 { font-size: 1.15em; margin: 0 0 0.3em; }
.link { font-family: monospace; font-size: 0.8em; overflow-wrap: anywhere; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""


@dataclass(frozen=True)
class SheetEntry:
    title: str
    path: str
    link: str


def _title(notebook: Path, fallback: str) -> str:
    """The notebook's first Markdown heading, else the assignment's folder name."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return fallback
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            for line in "".join(source).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or fallback
    return fallback


def sheet_entries(hub: HubConfig, exercises: Path, hub_url: str = "") -> list[SheetEntry]:
    """One entry per exercise notebook, in course order, with the hub's link for it.

    Release paths equal source paths (nbgrader keeps names), so the sources are
    enough to list them; no release needs to be built.
    """
    entries = []
    for name in assignments(exercises):
        for notebook in sorted((exercises / name).glob("*.ipynb")):
            path = f"{name}/{notebook.name}"
            entries.append(
                SheetEntry(_title(notebook, name), path, exercise_link(hub, path, hub_url))
            )
    return entries


def sheet_html(hub: HubConfig, entries: list[SheetEntry], hub_url: str = "") -> str:
    """The printable page: a heading, how to use it, then a card per exercise."""
    esc = html.escape
    address = hub_url or hub.url
    cards = []
    for entry in entries:
        qr = segno.make(entry.link, error="m").svg_inline(scale=3, title=entry.title)
        cards.append(
            f'<section class="card">{qr}<div><h2>{esc(entry.title)}</h2>'
            f"<p>Opens <code>{esc(hub.content.directory)}/{esc(entry.path)}</code></p>"
            f'<p class="link"><a href="{esc(entry.link)}">{esc(entry.link)}</a></p>'
            "</div></section>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>Exercise links for {esc(hub.name)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Exercise links for {esc(hub.name)}</h1>"
        f'<p class="intro">Log in to <strong>{esc(address)}</strong> first. Then scan a code '
        "with your phone's camera and open the link on the computer you work on, or click it "
        "on this page. The first link copies the course into your home directory; clicking "
        "any link again brings in updates and keeps your own changes.</p>"
        + "".join(cards)
        + "</body></html>\n"
    )


def write_link_sheet(
    hub: HubConfig, exercises: Path, out: Path, *, hub_url: str = "", force: bool = False
) -> list[SheetEntry]:
    """Write the sheet to `out`; refuse to replace an existing file unless `force`.

    Raises `FileExistsError` if `out` exists and `force` is false.
    """
    entries = sheet_entries(hub, exercises, hub_url)
    text = sheet_html(hub, entries, hub_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    # "x" creates the file only if it does not exist, with no gap for a race.
    with out.open("w" if force else "x", encoding="utf-8") as handle:
        handle.write(text)
    return entries


def cmd_link_sheet(args: argparse.Namespace) -> int:
    from hubtrain.hubfile.cliutil import UsageError
    from hubtrain.hubfile.load import load_hub

    hub = load_hub(args.hub)
    out = Path(args.out)
    exercises = Path(args.root) / "exercises"
    if not exercises.is_dir():
        raise UsageError(f"{exercises}: no exercises folder (use --root to name the course)")
    try:
        entries = write_link_sheet(hub, exercises, out, hub_url=args.hub_url, force=args.force)
    except FileExistsError:
        raise UsageError(f"{out}: already exists; pass --force to replace it") from None
    print(f"Wrote {out} with {len(entries)} exercise links for {hub.name}; print it from a browser")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    from hubtrain.hubfile.cliutil import add_hub

    parser = sub.add_parser(
        "link-sheet", help="write a printable page of every exercise link with QR codes"
    )
    add_hub(parser)
    parser.add_argument("--out", default="link-sheet.html", help="(default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--hub-url", default="", help="use this hub address instead")
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.set_defaults(func=cmd_link_sheet)
