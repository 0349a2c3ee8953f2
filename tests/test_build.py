"""The book builds strictly for a hub, and a broken page fails the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hubtrain.course.build import BuildError, BuildResult, build_book
from hubtrain.course.release import find_leaks
from hubtrain.hubfile.config import HubConfig

pytestmark = pytest.mark.slow
# The tests that read the practice book share the worker that builds it once.
PRACTICE_BOOK = pytest.mark.xdist_group("book-practice")

MODULES = [
    "01-log-in-and-out",
    "02-choose-an-environment",
    "03-get-materials-with-nbgitpuller",
    "04-navigate-jupyterlab",
    "05-files-and-data-in-the-cloud",
]


@PRACTICE_BOOK
def test_front_page_lists_the_five_modules(built_book: Callable[[str], BuildResult]) -> None:
    html = (built_book("practice").html / "index.html").read_text()
    # The root redirects to the first page; that page's navigation lists the modules.
    target = built_book("practice").html / "book" / "intro.html"
    nav = target.read_text() if "intro.html" in html else html
    for module in MODULES:
        assert f"{module}.html" in nav


@PRACTICE_BOOK
def test_exercise_links_open_the_practice_hub(
    built_book: Callable[[str], BuildResult], practice_hub: HubConfig
) -> None:
    html = built_book("practice").html
    for module in MODULES:
        page = (html / "book" / f"{module}.html").read_text()
        hrefs = [
            part.split('"', 1)[0].replace("&amp;", "&")
            for part in page.split('class="hubtrain-launch btn btn-primary" href="')[1:]
        ]
        assert hrefs, f"{module} has no exercise link"
        for href in hrefs:
            url = urlsplit(href)
            assert f"{url.scheme}://{url.netloc}" == practice_hub.url
            query = parse_qs(url.query)
            assert query["repo"] == [practice_hub.content.repo]
            release_path = query["urlpath"][0].removeprefix(
                f"lab/tree/{practice_hub.content.directory}/"
            )
            assert (built_book("practice").release / release_path).is_file()


@PRACTICE_BOOK
def test_built_html_contains_no_solution(
    built_book: Callable[[str], BuildResult], root: Path
) -> None:
    assert find_leaks(root / "exercises", built_book("practice").html) == []


def _minimal_book(root: Path, tmp_path: Path, page: str) -> Path:
    book = tmp_path / "book-src"
    book.mkdir()
    shutil.copy(root / "_config.yml", book / "_config.yml")
    shutil.copytree(root / "exercises", book / "exercises")
    shutil.copytree(root / "book" / "_static", book / "book" / "_static")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (book / "index.md").write_text(page)
    return book


BROKEN_PAGES = {
    "broken reference": ("# A page\n\nSee {doc}`no-such-page`.\n", "no-such-page"),
    "failing cell": (
        "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
        "# A page\n\n```{code-cell} python\n"
        "raise RuntimeError('this cell fails on purpose')\n```\n",
        "this cell fails on purpose",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PAGES))
def test_a_broken_page_fails_the_build(
    practice_hub: HubConfig, root: Path, tmp_path: Path, case: str
) -> None:
    page, expected = BROKEN_PAGES[case]
    book = _minimal_book(root, tmp_path, page)
    with pytest.raises(BuildError, match=expected):
        build_book(practice_hub, book, tmp_path / "out")


# A page whose kernel shows how it talks to Jupyter: its transport, and where (the
# socket folder for "ipc"; the address for "tcp").
KERNEL_PROBE = (
    "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
    "# A page\n\n```{code-cell} python\n"
    "from ipykernel import get_connection_info\n"
    "info = get_connection_info(unpack=True)\n"
    'print("KERNEL", info["transport"], info["ip"], "END")\n```\n'
)


def test_executed_pages_run_their_kernel_on_unix_sockets(
    practice_hub: HubConfig, root: Path, tmp_path: Path
) -> None:
    """No TCP port for another program to take first; the socket folder goes afterwards."""
    book = _minimal_book(root, tmp_path, KERNEL_PROBE)
    html = (build_book(practice_hub, book, tmp_path / "out").html / "index.html").read_text()
    transport, ip = html.split("KERNEL ", 1)[1].split(" END", 1)[0].split(" ")
    assert transport == "ipc", ip
    assert not Path(ip).parent.exists()


def test_unknown_exercise_path_fails_the_build(
    practice_hub: HubConfig, root: Path, tmp_path: Path
) -> None:
    book = _minimal_book(root, tmp_path, "# A page\n\n```{exercise-link} 09-nope/x.ipynb\n```\n")
    with pytest.raises(BuildError, match=r"09-nope/x\.ipynb is not a notebook of the student"):
        build_book(practice_hub, book, tmp_path / "out")


def test_cli_build_prints_where_to_open_the_book(root: Path, tmp_path: Path) -> None:
    book = _minimal_book(root, tmp_path, "# Hello\n\nThis is {{ hub_name }}.\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubtrain.cli",
            "build",
            "--root",
            str(book),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    index = tmp_path / "_build" / "html" / "index.html"
    assert f"open {index} in a browser" in result.stdout
    assert "hubtrain practice hub" in index.read_text()
