"""Novices' answers, right and wrong, typed into the course as a learner gets it.

Every corpus file (`tests/files/novice/<assignment>.yml`, and the runner's own
`tests/files/novice-selftest/`) runs in one kernel per assignment, started by
nbclient in a hub-like place: the notebook as the practice hub publishes it, cloned
into the learner's home; the hub's variables for the default profile; a token the
practice hub and a real Jupyter server on loopback accept; the practice hub's local
buckets. Tasks run in notebook order: for each task, every wrong answer is typed
into its answer cell and its check runs, then the right answer and the check again.

A right answer must pass (✓). A wrong one must fail the way the course promises:
one line starting with ✗ that says what is wrong, a `Hint:` line, and nothing else
(no traceback, no R `Error`, `Backtrace` or source lines), with no path of the host
(the practice hub's state, `/tmp/`, the repository).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from hublike import clone_course, hub_token, hublike_env, jupyter_server
from novice import (
    AGAIN,
    ANSI,
    CORPUS,
    SELFTEST,
    CorpusError,
    Novice,
    answer_cells,
    corpus_files,
    failure_problems,
    load_corpus,
    pass_problems,
    unknown_names,
)

from hubtrain.course.release import assignments
from hubtrain.localcloud.gcsbuckets import bucket_env
from hubtrain.localcloud.localenv import execute_notebook
from hubtrain.practice import PracticeHub
from hubtrain.practice.run import PERSISTENT_BUCKET, SCRATCH_BUCKET

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
USER = "nova"  # not the walk's learner: the two share a practice hub
FILES = corpus_files(CORPUS) + corpus_files(SELFTEST)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _loaded(path: Path) -> Novice | None:
    try:
        return load_corpus(path)
    except CorpusError:
        return None  # test_every_corpus_file_is_valid says why


CASES = [
    pytest.param(path, task.cell, index, id=f"{_id(path)}:{task.cell}:{index}")
    for path in FILES
    if (novice := _loaded(path))
    for task in novice.tasks
    for index in range(len(task.wrong))
]
TASKS = [
    pytest.param(path, task.cell, id=f"{_id(path)}:{task.cell}")
    for path in FILES
    if (novice := _loaded(path))
    for task in novice.tasks
]


# --- what a check said, judged ---------------------------------------------------------


def test_the_judge_accepts_a_sentence_and_a_hint() -> None:
    python = (
        "✗ my_username is 'jovyan', but the hub started this server for 'ada'.\n  Hint: Read it."
    )
    assert failure_problems(python, says="jovyan") == []
    live = "✗ the record you fetched is not yours.\n  Hint: Ask for /user.\n" + AGAIN
    assert failure_problems(live) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("✓ Your username: passed.", "does not start with ✗"),
        ("Error: ✗ x is wrong.\nHint: try y.", "does not start with ✗"),
        ("✗ x is wrong.", "no `Hint: ...` line"),
        ("✗ x is wrong.\nHint: try y instead.\nBacktrace:\n 1. stop(outcome)", "more than"),
        ("✗ x is wrong\nHint: try y instead.", "not one whole sentence"),
        ("✗ /tmp/pytest-1/homes/ana/x is wrong.\nHint: try y instead.", "host path"),
        ("✗ x is wrong.\nHint: try y instead.", "does not mention"),
        ("", "printed nothing"),
    ],
)
def test_the_judge_refuses_what_a_novice_should_not_see(text: str, problem: str) -> None:
    problems = failure_problems(text, says="JUPYTERHUB_USER", forbidden=("/tmp/",))
    assert any(problem in p for p in problems), problems


def test_the_judge_wants_a_tick_for_a_right_answer() -> None:
    assert pass_problems("✓ Your username and server name: passed.") == []
    assert pass_problems("✗ not yet.\nHint: x.")
    assert pass_problems("")


# --- the corpus files ------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_is_valid(path: Path) -> None:
    load_corpus(path)


def test_a_broken_corpus_file_is_named_with_its_key() -> None:
    broken = SELFTEST / "broken" / "01-login.yml"
    with pytest.raises(CorpusError) as caught:
        load_corpus(broken)
    assert str(caught.value).startswith(f"{broken}: tasks[1].wrong: ")
    assert "at least 2" in str(caught.value)


BREAKS = [
    (lambda d: d.pop("notebook"), "notebook"),
    (lambda d: d.update(notebook="nope.ipynb"), "notebook"),
    (lambda d: d.update(chapter="book/nope.md"), "chapter"),
    (lambda d: d["tasks"][0].update(cell="test_who_am_i"), "tasks[0].cell"),
    (lambda d: d["tasks"][0].update(check="nope"), "tasks[0].check"),
    (lambda d: d["tasks"][1].update(right=None), "tasks[1].right"),
    (lambda d: d["tasks"][0]["wrong"][1].pop("code"), "tasks[0].wrong[1].code"),
    (lambda d: d["tasks"][0]["wrong"][0].update(hint="x"), "tasks[0].wrong[0].hint"),
    (lambda d: d.update(tasks=[]), "tasks"),
]


@pytest.mark.parametrize(("change", "key"), BREAKS, ids=[key for _, key in BREAKS])
def test_the_loader_names_the_key_that_is_wrong(tmp_path: Path, change: object, key: str) -> None:
    import yaml

    data = yaml.safe_load((SELFTEST / "01-login.yml").read_text())
    change(data)  # type: ignore[operator]
    bad = tmp_path / "01-login.yml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(CorpusError, match=re.escape(f"{bad}: {key}: ")):
        load_corpus(bad)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_right_answers_use_only_what_the_chapter_shows(path: Path) -> None:
    unknown = unknown_names(load_corpus(path))
    assert not unknown, (
        f"{path.name}: right answers call what {load_corpus(path).chapter.name} never shows "
        f"(show it in a code block of the chapter in this language, or list it in known.yml): "
        f"{ {cell: sorted(names) for cell, names in unknown.items()} }"
    )


def test_the_chapter_rule_catches_a_name_the_chapter_does_not_show(tmp_path: Path) -> None:
    text = (SELFTEST / "01-login.yml").read_text()
    text = text.replace('os.environ.get("JUPYTERHUB_SERVER_NAME")', 'os.getenvb(b"X").decode()')
    (tmp_path / "01-login.yml").write_text(text)
    unknown = unknown_names(load_corpus(tmp_path / "01-login.yml"))
    assert unknown == {"who_am_i": {"getenvb", "decode"}}


def test_every_assignment_has_a_corpus_file() -> None:
    """Goes green when the module owners' corpus files are merged."""
    missing = [a for a in assignments(EXERCISES) if not (CORPUS / f"{a}.yml").is_file()]
    assert not missing, f"no novice corpus in {CORPUS} for: {', '.join(missing)}"


