"""The novice answer corpus: what learners type, right and wrong, for every graded task.

One YAML file per assignment in `tests/files/novice/<assignment>.yml` (the shape is
fixed in the issue-22 contract): the chapter it is built from, the notebook, and per
task the answer cell, the cell whose output says ✓ or ✗, the right answer and the
plausible wrong ones. `load_corpus` reads and validates a file, naming the file and
the key when something is off, so a corpus author sees what to fix. The chapter rule
(`unknown_names`) says which functions and packages a right answer uses that its
chapter never shows: a novice could not have typed them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
CORPUS = ROOT / "tests" / "files" / "novice"
SELFTEST = ROOT / "tests" / "files" / "novice-selftest"
KNOWN = CORPUS / "known.yml"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The one line a failing live self-check may add after its hint.
AGAIN = "(Run this cell again to check again.)"
RUNTIME = ROOT / "src" / "hubtrain" / "learner"

__all__ = [
    "AGAIN",
    "ANSI",
    "CorpusError",
    "Novice",
    "Task",
    "Wrong",
    "called_names",
    "chapter_names",
    "corpus_files",
    "failure_problems",
    "known_names",
    "load_corpus",
    "notebook_names",
    "pass_problems",
    "unknown_names",
]


class CorpusError(ValueError):
    """A corpus file that does not have the contract's shape; the message names file and key."""


@dataclass(frozen=True)
class Wrong:
    why: str
    code: str
    says: str = ""


@dataclass(frozen=True)
class Task:
    cell: str
    check: str
    right: str
    wrong: tuple[Wrong, ...]


@dataclass(frozen=True)
class Novice:
    """One assignment's corpus, checked against its notebook."""

    path: Path
    assignment: str
    chapter: Path
    notebook: Path
    language: str  # "python" or "r"
    tasks: tuple[Task, ...] = field(default_factory=tuple)


def corpus_files(folder: Path = CORPUS) -> list[Path]:
    """The assignments' corpus files in `folder` (not known.yml)."""
    return sorted(p for p in folder.glob("*.yml") if p.name != KNOWN.name)


def _fail(path: Path, key: str, problem: str) -> CorpusError:
    return CorpusError(f"{path}: {key}: {problem}")


def _text(path: Path, where: dict[str, Any], key: str, prefix: str, required: bool = True) -> str:
    value = where.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        got = "missing" if value is None else f"{type(value).__name__} {value!r}"
        raise _fail(path, f"{prefix}{key}", f"expected a non-empty string, got {got}")
    return value


def _only(path: Path, where: dict[str, Any], allowed: set[str], prefix: str) -> None:
    extra = sorted(set(where) - allowed)
    if extra:
        raise _fail(
            path, f"{prefix}{extra[0]}", f"unknown key; expected only {', '.join(sorted(allowed))}"
        )


def _cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Code cells by grade_id, and by cell id where they have none."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        found[grade_id or cell.get("id", "")] = cell
    return found


def load_corpus(path: Path, exercises: Path = EXERCISES, root: Path = ROOT) -> Novice:
    """Read one corpus file and check it against its assignment; CorpusError when not."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "(file)", "expected a mapping with chapter, notebook and tasks")
    _only(path, data, {"chapter", "notebook", "tasks"}, "")
    assignment = path.stem
    folder = exercises / assignment
    if not folder.is_dir():
        raise _fail(path, "(file name)", f"no assignment folder {folder}")
    chapter = root / _text(path, data, "chapter", "")
    if not chapter.is_file():
        raise _fail(path, "chapter", f"{data['chapter']!r} is not a file of the repository")
    notebook_path = folder / _text(path, data, "notebook", "")
    if not notebook_path.is_file():
        names = ", ".join(p.name for p in sorted(folder.glob("*.ipynb")))
        raise _fail(path, "notebook", f"{data['notebook']!r} is not in {folder} (it has {names})")
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = _cells(notebook)
    language = notebook.metadata.get("kernelspec", {}).get("language", "python").lower()
    tasks_data = data.get("tasks")
    if not isinstance(tasks_data, list) or not tasks_data:
        raise _fail(path, "tasks", "expected a non-empty list of tasks")
    tasks, seen = [], set()
    for index, item in enumerate(tasks_data):
        prefix = f"tasks[{index}]."
        if not isinstance(item, dict):
            raise _fail(
                path, f"tasks[{index}]", "expected a mapping with cell, check, right, wrong"
            )
        _only(path, item, {"cell", "check", "right", "wrong"}, prefix)
        cell = _text(path, item, "cell", prefix)
        answer = cells.get(cell)
        if answer is None or not answer.metadata.get("nbgrader", {}).get("solution"):
            raise _fail(path, f"{prefix}cell", f"{cell!r} is not an answer cell of {notebook_path}")
        if cell in seen:
            raise _fail(path, f"{prefix}cell", f"{cell!r} has a second entry")
        seen.add(cell)
        check = _text(path, item, "check", prefix)
        if check not in cells or check == cell:
            raise _fail(path, f"{prefix}check", f"{check!r} is not a check cell of {notebook_path}")
        right = _text(path, item, "right", prefix)
        wrong_data = item.get("wrong")
        if not isinstance(wrong_data, list) or len(wrong_data) < 2:
            raise _fail(path, f"{prefix}wrong", "expected a list of at least 2 wrong answers")
        wrong = []
        for number, entry in enumerate(wrong_data):
            inner = f"{prefix}wrong[{number}]."
            if not isinstance(entry, dict):
                raise _fail(path, inner[:-1], "expected a mapping with why, code and maybe says")
            _only(path, entry, {"why", "code", "says"}, inner)
            wrong.append(
                Wrong(
                    _text(path, entry, "why", inner),
                    _text(path, entry, "code", inner),
                    _text(path, entry, "says", inner, required=False),
                )
            )
        tasks.append(Task(cell, check, right, tuple(wrong)))
    return Novice(
        path, assignment, chapter, notebook_path, "r" if language == "r" else "python", tuple(tasks)
    )


def answer_cells(notebook: Path) -> list[str]:
    """The grade_ids of a notebook's answer (solution) cells, in order."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]


