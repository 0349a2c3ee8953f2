"""The accessibility gate on the practice hub: the pages the book shows learners
(login, server options, control panel, token page) in light and dark mode, and
JupyterLab with a course exercise open and run, in its light and its dark theme, its
widgets answered with the keyboard alone.

One practice hub and one browser serve the module; a learner logs in once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from hubtrain.a11y.axe import Violation, run_axe
from hubtrain.a11y.keyboard import NO_FOCUS_RING, leave_by_tab, visible_focus
from hubtrain.a11y.results import check_or_record, summary
from hubtrain.a11y.waivers import load_waivers, stale, unwaived
from hubtrain.course.links import exercise_link
from hubtrain.hubfile.config import HubConfig
from hubtrain.practice import PracticeHub, browser

pytestmark = [
    pytest.mark.hub,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("a11y-hub"),
]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a11y-password"
LEARNER = "grace"
EXERCISE = "01-login/login.ipynb"
ACTIVE = browser.ACTIVE
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig, running_practice_hub
) -> Iterator[PracticeHub]:
    with running_practice_hub(
        tmp_path_factory.mktemp("a11y-hub"), practice_hub, PASSWORD
    ) as practice:
        yield practice


@pytest.fixture(scope="module")
def chromium(hub: PracticeHub, launched_chromium) -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def walk(hub: PracticeHub, chromium: Any) -> Iterator[tuple[Any, list[str], list[Violation]]]:
    """Log in, scan each hub page the book shows in light and dark mode, start a
    server, open and run the first exercise in JupyterLab and scan it in its dark and
    light themes (light last, for the tests that use the page): (the JupyterLab page,
    views, violations)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(60_000)
    page = context.new_page()
    views: list[str] = []
    found: list[Violation] = []

    def scan(view: str) -> None:
        """Scan the page as loaded (the system set to light), then loaded again with the
        system set to dark: JupyterHub's pages follow it unless its toggle was used.
        Loaded, not switched live, so that no colour is caught mid-transition."""
        for scheme in ("light", "dark"):
            if scheme == "dark":
                page.emulate_media(color_scheme="dark")
                page.reload()
            expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
            page.wait_for_load_state("networkidle")
            views.append(f"{view} ({scheme})")
            found.extend(run_axe(page, views[-1]))
        page.emulate_media(color_scheme="light")

    page.goto(f"{hub.url}/hub/login")
    scan("hub:login page")
    browser.log_in(page, hub.url, LEARNER, PASSWORD)
    page.wait_for_url("**/hub/spawn**")
    scan("hub:server options page")
    page.goto(f"{hub.url}/hub/token")
    scan("hub:token page")
    page.goto(f"{hub.url}/hub/home")
    scan("hub:control panel, server stopped")
    page.goto(f"{hub.url}/hub/spawn")
    page.click("#spawn_form [type=submit]")
    browser.wait_for_lab(page)
    page.goto(f"{hub.url}/hub/home")
    scan("hub:control panel, server running")
    browser.open_link(page, exercise_link(hub.hub, EXERCISE, hub.url))
    browser.run_each_cell(page)
    page.wait_for_selector(f"{ACTIVE} .widget-radio-box")
    for scheme, theme in (("dark", "JupyterLab Dark"), ("light", "JupyterLab Light")):
        _choose_theme(page, theme, light=scheme == "light")
        views.append(f"lab:JupyterLab, exercise open and run ({scheme})")
        found.extend(run_axe(page, views[-1]))
    yield page, views, found
    context.close()


