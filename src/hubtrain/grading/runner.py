"""The orchestrator: collect, grade in parallel, record in one place, write the CSV.

Workers (local processes, or a Dask cluster) only execute notebooks; this
process alone writes the gradebook, the feedback pages, the journal and the
CSV, so the gradebook is the same whatever the parallelism. The journal
(`OUT/journal.jsonl`, one line per finished submission, flushed to disk) makes
a run resumable: after a kill, a new run grades only what is not in it, and a
run over a finished batch changes nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import hashlib
import io
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from nbgrader.api import Gradebook

from hubtrain.grading.collect import Submission, Unmatched, collect
from hubtrain.grading.course import FINGERPRINT_FILE, Course, prepare_course
from hubtrain.grading.execute import ExecJob, ExecResult, Limits, execute_job
from hubtrain.grading.feedback import render_feedback, with_grades, write_page
from hubtrain.grading.gradebook import shared_engine
from hubtrain.grading.kernelstart import quick_kernel_config
from hubtrain.grading.metadatacheck import cached_schema_checks
from hubtrain.grading.sandbox import find_sandbox
from hubtrain.grading.steps import (
    Opened,
    open_submission,
    record,
    resources_for,
    sanitize,
    zero_missing,
)
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import exit_when_orphaned

__all__ = ["CSV_FIELDS", "BatchResult", "Row", "grade_batch"]

CSV_FIELDS = (
    "student",
    "assignment",
    "status",
    "score",
    "max_score",
    "needs_manual_grade",
    "reason",
    "feedback",
    "sandbox",
)
# The `sandbox` column: how the submission's learner code ran.
SANDBOX_ON = "bubblewrap"
SANDBOX_OFF = "off (--no-sandbox)"
NOT_RUN = "not run"


@dataclass
class Row:
    """One line of grades.csv. `status`: graded, flagged (graded, but read `reason`) or failed.

    `sandbox` says how its learner code ran: `bubblewrap`, `off (--no-sandbox)`
    or `not run`.
    """

    student: str
    assignment: str
    status: str
    score: float
    max_score: float
    needs_manual_grade: bool
    reason: str
    feedback: str
    sandbox: str = NOT_RUN


@dataclass
class BatchResult:
    rows: list[Row]
    unmatched: list[Unmatched]
    graded_now: int
    sandboxed: bool | None
    sandbox_note: str
    seconds: float
    csv: Path
    course: Path = field(default_factory=Path)
    # Seconds per grading phase, summed over the submissions graded now (see `Phases`).
    phases: dict[str, float] = field(default_factory=dict)


class Phases:
    """Where a batch's time goes, summed over its submissions: for the benchmark's breakdown.

    In this process: `prepare` (open and sanitize), `record` (save the grades and
    read them back for the pages), `finish` (row, journal, page files). On the
    workers, as they measured it: `execute` (bucket server and kernels) and
    `feedback` (rendering the pages).
    """

    NAMES = ("prepare", "execute", "record", "feedback", "finish")

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.NAMES, 0.0)

    @contextlib.contextmanager
    def span(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """On a worker: `fn(*args)` and the seconds it took there."""
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


class Journal:
    """Append-only record of finished submissions; the last line for a key wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill: that submission is graded again
                self.entries[entry["key"]] = entry

    def done(self, key: str, fingerprint: str) -> bool:
        return self.entries.get(key, {}).get("fingerprint") == fingerprint

    def add(self, key: str, fingerprint: str, row: Row, sandboxed: bool) -> None:
        entry = {"key": key, "fingerprint": fingerprint, "row": asdict(row), "sandboxed": sandboxed}
        self.entries[key] = entry
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def rows(self) -> list[Row]:
        rows = [Row(**e["row"]) for e in self.entries.values()]
        return sorted(rows, key=lambda r: (r.student, r.assignment))


