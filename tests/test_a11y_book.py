"""The accessibility gate for the book: axe-core in Chromium on every built page in
light and dark mode, the "my hub" control and the link maker in use, keyboard-only
use of both, reflow at 320 CSS px (200% zoom of a 640 px window), and the weight
of a first visit to each module page.

One book build (conftest's `built_book`) and one browser serve the module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hubtrain.a11y.axe import Violation, axe_version, run_axe
from hubtrain.a11y.keyboard import NO_FOCUS_RING, leave_by_tab, tab_to, visible_focus
from hubtrain.a11y.results import check_or_record, summary
from hubtrain.a11y.waivers import load_waivers, stale, unwaived
from hubtrain.course.build import BuildResult
from hubtrain.course.links import nbgitpuller_link
from hubtrain.course.pageweight import BUDGET, first_visit, missing, module_pages, serve, total
from hubtrain.practice.browser import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("book-practice")]

LINK_MAKER = "book/reference/link-maker.html"
CHAPTER = "book/01-log-in-and-out.html"
OTHER_HUB = "https://other-hub.example.edu"
STILL = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after '
    + '{ transition: none !important; animation: none !important; }';
  document.head.appendChild(style);
});"""


def _report(violations: list[Violation]) -> str:
    return "\n".join(
        f"{v.view}: {v.rule} ({v.impact}) {v.help}\n    {v.target}\n    {v.html[:160]}"
        for v in violations
    )


@pytest.fixture(scope="module")
def book(built_book: Callable[[str], BuildResult]) -> BuildResult:
    return built_book("practice")


@pytest.fixture(scope="module")
def site(book: BuildResult) -> Iterator[str]:
    with serve(book.html) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh profile (empty localStorage), keyboard focus starting at the top."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def _pages(book: BuildResult) -> list[str]:
    """Every page a reader can open: the chapters, and Sphinx's own search and index pages.

    The top folder's `index.html` only forwards to the first chapter.
    """
    chapters = [p.relative_to(book.html).as_posix() for p in (book.html / "book").rglob("*.html")]
    own = [p.name for p in book.html.glob("*.html") if p.name != "index.html"]
    assert {"genindex.html", "search.html"} <= set(own), own
    return sorted(chapters) + sorted(own)


# Scanned with results on it: an empty search page hides the part readers use.
SEARCH = "search.html?q=nbgitpuller"


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#hubtrain-myhub")  # myhub.js has run


def _use_my_hub(page: Page, address: str) -> None:
    page.fill("#hubtrain-myhub-input", address)
    page.click("#hubtrain-myhub-use")


def _fill_link_maker(page: Page, repo: str) -> None:
    form = page.locator("#hubtrain-link-maker")
    form.locator("[name=hub]").fill("https://hub.example.org")
    form.locator("[name=repo]").fill(repo)
    form.locator("[name=path]").fill("week 1/intro.ipynb")


@pytest.fixture(scope="module")
def scan(browser: Browser, site: str, book: BuildResult) -> tuple[list[str], list[Violation]]:
    """Every page in light and dark mode, and the controls in use: (views, violations)."""
    views: list[str] = []
    found: list[Violation] = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
        # Colours mid-transition (a theme switching on load) are not what a reader sees.
        context.add_init_script(STILL)
        page = context.new_page()
        for path in _pages(book):
            path = SEARCH if path == "search.html" else path
            _open(page, f"{site}/{path}")
            if path == SEARCH:
                expect(page.locator("#search-results li a").first).to_be_visible(timeout=30_000)
            # The theme follows the system's colour scheme ("auto" mode).
            expect(page.locator("html")).to_have_attribute("data-theme", scheme)
            views.append(f"book:{path} ({scheme})")
            found += run_axe(page, views[-1])
        _open(page, f"{site}/{CHAPTER}")
        _use_my_hub(page, "other-hub.example.edu")
        expect(page.locator("#hubtrain-myhub-status")).to_contain_text(OTHER_HUB)
        views.append(f"book:my hub control, hub set ({scheme})")
        found += run_axe(page, views[-1])
        _use_my_hub(page, "not a hub")
        expect(page.locator("#hubtrain-myhub-error")).to_be_visible()
        views.append(f"book:my hub control, address refused ({scheme})")
        found += run_axe(page, views[-1])
        _open(page, f"{site}/{LINK_MAKER}")
        _fill_link_maker(page, "https://github.com/me/lessons")
        expect(page.locator("#hubtrain-link-maker-open")).to_be_visible()
        views.append(f"book:link maker, link made ({scheme})")
        found += run_axe(page, views[-1])
        _fill_link_maker(page, "https://github.com/me/lessons?token=secret")
        expect(page.locator("#hubtrain-link-maker-error")).to_be_visible()
        views.append(f"book:link maker, link refused ({scheme})")
        found += run_axe(page, views[-1])
        context.close()
    return views, found


