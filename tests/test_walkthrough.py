"""A learner walks the whole course on the real practice hub, in real Chromium.

One hub and one browser serve the module; the steps are the ones the book
teaches: log in, choose an environment, land in JupyterLab, pull each module
with its nbgitpuller link, answer its tasks, stop the server from the control
panel, log out. The answers are the novice corpus's (`tests/files/novice/`):
for each task the first wrong answer is typed into the answer cell, and its
check must say what is wrong in one sentence with a hint; then the right answer,
and the check must pass. The R modules run on a server of the R image, the
Python modules on the default profile's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import nbformat
import pytest
from novice import CORPUS, Novice, failure_problems, load_corpus, pass_problems

from hubtrain.course.links import exercise_link
from hubtrain.course.pages import profile_rows
from hubtrain.course.release import R_SUFFIX, assignments
from hubtrain.practice import PracticeHub, browser

# One worker runs the whole module, so the hub and the browser start once.
pytestmark = [
    pytest.mark.hub,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("walkthrough"),
]

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
LEARNER = "ada"
VISITOR = "grace"  # the screen-claims walk's learner, whose default server never starts
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
ACTIVE = browser.ACTIVE


def _bytes(spec: str | int) -> int:
    """Memory as JupyterHub's ByteSpecification reads it: suffixes are powers of 1024."""
    if isinstance(spec, int):
        return spec
    return int(float(spec[:-1]) * UNITS[spec[-1]])


@pytest.fixture(scope="module")
def hub(walk_hub: PracticeHub) -> PracticeHub:
    """The practice hub this module shares with the novice corpus's runner."""
    return walk_hub


@pytest.fixture(scope="module")
def chromium(hub: PracticeHub, launched_chromium) -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile per test: no cookies, so each test logs in itself."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def _run_notebook(page: Any, url: str) -> None:
    browser.open_notebook(page, url)
    browser.run_each_cell(page)


def _walked(suffix: str) -> list[tuple[str, Novice]]:
    """The assignments of one language ("-r" or ""), each with its corpus (every
    assignment has one: test_every_assignment_has_a_corpus_file)."""
    names = [n for n in assignments(EXERCISES) if n.endswith(R_SUFFIX) == bool(suffix)]
    return [(n, load_corpus(CORPUS / f"{n}.yml")) for n in names]


def _cell_text(page: Any) -> str:
    """What the marked cell shows under it; a widget's buttons left out, nested outputs once."""
    return page.eval_on_selector(
        "[data-hubtrain-ran]",
        """cell => Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
            .filter(n => !n.parentElement.closest('.jp-OutputArea-output'))
            .map(n => { const c = n.cloneNode(true);
                        c.querySelectorAll('button').forEach(b => b.remove());
                        return c.textContent; })
            .join('\\n')""",
    )


def _run_active(page: Any) -> str:
    """Shift+Enter on the active cell, as a learner does; wait until it has run (a new
    execution count), and return what it shows."""
    cell = f"{ACTIVE} .jp-Notebook .jp-Cell.jp-mod-active"
    before = page.evaluate(
        """(selector) => {
            document.querySelectorAll('[data-hubtrain-ran]').forEach(
                c => c.removeAttribute('data-hubtrain-ran'));
            const cell = document.querySelector(selector);
            cell.setAttribute('data-hubtrain-ran', '');
            const prompt = cell.querySelector('.jp-InputPrompt');
            return prompt ? prompt.textContent : '';
        }""",
        cell,
    )
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        """(before) => {
            const cell = document.querySelector('[data-hubtrain-ran]');
            if (!cell || !cell.classList.contains('jp-CodeCell')) return true;
            const prompt = cell.querySelector('.jp-InputPrompt').textContent;
            return /\\[\\d+\\]/.test(prompt) && prompt !== before;
        }""",
        arg=before,
        timeout=browser.LAB_TIMEOUT,
    )
    return _cell_text(page)


def _type(page: Any, code: str) -> None:
    """Replace the active cell's text with `code`: Enter to edit, select all, type."""
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code.rstrip("\n"))
    page.keyboard.press("Escape")


