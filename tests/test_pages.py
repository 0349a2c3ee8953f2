"""The course's pages, as a learner and an instructor see them in the built book.

Every module page must keep the lesson frame (one list of learning objectives, a
"What can go wrong" table, key points), have an instructor guide, and open its own
exercise on the hub the book was built for. The pages are read back from the built
HTML, for the practice hub and for an example managed hub.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hubtrain.course.build import BuildResult
from hubtrain.course.pages import profile_rows, substitutions, unlisted_choice_text
from hubtrain.course.sphinx_ext import OPTIONAL_COLUMNS, PROFILE_COLUMNS
from hubtrain.hubfile.config import HubConfig, UnlistedChoice
from hubtrain.hubfile.load import load_hub

ROOT = Path(__file__).resolve().parent.parent
# A hub with profiles and options, a managed hub, and a hub without a profile list.
HUB_NAMES = ["practice", "example-managed", "practice-plain"]

# Each module's chapter (in book/ and book/instructors/) and the notebooks its buttons
# open: the Python assignment's, then the R assignment's.
MODULES = {
    "01-log-in-and-out": ("01-login/login.ipynb", "01-login-r/login_r.ipynb"),
    "02-choose-an-environment": ("02-profiles/profiles.ipynb", "02-profiles-r/profiles_r.ipynb"),
    "03-get-materials-with-nbgitpuller": (
        "03-nbgitpuller/nbgitpuller.ipynb",
        "03-nbgitpuller-r/nbgitpuller_r.ipynb",
    ),
    "04-navigate-jupyterlab": (
        "04-jupyterlab/jupyterlab.ipynb",
        "04-jupyterlab-r/jupyterlab_r.ipynb",
    ),
    "05-files-and-data-in-the-cloud": (
        "05-cloud-data/cloud_data.ipynb",
        "05-cloud-data-r/cloud_data_r.ipynb",
    ),
}
INSTRUCTOR_SECTIONS = (
    "objectives",
    "timed-outline",
    "facilitator-notes",
    "common-failures-in-the-room",
    "check-on-the-hub-before-the-session",
)
PLACEHOLDERS = re.compile(r"\bTODO\b|\bTBD\b|(?i:being written)")


@dataclass
class _Section:
    """What one `<section id=...>` of a page holds directly (not in its subsections)."""

    lists: list[int] = field(default_factory=list)  # item count of each top-level list
    table_headers: list[list[str]] = field(default_factory=list)
    table_rows: int = 0


class _Page(HTMLParser):
    """The parts of a built page the tests look at: article text, sections, links, images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, _Section] = {}
        self.launches: list[tuple[str, str]] = []
        self.images: list[dict[str, str | None]] = []
        self.profile_tables: list[list[list[str]]] = []
        self.article_text: list[str] = []
        self._stack: list[str] = []
        self._article = 0
        self._launch = 0
        self._list_depth = 0
        self._in_table = False
        self._in_head = False
        self._cell: list[str] | None = None
        self._profile = False

    @property
    def _section(self) -> _Section | None:
        return self.sections[self._stack[-1]] if self._stack else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "article":
            self._article += 1
        elif tag == "section" and a.get("id"):
            self._stack.append(a["id"] or "")
            self.sections.setdefault(self._stack[-1], _Section())
        elif tag == "img":
            self.images.append(a)
        elif tag == "a" and "hubtrain-launch" in classes:
            self.launches.append((a.get("href") or "", a.get("data-hubtrain-path") or ""))
            self._launch += 1
        elif tag in ("ul", "ol"):
            if self._list_depth == 0 and self._section is not None:
                self._section.lists.append(0)
            self._list_depth += 1
        elif tag == "li" and self._list_depth == 1 and self._section is not None:
            self._section.lists[-1] += 1
        elif tag == "table":
            self._in_table = True
            self._profile = "hubtrain-profiles" in classes
            if self._profile:
                self.profile_tables.append([])
            elif self._section is not None:
                self._section.table_headers.append([])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._in_table:
            if self._profile:
                self.profile_tables[-1].append([])
            elif not self._in_head and self._section is not None:
                self._section.table_rows += 1
        elif tag in ("td", "th") and self._in_table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._article -= 1
        elif tag == "section" and self._stack:
            self._stack.pop()
        elif tag == "a" and self._launch:
            self._launch -= 1
        elif tag in ("ul", "ol"):
            self._list_depth -= 1
        elif tag == "table":
            self._in_table = self._profile = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._profile:
                self.profile_tables[-1][-1].append(text)
            elif self._in_head and self._section is not None:
                self._section.table_headers[-1].append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        # The launch button names the hub by itself; the prose must name it too.
        if self._article and not self._launch:
            self.article_text.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.article_text).split())


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@dataclass(frozen=True)
class _Book:
    hub: HubConfig
    result: BuildResult
    pages: dict[str, _Page]

    def page(self, name: str) -> _Page:
        return self.pages[f"book/{name}.html"]