def test_book_pages_have_no_serious_violations(scan: tuple[list[str], list[Violation]]) -> None:
    views, found = scan
    assert len(views) > 40
    bad = unwaived(found, load_waivers())
    assert not bad, "axe found serious or critical violations:\n" + _report(bad)


def test_book_waivers_still_match_and_results_are_recorded(
    scan: tuple[list[str], list[Violation]], browser: Browser
) -> None:
    views, found = scan
    waivers = load_waivers()
    gone = stale(found, waivers, "book")
    assert not gone, f"waivers that match nothing any more (delete them): {gone}"
    problem = check_or_record("book", summary(browser.version, views, found, waivers))
    assert not problem, problem


# -- keyboard only ------------------------------------------------------------


def check_my_hub_by_keyboard(page: Page, site: str) -> None:
    """Tab to the control, type a hub, Enter; Tab to Reset, Enter; Tab on out."""
    _open(page, f"{site}/{CHAPTER}")
    expect(page.get_by_role("textbox", name="My hub:")).to_be_visible()
    tab_to(page, "#hubtrain-myhub-input")
    visible_focus(page)
    page.keyboard.type("other-hub.example.edu")
    page.keyboard.press("Enter")
    expect(page.locator("#hubtrain-myhub-status")).to_contain_text(OTHER_HUB)
    assert (page.get_attribute("a.hubtrain-launch", "href") or "").startswith(OTHER_HUB)
    page.keyboard.press("Tab")
    expect(page.locator("#hubtrain-myhub-use")).to_be_focused()
    visible_focus(page)
    page.keyboard.press("Tab")
    reset = page.get_by_role("button", name="Reset to the book's hub")
    expect(reset).to_be_focused()
    visible_focus(page)
    page.keyboard.press("Enter")
    expect(page.locator("#hubtrain-myhub-status")).not_to_contain_text(OTHER_HUB)
    page.focus("#hubtrain-myhub-input")
    leave_by_tab(page, "#hubtrain-myhub")
    page.focus("#hubtrain-myhub-input")
    leave_by_tab(page, "#hubtrain-myhub", key="Shift+Tab")


def check_link_maker_by_keyboard(page: Page, site: str) -> None:
    """Fill every field with the keyboard alone, then reach "Try the link"."""
    _open(page, f"{site}/{LINK_MAKER}")
    for name in ("Hub address", "Repository", "Branch", "File to open", "Open in"):
        kind = "combobox" if name == "Open in" else "textbox"
        expect(page.get_by_role(kind, name=name)).to_be_visible()
    tab_to(page, "#hubtrain-link-maker [name=hub]")
    visible_focus(page)
    page.keyboard.press("Control+A")
    page.keyboard.type("https://hub.example.org")
    page.keyboard.press("Tab")
    visible_focus(page)
    page.keyboard.type("https://github.com/me/lessons")
    page.keyboard.press("Tab")
    page.keyboard.type("main")
    page.keyboard.press("Tab")
    page.keyboard.type("week 1/intro.ipynb")
    page.keyboard.press("Tab")
    expect(page.locator("#hubtrain-link-maker [name=app]")).to_be_focused()
    visible_focus(page)
    page.keyboard.press("ArrowDown")  # the second choice, /tree
    output = page.locator("#hubtrain-link-maker-output")
    expect(output).to_have_value(
        nbgitpuller_link(
            "https://hub.example.org",
            "https://github.com/me/lessons",
            "week 1/intro.ipynb",
            branch="main",
            app="tree",
        )
    )
    tab_to(page, "#hubtrain-link-maker-open", limit=8)
    visible_focus(page)
    leave_by_tab(page, "#hubtrain-link-maker")


