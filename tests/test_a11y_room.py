"""The accessibility gate on the TA's room view (`hubtrain room`): the grid page and
the projector page, drawn by their own script from a room with every kind of cell,
scanned by axe-core in Chromium and used with the keyboard alone.

The page is served by the real room server; the room it shows is built by the
same code the command uses, from records as the learner runtime writes them, so
no hub is needed to check how the page reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubtrain.a11y.axe import Violation, run_axe
from hubtrain.a11y.keyboard import tab_to, visible_focus
from hubtrain.a11y.results import check_or_record, summary
from hubtrain.a11y.waivers import load_waivers
from hubtrain.room.grid import Learner, Rules, build
from hubtrain.room.server import RoomServer
from hubtrain.room.tasks import find_modules, module_tasks

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("a11y-room")]

ROOT = Path(__file__).resolve().parent.parent


def _room() -> dict[str, Any]:
    now = time.time()
    tasks = module_tasks(find_modules(ROOT / "exercises", ["01"]))
    first, second = tasks[0], tasks[1]
    learners = [
        Learner("ada", "running", now - 30, {first.module: {first.task_id: _entry(True, 1, now)}}),
        Learner(
            "bob",
            "running",
            now - 60,
            {second.module: {second.task_id: _entry(False, 4, now, "the path is /hub/home.")}},
        ),
        Learner("cy", "starting", None, {}, first_seen=now - 3600),
        Learner("dee", "not started", None, {}, first_seen=now - 3600),
        Learner("eve", "stopped", now - 900, {}, note="this learner's server did not answer"),
    ]
    return {**build(learners, tasks, Rules(stuck_tries=3, idle_minutes=10), now), "error": ""}


def _entry(passed: bool, tries: int, now: float, message: str = "") -> dict[str, Any]:
    return {"title": "", "passed": passed, "tries": tries, "time": int(now), "message": message}


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    room = _room()
    server = RoomServer(lambda: room)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def scanned(served: str, launched_chromium) -> Iterator[tuple[Any, list[str], list[Violation]]]:
    with launched_chromium() as chromium:
        # The page forbids scripts it did not serve; axe is injected, so let it in.
        context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page = context.new_page()
        views: list[str] = []
        found: list[Violation] = []
        for path, view in [("", "room:grid"), ("projector", "room:projector")]:
            page.goto(served + path)
            page.wait_for_selector("body[data-updated]")
            views.append(view)
            found += run_axe(page, view)
        page.goto(served)
        page.wait_for_selector("body[data-updated]")
        yield page, views, found
        context.close()


def test_room_pages_have_no_serious_violations(scanned: Any) -> None:
    _, _, found = scanned
    serious = [f"{v.view}: {v.rule} {v.target} {v.help}" for v in found if v.gating]
    assert serious == []


def test_room_results_are_recorded(scanned: Any) -> None:
    page, views, found = scanned
    version = page.context.browser.version
    problem = check_or_record("room", summary(version, views, found, load_waivers()))
    assert problem == "", problem


def test_the_grid_is_reached_and_scrolled_by_keyboard(scanned: Any) -> None:
    """The wide grid scrolls in its own region: Tab reaches it, with a visible focus,
    and the arrow keys move it sideways."""
    page, _, _ = scanned
    page.set_viewport_size({"width": 640, "height": 800})
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    tab_to(page, ".scroll")
    visible_focus(page)
    before = page.evaluate("() => document.querySelector('.scroll').scrollLeft")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('.scroll').scrollLeft > {before}")


def test_the_live_status_is_not_announced_again_when_nothing_changed(scanned: Any) -> None:
    """The status line is a live region: redrawing the same room must not touch it, or a
    screen reader would read it out every few seconds."""
    page, _, _ = scanned
    page.evaluate(
        """() => {
            window.statusChanges = 0;
            new MutationObserver(() => window.statusChanges++).observe(
                document.getElementById('status'),
                {childList: true, characterData: true, subtree: true});
            window.redraws = 0;
            new MutationObserver(() => window.redraws++).observe(
                document.querySelector('#grid'), {childList: true, subtree: true});
        }"""
    )
    page.wait_for_function("() => window.redraws >= 2")
    assert page.evaluate("() => window.statusChanges") == 0
