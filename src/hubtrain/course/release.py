"""The student release: `exercises/` sources -> nbgrader -> `_build/release/`.

The release is what learners pull onto their hub. It is made by real nbgrader
(`generate_assignment`), then checked for leaks: no solution region and no hidden
test from any source may appear in it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import with_venv_on_path

__all__ = [
    "R_SUFFIX",
    "SECRET_MARKERS",
    "LeakError",
    "assignments",
    "find_answer_literals",
    "find_leaks",
    "hub_facts_text",
    "is_r_notebook",
    "make_release",
    "nbgrader_env",
    "public_lines",
    "r_twin",
    "run_nbgrader",
    "secret_lines",
    "stage_course",
]

LEARNER_RUNTIME = Path(__file__).parents[1] / "learner" / "hubcheck.py"
# Its R twin, for the R assignments; it writes the same progress file.
LEARNER_RUNTIME_R = Path(__file__).parents[1] / "learner" / "hubcheck.R"
# The course-wide progress page, at the top of the release with its own runtime copy.
LEARNER_PROGRESS = Path(__file__).parents[1] / "learner" / "progress.ipynb"
SECRET_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)
RELEASE_GITIGNORE = ".ipynb_checkpoints/\n__pycache__/\n*.pyc\n"


class LeakError(RuntimeError):
    """A release, book or branch would contain a solution or a hidden test."""


# An R exercise is its own nbgrader assignment, so that an assignment's maximum
# counts one language: `01-login/login.ipynb` has the R twin
# `01-login-r/login_r.ipynb`. The learner runtimes use the same folder suffix.
R_SUFFIX = "-r"


def r_twin(path: str) -> str:
    """The release path of the R twin of a Python exercise notebook's release path.

    `01-login/login.ipynb` -> `01-login-r/login_r.ipynb`. The twin need not exist;
    callers check.
    """
    folder, _, name = path.rpartition("/")
    return f"{folder}{R_SUFFIX}/{name.removesuffix('.ipynb')}_r.ipynb"


def assignments(exercises: Path) -> list[str]:
    """Assignment names: the folders of `exercises/` that hold a notebook, sorted."""
    return sorted(d.name for d in exercises.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))


def nbgrader_env() -> dict[str, str]:
    """The environment for running nbgrader from this interpreter's environment.

    nbgrader creates a gradebook by running `alembic` from PATH; when the virtual
    environment is not activated its `bin` is not on PATH, so we put it there.
    """
    return with_venv_on_path(dict(os.environ))


def run_nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one nbgrader command on a course folder; raise with its output on failure."""
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        *args,
        f"--CourseDirectory.root={course_dir}",
    ]
    result = subprocess.run(
        command, cwd=course_dir, env=nbgrader_env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def hub_facts_text(hub: HubConfig) -> str:
    """The text of `hub.json`: the hub facts the learner-side checks compare against."""
    return json.dumps(hub.facts(), indent=1) + "\n"


def write_hub_facts(hub: HubConfig, folder: Path) -> None:
    """Write `hub.json` into `folder` (every assignment and the release root)."""
    (folder / "hub.json").write_text(hub_facts_text(hub), encoding="utf-8")


def public_lines(text: str) -> frozenset[str]:
    """The stripped lines of a public text, such as `hub_facts_text(hub)`.

    A solution line that also appears in the hub's facts (`"branch": "main",` in a
    solution that builds a link, on a hub whose branch is main) is public
    knowledge there, not a leak.
    """
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def stage_course(hub: HubConfig, exercises: Path, course_dir: Path) -> list[str]:
    """Lay out an nbgrader course folder with `source/<assignment>/` from `exercises/`.

    Each assignment also gets the learner check runtime for its language
    (`hubcheck.R` in an R assignment, `hubcheck.py` in the others) and the hub facts, so that
    nbgrader copies them into the release and into every autograde run. Returns
    the assignment names.
    """
    names = assignments(exercises)
    source = course_dir / "source"
    if source.exists():
        shutil.rmtree(source)
    for name in names:
        target = source / name
        shutil.copytree(
            exercises / name,
            target,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        if name.endswith(R_SUFFIX):
            shutil.copy2(LEARNER_RUNTIME_R, target / "hubcheck.R")
        else:
            shutil.copy2(LEARNER_RUNTIME, target / "hubcheck.py")
        write_hub_facts(hub, target)
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.ignore = ['.ipynb_checkpoints', '__pycache__', '*.pyc']\n",
        encoding="utf-8",
    )
    return names


def make_release(hub: HubConfig, exercises: Path, build_dir: Path) -> Path:
    """Make the student release of every assignment in `build_dir/release/`.

    The course folder nbgrader works in is `build_dir/course/`. The release is
    rebuilt from scratch each time (it holds nothing a person edits) and is
    checked for leaks before this returns. Returns the release folder.
    """
    course_dir = build_dir / "course"
    course_dir.mkdir(parents=True, exist_ok=True)
    names = stage_course(hub, exercises, course_dir)
    release = build_dir / "release"
    if release.exists():
        shutil.rmtree(release)
    release.mkdir(parents=True)
    if names:
        # One nbgrader run for every assignment: each run costs about two seconds of
        # start-up, ten runs most of a release (a book build, a practice hub's start).
        run_nbgrader(
            course_dir,
            "generate_assignment",
            "--force",
            "--no-db",
            "--CourseDirectory.assignment_id=*",
        )
    for name in names:
        shutil.copytree(course_dir / "release" / name, release / name)
    (release / ".gitignore").write_text(RELEASE_GITIGNORE, encoding="utf-8")
    (release / "README.md").write_text(_release_readme(hub, names), encoding="utf-8")
    shutil.copy2(LEARNER_RUNTIME, release / "hubcheck.py")
    shutil.copy2(LEARNER_PROGRESS, release / "progress.ipynb")
    write_hub_facts(hub, release)
    leaks = find_leaks(exercises, release, public_lines(hub_facts_text(hub)))
    if leaks:
        raise LeakError("the release would leak:\n" + "\n".join(leaks[:20]))
    return release


def _release_readme(hub: HubConfig, names: Iterable[str]) -> str:
    lines = [
        f"# Exercises for {hub.name}",
        "",
        "Open each notebook and work through it top to bottom; every check tells you",
        "what is right and what to try next. Your edits are kept when you click the",
        "course link again: nbgitpuller merges new material in without overwriting them.",
        "Open `progress.ipynb` to see which tasks of the whole course you have done.",
        "",
    ]
    lines += [f"- `{name}/`" for name in names]
    return "\n".join(lines) + "\n"


def _split_cell(source: str) -> tuple[list[str], list[str]]:
    """A cell's stripped lines, split into (inside secret regions, outside them)."""
    secret, public = [], []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            inside = True
        elif stripped in ("### END SOLUTION", "### END HIDDEN TESTS"):
            inside = False
        else:
            (secret if inside else public).append(stripped)
    return secret, public


def secret_lines(exercises: Path, min_length: int = 12) -> set[str]:
    """Every distinctive line inside a solution or hidden-test region of the sources.

    Short lines (`pass`, `return x`) are left out, and so are lines that also occur
    outside the secret regions (a visible check repeated in a hidden test is not a
    secret); the markers themselves are always searched for.
    """
    import nbformat  # here, not at the top: every command imports this module

    secret: set[str] = set()
    public: set[str] = set()
    for path in sorted(exercises.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            inside, outside = _split_cell(cell.source)
            secret.update(line for line in inside if len(line) >= min_length)
            public.update(outside)
    return secret - public


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            yield "".join(value)
        else:
            for item in value:
                yield from _strings(item)


def _plain_text(path: Path, text: str) -> str:
    """The text a person would read: notebook strings decoded, HTML tags removed.

    Highlighted code in HTML is split into many tags and quotes become entities, so
    a raw search would miss a leaked solution line there.
    """
    if path.suffix == ".ipynb":
        try:
            return "\n".join(_strings(json.loads(text)))
        except json.JSONDecodeError:
            return text
    if path.suffix in (".html", ".htm", ".xml", ".svg"):
        return html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def _literal(node: Any) -> Any:
    import ast

    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _answers(code: str) -> list[tuple[str, Any]]:
    """(name, value) for each plain literal a solution assigns (`x = 4`, `s = {"a"}`)."""
    import ast

    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], _literal(node.value)
            if isinstance(target, ast.Name) and value is not _NOT_LITERAL:
                found.append((target.id, value))
    return found


def _stated(word: str, text: str) -> bool:
    """Whether `word` stands as a whole word in `text` (a notebook's task text)."""
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def _telling(value: Any, task_text: str = "") -> list[Any]:
    """The values that would give away an answer: itself, and its distinctive words.

    A word the task text already states (the branch `main` the task names, or the
    choices `"keep"` and `"restore"` it offers) gives nothing away on its own.
    """
    if isinstance(value, bool) or value is None or value in (0, 1, ""):
        return []
    told = [value]
    if isinstance(value, dict | set | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        told += [
            v for v in items if isinstance(v, str) and len(v) >= 3 and not _stated(v, task_text)
        ]
    return told


def _show(value: Any) -> str:
    """A value as a leak message shows it (a set in sorted order, so messages are stable)."""
    if isinstance(value, set):
        return "{" + ", ".join(sorted(repr(v) for v in value)) + "}"
    return repr(value)


_HIDDEN_TESTS = re.compile(r"(?ms)^\s*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\s*$")


def _python_shown(code: str) -> tuple[list[Any], list[Any]] | None:
    """(literals, question letters) a Python cell spells out; None if it does not parse."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    literals, letters = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "hubcheck.question":
            given = node.args[4] if len(node.args) > 4 else None
            given = next((k.value for k in node.keywords if k.arg == "answer"), given)
            if given is not None:
                letters.append(_literal(given))
        if isinstance(node, ast.Constant | ast.Set | ast.List | ast.Tuple | ast.Dict):
            literals.append(_literal(node))
    return [v for v in literals if v is not _NOT_LITERAL], letters


def is_r_notebook(path: Path, metadata: dict[str, Any]) -> bool:
    """Whether a notebook is R: its kernel's language, else its name (`login_r.ipynb`
    in `01-login-r/`), the way the course names R twins."""
    language = (metadata.get("kernelspec") or {}).get("language") or (
        metadata.get("language_info") or {}
    ).get("name")
    if language:
        return str(language).lower() == "r"
    return path.stem.endswith("_r") or path.parent.name.endswith(R_SUFFIX)


def find_answer_literals(exercises: Path) -> list[str]:
    """Where a learner-visible test or question shows the answer it checks.

    An answer is a literal a solution assigns (`leaked_line = 4`, in R
    `leaked_line <- 3` or `right <- c(edited = "keep")`; arithmetic on numbers such
    as `20000 * 20000 * 8` counts as the number in R); a visible graded test cell
    (hidden tests removed) that holds that literal, or one of its words the task
    text does not state, gives it away. A question whose answer is a plain letter
    does too (pass `hubcheck.digest([task_id, letter])`, in R
    `hubcheck$digest(list(task_id, letter))`). R notebooks are read by R's own
    parser, one Rscript run for the whole scan. Returns "file: cell: what" lines.
    """
    import nbformat  # here, not at the top: every command imports this module

    from hubtrain.course.rliterals import scan_r_cells

    notebooks = []
    for path in sorted(exercises.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        notebook = nbformat.read(path, as_version=4)
        # Each cell to read: (its nbgrader metadata, its code with hidden tests removed).
        cells = []
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                cells.append((meta, cell.source))
            elif cell.cell_type == "code" and meta.get("locked"):
                cells.append((meta, _HIDDEN_TESTS.sub("", cell.source)))
        task_text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        notebooks.append((path, is_r_notebook(path, notebook.metadata), cells, task_text))
    r_cells = iter(scan_r_cells([code for _, r, cells, _ in notebooks if r for _, code in cells]))

    leaks = []
    for path, is_r, cells, task_text in notebooks:
        answers, shown = [], []
        for meta, code in cells:
            if is_r:
                scanned = next(r_cells)
                found = (scanned.literals, scanned.letters) if scanned.parsed else None
                assigned = scanned.assigned
            else:
                found = None if meta.get("solution") else _python_shown(code)
                assigned = _answers(code) if meta.get("solution") else []
            if meta.get("solution"):
                answers += assigned
            elif found is not None:
                shown.append((f"{path}: {meta.get('grade_id', '?')}", meta.get("grade"), *found))
        for where, graded, literals, letters in shown:
            for letter in letters:
                if isinstance(letter, str) and len(letter) == 1:
                    leaks.append(f"{where}: the question's right letter {letter!r} is shown")
            for value in literals if graded else []:
                for name, answer in answers:
                    told = _telling(answer, task_text)
                    if any(type(value) is type(t) and value == t for t in told):
                        leaks.append(f"{where}: shows {_show(value)}, the answer of {name}")
    return sorted(set(leaks))


def find_leaks(exercises: Path, target: Path, public: frozenset[str] = frozenset()) -> list[str]:
    """Where `target` (a folder of any files) contains solution or hidden-test text.

    Returns "file: what" lines; an empty list means nothing leaked. Files are read
    as text whatever their type, so HTML, notebooks and scripts are all covered.
    Lines in `public` (see `public_lines`) are not secrets wherever they appear.
    """
    secrets = secret_lines(exercises) - public
    leaks = []
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        if ".git" in path.relative_to(target).parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        haystacks = [text, _plain_text(path, text)]
        for marker in SECRET_MARKERS:
            if any(marker in h for h in haystacks):
                leaks.append(f"{path}: contains {marker!r}")
        for line in secrets:
            if any(line in h for h in haystacks):
                leaks.append(f"{path}: contains solution text {line[:60]!r}")
    return leaks