# Each hub's book is built once, by the worker that runs every test reading it.
@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.xdist_group(f"book-{n}")) for n in HUB_NAMES],
    ids=HUB_NAMES,
)
def book(request: pytest.FixtureRequest, built_book: Callable[[str], BuildResult]) -> _Book:
    name = request.param
    result = built_book(name)
    pages = {
        path.relative_to(result.html).as_posix(): _parse(path)
        for path in sorted(result.html.rglob("*.html"))
        if "_static" not in path.parts
    }
    return _Book(load_hub(ROOT / "hubs" / f"{name}.yml"), result, pages)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.slow
def test_module_page_keeps_the_lesson_frame(book: _Book, module: str) -> None:
    page = book.page(module)
    objectives = page.sections.get("learning-objectives")
    assert objectives is not None, f"{module}: no 'Learning objectives' section"
    assert len(objectives.lists) == 1, f"{module}: expected one list of learning objectives"
    assert objectives.lists[0] >= 2, f"{module}: the learning objectives list is nearly empty"

    problems = page.sections.get("what-can-go-wrong")
    assert problems is not None, f"{module}: no 'What can go wrong' section"
    assert problems.table_headers, f"{module}: 'What can go wrong' has no table"
    assert problems.table_headers[0] == ["Symptom", "Cause", "Fix"], module
    assert problems.table_rows >= 2, f"{module}: 'What can go wrong' lists too few problems"

    key_points = page.sections.get("key-points")
    assert key_points is not None, f"{module}: no 'Key points' section"
    assert key_points.lists and key_points.lists[0] >= 2, f"{module}: key points are missing"

    # The frame's order: objectives at the top, key points at the bottom.
    order = list(page.sections)
    assert order.index("learning-objectives") < order.index("what-can-go-wrong")
    assert order.index("what-can-go-wrong") < order.index("key-points")


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.slow
def test_module_has_an_instructor_guide(book: _Book, module: str) -> None:
    guide = book.pages.get(f"book/instructors/{module}.html")
    assert guide is not None, f"no instructor page for {module} in the built book"
    missing = [s for s in INSTRUCTOR_SECTIONS if s not in guide.sections]
    assert not missing, f"instructors/{module}: missing sections {missing}"
    outline = guide.sections["timed-outline"]
    assert outline.table_headers and outline.table_headers[0][0] == "Minutes"
    assert outline.table_rows >= 3


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.slow
def test_module_opens_its_exercise_on_this_hub(book: _Book, module: str) -> None:
    hub, page = book.hub, book.page(module)
    expected = list(MODULES[module])
    paths = [path for _, path in page.launches]
    # One button for the Python notebook and one for its R twin, its own assignment.
    assert paths == expected, f"{module}: expected buttons for {expected}: {paths}"
    for href, path in page.launches:
        url = urlsplit(href)
        assert f"{url.scheme}://{url.netloc}" == hub.url
        assert url.path == "/hub/user-redirect/git-pull"
        query = parse_qs(url.query, strict_parsing=True)
        assert query["repo"] == [hub.content.repo]
        assert query["branch"] == [hub.content.branch]
        urlpath = query["urlpath"][0]
        assert urlpath.endswith(f"/{hub.content.directory}/{path}")
        assert (book.result.release / path).is_file(), f"{path} is not in the release"


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.slow
def test_module_page_names_this_hub_in_its_text(book: _Book, module: str) -> None:
    assert book.hub.name in book.page(module).text


