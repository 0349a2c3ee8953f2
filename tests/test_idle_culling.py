"""What keeps a server from the idle culler, and the options page of a one-profile hub,
on a real practice hub (JupyterHub, configurable-http-proxy, jupyterhub-idle-culler) in
real Chromium.

Module 1 says an open JupyterLab tab keeps its server from the idle culler, even when
JupyterLab in it does nothing: Jupyter Server pings each open kernel websocket, the
browser answers, the proxy counts that traffic and the hub reads it from the proxy.
Module 2 says a hub whose profile list has one profile still shows the options page.

The hub runs with JupyterHub's and Jupyter Server's timings scaled down so that the
test takes seconds: the culler stops servers idle for IDLE_TIMEOUT, the hub asks the
proxy for activity every ACTIVITY_INTERVAL and the server pings every PING_INTERVAL
(300 s and 30 s on a real hub, against an idle timeout of an hour: a ratio of about 10;
here IDLE_TIMEOUT is 8 times their sum). The assertions read what the hub recorded
(each server's last activity, and whether the culler stopped it), never a clock.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub
from hubtrain.practice import PracticeHub, browser

pytestmark = [
    pytest.mark.hub,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("idle-culling"),
]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "idle-culling-password"
IDLE_TIMEOUT = 24  # s: the culler's --timeout (it checks every quarter of it)
ACTIVITY_INTERVAL = 1  # s: JupyterHub.last_activity_interval
PING_INTERVAL = 2  # s: Jupyter Server's websocket ping interval
# A calculation that prints nothing, so the kernel sends nothing while it runs.
QUIET = "import time\n\ntime.sleep(3600)  # prints nothing for an hour"


@pytest.fixture(scope="module")
def one_profile_hub(tmp_path_factory: pytest.TempPathFactory) -> HubConfig:
    """hubs/practice.yml with its profile list cut to its first profile, as a hub file."""
    data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text(encoding="utf-8"))
    data["profile_list"] = data["profile_list"][:1]
    path = tmp_path_factory.mktemp("hub-file") / "one-profile.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    hub = load_hub(path)
    assert len(hub.profile_list) == 1
    return hub


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, one_profile_hub: HubConfig, running_practice_hub
) -> Iterator[PracticeHub]:
    with running_practice_hub(
        tmp_path_factory.mktemp("idle-culling"),
        one_profile_hub,
        PASSWORD,
        idle_timeout=IDLE_TIMEOUT,
        activity_interval=ACTIVITY_INTERVAL,
        websocket_ping_interval=PING_INTERVAL,
    ) as practice:
        yield practice


@pytest.fixture(scope="module")
def chromium(hub: PracticeHub, launched_chromium) -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


def _user(hub: PracticeHub, name: str) -> dict[str, Any]:
    """The hub's record of user `name`, read with the rehearsal service's admin token."""
    token = hub.rehearsal_token_path.read_text(encoding="utf-8").strip()
    request = urllib.request.Request(
        f"{hub.url}/hub/api/users/{name}", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def _activity(hub: PracticeHub, name: str) -> datetime | None:
    """The default server's last activity as the hub recorded it; None once it is gone."""
    server = _user(hub, name)["servers"].get("")
    return datetime.fromisoformat(server["last_activity"]) if server else None


def _start_through_the_options_page(chromium: Any, hub: PracticeHub, name: str) -> Any:
    """Log in as `name`, press Start on the options page; return the page, in JupyterLab."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    browser.log_in(page, hub.url, name, PASSWORD)
    page.wait_for_selector("#spawn_form [type=submit]")
    page.click("#spawn_form [type=submit]")
    browser.wait_for_lab(page)
    return page


def _run_quiet_calculation(hub: PracticeHub, page: Any, name: str) -> None:
    """Open a notebook whose one cell runs a silent calculation, and run it."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(QUIET)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(notebook, hub.state / "homes" / name / "quiet.ipynb")
    browser.open_notebook(page, f"{hub.url}/user/{name}/lab/tree/quiet.ipynb")
    prompt = page.locator(f"{browser.ACTIVE} .jp-Cell").first.locator(".jp-InputPrompt")
    prompt.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")
    # JupyterLab marks a running cell [*].
    page.wait_for_function(
        "(selector) => document.querySelector(selector)?.textContent.includes('*')",
        arg=f"{browser.ACTIVE} .jp-Cell .jp-InputPrompt",
        timeout=browser.LAB_TIMEOUT,
    )


def test_a_hub_with_one_profile_shows_the_options_page(
    hub: PracticeHub, chromium: Any, one_profile_hub: HubConfig
) -> None:
    """Logging in to a stopped server of a one-profile hub lands on the options page,
    with that profile and a Start button, and starts nothing until Start is pressed."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        browser.log_in(page, hub.url, "una", PASSWORD)
        page.wait_for_selector("#spawn_form [type=submit]")
        assert "/hub/spawn" in page.url
        (profile,) = one_profile_hub.profile_list
        assert profile.display_name in page.inner_text("#kubespawner-profiles-list")
        assert _user(hub, "una")["servers"] == {}
    finally:
        context.close()


def test_an_open_tab_keeps_its_server_and_a_closed_one_does_not(
    hub: PracticeHub, chromium: Any
) -> None:
    """Two learners run the same silent calculation. One keeps the JupyterLab tab open,
    with its JavaScript frozen (so JupyterLab asks the server nothing, as in a hidden
    tab and more); the other closes the tab. The culler stops only the second."""
    kept = _start_through_the_options_page(chromium, hub, "kept")
    closed = _start_through_the_options_page(chromium, hub, "closed")
    _run_quiet_calculation(hub, kept, "kept")
    _run_quiet_calculation(hub, closed, "closed")

    cdp = kept.context.new_cdp_session(kept)
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    # From now on the tab runs no JavaScript. A request JupyterLab sent just before
    # (its polls run every few seconds) may still be reported: one more round trip to
    # the browser delivers those first, so the list holds only what came after.
    kept.context.cookies()
    requests: list[str] = []
    kept.on("request", lambda request: requests.append(request.url))
    closed.context.close()

    # Wait (with a generous deadline) for the culler to stop the closed tab's server.
    last_seen = _activity(hub, "closed")
    deadline = time.monotonic() + 10 * IDLE_TIMEOUT
    while (seen := _activity(hub, "closed")) is not None:
        last_seen = seen
        assert time.monotonic() < deadline, "the culler never stopped the idle server"
        time.sleep(0.5)
    assert last_seen is not None

    # The open tab's server is still running, and the hub recorded activity on it long
    # after the other server's last: its browser answered the server's pings.
    kept_activity = _activity(hub, "kept")
    assert kept_activity is not None, "the culler stopped a server with an open tab"
    ahead = (kept_activity - last_seen).total_seconds()
    assert ahead > IDLE_TIMEOUT / 2, f"the open tab's last activity is only {ahead} s later"
    assert requests == [], "the frozen tab made requests: it was not the pings alone"
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    kept.context.close()
