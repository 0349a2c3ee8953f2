"""Collecting submissions from every layout nbgrader writes, zipped or not, top folder or none.

A TA who zips nbgrader's own `submitted/` folder (or the whole course, or the
folder's contents) must get one submission per learner and assignment; an
archive whose layout cannot be understood is refused with what was found.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from hubtrain.grading.collect import collect

CORPUS = Path(__file__).parent / "files" / "submissions"
ASSIGNMENTS = {"ps1": ["ps1"], "ps2": ["ps2"]}
LEARNERS = ("ann", "bob", "carol", "dan")


def _submitted(root: Path) -> None:
    """nbgrader's `submitted/<student>/<assignment>/<notebook>.ipynb` for four learners."""
    for student in LEARNERS:
        folder = root / student / "ps1"
        folder.mkdir(parents=True)
        shutil.copy(CORPUS / "correct_ps1.ipynb", folder / "ps1.ipynb")
        (folder / "timestamp.txt").write_text("2026-01-30 15:00:00\n")


def _zip(folder: Path, archive: Path, top: str) -> Path:
    """`folder` zipped as a TA's file manager does, its members under `top` ("" for none)."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            zf.write(path, f"{top}/{name}" if top else name)
    return archive


# What the TA zipped or passed: the course folder, its `submitted/`, or submitted's contents.
LAYOUTS = {
    "course folder": ("course/submitted", "folder", ""),
    "submitted folder": ("submitted", "folder", ""),
    "contents of submitted": ("", "folder", ""),
    "zip of submitted/": ("", "zip", "submitted"),
    "zip of submitted's contents": ("", "zip", ""),
    "zip of the course": ("", "zip", "course/submitted"),
    "zip with a wrapper folder": ("", "zip", "workshop-2026-01/submitted"),
    "zip of contents in a wrapper": ("", "zip", "download"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_learner_is_collected_from_nbgrader_layouts(tmp_path: Path, layout: str) -> None:
    inside, kind, top = LAYOUTS[layout]
    given = tmp_path / "given"
    _submitted(given / inside if inside else given)
    source = given if kind == "folder" else _zip(given, tmp_path / "room.zip", top)
    found = collect(source, ASSIGNMENTS, tmp_path / "out" / "incoming")
    got = sorted((s.student, s.assignment, sorted(s.notebooks), s.notes) for s in found.submissions)
    assert got == [(student, "ps1", ["ps1"], ()) for student in LEARNERS]
    assert {s.timestamp for s in found.submissions} == {"2026-01-30 15:00:00"}
    assert not found.unmatched


def test_an_archive_of_two_courses_is_refused_with_what_was_found(tmp_path: Path) -> None:
    """Two courses' `submitted/` folders side by side: whose is whose cannot be told."""
    given = tmp_path / "given"
    _submitted(given / "monday" / "submitted")
    _submitted(given / "tuesday" / "submitted")
    archive = _zip(given, tmp_path / "week.zip", "")
    with pytest.raises(ValueError) as refused:
        collect(archive, ASSIGNMENTS, tmp_path / "out" / "incoming")
    message = str(refused.value)
    assert message.startswith(f"{archive}: ")
    assert "monday/submitted" in message and "tuesday/submitted" in message
    assert "submitted/<student>/<assignment>/<notebook>.ipynb" in message
