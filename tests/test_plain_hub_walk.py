"""A hub without a profile list, walked in real Chromium on the practice hub.

`hubs/practice-plain.yml` describes the practice hub as most university hubs are:
no profile list, one kind of server with hub-wide limits. The learner logs in and
lands in JupyterLab without any page of choices (KubeSpawner shows its form only
for a non-empty list), and module 2's Python and R exercises, pulled with their
course links and answered, pass every check there, including the live check that
the server got what the hub gives every server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from hubtrain.course.links import exercise_link
from hubtrain.grading.samples import answered
from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub
from hubtrain.practice import PracticeHub, browser

pytestmark = [
    pytest.mark.hub,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("plain-hub"),
]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "plain-hub-password"
LEARNER = "ada"
STDERR = "application/vnd.jupyter.stderr"
MODULE_2 = ("02-profiles/profiles.ipynb", "02-profiles-r/profiles_r.ipynb")


@pytest.fixture(scope="module")
def plain_hub() -> HubConfig:
    hub = load_hub(ROOT / "hubs" / "practice-plain.yml")
    assert not hub.profile_list and hub.defaults.mem_limit
    return hub


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, plain_hub: HubConfig, running_practice_hub
) -> Iterator[PracticeHub]:
    with running_practice_hub(tmp_path_factory.mktemp("plain-hub"), plain_hub, PASSWORD) as hub:
        yield hub


def _outputs(page: Any, mime: str = "") -> list[str]:
    selector = f"{browser.ACTIVE} .jp-OutputArea-output"
    if mime:
        selector += f"[data-mime-type='{mime}']"
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent)")


def test_no_options_page_and_module_2_passes_in_python_and_r(
    hub: PracticeHub, launched_chromium
) -> None:
    with launched_chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(60_000)
        page = context.new_page()
        visited: list[str] = []
        page.on("framenavigated", lambda frame: visited.append(frame.url))

        # Log in, then straight to JupyterLab: nothing to choose, nothing to press.
        browser.log_in(page, hub.url, LEARNER, PASSWORD)
        browser.wait_for_lab(page)
        assert not [u for u in visited if re.search(r"/hub/spawn(/[^/?]+)?(\?|$)", u)], visited
        assert page.locator("#kubespawner-profiles-list").count() == 0

        home = hub.state / "homes" / LEARNER
        clone = home / hub.hub.content.directory
        for relative in MODULE_2:
            browser.open_link(page, exercise_link(hub.hub, relative))
            source = ROOT / "exercises" / relative
            release = nbformat.read(clone / relative, as_version=4)
            solved = clone / relative.replace(".ipynb", "-solved.ipynb")
            nbformat.write(
                answered(release, nbformat.read(source, as_version=4), "correct"), solved
            )
            browser.open_notebook(
                page,
                f"{hub.url}/user/{LEARNER}/lab/tree/{hub.hub.content.directory}/"
                f"{relative.replace('.ipynb', '-solved.ipynb')}",
            )
            browser.run_each_cell(page)
            assert _outputs(page, STDERR) == [], f"{relative}: {_outputs(page, STDERR)}"
            text = "\n".join(_outputs(page))
            assert "This hub has no profile list" in text, text[:500]
            failed = [line for line in text.splitlines() if line.lstrip().startswith("✗")]
            assert failed == [], failed
        context.close()

    # Every graded task and every live check of both notebooks passed, recorded where
    # the course's progress page reads them.
    progress = json.loads((home / "hubtrain-progress.json").read_text())
    python, r = progress["02-profiles"], progress["02-profiles-r"]
    for task in ("limits", "my_profile", "smallest_fit", "array_bytes", "fits_in_memory"):
        assert python[task]["passed"] is True, (task, python)
    for task in ("r_limits", "r_enforced_memory", "r_smallest_fit", "r_matrix_bytes"):
        assert r[task]["passed"] is True, (task, r)
    assert r["r_fits_in_memory"]["passed"] is True
