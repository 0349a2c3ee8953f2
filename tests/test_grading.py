"""`hubtrain grade` on the bad-input corpus, a zip on a Dask cluster, and a killed run.

The corpus (`tests/files/submissions/`) holds one learner per bad input of issue 7,
named `<case>_ps1.ipynb`, for the small assignment in `tests/files/grading/exercises/`.
All three batches run real nbgrader and real kernels (in bubblewrap when it works).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from hubtrain.grading.collect import collect
from hubtrain.grading.execute import Limits
from hubtrain.grading.runner import BatchResult, grade_batch
from hubtrain.hubfile.config import HubConfig

FILES = Path(__file__).parent / "files"
CORPUS = FILES / "submissions"
EXERCISES = FILES / "grading" / "exercises"
LIMITS = Limits(cell_seconds=5, notebook_seconds=90)

# case -> (status, score out of 3, words the reason must contain)
EXPECTED = {
    "correct": ("graded", 3, ""),
    "blank": ("graded", 0, ""),
    "warns": ("graded", 3, ""),
    "sysexit": ("graded", 2, ""),
    "empty": ("failed", 0, "is empty"),
    "truncated": ("failed", 0, "not valid JSON"),
    "notnotebook": ("failed", 0, "not a Jupyter notebook"),
    "otherassignment": ("failed", 0, "assignment ps2"),
    "deleted": ("flagged", 2, "deleted: test_square"),
    "pasted": ("flagged", 3, "pasted more than once: test_answer"),
    "reordered": ("flagged", 3, "out of order"),
    "stripped": ("flagged", 3, "metadata was missing"),
    "editedtest": ("flagged", 1, "restored from the gradebook: test_answer"),
    "loops": ("flagged", 1, "time limit"),
    "osexit": ("flagged", 2, "kernel stopped"),
    "memory": ("flagged", 1, "out of memory"),
    "hugeoutput": ("flagged", 3, "output cut"),
}

pytestmark = pytest.mark.slow
# The tests that read the one corpus run share an xdist worker, so it runs once.
corpus_group = pytest.mark.xdist_group("grading-corpus")


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def hidden_lines(exercises: Path) -> set[str]:
    """Distinctive lines found only inside hidden-test regions of the sources, and the markers.

    Short lines (`)`) and lines also in the visible part of a test are no secret.
    """
    found, visible = set(), set()
    for path in exercises.rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                else:
                    (found if inside else visible).add(line.strip())
    return {s for s in found - visible if len(s) >= 12} | {"BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}


def own_home(folder: Path) -> str:
    """`folder`, made, as HOME for nbgrader and its kernels, apart from the developer's.

    It must exist: with no HOME folder, IPython makes a new temporary folder at each
    start (every kernel, every kernel-spec lookup) and leaves it behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def page_text(path: Path) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def isolated_jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_CONFIG_DIR", str(home / "config"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
        yield


@pytest.fixture(scope="module")
def corpus_run(
    practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory, isolated_jupyter: None
) -> tuple[BatchResult, Path, dict[str, str]]:
    before = tree_hashes(CORPUS)
    out = tmp_path_factory.mktemp("corpus")
    result = grade_batch(
        practice_hub, EXERCISES, CORPUS, out, workers=2, limits=LIMITS, say=lambda _: None
    )
    return result, out, before


@corpus_group
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_every_bad_input_gets_its_row(
    corpus_run: tuple[BatchResult, Path, dict], case: str
) -> None:
    _, out, _ = corpus_run
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    status, score, words = EXPECTED[case]
    row = rows[case]
    assert (row["status"], float(row["score"]), row["assignment"]) == (status, score, "ps1")
    assert words in row["reason"]
    if status != "failed":
        assert (out / row["feedback"]).is_file()


