"""Benchmark the book build: a clean strict build vs a rebuild with nothing changed.

Also prints the bytes a browser transfers for one module page (the HTML plus every
stylesheet, script and image it references), against the HTML alone. It measures
and prints; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/build.py [--hub FILE]`.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from hubtrain.build import build_book
from hubtrain.config import load_hub

ROOT = Path(__file__).resolve().parent.parent
MODULE_PAGE = "book/05-files-and-data-in-the-cloud.html"


def page_transfer(html_dir: Path, page: str) -> tuple[int, int]:
    """(bytes of the page's HTML, bytes of the HTML and everything it references)."""
    path = html_dir / page
    text = path.read_text(encoding="utf-8")
    total = path.stat().st_size
    seen = set()
    for ref in re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', text):
        if urlsplit(ref).scheme or ref.endswith(".html") or ref in seen:
            continue
        seen.add(ref)
        asset = (path.parent / ref).resolve()
        if asset.is_file():
            total += asset.stat().st_size
    return path.stat().st_size, total


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", default=str(ROOT / "hubs" / "practice.yml"))
    args = parser.parse_args()
    hub = load_hub(args.hub)
    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-") as tmp:
        out = Path(tmp)
        clean, result = timed(lambda: build_book(hub, ROOT, out))
        rebuild, _ = timed(lambda: build_book(hub, ROOT, out))
        html_bytes, all_bytes = page_transfer(result.html, MODULE_PAGE)
    print(f"clean strict build:        {clean:7.1f} s   (baseline, 1.00x)")
    print(f"rebuild, nothing changed:  {rebuild:7.1f} s   ({rebuild / clean:.2f}x of clean)")
    print(f"module page, HTML only:    {html_bytes:9,d} bytes (baseline, 1.00x)")
    print(f"module page, with assets:  {all_bytes:9,d} bytes ({all_bytes / html_bytes:.1f}x)")


if __name__ == "__main__":
    main()