def _choose_theme(page: Any, theme: str, light: bool) -> None:
    """JupyterLab's theme is a setting, not the system's: chosen from its Settings menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(theme)}$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", str(light).lower())
    page.wait_for_load_state("networkidle")


def _report(violations: list[Violation]) -> str:
    return "\n".join(
        f"{v.view}: {v.rule} ({v.impact}) {v.help}\n    {v.target}\n    {v.html[:160]}"
        for v in violations
    )


def test_hub_pages_and_jupyterlab_have_no_unwaived_serious_violations(walk: Any) -> None:
    _, views, found = walk
    # Five hub pages in light and dark mode, and JupyterLab in its light and dark theme.
    assert len(views) == 12
    bad = unwaived(found, load_waivers())
    assert not bad, "axe found serious or critical violations:\n" + _report(bad)


# JupyterHub 6.1.1's stylesheet sets `.navbar{--bs-navbar-color: rgba(black, 0.95)}`, a
# Sass colour left uncompiled: invalid, so the links inherit the page's text colour and
# read well in both modes (dark: 10.2:1). Compiled as meant, it gives this. Bootstrap
# fades a link's colour over 0.15 s, and axe measured the old colour mid-fade in one
# clean-clone run (0 faults found); the injected colour applies at once.
DARK_ON_DARK_NAV = (
    ".navbar { --bs-navbar-color: rgba(0, 0, 0, 0.95); }"
    " .navbar .nav-link { transition: none !important; }"
)


def test_the_dark_scan_fails_on_dark_navigation_links(walk: Any, hub: PracticeHub) -> None:
    """Near-black navigation links: a light-mode scan passes them, the dark-mode scan
    finds them on JupyterHub's dark navigation bar, and no waiver covers them."""
    page = walk[0].context.new_page()
    try:
        found: dict[str, list[Violation]] = {}
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(f"{hub.url}/hub/home")
            expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
            page.add_style_tag(content=DARK_ON_DARK_NAV)
            bad = unwaived(run_axe(page, f"hub:control panel ({scheme})"), load_waivers())
            found[scheme] = [v for v in bad if v.rule == "color-contrast" and "nav-link" in v.html]
        assert found["light"] == [], _report(found["light"])
        assert len(found["dark"]) == 2, _report(found["dark"])  # Home and Token
    finally:
        page.close()


def test_hub_waivers_still_match_and_results_are_recorded(walk: Any, chromium: Any) -> None:
    _, views, found = walk
    waivers = load_waivers()
    gone = stale(found, waivers, "hub") + stale(found, waivers, "lab")
    assert not gone, f"waivers that match nothing any more (delete them): {gone}"
    problem = check_or_record("hub", summary(chromium.version, views, found, waivers))
    assert not problem, problem


def check_widgets_by_keyboard(page: Any) -> None:
    """Each question's choices are named radio buttons a learner answers with the
    arrow keys, seeing where the focus is; the feedback appears; Tab moves on."""
    groups = page.locator(f"{ACTIVE} .widget-radio-box")
    assert groups.count() >= 2
    group = groups.first
    radios = group.get_by_role("radio")
    assert radios.count() >= 2
    # Each choice is announced by its own text, "a) ...", "b) ...".
    named = group.get_by_role("radio", name=re.compile(r"^[a-e]\) \S"))
    assert named.count() == radios.count(), "a choice has no accessible name"
    radios.first.focus()
    visible_focus(page)
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    feedback = group.locator("xpath=ancestor::*[contains(@class,'widget-vbox')][1]")
    page.wait_for_function(
        "(box) => /[✓✗]/.test(box.textContent)", arg=feedback.element_handle(), timeout=30_000
    )
    leave_by_tab(page, ".widget-radio-box")
    button = page.locator(ACTIVE).get_by_role("button", name="Check my work").first
    assert button.is_visible()
    button.focus()
    visible_focus(page)


def test_exercise_widgets_work_by_keyboard(walk: Any) -> None:
    page, _, _ = walk
    check_widgets_by_keyboard(page)


def test_widget_keyboard_check_fails_without_a_focus_ring(walk: Any) -> None:
    page, _, _ = walk
    handle = page.add_style_tag(content=NO_FOCUS_RING)
    try:
        with pytest.raises(AssertionError, match="no focus indicator"):
            check_widgets_by_keyboard(page)
    finally:
        handle.evaluate("el => el.remove()")


def test_exercise_widgets_have_a_text_equivalent(walk: Any, hub: PracticeHub) -> None:
    """Saved, each widget output carries plain text: the question and how to answer
    it in code, or the live check's result, for readers where widgets cannot draw."""
    page, _, _ = walk
    page.click(f"{ACTIVE} [data-command='docmanager:save']")
    path = hub.state / "homes" / LEARNER / hub.hub.content.directory / EXERCISE
    page.wait_for_function(
        "() => !document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"
        ".jp-mod-dirty')",
        timeout=30_000,
    )
    notebook = nbformat.read(path, as_version=4)
    widget_outputs = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if WIDGET_MIME in output.get("data", {})
    ]
    assert len(widget_outputs) >= 3, json.dumps([c.get("outputs") for c in notebook.cells])[:500]
    for output in widget_outputs:
        text = output["data"].get("text/plain", "")
        assert text.strip() and "VBox" not in text and "HubcheckBox" not in text, text
    questions = [o["data"]["text/plain"] for o in widget_outputs if "hubcheck.answer" in str(o)]
    assert len(questions) >= 2
    for text in questions:
        assert "a) " in text and "b) " in text
