"""`hubtrain build`: hub file -> student release + book HTML, both for one hub.

Data flows one way: the validated `HubConfig` becomes the release (nbgrader), a
facts JSON file and a generated Jupyter Book config; Jupyter Book then builds the
pages strictly; finally the HTML is checked for leaked solutions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from hubtrain.course.pages import book_facts
from hubtrain.course.release import (
    LeakError,
    find_leaks,
    hub_facts_text,
    make_release,
    public_lines,
)
from hubtrain.hubfile.config import HubConfig

__all__ = ["BuildError", "BuildResult", "build_book", "notebook_paths", "write_book_config"]


class BuildError(RuntimeError):
    """The strict book build failed; the message holds Sphinx's warnings."""


@dataclass(frozen=True)
class BuildResult:
    release: Path
    html: Path
    facts: Path


def notebook_paths(release: Path) -> list[str]:
    """Paths of the release's notebooks relative to the release (what links open)."""
    return sorted(
        p.relative_to(release).as_posix()
        for p in release.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def write_book_config(root: Path, build_dir: Path, facts_path: Path, facts: dict) -> Path:
    """Write the Jupyter Book config for this hub: `_config.yml` plus the hub's facts.

    The checked-in `_config.yml` stays hub-neutral; this generated copy adds the
    substitutions and the path of the facts file for the Sphinx extension.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'hubtrain')}: {facts['hub']['name']}"
    parse = config.setdefault("parse", {})
    parse["myst_substitutions"] = facts["substitutions"]
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hubtrain_facts"] = str(facts_path.resolve())
    config["exclude_patterns"] = sorted(
        {*config.get("exclude_patterns", []), *outside_the_toc(root, config)}
    )
    execute = config.setdefault("execute", {})
    execute["cache"] = str((build_dir / ".jupyter_cache").resolve())
    path = build_dir / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# What Sphinx reads as a page (MyST-NB's suffixes and plain reStructuredText).
PAGE_SUFFIXES = (".md", ".ipynb", ".rst", ".myst")


def toc_files(root: Path) -> set[str]:
    """Every page the table of contents names, as a path without its suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.add(node[key].removesuffix(".md").removesuffix(".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def outside_the_toc(root: Path, config: dict) -> list[str]:
    """Exclude patterns for everything in the working tree that is not a book page.

    The book is built from the table of contents only. Whatever else lies in the
    repository (the practice hub's `.hubtrain/` state with its blank release
    notebooks, a scratch notebook, a virtual environment) is excluded, so Sphinx
    never reads or executes it: top-level entries that hold no page of the
    table of contents, and stray pages inside the folders that do.
    """
    pages = toc_files(root)
    page_dirs = {page.split("/", 1)[0] for page in pages}
    keep = {"_toc.yml", "_config.yml", *page_dirs}
    patterns = [
        entry.name
        for entry in root.iterdir()
        if entry.name not in keep and not (entry.is_file() and entry.name.split(".")[0] in pages)
    ]
    static = {
        str(p).rstrip("/")
        for p in config.get("sphinx", {}).get("config", {}).get("html_static_path", [])
    }
    for folder in sorted(page_dirs & {p.name for p in root.iterdir() if p.is_dir()}):
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if any(relative.startswith(f"{s}/") for s in static):
                continue
            if path.suffix in PAGE_SUFFIXES and relative.rsplit(".", 1)[0] not in pages:
                patterns.append(relative)
    return patterns


PROBLEM_WORDS = ("WARNING", "ERROR", "Error:", "Exception", "Traceback")


def _problems(output: str, limit: int = 40) -> str:
    """The lines of a Jupyter Book run that say what went wrong, without the noise."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    lines = [line for line in plain.splitlines() if any(w in line for w in PROBLEM_WORDS)]
    return "\n".join(lines[:limit]) or output[-3000:]


def build_book(
    hub: HubConfig,
    root: Path,
    out: Path | None = None,
    *,
    hub_url: str = "",
    quiet: bool = True,
) -> BuildResult:
    """Build the student release and the book for `hub` into `<out>/_build/`.

    `out` defaults to `root`, so a plain build lands in the repository's `_build/`
    (`_build/release/`, `_build/html/`).

    Safe to re-run: the release is rebuilt from the sources, and Jupyter Book only
    re-executes notebooks whose code changed (jupyter-cache). Raises `BuildError`
    on any Sphinx warning and `LeakError` if the HTML contains solution text.
    """
    root = root.resolve()
    out = (out or root).resolve()
    build_dir = out / "_build"
    build_dir.mkdir(parents=True, exist_ok=True)
    release = make_release(hub, root / "exercises", build_dir)
    facts = book_facts(hub, notebook_paths(release), hub_url)
    facts_path = build_dir / "hub-facts.json"
    facts_path.write_text(json.dumps(facts, indent=1), encoding="utf-8")
    config_path = write_book_config(root, build_dir, facts_path, facts)
    command = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(root),
        "--config",
        str(config_path),
        "--path-output",
        str(out),
        "--warningiserror",
        "--nitpick",
        "--keep-going",
    ]
    if quiet:
        command.append("--quiet")
    result = subprocess.run(command, capture_output=True, text=True)
    log = build_dir / "build.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise BuildError(
            f"the book build failed:\n{_problems(result.stdout + result.stderr)}\n(full log: {log})"
        )
    html = build_dir / "html"
    leaks = find_leaks(root / "exercises", html, public_lines(hub_facts_text(hub)))
    if leaks:
        raise LeakError("the built book would leak:\n" + "\n".join(leaks[:20]))
    return BuildResult(release=release, html=html, facts=facts_path)
