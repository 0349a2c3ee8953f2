"""Keep the built pages light: only the icons pages use, and WebP screenshots.

The book theme loads Font Awesome's whole icon set as a script (1.5 MB, 0.5 MB
gzipped) to draw about fifteen icons. After Sphinx has written the pages, this
module:

- finds the Font Awesome icons the pages (and the theme's scripts) use, copies
  just their outlines out of the theme's copy of Font Awesome into one small
  stylesheet (`_static/hubtrain-icons.css`, icons drawn as CSS masks in the
  text colour, so they follow light and dark mode), puts that stylesheet where
  the script was, and deletes the script and the icon fonts;
- writes a lossless WebP copy of every PNG in `_images/` and wraps each `<img>`
  of a PNG in `<picture>`, so browsers that read WebP (all current ones) fetch
  the small file and others still get the PNG;
- deletes what no page can ask for: source maps, and files in `_static/` whose
  name no page, stylesheet or script mentions (the theme's translation catalogs,
  its template macros, launch-button logos the book does not show). Licence
  files stay.

Every step is safe to run again on its own output (a rebuild that rewrites only
some pages). Callers can rely on: no icon class on a page is left without an
outline (`IconError` otherwise), and no picture loses its alt text or its PNG.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "IconError",
    "lighten",
    "remove_unused_static",
    "solid_icons",
    "used_icons",
    "webp_pictures",
]

ICON_CSS = "hubtrain-icons.css"
FA_SCRIPT = re.compile(
    r'<script defer src="(?P<prefix>[^"]*)_static/scripts/fontawesome\.js[^"]*"></script>'
)
# <i class="fa-solid fa-bars">, <i class="fas fa-file">, theme scripts' "fa-solid fa-xmark".
ICON_CLASSES = re.compile(r'class(?:List)?\s*=\s*"([^"]*\bfa(?:s|-solid)\b[^"]*)"')
# An icon of Font Awesome's solid pack in all.min.js: name:[w,h,[aliases],"unicode","path"]
PACK_ENTRY = re.compile(
    r'(?:"(?P<q>[a-z0-9-]+)"|(?P<n>[a-z0-9_]+)):\[(?P<w>\d+),(?P<h>\d+),\[(?P<aliases>[^\]]*)\],'
    r'"(?P<u>[0-9a-f]*)","(?P<path>[^"]+)"\]'
)
# The theme's own CSS icons: `--pst-icon-bell:"<U+F0F3>"` (or an alias of another
# variable), used by rules such as `.admonition-title:after{content:var(--pst-icon-..)}`.
PST_ICON_VAR = re.compile(r'(--pst-icon-[a-z-]+):(?:var\((--pst-icon-[a-z-]+)\)|"([^"]*)")')
PST_ICON_RULE = re.compile(r"([^{}]+)\{([^{}]*?content:var\((--pst-icon-[a-z-]+)\)[^{}]*)\}")
# Font Awesome's classes that size or animate an icon rather than name one.
FA_UTILITY = re.compile(
    r"\d*x|2?xs|sm|lg|2?xl|fw|border|inverse|li|ul|stack(-\dx)?|pull-(left|right)|spin(-.*)?"
    r"|pulse|beat(-fade)?|bounce|fade|flip(-.*)?|shake|rotate-.*|width-auto"
)
PNG_IMG = re.compile(r'(?<!type="image/webp" />)<img (?P<before>[^>]*?)src="(?P<src>[^"]+)\.png"')


class IconError(RuntimeError):
    """A page uses an icon that the theme's Font Awesome does not have."""


def used_icons(html_dir: Path) -> set[str]:
    """Names of the solid Font Awesome icons on the pages or added by the theme's scripts."""
    names: set[str] = set()
    sources = [*html_dir.rglob("*.html"), *(html_dir / "_static" / "scripts").glob("*.js")]
    for path in sources:
        if path.name == "fontawesome.js":
            continue
        for classes in ICON_CLASSES.findall(path.read_text(encoding="utf-8", errors="replace")):
            for name in classes.split():
                if name.startswith("fa-") and name != "fa-solid":
                    names.add(name[3:])
    return names


def solid_icons(fontawesome_js: str) -> dict[str, tuple[int, int, str]]:
    """Every icon of the solid pack in Font Awesome's all.min.js: name -> (w, h, path).

    Aliases map to their icon too, and so does "U+F0C9", the icon's code point
    (stylesheets name icons by code point). Size classes such as `fa-lg` are not
    icons and are simply not in the result.
    """
    end = fontawesome_js.find('d("fas",p)')
    start = fontawesome_js.rfind("var p={", 0, end)
    if start < 0 or end < 0:
        raise IconError("the theme's fontawesome.js has no solid icon pack this code can read")
    icons: dict[str, tuple[int, int, str]] = {}
    for entry in PACK_ENTRY.finditer(fontawesome_js, start, end):
        outline = (int(entry["w"]), int(entry["h"]), entry["path"])
        icons[entry["q"] or entry["n"]] = outline
        icons[f"U+{entry['u'].upper()}"] = outline
        for alias in re.findall(r'"([a-z0-9-]+)"', entry["aliases"]):
            icons.setdefault(alias, outline)
    return icons


def _mask(outline: tuple[int, int, str]) -> str:
    width, height, path = outline
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
        f"<path d='{path}'/></svg>"
    )
    return f'url("data:image/svg+xml,{quote(svg, safe=" =:/,.-")}")'


