"""Shared fixtures: the repository, hub files, and a book built once per hub file.

Tests that use `built_book` should be marked `@pytest.mark.xdist_group("book")` so
that one worker builds each hub's book once, instead of every worker building it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hubtrain.build import BuildResult, build_book
from hubtrain.config import HubConfig, load_hub

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