def _walk_notebook(page: Any, hub: PracticeHub, relative: str, novice: Novice) -> list[str]:
    """Pull one module's notebook with its link, answer its tasks in the notebook's own
    order (the corpus's first wrong answer, then its right one), and run to the end.
    Returns what a learner would have found wrong, so one walk reports every module."""
    browser.open_link(page, exercise_link(hub.hub, relative))
    assert page.url.endswith(f"lab/tree/{hub.hub.content.directory}/{relative}")
    pulled = hub.state / "homes" / LEARNER / hub.hub.content.directory / relative
    notebook = nbformat.read(pulled, as_version=4)
    cells = notebook.cells
    names = [c.metadata.get("nbgrader", {}).get("grade_id", "") for c in cells]
    tasks = {t.cell: t for t in novice.tasks}
    forbidden = (str(hub.state), "/tmp/", str(ROOT))
    page.locator(f"{ACTIVE} .jp-Notebook .jp-Cell").nth(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    index, said, found = 0, "", []
    while index < len(cells):
        task = tasks.get(names[index])
        if task is None:
            said = _run_active(page)
            index += 1
            continue
        check = names.index(task.check)
        wrong = task.wrong[0]
        for code in (wrong.code, task.right):
            _type(page, code)
            for _ in range(index, check + 1):
                said = _run_active(page)
            if code == wrong.code:
                problems = failure_problems(said, wrong.says, forbidden)
                if problems:
                    found.append(f"{relative} {task.cell} ({wrong.why}): {problems}\n{said}")
                for _ in range(check + 1 - index):
                    page.keyboard.press("k")  # back up to the answer cell
            else:
                problems = pass_problems(said)
                if problems:
                    found.append(f"{relative} {task.cell}, right answer: {problems}\n{said}")
        index = check + 1
    # The module's summary, the notebook's last cell: every graded task passed.
    graded = [line for line in said.splitlines() if line.rstrip().endswith("(graded)")]
    if not graded or not all(line.strip().startswith("✓") for line in graded):
        found.append(f"{relative}: the summary does not show every graded task passed:\n{said}")
    return found


def _walk(page: Any, hub: PracticeHub, suffix: str) -> list[str]:
    """Walk every module of one language on the server that is running."""
    found = []
    for name, novice in _walked(suffix):
        for source in sorted((EXERCISES / name).glob("*.ipynb")):
            found += _walk_notebook(page, hub, f"{name}/{source.name}", novice)
    return found


def test_login_page_and_options_page(hub: PracticeHub, page: Any) -> None:
    """The login page asks for a password; the options page lists the hub file's
    profiles, descriptions and option choices, KubeSpawner style."""
    page.goto(f"{hub.url}/hub/login")
    assert page.locator("#password_input").is_visible()
    browser.log_in(page, hub.url, LEARNER, "not-the-password")
    assert "Invalid username or password" in page.inner_text("body")

    browser.log_in(page, hub.url, LEARNER, hub.password)
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
    """Choose a non-default profile and option (the R image), answer every module's tasks
    in R, then in Python on the default profile, wrong first and then right; stop, log out."""
    browser.log_in(page, hub.url, LEARNER, hub.password)
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

    # The R modules on this server of the R image.
    found = _walk(page, hub, R_SUFFIX)

    # The Python modules on a server of the default profile.
    browser.stop_server(page, hub.url)
    page.goto(f"{hub.url}/hub/spawn")
    browser.choose_profile(page, hub.hub.default_profile.key)
    page.click("#spawn_form [type=submit]")
    browser.wait_for_lab(page)
    # JupyterLab reopens the R notebooks of the last visit (its workspace is kept in
    # home), and this image has no R kernel to give them: start from a clean layout.
    page.goto(f"{hub.url}/user/{LEARNER}/lab?reset")
    browser.wait_for_lab(page)
    found += _walk(page, hub, "")
    assert not found, "\n\n".join(found)

    browser.stop_server(page, hub.url)
    page.reload()  # what the hub itself now says about the server
    assert page.inner_text("#start").strip() == "Start My Server"
    assert page.locator("#stop").count() == 0
    browser.log_out(page, hub.url)
    assert page.locator("#login_submit").is_visible()
    page.goto(f"{hub.url}/hub/home")
    assert "/hub/login" in page.url


def _menu_labels(page: Any) -> list[str]:
    """The labels of the context or main menu that is open now."""
    page.wait_for_selector(".lm-Menu")
    labels = page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
    return [text.strip() for text in labels if text.strip()]


def _running_servers(page: Any, hub: PracticeHub) -> dict[str, Any]:
    """The visitor's running servers, as the hub's REST API reports them to the visitor."""
    reply = page.request.get(f"{hub.url}/hub/api/users/{VISITOR}")
    assert reply.ok, reply.status
    return reply.json()["servers"]


def _file_item(page: Any, name: str) -> Any:
    label = page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".jp-DirListing-item").filter(has=label)