def theme_css_icons(theme_css: str, icons: dict[str, tuple[int, int, str]]) -> str:
    """Rules that draw the theme's CSS icons (admonition titles, external links) as
    masks instead of Font Awesome font glyphs, selector for selector."""
    values: dict[str, str] = {}
    for name, alias, char in PST_ICON_VAR.findall(theme_css):
        values[name] = alias or char
    rules = []
    for selector, body, variable in PST_ICON_RULE.findall(theme_css):
        value, seen = values.get(variable, ""), set()
        while value.startswith("--") and value not in seen:
            seen.add(value)
            value = values.get(value, "")
        if value.startswith("\\"):
            value = chr(int(value[1:], 16))
        outline = icons.get(f"U+{ord(value):X}") if len(value) == 1 else None
        if outline is None:
            continue  # a brand icon (GitHub, GitLab) or a style the book never uses
        size = "" if "width:" in body else " display: inline-block; width: 1em; height: 1em;"
        rules.append(
            # No Font Awesome font left on the rule: even empty, it would be downloaded.
            f'{selector.strip()} {{ content: ""; font-family: inherit;'
            f" background-color: currentColor;{size}"
            f" -webkit-mask: {_mask(outline)} center / contain no-repeat;"
            f" mask: {_mask(outline)} center / contain no-repeat; }}"
        )
    return "\n".join(rules) + "\n"


def icon_css(names: set[str], icons: dict[str, tuple[int, int, str]], banner: str) -> str:
    """A stylesheet drawing each named icon as a mask in the current text colour."""
    rules = [
        banner,
        "/* Icons drawn from inline SVG outlines; written by hubtrain.course.lightpages. */",
        ".fa-solid, .fas { font: inherit; font-size: inherit; display: inline-block;",
        "  height: 1em; width: 1em; vertical-align: -0.125em; background-color: currentColor;",
        "  -webkit-mask: var(--hubtrain-icon) center / contain no-repeat;",
        "  mask: var(--hubtrain-icon) center / contain no-repeat; }",
        ".fa-solid::before, .fas::before { content: none; }",
    ]
    for name in sorted(names):
        if name not in icons:
            continue
        width, height, path = icons[name]
        svg = (
            f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
            f"<path d='{path}'/></svg>"
        )
        rules.append(
            f".fa-{name} {{ width: {width / height:.4g}em; "
            f'--hubtrain-icon: url("data:image/svg+xml,{quote(svg, safe=" =:/,.-")}"); }}'
        )
    return "\n".join(rules) + "\n"


def _replace_icon_script(html_dir: Path) -> None:
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = FA_SCRIPT.sub(
            lambda m: f'<link rel="stylesheet" href="{m["prefix"]}_static/{ICON_CSS}" />', text
        )
        if new != text:
            page.write_text(new, encoding="utf-8")


def lighten_icons(html_dir: Path) -> None:
    """Swap the theme's Font Awesome script for a stylesheet of the icons in use."""
    static = html_dir / "_static"
    script = static / "scripts" / "fontawesome.js"
    if script.is_file():
        source = script.read_text(encoding="utf-8")
        banner = re.match(r"/\*!.*?\*/", source, re.S)
        icons = solid_icons(source)
        names = used_icons(html_dir)
        missing = sorted(n for n in names - icons.keys() if not FA_UTILITY.fullmatch(n))
        if missing:
            raise IconError(f"pages use Font Awesome icons the theme lacks: {', '.join(missing)}")
        text = icon_css(names, icons, banner.group(0) if banner else "")
        theme = static / "styles" / "pydata-sphinx-theme.css"
        if theme.is_file():
            text += theme_css_icons(theme.read_text(encoding="utf-8"), icons)
        (static / ICON_CSS).write_text(text, encoding="utf-8")
        for leftover in (script, script.with_suffix(".js.map")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(static / "vendor" / "fontawesome", ignore_errors=True)
    _replace_icon_script(html_dir)


def webp_pictures(html_dir: Path) -> None:
    """A lossless WebP beside each PNG of `_images/`, offered first by every page."""
    from PIL import Image

    images = html_dir / "_images"
    for png in images.glob("*.png"):
        webp = png.with_suffix(".webp")
        if not webp.exists() or webp.stat().st_mtime < png.stat().st_mtime:
            with Image.open(png) as image:
                image.save(webp, "WEBP", lossless=True, method=6)
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")

        def wrap(match: re.Match[str], folder: Path = page.parent) -> str:
            src = match["src"]
            if not (folder / f"{html.unescape(src)}.webp").is_file():
                return match.group(0)
            return f'<picture><source srcset="{src}.webp" type="image/webp" />{match.group(0)}'

        new = PNG_IMG.sub(wrap, text)
        if new != text:
            # Close each <picture> right after the <img> it wraps.
            new = re.sub(r'(type="image/webp" /><img [^>]*>)(?!</picture>)', r"\1</picture>", new)
            page.write_text(new, encoding="utf-8")


def remove_unused_static(html_dir: Path) -> list[Path]:
    """Delete the files of `_static/` that nothing served mentions; return them."""
    static = html_dir / "_static"
    removed = list(static.rglob("*.map"))
    mentioned = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for pattern in ("*.html", "*.css", "*.js")
        for path in html_dir.rglob(pattern)
        if not path.name.endswith(".map")
    )
    for path in static.rglob("*"):
        if path.is_file() and "LICENSE" not in path.name and path.name not in mentioned:
            removed.append(path)
    for path in removed:
        path.unlink(missing_ok=True)
    for folder in sorted((p for p in static.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed


def lighten(html_dir: Path) -> None:
    """All three steps, on a finished HTML build."""
    lighten_icons(html_dir)
    webp_pictures(html_dir)
    remove_unused_static(html_dir)