def _fingerprint(sub: Submission, course_id: str) -> str:
    digest = hashlib.sha256(course_id.encode())
    digest.update(sub.timestamp.encode())
    for name, path in sorted({**sub.notebooks, **sub.extra_files}.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv(rows: Iterable[Any], fields: Iterable[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return buffer.getvalue()


class _LocalPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.owner: dict[Any, cf.ProcessPoolExecutor] = {}
        self._new()

    def _new(self) -> None:
        self.executor = cf.ProcessPoolExecutor(
            self.workers,
            # spawn: a fresh interpreter per worker, nothing inherited from our threads.
            mp_context=multiprocessing.get_context("spawn"),
            # Workers exit if the grading process is killed; their kernels follow
            # (bwrap's --die-with-parent and the launcher's death signal).
            initializer=exit_when_orphaned,
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        future = self.executor.submit(fn, *args)
        self.owner[future] = self.executor
        return future

    def wait(self, futures: list[Any]) -> list[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, future: Any) -> Any:
        """The job's result; raises `Retry` when a dead worker took it down (once per pool)."""
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            # A worker died (killed from outside, or out of memory itself); every job
            # it shared the pool with fails too, so they are run again on a new pool.
            if self.owner.pop(future) is self.executor:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self._new()
            raise Retry from None
        finally:
            self.owner.pop(future, None)

    def close(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)


class Retry(Exception):
    """The job did not fail itself: run it again."""


class _DaskPool:
    def __init__(self, address: str) -> None:
        from distributed import Client, as_completed

        self.client = Client(address, set_as_default=False)
        self.workers = max(1, sum(self.client.nthreads().values()))
        # One as_completed for the whole batch: it needs no default client.
        self.finished = as_completed(loop=self.client.loop)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        future = self.client.submit(fn, *args, pure=False)
        self.finished.add(future)
        return future

    def wait(self, futures: list[Any]) -> list[Any]:
        return [next(self.finished)]

    def result(self, future: Any) -> Any:
        return future.result()

    def close(self, wait: bool = True) -> None:
        self.client.close()


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.counts: dict[str, int] = {}
        self.on = stream.isatty() and total > 0

    def step(self, status: str) -> None:
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.on:
            width = 30
            filled = width * self.done // self.total
            tally = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {tally}"
            )
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def _submission_row(
    course: Course, sub: Submission, status: str, reason: str, feedback: str, sandbox: str
) -> Row:
    with Gradebook(course.db_url) as gb:
        submitted = gb.find_submission(sub.assignment, sub.student)
        return Row(
            sub.student,
            sub.assignment,
            status,
            round(float(submitted.score), 4),
            round(float(submitted.max_score), 4),
            bool(submitted.needs_manual_grade),
            reason,
            feedback,
            sandbox,
        )


def grade_batch(
    hub: HubConfig,
    exercises: Path,
    submissions: Path,
    out: Path,
    *,
    assignment: str = "",
    workers: int = 0,
    dask: str = "",
    limits: Limits | None = None,
    say: Callable[[str], None] = print,
    progress_stream: TextIO = sys.stderr,
) -> BatchResult:
    """Grade every submission under `submissions` into the course in `out/course`.

    Writes `out/grades.csv`, `out/feedback/<student>/<assignment>/<notebook>.html`,
    `out/unmatched.csv` and `out/journal.jsonl`. Never modifies `submissions`.
    Bad submissions become rows with status `failed` or `flagged`; they never
    stop the batch. Raises ValueError for a problem with the arguments.
    """
    start = time.monotonic()
    limits = limits or Limits()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    course = prepare_course(hub, exercises, out / "course")
    if assignment and assignment not in course.assignments:
        names = ", ".join(sorted(course.assignments))
        raise ValueError(f"--assignment {assignment}: not an assignment of the course ({names})")
    found = collect(submissions.resolve(), course.notebook_names(), out / "incoming", assignment)
    course_id = (course.root / FINGERPRINT_FILE).read_text().strip()
    journal = Journal(out / "journal.jsonl")
    todo = []
    for sub in found.submissions:
        fp = _fingerprint(sub, course_id)
        if not journal.done(sub.key, fp):
            todo.append((sub, fp))

    sandboxed: bool | None = None
    note = ""
    phases = Phases()
    if todo:
        if not limits.sandbox:
            sandboxed, note = False, "grading runs UNSANDBOXED (--no-sandbox)"
            say(f"hubtrain: warning: {note}")
        elif not dask:
            # Fail closed: learner code runs unsandboxed only when asked to. Dask
            # workers check for themselves and refuse each job the same way.
            sandbox, why = find_sandbox()
            if sandbox is None:
                raise ValueError(
                    f"no working sandbox: {why}; install bubblewrap, or pass --no-sandbox "
                    "to run learner code with this machine's files in reach"
                )
            sandboxed = True
        with shared_engine(), cached_schema_checks():
            _grade(hub, course, todo, journal, out, workers, dask, limits, progress_stream, phases)
        results = [e for e in journal.entries.values() if e["key"] in {s.key for s, _ in todo}]
        if dask and limits.sandbox:
            # Each worker checked for itself: None when every job was refused.
            ran = [e["row"].get("sandbox") for e in results]
            ran = [r for r in ran if r != NOT_RUN]
            sandboxed = all(r == SANDBOX_ON for r in ran) if ran else None

    rows = journal.rows()
    csv_path = out / "grades.csv"
    _write_if_changed(csv_path, _csv(rows, CSV_FIELDS))
    _write_if_changed(out / "unmatched.csv", _csv(found.unmatched, ("path", "reason")))
    result = BatchResult(
        rows,
        found.unmatched,
        len(todo),
        sandboxed,
        note,
        time.monotonic() - start,
        csv_path,
        course.root,
        phases.seconds,
    )
    _summary(result, say)
    return result


def _summary(result: BatchResult, say: Callable[[str], None]) -> None:
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    tally = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing"
    say(
        f"{len(result.rows)} submissions ({tally}); "
        f"graded now: {result.graded_now} in {result.seconds:.1f} s"
    )
    for row in result.rows:
        if row.status != "graded":
            say(f"  {row.status}: {row.student}/{row.assignment}: {row.reason}")
    for item in result.unmatched:
        say(f"  unmatched file: {item.path}: {item.reason}")
    say(f"Grades: {result.csv}")


@dataclass
class _Task:
    """One submission on its way through the pool: execution, then its feedback pages."""

    opened: Opened
    fingerprint: str
    job: ExecJob
    notes: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    waiting: int = 0
    sandbox: str = NOT_RUN


def _grade(
    hub: HubConfig,
    course: Course,
    todo: list[tuple[Submission, str]],
    journal: Journal,
    out: Path,
    workers: int,
    dask: str,
    limits: Limits,
    progress_stream: TextIO,
    phases: Phases,
) -> None:
    from hubtrain.grading.environment import GRADING_BUCKETS, grading_variables

    progress = Progress(len(todo), progress_stream)

    def finish(opened: Opened, fp: str, status: str, reason: str, pages: str, sandbox: str) -> None:
        with phases.span("finish"):
            row = _submission_row(course, opened.submission, status, reason, pages, sandbox)
            journal.add(opened.submission.key, fp, row, sandbox == SANDBOX_ON)
        progress.step(status)

    def fail(opened: Opened, fp: str, reason: str, sandbox: str = NOT_RUN) -> None:
        _zero_all(course, opened.submission)
        finish(opened, fp, "failed", reason, "", sandbox)

    def complete(task: _Task) -> None:
        problems = task.opened.notes + task.notes
        status = "flagged" if problems else "graded"
        pages = " ".join(sorted(task.pages))
        finish(task.opened, task.fingerprint, status, "; ".join(problems), pages, task.sandbox)

    # Only the hub's variables travel to the workers; each adds its own allow-listed
    # system variables and starts a bucket server for each submission.
    env = grading_variables(hub, out / ".grading-env")
    # The course's nbgrader configuration, with kernels that start without idle waits.
    job_config = quick_kernel_config(course.config)
    pool: _LocalPool | _DaskPool = (
        _DaskPool(dask) if dask else _LocalPool(workers or os.cpu_count() or 1)
    )
    # future -> (task, notebook name or "" for the execution, call, tries)
    running: dict[Any, tuple[_Task, str, tuple, int]] = {}

    def submit(task: _Task, name: str, call: tuple, tries: int = 0) -> None:
        running[pool.submit(_timed, *call)] = (task, name, call, tries)

    try:
        queue = list(todo)
        active: set[int] = set()
        while queue or running:
            while queue and len(active) < 2 * pool.workers:
                sub, fp = queue.pop(0)
                try:
                    with phases.span("prepare"):
                        opened = open_submission(sub, course)
                        ready = {} if opened.failed else sanitize(opened, course)
                    if opened.failed:
                        finish(opened, fp, "failed", opened.failed, "", NOT_RUN)
                        continue
                except Exception as exc:
                    fail(Opened(sub), fp, f"could not be prepared: {_first_line(exc)}")
                    continue
                job = ExecJob(
                    sub.key,
                    sub.assignment,
                    ready,
                    opened.files,
                    env,
                    job_config,
                    limits,
                    GRADING_BUCKETS,
                    _judged_notebooks(course, sub.assignment, ready),
                    opened.course_files,
                )
                task = _Task(opened, fp, job)
                active.add(id(task))
                submit(task, "", (execute_job, job))
            for future in pool.wait(list(running)) if running else []:
                task, name, call, tries = running.pop(future)
                try:
                    value, seconds = pool.result(future)
                    phases.seconds["feedback" if name else "execute"] += seconds
                except Retry:
                    if tries < 2:
                        submit(task, name, call, tries + 1)
                        continue
                    value = RuntimeError("a grading worker died three times while running it")
                except Exception as exc:
                    value = exc
                if name:
                    _page_done(task, name, value, out)
                else:
                    with phases.span("record"):
                        _executed(task, value, course, submit, fail)
                if task.waiting == 0 and id(task) in active:
                    active.discard(id(task))
                    # A submission that failed on the way already has its row.
                    if not journal.done(task.job.key, task.fingerprint):
                        complete(task)
    except BaseException:
        # Ctrl-C or an error of ours: do not wait for kernels still running.
        pool.close(wait=False)
        raise
    pool.close()


def _judged_notebooks(course: Course, assignment: str, ready: dict[str, str]) -> dict:
    """Which notebooks are judged apart (with the answers each locked cell reads)."""
    judged = {}
    for name in ready:
        judged[name] = course.assignments[assignment][name].answers
    return judged


def _zero_all(course: Course, sub: Submission) -> None:
    """A submission that could not be graded scores 0 in the gradebook, never a stale score."""
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student(sub.student)
        gb.update_or_create_submission(sub.assignment, sub.student)
    zero_missing(course, sub, set(course.assignments[sub.assignment]))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _executed(
    task: _Task,
    value: ExecResult | BaseException,
    course: Course,
    submit: Callable[..., None],
    fail: Callable[..., None],
) -> None:
    """A worker ran the notebooks: record the grades here, then send the pages out."""
    opened, sub = task.opened, task.opened.submission
    if isinstance(value, BaseException):
        fail(opened, task.fingerprint, f"the grading worker failed: {_first_line(value)}")
        return
    if value.refused:
        fail(opened, task.fingerprint, value.refused)
        return
    task.sandbox = SANDBOX_ON if value.sandboxed else SANDBOX_OFF
    try:
        graded, notes = record(opened, value.notebooks, course)
        calls = {
            name: (
                render_feedback,
                *with_grades(nb, resources_for(course, sub, name), course.config),
                course.config,
            )
            for name, nb in sorted(graded.items())
        }
    except Exception as exc:
        fail(opened, task.fingerprint, f"could not be recorded: {_first_line(exc)}", task.sandbox)
        return
    task.notes += value.notes + notes
    for name, call in calls.items():
        task.waiting += 1
        submit(task, name, call)


def _page_done(task: _Task, name: str, value: str | BaseException, out: Path) -> None:
    sub = task.opened.submission
    task.waiting -= 1
    if isinstance(value, BaseException):
        task.notes.append(f"{name}: no feedback page: {_first_line(value)}")
        return
    target = out / "feedback" / sub.student / sub.assignment / f"{name}.html"
    write_page(value, target)
    task.pages.append(target.relative_to(out).as_posix())
