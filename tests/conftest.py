"""Shared fixtures: the repository, hub files, and a book built once per hub file.

A test that uses `built_book(name)` is marked `@pytest.mark.xdist_group(f"book-{name}")`,
so that one worker builds each hub's book once, instead of every worker building it, and
the books of different hub files build on both workers at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from hubtrain.course.build import BuildResult, build_book
from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub, browser

pytest_plugins = ["xdist_groups"]

ROOT = Path(__file__).resolve().parent.parent
HUBS = ROOT / "hubs"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def practice_hub() -> HubConfig:
    return load_hub(HUBS / "practice.yml")


@pytest.fixture(scope="session")
def managed_hub() -> HubConfig:
    return load_hub(HUBS / "example-managed.yml")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuildResult]:
    """Build the book for `hubs/<name>.yml` once per session; return the result."""
    cache: dict[str, BuildResult] = {}

    def build(name: str) -> BuildResult:
        if name not in cache:
            out = tmp_path_factory.mktemp(f"book-{name}")
            cache[name] = build_book(load_hub(HUBS / f"{name}.yml"), ROOT, out)
        return cache[name]

    return build


@contextmanager
def _running_practice_hub(
    state: Path, hub: HubConfig, password: str, **options: Any
) -> Iterator[PracticeHub]:
    with pytest.MonkeyPatch.context() as patch:
        # The hub's own Jupyter folders, apart from the developer's and other tests'.
        patch.setenv("JUPYTER_CONFIG_DIR", str(state / "jupyter-config-of-the-hub"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(state / "jupyter-runtime-of-the-hub"))
        practice = PracticeHub(
            hub, state / "state", root=ROOT, port=free_port(), password=password, **options
        )
        with practice:
            yield practice


@contextmanager
def _launched_chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def running_practice_hub() -> Callable[..., AbstractContextManager[PracticeHub]]:
    """Start a real practice hub in a state folder: `with running_practice_hub(dir, hub, pw)`
    (keyword options go to `PracticeHub`, e.g. `idle_timeout=20`)."""
    return _running_practice_hub


@pytest.fixture(scope="session")
def walk_hub(
    tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig
) -> Iterator[PracticeHub]:
    """The practice hub that the browser walk and the novice corpus share: the release
    (nbgrader, most of a start-up) is built once. Modules that use it belong to the
    xdist group "walkthrough", so one worker starts it once."""
    state = tmp_path_factory.mktemp("walk-hub")
    with _running_practice_hub(state, practice_hub, "walkthrough-password") as practice:
        yield practice


@pytest.fixture(scope="session")
def launched_chromium() -> Callable[[], AbstractContextManager[Any]]:
    """Debian's Chromium through Playwright: `with launched_chromium() as chromium`."""
    return _launched_chromium