# --- what a check said, judged -------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]


def failure_problems(text: str, says: str = "", forbidden: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with a check's output for a wrong answer (empty when it is right).

    It must be one line starting with ✗ (the sentence), one `Hint:` line, and at most
    the live checks' "run again" line; nothing of the host's paths.
    """
    lines = _lines(text)
    if not lines:
        return ["the check printed nothing"]
    problems = []
    if not lines[0].startswith("✗"):
        problems.append(f"the output does not start with ✗: {lines[0]!r}")
    elif not re.search(r"[.?!]['\"`)]?$", lines[0]):
        problems.append(f"the ✗ line is not one whole sentence: {lines[0]!r}")
    if len(lines) < 2 or not lines[1].startswith("Hint: ") or len(lines[1]) < 12:
        problems.append("there is no `Hint: ...` line right after the ✗ sentence")
    extra = [line for line in lines[2:] if line != AGAIN]
    if extra:
        problems.append(f"more than a sentence and a hint: {extra[:3]}")
    problems += [f"it shows the host path {p!r}" for p in forbidden if p in text]
    if says and says.lower() not in text.lower():
        problems.append(f"it does not mention {says!r}")
    return problems


def pass_problems(text: str) -> list[str]:
    """What is wrong with a check's output for a right answer (empty when it passed)."""
    lines = _lines(text)
    if not lines or not lines[0].startswith("✓"):
        return [f"the right answer does not pass: {lines[:4]}"]
    if any(line.startswith("✗") for line in lines):
        return [f"a ✗ among the ticks: {lines[:4]}"]
    return []


# --- the chapter rule ----------------------------------------------------------------

_FENCE = re.compile(r"(?ms)^([ \t]*)(`{3,})[ \t]*(\{code-cell\}[ \t]*)?([\w+-]*)[^\n]*\n(.*?)^\1\2")
_LANGUAGES = {"python": "python", "python3": "python", "ipython3": "python", "ir": "r", "r": "r"}


def chapter_blocks(chapter: Path, language: str) -> list[str]:
    """The code blocks of a chapter in `language`: ```python / ```r fences and
    ```{code-cell} blocks, wherever they are (tab sets, lists, admonitions)."""
    text = chapter.read_text(encoding="utf-8")
    return [
        body
        for _, _, _, lang, body in _FENCE.findall(text)
        if _LANGUAGES.get(lang.lower()) == language
    ]


def chapter_names(chapter: Path, language: str) -> set[str]:
    """Every identifier in the chapter's code blocks of `language`."""
    return {
        word
        for block in chapter_blocks(chapter, language)
        for word in re.findall(r"[A-Za-z_.][\w.]*", block)
        for word in [word, *word.split(".")]
        if word
    }


def _python_calls(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(alias.name for alias in node.names)
    return names


def _python_defined(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


_R_TOKENS = r"""
files <- commandArgs(trailingOnly = TRUE)
for (f in files) {
  data <- tryCatch(getParseData(parse(f, keep.source = TRUE)), error = function(e) NULL)
  if (is.null(data)) {
    cat(f, "", "", "", sep = "\t")
    cat("\n")
    next
  }
  data <- data[data$terminal, ]
  calls <- data$text[data$token %in% c("SYMBOL_FUNCTION_CALL", "SYMBOL_PACKAGE")]
  # library(x): the package is an argument, not a call.
  loaded <- character()
  for (i in which(data$text %in% c("library", "require") & data$token == "SYMBOL_FUNCTION_CALL")) {
    arg <- data[seq_len(nrow(data)) > i & data$token %in% c("SYMBOL", "STR_CONST"), ]
    if (nrow(arg)) loaded <- c(loaded, gsub("[\"']", "", arg$text[1]))
  }
  following <- c(data$token[-1], "")
  defined <- data$text[(data$token == "SYMBOL" & following %in% c("LEFT_ASSIGN", "EQ_ASSIGN")) |
    data$token == "SYMBOL_FORMALS"]
  cat(f, paste(unique(c(calls, loaded)), collapse = " "), paste(unique(defined), collapse = " "),
      paste(unique(loaded), collapse = " "), sep = "\t")
  cat("\n")
}
"""


def _r_names(codes: list[str]) -> list[tuple[set[str], set[str], set[str]]]:
    """(called or loaded, defined, loaded) names of each R code, by R's own parser
    (one Rscript for all)."""
    if not codes:
        return []
    with tempfile.TemporaryDirectory(prefix="novice-r-") as tmp:
        files = []
        for index, code in enumerate(codes):
            file = Path(tmp) / f"code{index}.R"
            file.write_text(code, encoding="utf-8")
            files.append(str(file))
        ran = subprocess.run(
            ["Rscript", "-e", _R_TOKENS, *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if ran.returncode != 0:
        raise RuntimeError(f"R could not parse the answers: {ran.stderr.strip()}")
    found = {}
    for line in ran.stdout.splitlines():
        name, called, defined, loaded = [*line.split("\t"), "", "", ""][:4]
        found[name] = (set(called.split()), set(defined.split()), set(loaded.split()))
    return [found[f] for f in files]


def called_names(codes: list[str], language: str) -> list[set[str]]:
    """The functions, methods and packages each code calls, imports or loads."""
    if language == "r":
        return [called for called, _, _ in _r_names(codes)]
    return [_python_calls(code) for code in codes]


def _runtime_names(language: str) -> set[str]:
    """What hubcheck (shipped next to every notebook) defines."""
    if language == "r":
        text = (RUNTIME / "hubcheck.R").read_text(encoding="utf-8")
        return set(re.findall(r"(?m)^\s*([\w.]+)\s*<-\s*function", text)) | {"hubcheck"}
    tree = ast.parse((RUNTIME / "hubcheck.py").read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
    } | {"hubcheck"}


def notebook_names(notebook: Path, language: str) -> set[str]:
    """What a notebook's own non-answer code cells define, load or import, and hubcheck."""
    cells = nbformat.read(notebook, as_version=4).cells
    codes = [
        cell.source
        for cell in cells
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution")
    ]
    if language == "r":
        # What the cells assign, and the packages they load.
        names = {name for _, defined, loaded in _r_names(codes) for name in defined | loaded}
    else:
        names = set()
        for code in codes:
            try:
                names |= _python_defined(code)
            except SyntaxError:
                continue  # IPython magics; they define nothing a learner calls
    return names | _runtime_names(language)


def known_names(language: str, path: Path = KNOWN) -> set[str]:
    """What the book's start says a learner already knows (tests/files/novice/known.yml)."""
    if not path.is_file():
        return set()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = data.get(language, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CorpusError(f"{path}: {language}: expected a list of names")
    return set(values)


def unknown_names(novice: Novice) -> dict[str, set[str]]:
    """Per task (its answer cell), the names its right answer uses that the chapter
    does not show, the notebook does not define and known.yml does not list."""
    codes = [task.right for task in novice.tasks]
    allowed = (
        chapter_names(novice.chapter, novice.language)
        | notebook_names(novice.notebook, novice.language)
        | known_names(novice.language)
    )
    if novice.language == "r":
        parsed = _r_names(codes)
        uses = [called for called, _, _ in parsed]
        own = [defined for _, defined, _ in parsed]
    else:
        uses = [_python_calls(code) for code in codes]
        own = [_python_defined(code) for code in codes]
    result = {}
    for task, used, defined in zip(novice.tasks, uses, own, strict=True):
        missing = used - allowed - defined
        if missing:
            result[task.cell] = missing
    return result