@corpus_group
def test_corpus_batch_goes_on_and_lists_unmatched_files(corpus_run: tuple) -> None:
    result, out, before = corpus_run
    assert sorted(r.student for r in result.rows) == sorted(EXPECTED)
    unmatched = {Path(u["path"]).name: u["reason"] for u in read_csv(out / "unmatched.csv")}
    assert set(unmatched) == {"Untitled.ipynb", "notes.txt"}
    assert "names no notebook of this course" in unmatched["Untitled.ipynb"]
    assert tree_hashes(CORPUS) == before, "submitted files were modified"


@corpus_group
def test_gradebook_matches_csv_and_feedback_hides_hidden_tests(corpus_run: tuple) -> None:
    result, out, _ = corpus_run
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gb:
        for row in result.rows:
            assert gb.find_submission("ps1", row.student).score == row.score
    secrets = hidden_lines(EXERCISES)
    pages = sorted((out / "feedback").rglob("*.html"))
    assert len(pages) == sum(1 for s, _, _ in EXPECTED.values() if s != "failed")
    for page in pages:
        text = page_text(page)
        assert not [s for s in secrets if s in text], page
    assert "assert square(2) == 4" in page_text(out / "feedback/correct/ps1/ps1.html")


@corpus_group
def test_rerunning_a_finished_batch_changes_nothing(
    corpus_run: tuple, practice_hub: HubConfig
) -> None:
    _, out, _ = corpus_run
    before = tree_hashes(out)
    again = grade_batch(practice_hub, EXERCISES, CORPUS, out, limits=LIMITS, say=lambda _: None)
    assert again.graded_now == 0
    assert tree_hashes(out) == before


def test_zip_with_zip_collect_names_on_a_dask_cluster(
    practice_hub: HubConfig, tmp_path: Path, isolated_jupyter: None
) -> None:
    from distributed import LocalCluster

    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(CORPUS / "correct_ps1.ipynb", "ps1_carol_attempt_2026-01-30-15-00-00_ps1.ipynb")
        zf.write(CORPUS / "blank_ps1.ipynb", "ps1_carol_attempt_2026-01-29-10-00-00_ps1.ipynb")
        zf.write(CORPUS / "blank_ps1.ipynb", "dave/ps1.ipynb")
        zf.writestr("../escape_ps1.ipynb", "{}")
        zf.writestr("readme.txt", "hello")
    out = tmp_path / "out"
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        result = grade_batch(
            practice_hub,
            EXERCISES,
            archive,
            out,
            dask=cluster.scheduler_address,
            limits=LIMITS,
            say=lambda _: None,
        )
    rows = {(r.student, r.assignment): r for r in result.rows}
    assert set(rows) == {("carol", "ps1"), ("dave", "ps1")}
    assert rows["carol", "ps1"].score == 3.0
    assert "graded ps1_carol_attempt_2026-01-30" in rows["carol", "ps1"].reason
    assert rows["dave", "ps1"].score == 0.0
    assert {u.reason for u in result.unmatched} >= {"unsafe path inside the zip: skipped"}
    assert any(Path(u.path).name == "readme.txt" for u in result.unmatched)
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gb:
        assert str(gb.find_submission("ps1", "carol").timestamp) == "2026-01-30 15:00:00"


def test_collect_reads_nbgrader_layout_and_reports_strays(tmp_path: Path) -> None:
    sub = tmp_path / "submitted"
    (sub / "erin" / "ps1").mkdir(parents=True)
    shutil.copy(CORPUS / "correct_ps1.ipynb", sub / "erin" / "ps1" / "ps1.ipynb")
    (sub / "erin" / "ps1" / "data.csv").write_text("a,b\n")
    (sub / "erin" / "ps9").mkdir()
    found = collect(tmp_path, {"ps1": ["ps1"], "ps2": ["ps2"]}, tmp_path / "unpacked")
    [only] = found.submissions
    assert (only.student, only.assignment, sorted(only.notebooks)) == ("erin", "ps1", ["ps1"])
    assert sorted(only.extra_files) == ["data.csv"]
    assert [Path(u.path).name for u in found.unmatched] == ["ps9"]


