"""Finding submissions: nbgrader's `submitted/` layout, or a flat folder or zip of downloads.

Collecting only reads. A zip is unpacked into a folder under the output
directory, so the TA's download is never touched; an unmatched file is listed
with the reason, never silently dropped.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = [
    "ZIP_COLLECT_REGEXP",
    "Collected",
    "Submission",
    "Unmatched",
    "collect",
]

# The file-name pattern nbgrader documents for `zip_collect` (FileNameCollectorPlugin.named_regexp,
# e.g. `ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb`); nbgrader leaves the trait
# empty, so this documented example is what LMS downloads are usually renamed to.
ZIP_COLLECT_REGEXP = re.compile(
    r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"
)
# A student id must be usable as a folder name in nbgrader's course layout.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
_SEPARATORS = "_-. "


@dataclass(frozen=True)
class Submission:
    """One student's files for one assignment: notebook name -> file."""

    student: str
    assignment: str
    notebooks: dict[str, Path]
    timestamp: str = ""
    extra_files: dict[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class Unmatched:
    """A file that belongs to no submission, and why."""

    path: str
    reason: str


@dataclass
class Collected:
    submissions: list[Submission]
    unmatched: list[Unmatched]


def _zip_timestamp(stamp: str) -> str:
    """`2016-01-30-15-00-00` -> `2016-01-30 15:00:00` (what nbgrader's parse_utc reads)."""
    parts = stamp.split("-")
    if len(parts) == 6:
        return f"{'-'.join(parts[:3])} {':'.join(parts[3:])}"
    return stamp


def _unzip(archive: Path, target: Path) -> list[Unmatched]:
    """Unpack `archive` into `target` (once); members that would escape it are refused."""
    refused = []
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir():
                    continue
                if name.is_absolute() or ".." in name.parts:
                    refused.append(Unmatched(info.filename, "unsafe path inside the zip: skipped"))
                    continue
                dest = target.joinpath(*name.parts)
                if dest.exists() and dest.stat().st_size == info.file_size:
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
    except zipfile.BadZipFile:
        refused.append(Unmatched(str(archive), "not a readable zip file"))
    return refused


def _is_nbgrader_layout(root: Path, assignments: dict[str, list[str]]) -> bool:
    return any(
        p.is_dir() and (p / a).is_dir()
        for p in root.iterdir()
        if not p.name.startswith(".")
        for a in assignments
    )


def _visible(folder: Path) -> list[Path]:
    """What a person sees in `folder`: no hidden files, no macOS zip resource forks."""
    return sorted(
        p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"
    )


def _submissions_root(top: Path, assignments: dict[str, list[str]]) -> Path:
    """Where the submissions start under `top`: its `submitted/`, or below wrapper folders.

    A TA may zip nbgrader's `submitted/` folder, the whole course, or the folder's
    contents, and a file manager may add a folder named after the zip: each folder
    that holds only one folder is a wrapper, and `submitted/` is nbgrader's own.
    """
    root = top
    while True:
        if (root / "submitted").is_dir():
            return root / "submitted"
        if _is_nbgrader_layout(root, assignments):
            return root
        inside = _visible(root)
        if len(inside) != 1 or not inside[0].is_dir():
            return root
        root = inside[0]


LAYOUTS = (
    "expected nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb "
    "(zipped or not, with or without its top folder), or notebooks named "
    "<student>_<notebook>.ipynb"
)


def _not_understood(source: Path, root: Path, assignments: dict[str, list[str]]) -> str:
    """Why the files under `root` cannot be told apart by learner, or "" if they can.

    Matched by file name, `<x>/<assignment>/<notebook>.ipynb` would make a student of
    the assignment's folder and one row of every learner's work: that is an
    nbgrader layout this reader did not find the top of (two courses side by side).
    """
    trees = sorted(
        {
            path.parent.parent.parent.relative_to(root).as_posix()
            for path in root.rglob("*.ipynb")
            if len(path.relative_to(root).parts) >= 3
            and path.stem in assignments.get(path.parent.name, ())
        }
    )
    if not trees:
        return ""
    shown = ", ".join(f"{t}/" for t in trees[:5]) + (" ..." if len(trees) > 5 else "")
    return (
        f"{source}: cannot tell whose work is whose: found {len(trees)} folders laid out "
        f"as <student>/<assignment>/ ({shown}) and no single top; {LAYOUTS}; "
        "pass each folder on its own"
    )


def _collect_nbgrader(root: Path, assignments: dict[str, list[str]]) -> Collected:
    submissions, unmatched = [], []
    for student_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            unmatched.append(Unmatched(str(student_dir), "not inside a student folder"))
            continue
        for assignment_dir in sorted(student_dir.iterdir()):
            if assignment_dir.name.startswith("."):
                continue
            if assignment_dir.name not in assignments:
                unmatched.append(Unmatched(str(assignment_dir), "not an assignment of this course"))
                continue
            notebooks, extra = {}, {}
            for path in sorted(assignment_dir.rglob("*")):
                rel = path.relative_to(assignment_dir)
                if not path.is_file() or any(
                    part.startswith(".") or part == "__pycache__" for part in rel.parts
                ):
                    continue
                if path.suffix == ".ipynb" and len(rel.parts) == 1:
                    notebooks[path.stem] = path
                elif rel.as_posix() != "timestamp.txt":
                    extra[rel.as_posix()] = path
            stamp_file = assignment_dir / "timestamp.txt"
            stamp = stamp_file.read_text(errors="replace").strip() if stamp_file.is_file() else ""
            submissions.append(
                Submission(student_dir.name, assignment_dir.name, notebooks, stamp, extra)
            )
    return Collected(submissions, unmatched)


def _match_name(path: Path, by_notebook: dict[str, str]) -> tuple[str, str, str, str] | str:
    """(student, assignment, notebook, timestamp) for a downloaded file, or why not."""
    match = ZIP_COLLECT_REGEXP.match(path.stem) if path.suffix == ".ipynb" else None
    if match and match["file_id"] in by_notebook:
        student = match["student_id"]
        notebook = match["file_id"]
        return student, by_notebook[notebook], notebook, _zip_timestamp(match["timestamp"])
    stem = path.stem
    # Longest notebook names first, so `cloud_data` wins over a notebook called `data`.
    for notebook in sorted(by_notebook, key=len, reverse=True):
        student = ""
        if stem == notebook:
            student = path.parent.name
        elif stem.endswith(notebook) and stem[: -len(notebook)][-1:] in _SEPARATORS:
            student = stem[: -len(notebook)].rstrip(_SEPARATORS)
        elif stem.startswith(notebook) and stem[len(notebook) :][:1] in _SEPARATORS:
            student = stem[len(notebook) :].lstrip(_SEPARATORS)
        if student:
            if not STUDENT_ID.match(student):
                return f"the student id {student!r} taken from the file name is not usable"
            return student, by_notebook[notebook], notebook, ""
    names = ", ".join(f"{n}.ipynb" for n in sorted(by_notebook))
    return (
        "the file name names no notebook of this course "
        f"(expected e.g. <student>_{sorted(by_notebook)[0]}.ipynb; notebooks: {names})"
    )


def _collect_flat(root: Path, assignments: dict[str, list[str]], skip: Path) -> Collected:
    by_notebook = {nb: a for a, nbs in assignments.items() for nb in nbs}
    found: dict[tuple[str, str], dict[str, list[tuple[str, Path]]]] = {}
    unmatched = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.is_relative_to(skip) and not root.is_relative_to(skip):
            continue  # our own output folder, when it sits inside the submissions
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.suffix != ".ipynb":
            unmatched.append(Unmatched(str(path), "not a notebook (.ipynb) file"))
            continue
        matched = _match_name(path, by_notebook)
        if isinstance(matched, str):
            unmatched.append(Unmatched(str(path), matched))
            continue
        student, assignment, notebook, stamp = matched
        found.setdefault((student, assignment), {}).setdefault(notebook, []).append((stamp, path))
    submissions = []
    for (student, assignment), notebooks in sorted(found.items()):
        chosen, notes, stamps = {}, [], []
        for notebook, candidates in sorted(notebooks.items()):
            # With timestamps in the names the newest wins (as in zip_collect); without
            # them the choice is by name, and the TA is told which file was used.
            candidates.sort(key=lambda c: (c[0], str(c[1])))
            stamp, path = candidates[-1]
            chosen[notebook] = path
            stamps.append(stamp)
            if len(candidates) > 1:
                others = ", ".join(p.name for _, p in candidates[:-1])
                notes.append(
                    f"{len(candidates)} files for {notebook}: graded {path.name}, not {others}"
                )
        submissions.append(Submission(student, assignment, chosen, max(stamps), {}, tuple(notes)))
    return Collected(submissions, unmatched)


def collect(
    source: Path, assignments: dict[str, list[str]], unpack_dir: Path, only: str = ""
) -> Collected:
    """Find every submission in `source` (folder or .zip) for the course's assignments.

    `assignments` maps each assignment to its notebook names. A folder or zip
    holding `submitted/` (an nbgrader course) or `<student>/<assignment>/` folders,
    under any number of wrapper folders, is read in nbgrader's layout; anything
    else is matched by file name, except what is under the output folder
    (`unpack_dir`'s parent). Raises ValueError, saying what was found, for files
    laid out by learner and assignment under no single top. With `only`, other
    assignments are left out without being reported as unmatched.
    """
    unmatched: list[Unmatched] = []
    if source.is_file():
        if source.suffix.lower() != ".zip":
            raise ValueError(f"{source}: expected a folder or a .zip file of notebooks")
        top = unpack_dir / source.stem
        top.mkdir(parents=True, exist_ok=True)
        unmatched += _unzip(source, top)
    elif source.is_dir():
        top = source
    else:
        raise ValueError(f"{source}: no such folder or zip file")
    root = _submissions_root(top, assignments)
    if _is_nbgrader_layout(root, assignments):
        found = _collect_nbgrader(root, assignments)
    elif why := _not_understood(source, root, assignments):
        raise ValueError(why)
    else:
        found = _collect_flat(root, assignments, unpack_dir.parent)
    subs = [s for s in found.submissions if not only or s.assignment == only]
    return Collected(subs, unmatched + found.unmatched)
