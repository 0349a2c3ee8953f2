"""What a first visit to a book page costs: every file Chromium fetches, gzipped
as a static host serves it.

Used by the page-weight test (each module page within its budget) and by
`benchmarks/build.py` (the heaviest page, asset by asset). Both serve the built
HTML from localhost with `serve()` and measure with `first_visit()`.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["BUDGET", "Asset", "first_visit", "missing", "module_pages", "serve", "total"]

BUDGET = 400 * 1024  # bytes, gzipped, for a first visit to any module page
# What static hosts (GitHub Pages, Netlify, nginx set up for a site) compress;
# images and WOFF2 fonts are compressed already and are sent as they are.
COMPRESSED_TYPES = ("text/", "javascript", "json", "svg", "xml", "font/ttf", "font/otf")


@dataclass(frozen=True)
class Asset:
    url: str
    content_type: str
    raw: int
    sent: int  # bytes over the wire: gzipped where a static host would gzip
    status: int = 200


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free localhost port; yields the base URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """Run `server` (bound to 127.0.0.1) in a thread; yields its base URL, and stops it after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def module_pages(html_dir: Path) -> list[str]:
    """The learner-facing module chapters (and their sections), relative to `html_dir`."""
    return sorted(
        p.relative_to(html_dir).as_posix()
        for p in (html_dir / "book").rglob("*.html")
        if p.relative_to(html_dir / "book").parts[0][:2].isdigit()
    )


def _sent(content_type: str, body: bytes) -> int:
    if any(kind in content_type for kind in COMPRESSED_TYPES):
        return len(gzip.compress(body, compresslevel=6))
    return len(body)


def first_visit(browser: Any, url: str) -> list[Asset]:
    """Every response of a first visit to `url` (empty cache), the page read to its end.

    Scrolling to the end makes lazily loaded images count: a learner who reads
    the page fetches them all.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    responses: list[Any] = []
    try:
        page = context.new_page()
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="networkidle")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        assets = []
        for response in responses:
            if response.status != 200:
                assets.append(Asset(response.url, "", 0, 0, response.status))
                continue
            body = response.body()
            kind = response.headers.get("content-type", "")
            assets.append(Asset(response.url, kind, len(body), _sent(kind, body)))
        return assets
    finally:
        context.close()


def total(assets: list[Asset]) -> int:
    return sum(a.sent for a in assets)


def missing(assets: list[Asset]) -> list[str]:
    """The addresses the page asked for and the server did not have."""
    return [a.url for a in assets if a.status >= 400]