def test_my_hub_control_works_by_keyboard(page: Page, site: str) -> None:
    check_my_hub_by_keyboard(page, site)


def test_link_maker_works_by_keyboard(page: Page, site: str) -> None:
    check_link_maker_by_keyboard(page, site)


TRAP = """
document.addEventListener('keydown', (e) => {
  if (e.key === 'Tab' && e.target.closest && e.target.closest(%r)) {
    e.preventDefault(); e.target.focus();
  }
}, true);
"""


@pytest.mark.parametrize(
    ("check", "breakage"),
    [
        (check_my_hub_by_keyboard, ("script", TRAP % "#hubtrain-myhub")),
        (check_my_hub_by_keyboard, ("style", NO_FOCUS_RING)),
        (check_my_hub_by_keyboard, ("label", "#hubtrain-myhub label")),
        (check_link_maker_by_keyboard, ("script", TRAP % "#hubtrain-link-maker")),
        (check_link_maker_by_keyboard, ("style", NO_FOCUS_RING)),
        (check_link_maker_by_keyboard, ("label", "#hubtrain-link-maker label")),
    ],
    ids=["hub-trap", "hub-focus", "hub-label", "maker-trap", "maker-focus", "maker-label"],
)
def test_keyboard_checks_fail_on_a_broken_copy(
    browser: Browser, site: str, check: Any, breakage: tuple[str, str]
) -> None:
    """A copy of the page with a tab trap, no focus ring, or unlabelled fields fails."""
    kind, code = breakage
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if kind == "script":
        context.add_init_script(code)
    elif kind == "style":
        context.add_init_script(
            "document.addEventListener('DOMContentLoaded', () => {"
            f"const s = document.createElement('style'); s.textContent = {json.dumps(code)};"
            "document.head.appendChild(s); });"
        )
    else:  # labels replaced by plain text: fields lose their names
        context.add_init_script(
            "new MutationObserver(() => document.querySelectorAll("
            f"{json.dumps(code)}).forEach(l => {{ const s = document.createElement('span');"
            "s.append(...l.childNodes); l.replaceWith(s); })).observe(document, "
            "{childList: true, subtree: true});"
        )
    try:
        with pytest.raises(AssertionError):
            check(context.new_page(), site)
    finally:
        context.close()


# -- zoom and weight ----------------------------------------------------------


def test_pages_reflow_at_320_css_pixels(browser: Browser, site: str, book: BuildResult) -> None:
    """At 320 px wide (a 640 px window at 200% zoom) no text needs sideways scrolling.

    Code blocks and wide tables scroll inside their own box, which WCAG 1.4.10
    allows; the page itself and its prose must not.
    """
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    overflowing = []
    try:
        for path in _pages(book):
            _open(page, f"{site}/{path}")
            wide = page.evaluate(
                """() => {
                    const width = document.documentElement.clientWidth;
                    const out = [];
                    if (document.documentElement.scrollWidth > width + 1) out.push('the page');
                    for (const el of document.querySelectorAll(
                            'main p, main li, main h1, main h2, main h3, main dd, main dt,'
                            + ' #hubtrain-myhub, #hubtrain-link-maker')) {
                        if (el.closest('pre, table, .pst-scrollable-table-container')) continue;
                        // Sidebars off screen until opened are not read there.
                        if (!el.checkVisibility({visibilityProperty: true})) continue;
                        const r = el.getBoundingClientRect();
                        if (r.width && r.right > width + 1) out.push(el.tagName + ': '
                            + (el.textContent || '').trim().slice(0, 60));
                    }
                    return out;
                }"""
            )
            overflowing += [f"{path}: {what}" for what in wide]
    finally:
        context.close()
    assert not overflowing, "text wider than 320 px:\n" + "\n".join(overflowing)


