"""A learner walks the whole course on the real practice hub, in real Chromium.

One hub and one browser serve the module; the steps are the ones the book
teaches: log in, choose an environment, land in JupyterLab, pull each module
with its nbgitpuller link, run the exercise (blank, then solved), stop the
server from the control panel, log out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from hubtrain.config import HubConfig
from hubtrain.links import exercise_link
from hubtrain.localenv import free_port
from hubtrain.practice import PracticeHub, browser
from hubtrain.release import assignments

# One worker runs the whole module, so the hub and the browser start once.
pytestmark = [
    pytest.mark.hub,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("walkthrough"),
]

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
PASSWORD = "walkthrough-password"
LEARNER = "ada"
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
ACTIVE = browser.ACTIVE
STDERR = "application/vnd.jupyter.stderr"


def _bytes(spec: str | int) -> int:
    """Memory as JupyterHub's ByteSpecification reads it: suffixes are powers of 1024."""
    if isinstance(spec, int):
        return spec
    return int(float(spec[:-1]) * UNITS[spec[-1]])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig) -> Iterator[PracticeHub]:
    state = tmp_path_factory.mktemp("practice-hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_CONFIG_DIR", str(state / "jupyter-config-of-the-hub"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(state / "jupyter-runtime-of-the-hub"))
        practice = PracticeHub(
            practice_hub, state / "state", root=ROOT, port=free_port(), password=PASSWORD
        )
        with practice:
            yield practice


@pytest.fixture(scope="module")
def chromium(hub: PracticeHub) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile per test: no cookies, so each test logs in itself."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def _outputs(page: Any, mime: str = "") -> list[str]:
    """The text of the open notebook's outputs (of one MIME type, if given).

    Errors are shown as `application/vnd.jupyter.stderr`. `textContent`, not
    `innerText`: JupyterLab skips drawing cells that are off screen.
    """
    selector = f"{ACTIVE} .jp-OutputArea-output"
    if mime:
        selector += f"[data-mime-type='{mime}']"
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent)")


def _graded_cells(notebook: Path) -> int:
    cells = nbformat.read(notebook, as_version=4).cells
    return sum(bool(c.metadata.get("nbgrader", {}).get("grade")) for c in cells)


