"""One book per hub file: every hub fact in the built HTML is that hub's.

Built for three different hubs (the local practice hub; an S3 hub with
`profile_options`; a GCS hub with named servers, `/tree` and a `.git` repo URL),
then read back from the HTML the way a browser would see it.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hubtrain.course.build import BuildResult, notebook_paths
from hubtrain.course.pages import profile_rows
from hubtrain.course.release import find_leaks
from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.buckets import LocalS3, s3_env
from hubtrain.localcloud.gcsbuckets import LocalGCS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HUB_NAMES = ["practice", "example-managed", "example-gcs"]
FSSPEC = {"s3": ("s3fs", "S3FileSystem"), "gcs": ("gcsfs", "GCSFileSystem")}


class _Page(HTMLParser):
    """Launch links, profile tables and code blocks of one built page."""

    def __init__(self) -> None:
        super().__init__()
        self.launches: list[tuple[str, str]] = []
        self.tables: list[list[list[str]]] = []
        self.code: list[str] = []
        self._cell: list[str] | None = None
        self._pre = 0
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "a" and "hubtrain-launch" in classes:
            self.launches.append((a.get("href") or "", a.get("data-hubtrain-path") or ""))
        elif tag == "table" and "hubtrain-profiles" in classes:
            self._in_table = True
            self.tables.append([])
        elif tag == "tr" and self._in_table:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self._in_table:
            self._cell = []
        elif tag == "pre":
            self._pre += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "pre":
            self._pre -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._pre:
            self.code[-1] += data


def _pages(html: Path) -> dict[str, _Page]:
    parsed = {}
    for path in sorted(html.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        parsed[path.relative_to(html).as_posix()] = page
    return parsed


# Each hub's book is built once, by the worker that runs every test reading it.
@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.xdist_group(f"book-{n}")) for n in HUB_NAMES],
    ids=HUB_NAMES,
)
def hub_book(
    request: pytest.FixtureRequest, built_book: Callable[[str], BuildResult]
) -> tuple[HubConfig, BuildResult, dict[str, _Page]]:
    name = request.param
    result = built_book(name)
    return load_hub(ROOT / "hubs" / f"{name}.yml"), result, _pages(result.html)


def test_every_exercise_link_parses_back_to_this_hub(hub_book) -> None:
    hub, result, pages = hub_book
    app = hub.server.default_url.strip("/")
    opened = set()
    for name, page in pages.items():
        for href, path in page.launches:
            url = urlsplit(href)
            assert f"{url.scheme}://{url.netloc}" == hub.url, name
            assert url.path == "/hub/user-redirect/git-pull", name
            query = parse_qs(url.query, strict_parsing=True)
            assert query["repo"] == [hub.content.repo]
            assert query["branch"] == [hub.content.branch]
            prefix = "lab/tree" if app == "lab" else "tree"
            assert query["urlpath"] == [f"{prefix}/{hub.content.directory}/{path}"]
            if hub.content.target_dir:
                assert query["targetPath"] == [hub.content.target_dir]
            else:
                assert "targetPath" not in query
            assert (result.release / path).is_file()
            opened.add(path)
    # Every exercise notebook (those in an assignment folder) can be opened from the book.
    assert opened == {p for p in notebook_paths(result.release) if "/" in p}


def test_pages_carry_this_hubs_link_recipe(hub_book) -> None:
    hub, result, _ = hub_book
    page = (result.html / "book" / "reference" / "rehosting.html").read_text()
    found = re.search(r"window\.HUBTRAIN = (\{.*?\});", page)
    assert found
    assert json.loads(found.group(1)) == {
        "hub_url": hub.url,
        "hub_name": hub.name,
        "repo": hub.content.repo,
        "branch": hub.content.branch,
        "app": hub.server.default_url.strip("/"),
        "target_dir": hub.content.target_dir,
    }


def test_profile_tables_match_the_hub_file(hub_book) -> None:
    hub, _, pages = hub_book
    rows = profile_rows(hub)
    # "Who can choose it" and "GPUs" appear only when some profile is limited or has GPUs.
    keys = ["name", "description"]
    keys += ["who"] if any(row["who"] != "everyone" for row in rows) else []
    keys += ["cpu", "memory"]
    keys += ["gpu"] if any(row["gpu"] for row in rows) else []
    keys += ["image", "options"]
    # The page shows each choice on a line of its own; its text reads them one after another.
    expected = [[" ".join(row[key].split()) or "–" for key in keys] for row in rows]
    tables = [table for page in pages.values() for table in page.tables]
    assert tables, "no page shows the profile table"
    for table in tables:
        assert table[1:] == expected
    display_names = [p.display_name for p in hub.profile_list]
    assert [row[0].removesuffix(" (default)") for row in tables[0][1:]] == display_names


def test_storage_code_is_for_this_hubs_provider(hub_book) -> None:
    hub, _, pages = hub_book
    package, cls = FSSPEC[hub.storage.provider]
    other, _ = FSSPEC["gcs" if hub.storage.provider == "s3" else "s3"]
    blocks = [block for page in pages.values() for block in page.code]
    assert any(f"{package}.{cls}(" in block for block in blocks), f"no {package} code"
    # The hub's own storage example (`{hub-storage-example}`): its package, its variable.
    examples = [block for block in blocks if "hubtrain-check.txt" in block]
    assert examples
    for block in examples:
        assert f"fs = {package}.{cls}()" in block
        assert f'os.environ["{hub.storage.scratch_env}"]' in block
        assert other not in block


def test_image_checklist_is_for_this_hub(hub_book) -> None:
    hub, result, _ = hub_book
    page = (result.html / "book" / "reference" / "rehosting.html").read_text()
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())
    package, _ = FSSPEC[hub.storage.provider]
    other, _ = FSSPEC["gcs" if hub.storage.provider == "s3" else "s3"]
    assert f"Python package {package}: " in text
    assert f"Python package {other}: " not in text
    for name in (hub.storage.scratch_env, hub.storage.persistent_env):
        assert f"{name}: {hub.storage.scheme}://<bucket>/$(JUPYTERHUB_USER)" in text
    assert ("Python package notebook: " in text) == (hub.server.default_url == "/tree")


def test_no_solution_text_in_the_html(hub_book) -> None:
    _, result, _ = hub_book
    assert find_leaks(ROOT / "exercises", result.html) == []


@pytest.mark.xdist_group("book-example-managed")
def test_the_books_s3_code_runs_against_a_real_s3_server(
    built_book: Callable[[str], BuildResult], tmp_path: Path
) -> None:
    """The storage example a learner copies from the page writes and reads their prefix."""
    hub = load_hub(ROOT / "hubs" / "example-managed.yml")
    pages = _pages(built_book("example-managed").html)
    code = next(
        block
        for page in pages.values()
        for block in page.code
        if "fs = s3fs.S3FileSystem()" in block and "hubtrain-check.txt" in block
    )
    script = tmp_path / "example.py"
    script.write_text(code)
    with LocalS3() as s3:
        s3.ensure_bucket("scratch")
        env = {
            **os.environ,
            **s3_env(s3.endpoint_url),
            hub.storage.scratch_env: "s3://scratch/ada",
        }
        result = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == "written from the hub"
        # The example cleans up after itself.
        assert s3.client().list_objects_v2(Bucket="scratch").get("KeyCount") == 0


@pytest.mark.xdist_group("book-example-gcs")
def test_the_books_gcs_code_runs_against_a_local_gcs_server(
    built_book: Callable[[str], BuildResult], tmp_path: Path
) -> None:
    """On a GCS hub's module 5 page, the gcsfs example and the fsspec round trip (upload,
    list, read, download, size, delete) run as printed against gs:// buckets."""
    hub = load_hub(ROOT / "hubs" / "example-gcs.yml")
    page = _pages(built_book("example-gcs").html)["book/05-files-and-data-in-the-cloud.html"]
    example = next(b for b in page.code if "fs = gcsfs.GCSFileSystem()" in b)
    round_trip = next(b for b in page.code if "fsspec.url_to_fs(scratch)" in b)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.csv").write_text("site,mean\nA,12.5\n")
    with LocalGCS() as gcs:
        gcs.ensure_bucket("scratch")
        env = {**os.environ, **gcs.env(), hub.storage.scratch_env: "gs://scratch/ada"}
        for name, code in (("example.py", example), ("round_trip.py", round_trip)):
            (tmp_path / name).write_text(code)
            result = subprocess.run(
                [sys.executable, name], env=env, capture_output=True, text=True, cwd=tmp_path
            )
            assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
            if name == "example.py":
                assert result.stdout.strip() == "written from the hub"
            else:
                assert "scratch/ada/summary.csv" in result.stdout
                assert "site,mean" in result.stdout
        assert (tmp_path / "summary-copy.csv").read_text() == "site,mean\nA,12.5\n"
        # Both examples clean up after themselves.
        assert gcs.keys("scratch") == []