def test_module_pages_are_light(browser: Browser, site: str, book: BuildResult) -> None:
    """Every module page's first visit, gzipped, fits the budget; no figure is lost."""
    pages = module_pages(book.html)
    assert len(pages) >= 5
    for path in pages:
        assets = first_visit(browser, f"{site}/{path}")
        assert not missing(assets), f"{path} asks for files the build does not have"
        weight = total(assets)
        heaviest = sorted(assets, key=lambda a: -a.sent)[:5]
        assert weight <= BUDGET, f"{path}: {weight / 1024:.0f} KB gzipped; heaviest: " + ", ".join(
            f"{a.url.rsplit('/', 1)[-1]} {a.sent / 1024:.0f} KB" for a in heaviest
        )
        html = (book.html / path).read_text(encoding="utf-8")
        fetched = {a.url.split("?")[0].rsplit("/", 1)[-1] for a in assets}
        for image in set(_images(html)):
            stem = Path(image).stem
            assert f"{stem}.webp" in fetched or Path(image).name in fetched, (
                f"{path}: figure {image} was not loaded"
            )


def test_search_still_works_after_unused_files_are_removed(
    browser: Browser, site: str, book: BuildResult
) -> None:
    """The build deletes static files no page names; search, which loads files by
    script, still finds a page, and no page the gate visits asks for a missing file."""
    assert not (book.html / "_static" / "locales").exists()
    assert not list((book.html / "_static").rglob("*.map"))
    assets = first_visit(browser, f"{site}/{SEARCH}")
    assert not missing(assets), missing(assets)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{site}/{SEARCH}")
        expect(page.locator("#search-results li a").first).to_be_visible(timeout=30_000)
    finally:
        context.close()


def _images(html: str) -> list[str]:
    return re.findall(r'<img [^>]*src="([^"]+)"', html)


def test_icons_are_drawn_without_the_font_awesome_script(
    browser: Browser, site: str, book: BuildResult
) -> None:
    """The theme's icons still show (as masks), and no page loads Font Awesome."""
    assert not (book.html / "_static" / "scripts" / "fontawesome.js").exists()
    context = browser.new_context()
    page = context.new_page()
    try:
        _open(page, f"{site}/{CHAPTER}")
        icons = page.eval_on_selector_all(
            ".fa-solid, .fas",
            """els => els.filter(e => e.offsetParent).map(e => {
                const s = getComputedStyle(e);
                const mask = s.maskImage || s.webkitMaskImage;
                return [e.className, mask, e.getBoundingClientRect().width];
            })""",
        )
        titles = page.eval_on_selector_all(
            ".admonition > .admonition-title",
            """els => els.map(e => {
                const s = getComputedStyle(e, '::after');
                return [e.parentElement.className, s.maskImage || s.webkitMaskImage];
            })""",
        )
    finally:
        context.close()
    assert len(titles) >= 2
    assert icons
    for name, mask, width in icons:
        assert mask.startswith('url("data:image/svg+xml'), f"icon {name} has no outline"
        assert width > 0, f"icon {name} is not drawn"
    # The theme's admonition icons (warning triangle, tip bulb) are drawn the same way.
    for kind, mask in titles:
        assert mask.startswith('url("data:image/svg+xml'), f"the {kind} admonition lost its icon"


def test_accessibility_page_reports_the_recorded_results(book: BuildResult) -> None:
    page = (book.html / "book" / "reference" / "accessibility.html").read_text(encoding="utf-8")
    assert f"axe-core {axe_version()}" in page
    for waiver in load_waivers():
        assert waiver.upstream in page