def _solved(release_nb: Path, source_nb: Path, target: Path) -> None:
    """The release notebook with each answer cell replaced by the source's solution,
    as a learner who solved every exercise would have it."""
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(source_nb, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    notebook = nbformat.read(release_nb, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    nbformat.write(notebook, target)


def _run_notebook(page: Any, url: str) -> None:
    browser.open_notebook(page, url)
    browser.run_each_cell(page)


def test_login_page_and_options_page(hub: PracticeHub, page: Any) -> None:
    """The login page asks for a password; the options page lists the hub file's
    profiles, descriptions and option choices, KubeSpawner style."""
    page.goto(f"{hub.url}/hub/login")
    assert page.locator("#password_input").is_visible()
    browser.log_in(page, hub.url, LEARNER, "not-the-password")
    assert "Invalid username or password" in page.inner_text("body")

    browser.log_in(page, hub.url, LEARNER, PASSWORD)
    assert "/hub/spawn" in page.url
    text = page.inner_text("#kubespawner-profiles-list")
    for profile in hub.hub.profile_list:
        assert profile.display_name in text
        assert profile.description in text
    default = hub.hub.default_profile.key
    assert page.is_checked(f"#profile-item-{default}")

    medium = next(p for p in hub.hub.profile_list if p.profile_options)
    option_key, option = next(iter(medium.profile_options.items()))
    select = f"#profile-option-{medium.key}--{option_key}"
    labels = page.eval_on_selector_all(f"{select} option", "o => o.map(x => x.textContent)")
    assert [c.display_name for c in option.choices.values()] == labels[: len(option.choices)]
    # "Other..." reveals the free-text field with the hub file's validation pattern.
    assert option.unlisted_choice is not None
    # A learner clicks the menu first; KubeSpawner's script then selects its profile.
    page.click(select)
    page.select_option(select, "unlisted-choice")
    other = page.locator(f"#profile-option-{medium.key}--{option_key}--unlisted-choice")
    assert other.is_visible()
    assert other.get_attribute("pattern") == option.unlisted_choice.validation_regex
    assert page.is_checked(f"#profile-item-{medium.key}")


def test_learner_walks_the_course(hub: PracticeHub, page: Any) -> None:
    """Choose a non-default profile and option, pull and run every module, stop, log out."""
    browser.log_in(page, hub.url, LEARNER, PASSWORD)
    if "/hub/spawn" not in page.url:
        page.goto(f"{hub.url}/hub/spawn")
    medium = next(p for p in hub.hub.profile_list if p.profile_options and not p.default)
    option_key, option = next(iter(medium.profile_options.items()))
    choice_key, choice = next((k, c) for k, c in option.choices.items() if not c.default)
    browser.choose_profile(page, medium.key, {option_key: choice_key})
    page.click("#spawn_form [type=submit]")
    browser.wait_for_lab(page)
    assert f"/user/{LEARNER}/lab" in page.url

    # What the learner's kernel sees: the chosen profile, KubeSpawner's variables.
    home = hub.state / "homes" / LEARNER
    probe = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        cells=[
            nbformat.v4.new_code_cell(
                "import json, os\nprint(json.dumps({k: os.environ.get(k, '') for k in "
                "['MEM_LIMIT', 'MEM_GUARANTEE', 'CPU_LIMIT', 'CPU_GUARANTEE', "
                "'JUPYTER_IMAGE_SPEC', 'JUPYTER_IMAGE', 'JUPYTERHUB_USER', "
                f"'{hub.hub.storage.scratch_env}', '{hub.hub.storage.persistent_env}', "
                "'AWS_ENDPOINT_URL']}))"
            )
        ],
    )
    nbformat.write(probe, home / "environment.ipynb")
    _run_notebook(page, f"{hub.url}/user/{LEARNER}/lab/tree/environment.ipynb")
    seen = json.loads(page.inner_text(f"{ACTIVE} .jp-OutputArea-output").strip())
    override = medium.kubespawner_override
    image = choice.kubespawner_override["image"]
    assert seen["MEM_LIMIT"] == str(_bytes(override["mem_limit"]))
    assert seen["MEM_GUARANTEE"] == str(_bytes(override["mem_guarantee"]))
    assert float(seen["CPU_LIMIT"]) == float(override["cpu_limit"])
    assert float(seen["CPU_GUARANTEE"]) == float(override["cpu_guarantee"])
    assert seen["JUPYTER_IMAGE_SPEC"] == seen["JUPYTER_IMAGE"] == image
    assert seen["JUPYTERHUB_USER"] == LEARNER
    assert seen[hub.hub.storage.scratch_env] == f"s3://hubtrain-scratch/{LEARNER}"
    assert seen[hub.hub.storage.persistent_env] == f"s3://hubtrain-persistent/{LEARNER}"
    assert seen["AWS_ENDPOINT_URL"] == hub.s3.endpoint_url  # type: ignore[union-attr]

    clone = home / hub.hub.content.directory
    for name in assignments(EXERCISES):
        # The Python notebooks; the R twins run on the practice hub in test_r_track_live.py.
        for source in sorted((EXERCISES / name).glob("*.ipynb")):
            if source.stem.endswith("_r"):
                continue
            relative = f"{name}/{source.name}"
            # The blank release: the checks fail, in sentences.
            browser.open_link(page, exercise_link(hub.hub, relative))
            assert page.url.endswith(f"lab/tree/{hub.hub.content.directory}/{relative}")
            assert (clone / relative).is_file()
            browser.run_each_cell(page)
            failures = _outputs(page, STDERR)
            sentences = [t for t in _outputs(page) if t.lstrip().startswith("✗")]
            assert sentences, f"{relative}: the blank checks should fail in sentences: {failures}"
            # The only tracebacks are nbgrader's blank answer cells
            # (`raise NotImplementedError()`); a check never shows one.
            others = [text for text in failures if text not in sentences]
            assert all("NotImplementedError" in text for text in others), others

            # The same notebook with the answers filled in: every check passes.
            solved = clone / name / f"{source.stem}-solved.ipynb"
            _solved(clone / relative, source, solved)
            _run_notebook(
                page,
                f"{hub.url}/user/{LEARNER}/lab/tree/{hub.hub.content.directory}/{name}/"
                f"{solved.name}",
            )
            assert _outputs(page, STDERR) == [], f"{relative}: {_outputs(page, STDERR)}"
            passed = [text for text in _outputs(page) if text.startswith("✓")]
            assert len(passed) >= _graded_cells(source), _outputs(page)

    browser.stop_server(page, hub.url)
    page.reload()  # what the hub itself now says about the server
    assert page.inner_text("#start").strip() == "Start My Server"
    assert page.locator("#stop").count() == 0
    browser.log_out(page, hub.url)
    assert page.locator("#login_submit").is_visible()
    page.goto(f"{hub.url}/hub/home")
    assert "/hub/login" in page.url
