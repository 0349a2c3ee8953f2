"""Benchmark the book build: a clean strict build vs a rebuild with nothing changed.

Also prints what a first visit to each module page transfers, measured in
Chromium and gzipped as a static host serves it (hubtrain.course.pageweight), and the
heaviest page asset by asset. It measures and prints; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/build.py [--hub FILE]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from hubtrain.course.build import build_book
from hubtrain.course.pageweight import BUDGET, first_visit, module_pages, serve, total
from hubtrain.hubfile.load import load_hub
from hubtrain.practice.browser import launch

ROOT = Path(__file__).resolve().parent.parent


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
        print(f"clean strict build:        {clean:7.1f} s   (baseline, 1.00x)")
        print(f"rebuild, nothing changed:  {rebuild:7.1f} s   ({rebuild / clean:.2f}x of clean)")
        with serve(result.html) as site, sync_playwright() as playwright:
            browser = launch(playwright)
            visits = {p: first_visit(browser, f"{site}/{p}") for p in module_pages(result.html)}
            browser.close()
    print(f"first visit, gzipped (budget {BUDGET // 1024} KB = 1.00x):")
    for page, assets in visits.items():
        print(f"  {page:52s} {total(assets) / 1024:7.1f} KB ({total(assets) / BUDGET:.2f}x)")
    heaviest = max(visits, key=lambda p: total(visits[p]))
    print(f"heaviest page, asset by asset: {heaviest}")
    for asset in sorted(visits[heaviest], key=lambda a: -a.sent):
        name = urlsplit(asset.url).path.lstrip("/")
        print(f"  {asset.sent / 1024:7.1f} KB sent {asset.raw / 1024:8.1f} KB raw  {name}")


if __name__ == "__main__":
    main()