def _grading_processes(session: int, marker: str) -> list[str]:
    """Command lines of the live workers and kernels of one `hubtrain grade` run.

    Workers and sandbox launchers stay in the session the run was started in;
    kernels run in a session of their own, so they are known by `marker`, the
    run's private temporary folder, in their command line. Other tests' workers
    (running at the same time) match neither.
    """
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (proc / "stat").read_text().split(")")[-1].split()
            state, proc_session = fields[0], int(fields[3])
        except (OSError, IndexError, ValueError):
            continue
        if state != "Z" and (proc_session == session or marker in cmd):
            found.append(cmd[:120])
    return found


def test_killed_run_resumes_without_duplicates_or_losses(
    practice_hub: HubConfig, tmp_path: Path, isolated_jupyter: None
) -> None:
    students = {
        "ann": "correct",
        "ben": "blank",
        "cat": "correct",
        "dan": "blank",
        "eve": "correct",
    }
    source = tmp_path / "in" / "submitted"
    for student, kind in students.items():
        (source / student / "ps1").mkdir(parents=True)
        shutil.copy(CORPUS / f"{kind}_ps1.ipynb", source / student / "ps1" / "ps1.ipynb")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "hubtrain.cli",
        "grade",
        str(tmp_path / "in"),
        "--out",
        str(out),
        "--exercises",
        str(EXERCISES),
        "--workers",
        "1",
        "--cell-timeout",
        "5",
    ]
    # A private, short temporary folder (kernel sockets live there) marks this run.
    private_tmp = tempfile.mkdtemp(prefix="ht-")
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "TMPDIR": private_tmp},
    )
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 300
    try:
        while not (journal.is_file() and journal.read_text().count("\n") >= 2):
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "no submission was graded in time"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        # Workers and kernels notice that the grading process is gone and exit.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _grading_processes(process.pid, private_tmp):
            time.sleep(0.5)
        left = _grading_processes(process.pid, private_tmp)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the rest of the group we started
        shutil.rmtree(private_tmp, ignore_errors=True)
    assert not left, f"workers or kernels outlived the grading process: {left}"
    done_before = journal.read_text().count("\n")
    assert done_before < len(students), "the batch finished before the kill"

    result = grade_batch(
        practice_hub, EXERCISES, tmp_path / "in", out, limits=LIMITS, say=lambda _: None
    )
    assert result.graded_now == len(students) - done_before
    rows = read_csv(out / "grades.csv")
    assert sorted(r["student"] for r in rows) == sorted(students)
    for row in rows:
        assert float(row["score"]) == (3.0 if students[row["student"]] == "correct" else 0.0)
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment("ps1").submissions) == len(students)


def test_learner_kernel_sees_only_its_own_copy(tmp_path: Path, isolated_jupyter: None) -> None:
    from traitlets.config import Config

    from hubtrain.grading.execute import ExecJob, execute_job
    from hubtrain.grading.sandbox import find_sandbox

    sandbox, why = find_sandbox()
    assert sandbox is not None, why
    secret = tmp_path / "course" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("grades")
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    probe = nbformat.v4.new_notebook()
    probe.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    probe.cells = [
        nbformat.v4.new_code_cell(
            "import os, socket\n"
            f"print('secret', os.path.exists({str(secret)!r}))\n"
            "print('mine', sorted(os.listdir('.')))\n"
            f"print('local', socket.socket().connect_ex(('127.0.0.1', {port})) == 0)\n"
        )
    ]
    job = ExecJob(
        "probe/ps1",
        "ps1",
        {"ps1": nbformat.writes(probe)},
        {"data.csv": b"a\n"},
        dict(os.environ),
        Config(),
        LIMITS,
    )
    try:
        result = execute_job(job)
    finally:
        listener.close()
    [cell] = nbformat.reads(result.notebooks["ps1"], as_version=4).cells
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert result.sandboxed
    assert "secret False" in text
    assert "mine ['data.csv', 'ps1.ipynb']" in text
    assert "local False" in text
