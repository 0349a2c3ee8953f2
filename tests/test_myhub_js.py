"""The "my hub" control and the link maker, in real Chromium against the built book."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hubtrain.course.build import BuildResult
from hubtrain.course.links import exercise_link, nbgitpuller_link
from hubtrain.course.pageweight import serve
from hubtrain.hubfile.config import HubConfig
from hubtrain.practice.browser import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("book-practice")]

CHAPTERS = [
    "book/01-log-in-and-out.html",
    "book/03-get-materials-with-nbgitpuller.html",
    "book/05-files-and-data-in-the-cloud.html",
]
OTHER_HUB = "https://other-hub.example.edu"

# Inputs for the JavaScript and Python link builders: awkward characters in every
# part, `.git` repos, trailing slashes, both apps, named servers, no branch.
LINK_CASES = [
    {"hub_url": "https://hub.example.org", "repo": "https://github.com/org/course"},
    {
        "hub_url": "https://hub.example.org/",
        "repo": "https://github.com/org/course.git",
        "path": "week 1/intro (draft)!.ipynb",
        "branch": "student",
        "target_dir": "/course/",
    },
    {
        "hub_url": "http://127.0.0.1:8000/base/",
        "repo": "https://gitlab.example.org/group/sub/proj/",
        "path": "/données/été*'.ipynb/",
        "branch": "feature/x+y",
        "app": "tree",
    },
    {
        "hub_url": "https://hub.example.org",
        "repo": "git@github.com:org/course.git",
        "path": "a&b=c?d#e.ipynb",
        "branch": "main",
        "server_name": "gpu-2",
        "user_name": "ada.lovelace@uni.example (x)",
        "target_dir": "my course",
    },
    {
        "hub_url": "http://127.0.0.1:8000/base/",
        "repo": "https://github.com/o/r",
        "path": "a b.ipynb",
        "server_name": "w1",
        "user_name": "grace",
    },
    {"hub_url": "https://h.org", "repo": "https://github.com/o/r", "app": "tree", "path": "~x"},
]


@pytest.fixture(scope="module")
def practice_book(built_book: Callable[[str], BuildResult]) -> BuildResult:
    return built_book("practice")


@pytest.fixture(scope="module")
def site(practice_book: BuildResult) -> Iterator[str]:
    """The built HTML served on localhost, as a static host would serve it."""
    with serve(practice_book.html) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (empty localStorage) per test."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _launches(page: Page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "a.hubtrain-launch",
        "links => links.map(a => [a.getAttribute('href'), a.dataset.hubtrainPath])",
    )


def _assert_links_for(page: Page, hub: HubConfig, hub_url: str = "") -> None:
    links = _launches(page)
    assert links, f"no launch link on {page.url}"
    for href, path in links:
        assert href == exercise_link(hub, path, hub_url)


def test_js_link_builder_matches_python(page: Page, site: str) -> None:
    page.goto(f"{site}/book/reference/link-maker.html")
    for case in LINK_CASES:
        args = dict(case)
        hub_url, repo, path = args.pop("hub_url"), args.pop("repo"), args.pop("path", "")
        expected = nbgitpuller_link(hub_url, repo, path, **args)
        got = page.evaluate(
            "([h, r, p, o]) => window.hubtrainLinks.nbgitpullerLink(h, r, p, o)",
            [hub_url, repo, path, args],
        )
        assert got == expected
    for bad in (
        {"app": "classic"},
        {"repo": "https://x.org/r?token=abc"},
        {"server_name": "gpu 1", "user_name": "ada"},
        {"server_name": "gpu"},
    ):
        options = {"app": "lab", **{k: v for k, v in bad.items() if k != "repo"}}
        repo = bad.get("repo", "https://github.com/o/r")
        with pytest.raises(ValueError):
            nbgitpuller_link("https://h.org", repo, "", **options)
        error = page.evaluate(
            """([r, o]) => {
                try { window.hubtrainLinks.nbgitpullerLink("https://h.org", r, "", o); }
                catch (e) { return e.message; }
                return null;
            }""",
            [repo, options],
        )
        assert error


def test_my_hub_is_remembered_on_every_page_until_reset(
    page: Page, site: str, practice_hub: HubConfig
) -> None:
    page.goto(f"{site}/{CHAPTERS[0]}")
    _assert_links_for(page, practice_hub)
    page.fill("#hubtrain-myhub-input", "other-hub.example.edu/hub/home")
    page.click("#hubtrain-myhub-use")
    expect(page.locator("#hubtrain-myhub-status")).to_contain_text(OTHER_HUB)
    _assert_links_for(page, practice_hub, OTHER_HUB)
    expect(page.locator("a.hubtrain-launch .hubtrain-hub-name").first).to_have_text(
        "your hub (other-hub.example.edu)"
    )
    for chapter in CHAPTERS[1:]:
        page.goto(f"{site}/{chapter}")
        _assert_links_for(page, practice_hub, OTHER_HUB)
        expect(page.locator("#hubtrain-myhub-input")).to_have_value(OTHER_HUB)
    page.click("#hubtrain-myhub-reset")
    _assert_links_for(page, practice_hub)
    expect(page.locator("a.hubtrain-launch .hubtrain-hub-name").first).to_have_text(
        practice_hub.name
    )
    page.goto(f"{site}/{CHAPTERS[0]}")
    _assert_links_for(page, practice_hub)


def test_hub_parameter_sets_the_hub_for_later_pages(
    page: Page, site: str, practice_hub: HubConfig
) -> None:
    page.goto(f"{site}/{CHAPTERS[1]}?hub=https://ta-room.example.org/")
    _assert_links_for(page, practice_hub, "https://ta-room.example.org")
    page.goto(f"{site}/{CHAPTERS[2]}")
    _assert_links_for(page, practice_hub, "https://ta-room.example.org")


def test_the_books_address_with_hub_parameter_keeps_it(
    page: Page, site: str, practice_hub: HubConfig
) -> None:
    """A TA hands out `<book>/?hub=...`: the root redirect must not drop the hub."""
    page.goto(f"{site}/?hub=lab-hub.example.org")
    page.wait_for_url(re.compile(r"/book/intro\.html\?hub="))
    expect(page.locator("#hubtrain-myhub-input")).to_have_value("https://lab-hub.example.org")
    page.goto(f"{site}/{CHAPTERS[0]}")
    _assert_links_for(page, practice_hub, "https://lab-hub.example.org")


def test_a_bad_address_is_refused_and_links_stay(
    page: Page, site: str, practice_hub: HubConfig
) -> None:
    page.goto(f"{site}/{CHAPTERS[0]}?hub=javascript:alert(1)")
    expect(page.locator("#hubtrain-myhub-error")).to_be_visible()
    _assert_links_for(page, practice_hub)
    page.fill("#hubtrain-myhub-input", "not a hub")
    page.click("#hubtrain-myhub-use")
    expect(page.locator("#hubtrain-myhub-error")).to_contain_text("not a hub address")
    _assert_links_for(page, practice_hub)


def test_without_javascript_links_open_the_books_hub(
    browser: Browser, site: str, practice_hub: HubConfig
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site}/{CHAPTERS[0]}?hub={OTHER_HUB}")
        _assert_links_for(page, practice_hub)
        assert page.locator("#hubtrain-myhub").count() == 0
    finally:
        context.close()


def test_link_maker_page_builds_the_python_link(page: Page, site: str) -> None:
    page.goto(f"{site}/book/reference/link-maker.html")
    form = page.locator("#hubtrain-link-maker")
    form.locator("[name=hub]").fill("https://hub.example.org/")
    form.locator("[name=repo]").fill("https://github.com/me/lessons.git")
    form.locator("[name=branch]").fill("published")
    form.locator("[name=path]").fill("week 2/rivers.ipynb")
    form.locator("[name=app]").select_option("tree")
    form.locator("[name=target_dir]").fill("lessons")
    form.locator("[name=server_name]").fill("workshop")
    expect(page.locator("#hubtrain-link-maker-error")).to_contain_text("must name its user")
    form.locator("[name=user_name]").fill("ada")
    expected = nbgitpuller_link(
        "https://hub.example.org",
        "https://github.com/me/lessons.git",
        "week 2/rivers.ipynb",
        branch="published",
        app="tree",
        target_dir="lessons",
        server_name="workshop",
        user_name="ada",
    )
    expect(page.locator("#hubtrain-link-maker-output")).to_have_value(expected)
    expect(page.locator("#hubtrain-link-maker-open")).to_have_attribute("href", expected)
    form.locator("[name=repo]").fill("https://github.com/me/lessons.git?token=ghp_secret")
    expect(page.locator("#hubtrain-link-maker-error")).to_contain_text("never put a token")
    expect(page.locator("#hubtrain-link-maker-output")).to_have_value("")


def test_link_maker_starts_from_my_hub(page: Page, site: str) -> None:
    page.goto(f"{site}/book/reference/link-maker.html?hub={OTHER_HUB}")
    expect(page.locator("#hubtrain-link-maker [name=hub]")).to_have_value(OTHER_HUB)


def test_a_repository_only_the_practice_hub_reaches_is_said_next_to_the_box(
    page: Page, site: str, practice_hub: HubConfig, managed_hub: HubConfig
) -> None:
    """The practice hub's course repository is on 127.0.0.1: links set for another hub
    keep it, and would fail there. The box says so, and what to use instead."""
    page.goto(f"{site}/{CHAPTERS[1]}")
    note = page.locator("#hubtrain-myhub-note")
    expect(note).to_be_visible()
    for said in (practice_hub.content.repo, "no other hub can reach", "a copy of the book built"):
        expect(note).to_contain_text(said)
    # A screen reader reads it with the address box.
    expect(page.locator("#hubtrain-myhub-input")).to_have_attribute(
        "aria-describedby", "hubtrain-myhub-note"
    )
    # Which addresses only their own machine reaches: the managed hub's GitHub one is not.
    addresses = {
        practice_hub.content.repo: True,
        "http://localhost:8000/services/course/c": True,
        "http://[::1]:8000/services/course/c": True,
        "http://127.1.2.3/c": True,
        managed_hub.content.repo: False,
        "https://127.example.org/c": False,
        "http://10.0.0.5:8000/services/course/c": False,
        "git@github.com:org/course.git": False,
    }
    for address, expected in addresses.items():
        got = page.evaluate("a => window.hubtrainLinks.loopbackOnly(a)", address)
        assert got is expected, address


def test_static_files_are_in_the_build(practice_book: BuildResult) -> None:
    assert (practice_book.html / "_static" / "myhub.js").is_file()
    page = (practice_book.html / CHAPTERS[0]).read_text()
    assert "myhub.js" in page
    assert (practice_book.html / "book" / "reference" / "link-maker.html").is_file()
