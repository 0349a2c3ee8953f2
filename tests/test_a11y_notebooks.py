"""Every exercise notebook, as written and as released, passes the notebook
accessibility checks; each check catches its fault in a broken copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from hubtrain.a11y.notebooks import CHECKS, check_notebook
from hubtrain.course.build import BuildResult

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "exercises").glob("*/*.ipynb"))


def test_there_are_exercise_notebooks() -> None:
    assert len(SOURCES) >= 5


@pytest.mark.parametrize("notebook", SOURCES, ids=lambda p: p.parent.name)
def test_exercise_source_passes(notebook: Path) -> None:
    problems = check_notebook(notebook)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.slow
@pytest.mark.xdist_group("book-practice")
def test_released_notebooks_pass(built_book: Callable[[str], BuildResult]) -> None:
    release = built_book("practice").release
    notebooks = sorted(release.rglob("*.ipynb"))
    # Every exercise at its source path (an R twin in its own `<module>-r` assignment),
    # plus the release's own notebooks (the progress page).
    exercises = ROOT / "exercises"
    assert {p.relative_to(exercises) for p in SOURCES} <= {
        p.relative_to(release) for p in notebooks
    }
    problems = [p for nb in notebooks for p in check_notebook(nb, str(nb.relative_to(release)))]
    assert not problems, "\n".join(map(str, problems))


# What a careless edit does to a notebook, one fault per check; each is Markdown
# appended to (or replacing the top of) a real exercise notebook.
BREAKAGES = {
    "alt-text": [
        "![](figures/screen.png)",
        'See <img src="screen.png"> here.',
        '<img src="screen.png" alt="">',
    ],
    "headings": ["# A second title", "#### Too deep after ##", "<h1>Another title</h1>"],
    "link-text": [
        "Read the guide [here](https://example.org/guide).",
        "See [https://example.org/guide](https://example.org/guide).",
        '<a href="https://example.org">click here</a>',
        "[](https://example.org)",
    ],
    "table-headers": [
        "|  |  |\n|---|---|\n| a | b |",
        "<table><tr><td>a</td><td>b</td></tr></table>",
    ],
}


def _broken_copy(tmp_path: Path, markdown: str) -> Path:
    notebook = nbformat.read(SOURCES[0], as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell(markdown))
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize(
    ("check", "markdown"),
    [(check, md) for check, cases in BREAKAGES.items() for md in cases],
)
def test_each_check_fails_on_a_broken_copy(tmp_path: Path, check: str, markdown: str) -> None:
    problems = check_notebook(_broken_copy(tmp_path, markdown))
    assert [p.check for p in problems] == [check], problems
    assert problems[0].cell == len(nbformat.read(SOURCES[0], as_version=4).cells) + 1


def test_a_notebook_without_a_title_fails(tmp_path: Path) -> None:
    notebook = nbformat.read(SOURCES[0], as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("# Module", "## Module", 1)
    path = tmp_path / "untitled.ipynb"
    nbformat.write(notebook, path)
    assert {p.check for p in check_notebook(path)} == {"headings"}


def test_every_check_has_a_broken_copy() -> None:
    assert set(BREAKAGES) == set(CHECKS)
