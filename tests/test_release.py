"""The student release: made by real nbgrader, with nothing secret left in it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from hubtrain.course.release import (
    R_SUFFIX,
    assignments,
    find_leaks,
    make_release,
    r_twin,
    secret_lines,
)
from hubtrain.hubfile.config import HubConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(practice_hub: HubConfig, root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_release(practice_hub, root / "exercises", tmp_path_factory.mktemp("rel"))


def test_every_assignment_is_released_with_its_runtime_and_hub_facts(
    release: Path, root: Path, practice_hub: HubConfig
) -> None:
    names = assignments(root / "exercises")
    assert len(names) == 10  # five modules, each in Python and in R (`<module>-r`)
    for name in names:
        folder = release / name
        assert list(folder.glob("*.ipynb")), f"{name} has no notebook"
        # The check runtime for the assignment's language.
        runtime = "hubcheck.R" if name.endswith(R_SUFFIX) else "hubcheck.py"
        assert [p.name for p in folder.glob("hubcheck.*")] == [runtime]
        facts = json.loads((folder / "hub.json").read_text())
        assert facts["name"] == practice_hub.name
        assert facts["storage"]["scratch_env"] == practice_hub.storage.scratch_env
    assert ".ipynb_checkpoints" in (release / ".gitignore").read_text()


def test_every_r_assignment_is_the_twin_of_a_python_one(root: Path) -> None:
    """The book's "in R" button finds an R exercise by this naming, nowhere else."""
    exercises = root / "exercises"
    notebooks = {
        f"{name}/{nb.name}"
        for name in assignments(exercises)
        for nb in (exercises / name).glob("*.ipynb")
    }
    python = {path for path in notebooks if not path.split("/")[0].endswith(R_SUFFIX)}
    assert r_twin("01-login/login.ipynb") == "01-login-r/login_r.ipynb"
    assert notebooks - python == {r_twin(path) for path in python}


def test_release_contains_no_solution_or_hidden_test(release: Path, root: Path) -> None:
    assert secret_lines(root / "exercises"), "the sources should have solutions to hide"
    assert find_leaks(root / "exercises", release) == []
    for notebook in release.rglob("*.ipynb"):
        text = notebook.read_text()
        assert "BEGIN SOLUTION" not in text
        assert "BEGIN HIDDEN TESTS" not in text


def test_leak_finder_sees_solutions_in_notebooks_and_highlighted_html(
    root: Path, tmp_path: Path
) -> None:
    """The leak check itself must be able to fail, or the tests above prove nothing."""
    secret = sorted(secret_lines(root / "exercises"), key=len)[-1]
    source = next((root / "exercises").rglob("*.ipynb"))
    copied = tmp_path / "nb" / "copy.ipynb"
    copied.parent.mkdir()
    shutil.copy(source, copied)
    assert find_leaks(root / "exercises", tmp_path / "nb")
    # Pygments splits code into spans and escapes quotes; the finder must see through that.
    words = secret.split(" ")
    html = " ".join(f'<span class="n">{w.replace(chr(34), "&quot;")}</span>' for w in words)
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text(f"<pre>{html}</pre>")
    leaks = find_leaks(root / "exercises", tmp_path / "page")
    assert any("solution text" in leak for leak in leaks)


def test_release_is_rebuilt_safely(practice_hub: HubConfig, root: Path, tmp_path: Path) -> None:
    """Re-running replaces stale files (an assignment removed from the sources)."""
    first = make_release(practice_hub, root / "exercises", tmp_path)
    stale = first / "99-removed"
    stale.mkdir()
    (stale / "old.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    second = make_release(practice_hub, root / "exercises", tmp_path)
    assert not stale.exists()
    assert sorted(p.name for p in second.iterdir() if p.is_dir()) == assignments(root / "exercises")