def test_every_answer_cell_has_a_corpus_task() -> None:
    """Each module's corpus covers every answer cell of its notebook."""
    missing = {}
    for path in corpus_files(CORPUS):
        novice = load_corpus(path)
        covered = {task.cell for task in novice.tasks}
        cells = [cell for cell in answer_cells(novice.notebook) if cell not in covered]
        if cells:
            missing[path.name] = cells
    assert not missing, f"answer cells without a corpus task: {missing}"


# --- the runs --------------------------------------------------------------------------


@dataclass
class Place:
    hub: PracticeHub
    course: Path
    env: dict[str, str]
    forbidden: tuple[str, ...]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory, walk_hub: PracticeHub) -> Iterator[Place]:
    base = tmp_path_factory.mktemp("novice")
    home = base / "home"
    home.mkdir()
    hub = walk_hub
    token = hub_token(hub.url, USER, hub.password, "novice corpus")
    course = clone_course(hub.hub, home)
    with jupyter_server(base, home, token) as url:
        env = hublike_env(hub.hub, USER, home, url, token, base / "progress.json")
        assert hub.buckets is not None
        env.update(bucket_env(hub.buckets))
        storage = hub.hub.storage
        for variable, bucket in (
            (storage.scratch_env, SCRATCH_BUCKET),
            (storage.persistent_env, PERSISTENT_BUCKET),
        ):
            if variable:
                env[variable] = f"{storage.scheme}://{bucket}/{USER}"
        forbidden = (str(base), str(tmp_path_factory.getbasetemp()), "/tmp/", str(ROOT))
        yield Place(hub, course, env, forbidden)