@pytest.mark.slow
def test_cloud_data_page_shows_this_hubs_storage(book: _Book) -> None:
    storage, text = book.hub.storage, book.page("05-files-and-data-in-the-cloud").text
    facts = substitutions(book.hub)
    for expected in (
        storage.scratch_env,
        storage.persistent_env,
        f"{storage.scheme}://",
        facts["storage_provider"],
        facts["fsspec_class"],
        facts["home_quota"],
    ):
        assert expected in text, f"module 5 does not show {expected!r}"


@pytest.mark.slow
def test_profile_tables_show_this_hubs_profiles(book: _Book) -> None:
    rows = profile_rows(book.hub)
    keys = [
        key
        for key, _ in PROFILE_COLUMNS
        if key not in OPTIONAL_COLUMNS or any(r[key] != OPTIONAL_COLUMNS[key] for r in rows)
    ]
    # A cell of several lines (one choice each) is a list: compare its words.
    expected = [["".join((row[key] or "–").split()) for key in keys] for row in rows]
    shown = {name: page.profile_tables for name, page in book.pages.items() if page.profile_tables}
    if not book.hub.profile_list:
        assert shown == {}, "a hub without a profile list has no profile table"
        return
    assert "book/02-choose-an-environment.html" in shown, "module 2 has no profile table"
    for name, tables in shown.items():
        for table in tables:
            assert [["".join(c.split()) for c in r] for r in table[1:]] == expected, name


def _section_of(html: str, phrase: str) -> str:
    """The id of the innermost `<section>` of a built page that holds `phrase`."""
    at = html.index(phrase)
    stack: list[str] = []
    for tag in re.finditer(r'<section id="([^"]+)"|</section>', html[:at]):
        if tag.group(1):
            stack.append(tag.group(1))
        else:
            stack.pop()
    return stack[-1]


# Pages for the people who set a course up, not for those who take or teach it on this
# hub: they describe both kinds of hub (the hub-file reference, the authors' guide) or
# what the accessibility gate found on the course's own practice hub, which has an
# options page whatever hub the book is built for.
AUTHOR_PAGES = {
    "book/reference/rehosting.html",
    "book/reference/writing-content.html",
    "book/reference/accessibility.html",
}
# What assumes a page of choices: the page itself, or choosing, switching or sizing a profile.
FORM_WORDING = re.compile(
    r"(?i)options page|server options|options form"
    r"|\b(?:choose|chose|chosen|pick|picks|switch|smaller|larger|another|right|wrong"
    r"|default|your|small|big|large|largest|smallest)\s+profiles?\b"
)


@pytest.mark.slow
def test_the_options_page_is_taught_only_where_the_learner_sees_it(book: _Book) -> None:
    """KubeSpawner shows its options page for a non-empty profile list only: a hub
    without one must never send its learners, or its instructors, looking for it, on
    any page of its book (chapters, instructor notes, glossary, troubleshooting...)."""
    mentions = {
        name: [m.group(0) for m in FORM_WORDING.finditer(page.text)]
        for name, page in book.pages.items()
        if name.startswith("book/") and name not in AUTHOR_PAGES
    }
    assert len(mentions) > 15, sorted(mentions)  # every chapter, instructor and reference page
    # What only one kind of hub gets stays in its own sections: the text after such a
    # block belongs to the section the block ends in, not to the one it started in.
    html = (book.result.html / "book" / "02-choose-an-environment.html").read_text()
    expected = "what-a-profile-changes" if book.hub.has_options_page else "what-your-server-gets"
    assert _section_of(html, "How many processor cores") == expected
    if book.hub.has_options_page:
        assert mentions["book/02-choose-an-environment.html"], "module 2 must teach the page"
    else:
        assert not any(mentions.values()), {k: v for k, v in mentions.items() if v}
        text = book.page("02-choose-an-environment").text
        facts = substitutions(book.hub)
        for fact in ("server_memory", "server_cpu", "server_image"):
            assert facts[fact] in text, fact


