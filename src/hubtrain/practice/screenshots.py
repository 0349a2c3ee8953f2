"""`make screenshots`: the book's figures, taken from a real practice hub in Chromium.

Runs the learner's walk-through of the end-to-end test on a fresh practice hub
(its own temporary state, so the pictures show a first visit) and saves:
login-page, options-page, control-panel, jupyterlab-file-browser,
nbgitpuller-progress and running-panel (`.png`, in `book/figures/`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from hubtrain.course.links import exercise_link
from hubtrain.hubfile.config import HubFileError
from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub, PracticeHubError, browser

__all__ = ["FIGURES", "main", "take_screenshots"]

FIGURES = (
    "login-page.png",
    "options-page.png",
    "control-panel.png",
    "jupyterlab-file-browser.png",
    "nbgitpuller-progress.png",
    "running-panel.png",
)
VIEWPORT = {"width": 1200, "height": 720}
LEARNER = "learner"


def _pull_with_progress(page: Any, link: str, picture: Path) -> None:
    """Follow `link`, photographing nbgitpuller's progress page on the way.

    A pull of the course takes a fraction of a second, so the request that
    starts it is held back until the picture is taken, then let through.
    """
    held: list[Any] = []
    page.route("**/git-pull/api**", lambda route: held.append(route))
    page.goto(link)
    page.wait_for_selector("#status-panel-title", state="visible")
    page.screenshot(path=str(picture))
    for route in held:
        route.continue_()
    page.unroute("**/git-pull/api**")
    page.wait_for_url("**/lab/tree/**", timeout=browser.LAB_TIMEOUT)
    browser.wait_for_notebook(page, link.rsplit("/", 1)[-1])


def take_screenshots(practice: PracticeHub, out: Path) -> list[Path]:
    """Walk the course on a running practice hub, saving the figures in `out`."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []

    def shot(page: Any, name: str) -> None:
        path = out / name
        page.screenshot(path=str(path))
        saved.append(path)

    with sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        context = chromium.new_context(viewport=VIEWPORT)
        context.set_default_timeout(60_000)
        page = context.new_page()

        page.goto(f"{practice.url}/hub/login")
        page.wait_for_selector("#login_submit")
        shot(page, "login-page.png")

        browser.log_in(page, practice.url, LEARNER, practice.password)
        page.wait_for_selector("#kubespawner-profiles-list")
        with_options = next(
            (p for p in practice.hub.profile_list if p.profile_options),
            practice.hub.default_profile,
        )
        browser.choose_profile(page, with_options.key)
        shot(page, "options-page.png")

        browser.choose_profile(page, practice.hub.default_profile.key)
        page.click("#spawn_form [type=submit]")
        browser.wait_for_lab(page)

        first = sorted((practice.root / "exercises").glob("*/*.ipynb"))[0]
        link = exercise_link(practice.hub, f"{first.parent.name}/{first.name}")
        _pull_with_progress(page, link, out / "nbgitpuller-progress.png")
        saved.append(out / "nbgitpuller-progress.png")
        page.wait_for_selector(".jp-DirListing-item")
        shot(page, "jupyterlab-file-browser.png")

        page.click(".jp-SideBar .lm-TabBar-tab[data-id='jp-running-sessions']")
        page.wait_for_selector(".jp-RunningSessions-item")
        shot(page, "running-panel.png")

        page.goto(f"{practice.url}/hub/home")
        page.wait_for_selector("#stop")
        shot(page, "control-panel.png")

        browser.stop_server(page, practice.url)
        browser.log_out(page, practice.url)
        context.close()
        chromium.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    """Start a fresh practice hub for `--hub`, take the figures, stop the hub."""
    parser = argparse.ArgumentParser(
        prog="python -m hubtrain.practice.screenshots", description=__doc__
    )
    parser.add_argument(
        "--hub", default="hubs/practice.yml", help="hub file (default: %(default)s)"
    )
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.add_argument("--out", default="", help="where to save (default: ROOT/book/figures)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    out = Path(args.out) if args.out else root / "book" / "figures"
    try:
        hub = load_hub(args.hub)
        with (
            tempfile.TemporaryDirectory(prefix="hubtrain-screenshots-") as state,
            PracticeHub(hub, Path(state), root=root, port=free_port()) as practice,
        ):
            saved = take_screenshots(practice, out)
    except (HubFileError, PracticeHubError) as exc:
        print(f"hubtrain: {exc}", file=sys.stderr)
        return 2
    for path in saved:
        print(f"Saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