def test_what_the_book_says_is_on_screen(hub: PracticeHub, page: Any) -> None:
    """The book's claims about what a page shows, what a button is called and where a
    learner lands, seen at the pinned versions; book/reference/writing-content.md lists
    which section each assertion backs. One spawn: the named server's."""
    browser.log_in(page, hub.url, VISITOR, hub.password)
    path = "01-login/login.ipynb"
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))

    # Module 3, named servers: a user-redirect link to <server>/git-pull goes through
    # the *default* server's spawn page first.
    plain = exercise_link(hub.hub, path).replace("/user-redirect/", "/user-redirect/second/")
    page.goto(plain)
    assert urlsplit(page.url).path == f"/hub/spawn/{VISITOR}"

    # ... and the link hubtrain makes goes to the named server's own spawn page.
    visited.clear()
    page.goto(exercise_link(hub.hub, path, server_name="second", user_name=VISITOR))
    assert urlsplit(page.url).path == f"/hub/spawn/{VISITOR}/second"
    assert page.locator("#spawn_form").is_visible()

    # Module 2: the free-text choice. Its drop-down entry is display_name_in_choices
    # ("Other..." by default), its box is labelled display_name, and the profile
    # table names both.
    medium = next(p for p in hub.hub.profile_list if p.profile_options)
    option_key, option = next(iter(medium.profile_options.items()))
    unlisted = option.unlisted_choice
    assert unlisted is not None and unlisted.enabled
    select = f"#profile-option-{medium.key}--{option_key}"
    box = f"{select}--unlisted-choice"
    entry = page.locator(f"{select} option[value=unlisted-choice]").inner_text().strip()
    assert entry == (unlisted.display_name_in_choices or "Other...") == "Other..."
    box_label = page.inner_text(f"label[for={box[1:]}]").strip()
    assert box_label == unlisted.display_name
    row = next(r for r in profile_rows(hub.hub) if r["slug"] == medium.key)
    assert entry in row["options"] and f'"{box_label}"' in row["options"]

    # A refused value: the browser keeps the form and explains in the box's tooltip
    # (its `title`), not in text on the page.
    page.click(select)
    page.select_option(select, "unlisted-choice")
    page.fill(box, "not an image name")
    page.click("#spawn_form [type=submit]")
    assert page.locator(box).evaluate("e => e.validity.patternMismatch")
    assert page.get_attribute(box, "title") == unlisted.validation_message
    assert unlisted.validation_message not in page.inner_text("body")
    assert urlsplit(page.url).path == f"/hub/spawn/{VISITOR}/second"
    # When the hub itself refuses it, the form comes back with "Error: ..." on top.
    page.eval_on_selector(box, "e => e.removeAttribute('pattern')")
    page.click("#spawn_form [type=submit]")
    page.wait_for_selector(".spawn-error-msg")
    assert page.inner_text(".spawn-error-msg").startswith("Error:")

    small = hub.hub.default_profile.key
    browser.choose_profile(page, small)
    page.click("#spawn_form [type=submit]")
    page.wait_for_url(f"**/user/{VISITOR}/second/lab/tree/**", timeout=browser.LAB_TIMEOUT)
    browser.wait_for_notebook(page, "login.ipynb")
    assert page.url.endswith(f"/user/{VISITOR}/second/lab/tree/{hub.hub.content.directory}/{path}")
    assert not [u for u in visited if urlsplit(u).path == f"/hub/spawn/{VISITOR}"], visited
    assert set(_running_servers(page, hub)) == {"second"}  # the default server never started

    # Module 4: the file browser's context menu, in the notebook's own folder.
    folder = hub.state / "homes" / VISITOR / hub.hub.content.directory / "01-login"
    (folder / "trash-me.txt").write_text("a file to delete\n")
    page.click(".jp-DirListing-content")
    page.keyboard.press("Escape")
    page.locator(".jp-FileBrowser [data-command='filebrowser:refresh']").click()
    _file_item(page, "login.ipynb").click(button="right")
    labels = _menu_labels(page)
    # jupyterhub-singleuser turns the server's trash off (delete_to_trash = False), so
    # JupyterLab offers Delete, not Move to Trash.
    assert "Delete" in labels and "Move to Trash" not in labels, labels
    # Copy Path copies the path from the server's root, not from the notebook's folder.
    page.evaluate(
        """() => window.addEventListener('copy', e => {
            window.hubtrainCopied = e.clipboardData.getData('text'); })"""
    )
    page.locator(".lm-Menu .lm-Menu-item", has_text="Copy Path").click()
    page.wait_for_function("() => window.hubtrainCopied !== undefined")
    copied = page.evaluate("() => window.hubtrainCopied")
    assert copied == f"{hub.hub.content.directory}/{path}"
    # Delete deletes for good: the dialog says so, and no trash folder keeps the file.
    _file_item(page, "trash-me.txt").click(button="right")
    page.locator(".lm-Menu .lm-Menu-item", has_text=re.compile("^Delete")).click()
    dialog = page.locator(".jp-Dialog")
    assert "permanently delete" in dialog.inner_text()
    dialog.locator(".jp-mod-accept").click()
    page.wait_for_function(
        "() => !document.querySelector('.jp-DirListing-content').innerText.includes('trash-me')"
    )
    assert not (folder / "trash-me.txt").exists()
    assert not (hub.state / "homes" / VISITOR / ".local/share/Trash").exists()

    # Module 4: the Running panel: its sidebar icon's tooltip, its View menu entry, its
    # shortcut and its sections.
    tab = page.locator(".jp-SideBar .lm-TabBar-tab[data-id=jp-running-sessions]")
    assert tab.get_attribute("title") == "Running Terminals and Kernels"
    page.click(".lm-MenuBar-itemLabel:text-is('View')")
    assert "Sessions and Tabs" in _menu_labels(page)
    page.keyboard.press("Escape")
    page.click(".jp-DirListing-content")
    page.keyboard.press("Control+Shift+B")
    panel = page.locator("#jp-running-sessions")
    panel.wait_for()
    sections = panel.inner_text().upper()  # the headings are drawn in capitals
    for section in ("Open Tabs", "Kernels", "Terminals"):
        assert section.upper() in sections, sections

    # Modules 1 and 3: a learner whose server is stopped and who follows a course
    # link lands on the Server Options form (then Start), not on "Server not running".
    page.goto(exercise_link(hub.hub, path))
    landed = urlsplit(page.url)
    assert landed.path == f"/hub/spawn/{VISITOR}"
    assert parse_qs(landed.query)["next"][0].startswith(f"/user/{VISITOR}/git-pull?")
    assert page.inner_text("#spawn_form [type=submit]").strip() == "Start"
    assert "Server not running" not in page.inner_text("body")
    # That page is for direct /user/ addresses of a stopped server.
    page.goto(f"{hub.url}/user/{VISITOR}/lab")
    assert "Server not running" in page.inner_text("h1")
    assert page.locator("#start").inner_text().strip() == "Launch Server"

    # Module 3: a link through the hub's spawn page can choose the profile. The server
    # starts at once, without the options page, and the pull follows.
    pull = urlsplit(exercise_link(hub.hub, path))
    query = urlencode({"profile": medium.key, "next": f"{pull.path}?{pull.query}"})
    page.goto(f"{hub.url}/hub/spawn?{query}")
    assert page.locator("#spawn_form").count() == 0
    page.wait_for_url(f"**/user/{VISITOR}/lab/tree/**", timeout=browser.LAB_TIMEOUT)
    browser.wait_for_notebook(page, "login.ipynb")
    assert _running_servers(page, hub)[""]["user_options"] == {"profile": medium.key}

    # Leave nothing running for the tests after this one.
    browser.stop_server(page, hub.url)
    page.click(".home-server-row[data-server-name=second] .stop-server")
    page.wait_for_selector(
        ".home-server-row[data-server-name=second] .stop-server.hidden",
        state="attached",
        timeout=browser.LAB_TIMEOUT,
    )
