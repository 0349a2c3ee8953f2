"""A learner's actions on the practice hub, in real Chromium driven by Playwright.

The end-to-end test and the screenshot script both walk the course with these
steps, so the book's pictures show exactly what the test checked.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote

__all__ = [
    "CHROMIUM",
    "choose_profile",
    "chromium_args",
    "launch",
    "log_in",
    "log_out",
    "open_link",
    "open_notebook",
    "run_each_cell",
    "stop_server",
    "wait_for_lab",
    "wait_for_notebook",
]

CHROMIUM = "/usr/bin/chromium"
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
LAB_TIMEOUT = 120_000  # ms: a server start on a busy 2-core machine


def chromium_args() -> list[str]:
    """Quiet, offline Chromium flags; `--no-sandbox` only when running as root."""
    args = [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    if os.geteuid() == 0:
        # Chromium's sandbox cannot start as root (containers, CI runners).
        args.append("--no-sandbox")
    return args


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless; Playwright never downloads a browser here."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args())


def log_in(page: Any, hub_url: str, username: str, password: str) -> None:
    """Fill in JupyterHub's login form and submit it."""
    page.goto(f"{hub_url}/hub/login")
    page.fill("#username_input", username)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state()


def choose_profile(page: Any, slug: str, options: dict[str, str] | None = None) -> None:
    """On the options page, pick profile `slug` and option choices {option: choice key}."""
    page.click(f"label[for=profile-item-{slug}] h3")
    for option, choice in (options or {}).items():
        select = f"#profile-option-{slug}--{option}"
        page.click(select)
        page.select_option(select, choice)
        page.keyboard.press("Escape")


def wait_for_lab(page: Any) -> None:
    """Wait until JupyterLab has loaded and shows its file browser."""
    page.wait_for_url("**/lab**", timeout=LAB_TIMEOUT)
    page.wait_for_selector(".jp-DirListing-content", timeout=LAB_TIMEOUT)


def open_link(page: Any, link: str) -> None:
    """Follow an nbgitpuller link and wait for the notebook it opens."""
    page.goto(link)
    page.wait_for_url("**/lab/tree/**", timeout=LAB_TIMEOUT)
    wait_for_notebook(page, page.url.rsplit("/", 1)[-1])


def open_notebook(page: Any, url: str) -> None:
    """Open a notebook by its JupyterLab URL (`.../lab/tree/PATH`) and wait for its kernel."""
    page.goto(url)
    wait_for_notebook(page, url.rsplit("/", 1)[-1])


def wait_for_notebook(page: Any, name: str) -> None:
    """Wait until notebook `name` is the current tab, drawn, with an idle kernel.

    JupyterLab restores the tabs of the last visit first, so the URL alone does
    not say which notebook is in front.
    """
    page.wait_for_function(
        """(name) => {
            const tab = document.querySelector(
                '#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel');
            return tab && tab.textContent === name;
        }""",
        arg=unquote(name),
        timeout=LAB_TIMEOUT,
    )
    page.wait_for_selector(f"{ACTIVE} .jp-Notebook .jp-Cell", timeout=LAB_TIMEOUT)
    wait_for_kernel(page)


def wait_for_kernel(page: Any) -> None:
    """Wait until the status bar says the open notebook's kernel is idle."""
    page.wait_for_function(
        "() => (document.querySelector('#jp-main-statusbar')?.innerText || '').includes('| Idle')",
        timeout=LAB_TIMEOUT,
    )


def run_each_cell(page: Any) -> None:
    """Run the open notebook cell by cell with Shift+Enter, as a learner does.

    Unlike Run > Run All Cells, this goes on after a failing check, so every
    check of a blank exercise gets to say what is missing. The number of cells
    comes from the status bar ("Cell 1/26"): JupyterLab draws long notebooks
    only as far as they are scrolled.
    """
    page.locator(f"{ACTIVE} .jp-Notebook .jp-Cell").nth(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    found = re.search(r"Cell \d+/(\d+)", page.inner_text("#jp-main-statusbar"))
    total = int(found.group(1)) if found else 0
    for _ in range(total):
        page.evaluate(
            """(selector) => {
                document.querySelectorAll('[data-hubtrain-ran]').forEach(
                    c => c.removeAttribute('data-hubtrain-ran'));
                document.querySelector(selector).setAttribute('data-hubtrain-ran', '');
            }""",
            f"{ACTIVE} .jp-Notebook .jp-Cell.jp-mod-active",
        )
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(
            """() => {
                const cell = document.querySelector('[data-hubtrain-ran]');
                if (!cell || !cell.classList.contains('jp-CodeCell')) return true;
                const prompt = cell.querySelector('.jp-InputPrompt');
                return /\\[\\d+\\]/.test(prompt ? prompt.textContent : '');
            }""",
            timeout=LAB_TIMEOUT,
        )
    wait_for_kernel(page)


def stop_server(page: Any, hub_url: str) -> None:
    """File > Hub Control Panel's "Stop My Server", and wait until it has stopped."""
    page.goto(f"{hub_url}/hub/home")
    # The button's handler comes with the page's scripts, loaded after the page.
    page.wait_for_load_state("networkidle")
    page.click("#stop")
    page.wait_for_function(
        "() => document.querySelector('#start').textContent.trim() === 'Start My Server'",
        timeout=LAB_TIMEOUT,
    )


def log_out(page: Any, hub_url: str) -> None:
    """The control panel's Logout button; ends on the login page."""
    page.goto(f"{hub_url}/hub/home")
    page.click("#logout")
    page.wait_for_url("**/hub/login**", timeout=LAB_TIMEOUT)