@pytest.mark.slow
def test_every_image_has_alt_text(book: _Book) -> None:
    missing = [
        f"{name}: {image.get('src')}"
        for name, page in book.pages.items()
        for image in page.images
        if not (image.get("alt") or "").strip()
    ]
    assert not missing, "images without alt text:\n" + "\n".join(missing)


@pytest.mark.slow
def test_no_page_holds_placeholder_text(book: _Book) -> None:
    found = [
        f"{name}: ...{page.text[max(0, m.start() - 40) : m.end() + 40]}..."
        for name, page in book.pages.items()
        for m in [PLACEHOLDERS.search(page.text)]
        if m
    ]
    assert not found, "placeholder text in the book:\n" + "\n".join(found)


@pytest.mark.slow
def test_lazy_read_page_shows_real_executed_output(book: _Book) -> None:
    """The lazy-read example ran during the build and read a small part of the data."""
    text = book.page("05-files-and-data-in-the-cloud/lazy-reads").text
    assert "fetched 1 object(s), 0.7 kB: ['zarr.json']" in text
    fractions = re.findall(r"this read fetched [\d.]+ kB, ([\d.]+) % of it", text)
    assert fractions and float(fractions[0]) < 5


@pytest.mark.parametrize(
    "unlisted, text",
    [
        ({"enabled": True}, "Other... (then type your own value)"),
        (
            {"enabled": True, "display_name": "Image tag"},
            'Other... (then type it in the box "Image tag")',
        ),
        (
            {"enabled": True, "display_name": "Tag", "display_name_in_choices": "Custom"},
            'Custom (then type it in the box "Tag")',
        ),
    ],
)
def test_free_text_choice_is_named_as_the_options_page_names_it(
    unlisted: dict[str, object], text: str
) -> None:
    """KubeSpawner's form.html: the drop-down entry is display_name_in_choices
    (default "Other..."), the box it opens is labelled display_name."""
    assert unlisted_choice_text(UnlistedChoice.model_validate(unlisted)) == text


def test_every_substitution_is_documented_for_authors(practice_hub: HubConfig) -> None:
    guide = (ROOT / "book" / "reference" / "writing-content.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `\{\{ (\w+) \}\}` \|", guide, re.MULTILINE))
    assert documented == set(substitutions(practice_hub))


def test_module_1_says_what_logging_out_does_where_the_hub_file_knows_it(
    practice_hub: HubConfig, managed_hub: HubConfig
) -> None:
    said = substitutions(practice_hub)["logout_stops_server"]
    assert said.startswith(f"{practice_hub.name} leaves it off: logging out leaves your server")
    assert "cannot tell" in substitutions(managed_hub)["logout_stops_server"]
    data = practice_hub.model_dump(exclude={"source"})
    data["server"]["shutdown_on_logout"] = True
    on = substitutions(HubConfig.model_validate(data))["logout_stops_server"]
    assert "logging out there stops your server too" in on


def test_module_chapters_use_hub_facts_not_literal_hub_names() -> None:
    """Pages name hubs through substitutions, so a re-hosted book never shows ours."""
    hubs = [load_hub(path) for path in sorted((ROOT / "hubs").glob("*.yml"))]
    literal = {hub.name for hub in hubs} | {hub.url for hub in hubs}
    pages = [ROOT / "book" / f"{module}.md" for module in MODULES]
    pages += [ROOT / "book" / "instructors" / f"{module}.md" for module in MODULES]
    found = [
        f"{page.relative_to(ROOT)}: {value}"
        for page in pages
        for value in literal
        if value in page.read_text(encoding="utf-8")
    ]
    assert not found, "hard-coded hub facts:\n" + "\n".join(found)


@pytest.mark.slow
def test_every_substitution_was_filled_in(book: _Book) -> None:
    """A `{{ name }}` left in a page means a typo or a substitution used where MyST
    cannot fill it (inside code or a link); the learner would see the braces."""
    # The content-author guide shows the substitution syntax on purpose.
    shown_on_purpose = {"book/reference/writing-content.html"}
    found = [
        name
        for name, page in book.pages.items()
        if name not in shown_on_purpose and re.search(r"\{\{\s*\w+\s*\}\}", page.text)
    ]
    assert not found, f"unfilled substitutions on: {found}"
