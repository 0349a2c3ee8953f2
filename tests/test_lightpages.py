"""The build's page-lightening step on a small HTML tree: only the icons pages use,
no icon lost, WebP pictures with the PNG kept, and safe to run twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from hubtrain.course.lightpages import IconError, lighten

# The shape of Font Awesome's all.min.js: a solid pack registered with d("fas", p).
FONTAWESOME = (
    "/*!\n * Font Awesome Free 6.5.2 by @fontawesome\n */\n"
    'var p={bars:[448,512,["navicon"],"f0c9","M0 96h448v64H0z"],'
    '"file-pdf":[384,512,[],"f1c1","M0 64h384v384H0z"]};d("fas",p),d("fa-solid",p)'
)
PAGE = """<html><head>
<script defer src="../_static/scripts/fontawesome.js?digest=abc"></script>
</head><body>
<i class="fa-solid fa-bars fa-lg"></i><span class="fas fa-navicon"></span>
<img alt="The login page" src="../_images/login.png" style="width: 100%;" />
</body></html>
"""


def _site(tmp_path: Path, page: str = PAGE) -> Path:
    html = tmp_path / "html"
    (html / "_static" / "scripts").mkdir(parents=True)
    (html / "_static" / "vendor" / "fontawesome" / "webfonts").mkdir(parents=True)
    (html / "_static" / "scripts" / "fontawesome.js").write_text(FONTAWESOME)
    (html / "_images").mkdir()
    Image.new("RGB", (40, 20), "white").save(html / "_images" / "login.png")
    (html / "book").mkdir()
    (html / "book" / "page.html").write_text(page)
    return html


def test_only_used_icons_replace_the_script(tmp_path: Path) -> None:
    html = _site(tmp_path)
    lighten(html)
    page = (html / "book" / "page.html").read_text()
    assert "fontawesome.js" not in page
    assert '<link rel="stylesheet" href="../_static/hubtrain-icons.css" />' in page
    css = (html / "_static" / "hubtrain-icons.css").read_text()
    assert ".fa-bars {" in css and ".fa-navicon {" in css  # an alias gets its icon
    assert "fa-file-pdf" not in css and "fa-lg {" not in css
    assert "Font Awesome Free 6.5.2" in css  # the licence banner stays with the icons
    assert not (html / "_static" / "scripts" / "fontawesome.js").exists()
    assert not (html / "_static" / "vendor" / "fontawesome").exists()


def test_screenshots_become_webp_pictures_keeping_png(tmp_path: Path) -> None:
    html = _site(tmp_path)
    lighten(html)
    lighten(html)  # a rebuild runs it again on its own output
    page = (html / "book" / "page.html").read_text()
    assert page.count("<picture>") == 1 and page.count("</picture>") == 1
    assert (
        '<picture><source srcset="../_images/login.webp" type="image/webp" />'
        '<img alt="The login page" src="../_images/login.png" style="width: 100%;" /></picture>'
    ) in page
    with Image.open(html / "_images" / "login.webp") as webp:
        assert webp.format == "WEBP" and webp.size == (40, 20)
    assert (html / "_images" / "login.png").exists()


def test_an_icon_the_theme_lacks_stops_the_build(tmp_path: Path) -> None:
    html = _site(tmp_path, PAGE.replace("fa-navicon", "fa-no-such-icon"))
    with pytest.raises(IconError, match="no-such-icon"):
        lighten(html)


def test_files_no_page_mentions_are_removed(tmp_path: Path) -> None:
    html = _site(tmp_path, PAGE.replace("</head>", '<link href="../_static/kept.css" /></head>'))
    static = html / "_static"
    (static / "kept.css").write_text("a { background: url(used.png); }")
    (static / "used.png").write_bytes(b"png")
    (static / "kept.css.map").write_text("{}")
    (static / "locales" / "de" / "LC_MESSAGES").mkdir(parents=True)
    (static / "locales" / "de" / "LC_MESSAGES" / "booktheme.mo").write_bytes(b"mo")
    (static / "scripts" / "bootstrap.js.LICENSE.txt").write_text("MIT")
    lighten(html)
    assert (static / "kept.css").exists() and (static / "used.png").exists()
    assert (static / "scripts" / "bootstrap.js.LICENSE.txt").exists()
    assert not (static / "kept.css.map").exists()
    assert not (static / "locales").exists()


def test_the_themes_css_icons_are_drawn_without_the_font(tmp_path: Path) -> None:
    """Admonition titles name their icon by code point in the theme's CSS; the
    rule is redrawn as a mask, with no Font Awesome font left to download."""
    html = _site(tmp_path)
    (html / "_static" / "styles").mkdir()
    (html / "_static" / "styles" / "pydata-sphinx-theme.css").write_text(
        ':root{--pst-icon-bars:"\uf0c9";--pst-icon-admonition-note:var(--pst-icon-bars)}'
        ".admonition.note>.admonition-title:after{color:blue;content:var(--pst-icon-admonition-note)}"
    )
    lighten(html)
    css = (html / "_static" / "hubtrain-icons.css").read_text()
    rule = next(line for line in css.splitlines() if line.startswith(".admonition.note"))
    assert 'content: ""; font-family: inherit;' in rule
    assert 'mask: url("data:image/svg+xml,%3Csvg' in rule and "M0 96h448v64H0z" in rule