def _text(outputs: list[nbformat.NotebookNode]) -> str:
    parts = []
    for output in outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def scripted(notebook: nbformat.NotebookNode, novice: Novice) -> nbformat.NotebookNode:
    """The notebook as a novice runs it: at each task's check, every wrong answer typed
    into the answer cell and checked, then the right one. Each run cell is tagged
    `novice: [answer cell, wrong index or "right", "answer" or "check"]`."""
    by_check = {task.check: task for task in novice.tasks}
    answers = {task.cell for task in novice.tasks}
    cells = []

    def cell_id(cell: nbformat.NotebookNode) -> str:
        return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id", "")

    found = {cell_id(c): c for c in notebook.cells if c.cell_type == "code"}
    for cell in notebook.cells:
        name = cell_id(cell) if cell.cell_type == "code" else ""
        if name in answers:
            continue
        task = by_check.get(name)
        if task is None:
            cells.append(cell)
            continue
        tries = [(str(i), w.code) for i, w in enumerate(task.wrong)] + [("right", task.right)]
        for label, code in tries:
            answer = copy.deepcopy(found[task.cell])
            answer.source = code
            answer.metadata["novice"] = [task.cell, label, "answer"]
            check = copy.deepcopy(cell)
            check.metadata["novice"] = [task.cell, label, "check"]
            cells += [answer, check]
    result = copy.deepcopy(notebook)
    result.cells = cells
    for index, cell in enumerate(result.cells):
        cell["id"] = f"novice-{index}"
    return result


_RUNS: dict[Path, dict[tuple[str, str, str], str]] = {}


def _run(place: Place, path: Path) -> tuple[Novice, dict[tuple[str, str, str], str]]:
    """Run one corpus file (once per session); what each tagged cell printed."""
    novice = load_corpus(path)
    if path not in _RUNS:
        notebook_path = place.course / novice.assignment / novice.notebook.name
        notebook = scripted(nbformat.read(notebook_path, as_version=4), novice)
        execute_notebook(notebook, notebook_path.parent, place.env)
        _RUNS[path] = {
            tuple(cell.metadata["novice"]): _text(cell.outputs)
            for cell in notebook.cells
            if "novice" in cell.metadata
        }
    return novice, _RUNS[path]


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.xdist_group("walkthrough")
@pytest.mark.parametrize(("path", "cell"), TASKS)
def test_a_right_answer_passes(place: Place, path: Path, cell: str) -> None:
    _, said = _run(place, path)
    answered = said[(cell, "right", "answer")]
    problems = pass_problems(said[(cell, "right", "check")])
    assert not problems, f"{path.name} {cell}: {problems}\nthe answer cell said: {answered}"


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.xdist_group("walkthrough")
@pytest.mark.parametrize(("path", "cell", "index"), CASES)
def test_a_wrong_answer_fails_with_a_sentence_and_a_hint(
    place: Place, path: Path, cell: str, index: int
) -> None:
    novice, said = _run(place, path)
    wrong = next(t for t in novice.tasks if t.cell == cell).wrong[index]
    text = said[(cell, str(index), "check")]
    problems = failure_problems(text, wrong.says, place.forbidden)
    assert not problems, (
        f"{path.name} {cell}, wrong answer {index} ({wrong.why}):\n{wrong.code}\n"
        f"problems: {problems}\nthe check said:\n{ANSI.sub('', text)}"
    )
