"""The worker's step: execute one submission's sanitized notebooks and hand them back.

This is the only step that runs learner code, and the only one that runs in
worker processes (or on Dask workers). It never touches the gradebook or the
course folder: everything it needs travels in an `ExecJob` and everything it
learns goes back in an `ExecResult`; the grading process records it. It uses
nbgrader's own `Execute` preprocessor with the course's configuration, so a
notebook runs exactly as under `nbgrader autograde`, plus the limits stock
nbgrader lacks: a whole-notebook deadline, an output cap and a memory cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute
from traitlets import Dict, List, Unicode
from traitlets.config import Config

from hubtrain.buckets import s3_env
from hubtrain.grading import plaindata
from hubtrain.grading.declared import notebook_language
from hubtrain.grading.judge import (
    LearnerLink,
    answer_stdin,
    export_code,
    exports,
    graded_tests,
    judged_cells,
    load_code,
    not_checked,
    prelude,
    refused,
    snapshot_text,
)
from hubtrain.grading.ownbuckets import OwnBuckets, mentions_buckets
from hubtrain.grading.sandbox import Sandbox, find_sandbox, wrapper_command
from hubtrain.gradingenv import system_env

__all__ = ["ExecJob", "ExecResult", "Limits", "execute_job", "kernel_environment"]


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Cell time is nbgrader's `Execute.timeout` from the course configuration
    (so scores match stock nbgrader); `cell_seconds` can only lower it.
    """

    cell_seconds: int = 0
    notebook_seconds: int = 300
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 1024**2
    sandbox: bool = True


@dataclass(frozen=True)
class ExecJob:
    """Everything a worker needs; picklable, so it can travel to a Dask worker."""

    key: str
    assignment: str
    notebooks: dict[str, str]
    files: dict[str, bytes]
    # The hub's variables only (`gradingenv.grading_variables`): the worker adds its
    # own allow-listed system variables and its own bucket server's address.
    env: dict[str, str]
    config: Config
    limits: Limits
    buckets: tuple[str, ...] = ()
    # notebook -> grade_id of each locked cell -> the answers it reads (`declared.py`).
    # A notebook listed here is judged in a fresh kernel (`judge.py`).
    answers: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # The files in `files` that are the assignment's own (not the learner's): the
    # judge's pristine copy holds only these.
    course_files: tuple[str, ...] = ()


@dataclass
class ExecResult:
    key: str
    notebooks: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sandboxed: bool = False
    seconds: float = 0.0
    # Why nothing was run (no working sandbox on this worker), or "".
    refused: str = ""


class GradingKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel through the sandbox and limits launcher."""

    wrapper = List(Unicode()).tag(config=True)
    kernel_env = Dict().tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.wrapper, *super().format_kernel_cmd(extra_arguments)]

    async def start_kernel(self, **kw: Any) -> None:
        kw["env"] = dict(self.kernel_env)
        # A signal would reach bwrap, not the kernel inside it; ipykernel's
        # interrupt_request (on the control socket) interrupts it from within.
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        await super().start_kernel(**kw)


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GradingExecute(Execute):
    """nbgrader's Execute, with a notebook deadline and an output cap.

    Cells run with nbgrader's per-cell timeout; when the notebook's own deadline
    is near, the next cell gets only the time left, and cells after the deadline
    are not run but given an error (so their tests score 0, never full marks).
    """

    def setup_limits(self, limits: Limits) -> None:
        self.limits = limits
        self.cell_timeout = self.timeout
        if limits.cell_seconds and (self.timeout is None or limits.cell_seconds < self.timeout):
            self.cell_timeout = limits.cell_seconds
        self.deadline = time.monotonic() + limits.notebook_seconds
        self.current = -1
        self.cut_cells: set[int] = set()
        self.out_of_time = False
        self._sizes: dict[int, int] = {}
        # Judging (judge.py): the graded tests this kernel must not run, the answers
        # to export before a cell, what each export sent, and the judge of the locked cells.
        self.not_run: set[int] = set()
        self.export_names: dict[int, list[str]] = {}
        self.snapshots: dict[int, str] = {}
        self.language = "python"
        self.judge: Judge | None = None
        self._exporting: int | None = None

    def _time_left(self) -> bool:
        left = self.deadline - time.monotonic()
        if left < 1:
            self.out_of_time = True
            return False
        if self.cell_timeout is not None:
            self.timeout = max(1, min(self.cell_timeout, int(left)))
        return True

    def _export(self, index: int) -> None:
        """Run the export of the answers cell `index` reads; its message is kept aside."""
        probe = nbformat.v4.new_code_cell(export_code(self.export_names[index], self.language))
        cell = self.nb.cells[index]
        self._exporting = index
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self._exporting = None
            self.nb.cells[index] = cell

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict, index: int
    ) -> tuple[NotebookNode, dict]:
        self.current = index
        if cell.cell_type != "code":
            return cell, resources
        if not self._time_left():
            cell.outputs = [
                _error("NotebookTimeout", "not run: the notebook's time limit was reached")
            ]
            return cell, resources
        if index in self.export_names:
            self._export(index)
            if not self._time_left():
                return cell, resources
        if index in self.not_run:
            cell.outputs = []
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
        if self.judge is not None and self.judge.wants(index):
            started = time.monotonic()
            self.judge.cell(index)
            # The judge's time is not the learner's.
            self.deadline += time.monotonic() - started
        return cell, resources

    def output(
        self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        content = msg.get("content", {})
        data = content.get("data") or {}
        if isinstance(data, dict) and plaindata.MIME in data:
            # Only the export the grader started is kept; learner code sending the
            # same kind of message otherwise changes nothing and shows nothing.
            if self._exporting is not None and msg["msg_type"] == "display_data":
                text = snapshot_text(data[plaindata.MIME])
                if text is not None:
                    self.snapshots[self._exporting] = text
            return None
        size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        total = self._sizes.get(cell_index, 0) + size
        self._sizes[cell_index] = total
        if total > self.limits.output_bytes:
            if cell_index not in self.cut_cells:
                self.cut_cells.add(cell_index)
                note = f"[output cut here: more than {self.limits.output_bytes} bytes]\n"
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=note))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _kill_at(executor: GradingExecute, when: float, fired: threading.Event) -> threading.Timer:
    """A last resort: kill the kernel if it ignores the interrupt past the deadline."""

    def kill() -> None:
        km = executor.km
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            fired.set()
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGKILL)

    timer = threading.Timer(max(0.0, when - time.monotonic()), kill)
    timer.daemon = True
    timer.start()
    return timer


def _executor(
    job: ExecJob,
    wrapper: list[str],
    env: dict[str, str],
    control: Path,
    kind: type[GradingExecute] = GradingExecute,
) -> GradingExecute:
    """An executor whose kernel starts through `wrapper`, its sockets in `control`."""
    config = Config(job.config)
    config.GradingKernelManager.wrapper = wrapper
    config.GradingKernelManager.kernel_env = env
    config.GradingKernelManager.transport = "ipc"
    config.GradingKernelManager.ip = str(control / ".kernel")
    config.GradingKernelManager.connection_file = str(control / ".kernel.json")
    executor = kind(config=config, kernel_manager_class=GradingKernelManager)
    executor.setup_limits(job.limits)
    return executor


def _run_notebook(
    executor: GradingExecute, nb: NotebookNode, folder: Path, job: ExecJob
) -> list[str]:
    """Run `nb` with `executor`; never raises for what the notebook does. Returns notes."""
    notes = []
    killed = threading.Event()
    timer = _kill_at(executor, executor.deadline + 15, killed)
    try:
        executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    except DeadKernelError:
        if killed.is_set():
            notes.append("the notebook ran past its time limit and its kernel was stopped")
        else:
            notes.append(
                f"the kernel stopped while running cell {executor.current + 1} "
                "(sys.exit/os._exit, a crash or the memory limit); later cells were not run"
            )
        for cell in nb.cells[max(executor.current, 0) :]:
            if cell.cell_type == "code":
                cell.outputs = [
                    *cell.get("outputs", []),
                    _error("KernelDied", "the kernel stopped before this cell finished"),
                ]
    except CellTimeoutError:
        # nbclient gives up when an interrupted kernel does not answer (SIGINT
        # ignored, or a loop inside C code that never returns to Python).
        notes.append(
            f"cell {executor.current + 1} ran past its time limit and could not be "
            "interrupted; later cells were not run"
        )
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.get("outputs"):
                cell.outputs = [_error("NotRun", "not run: an earlier cell could not be stopped")]
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        notes.append(f"the notebook could not be run: {first}")
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.get("outputs"):
                cell.outputs = [_error("NotRun", "the notebook could not be run")]
    finally:
        timer.cancel()
    if executor.out_of_time:
        notes.append(
            f"the notebook ran past its {job.limits.notebook_seconds} s limit; "
            "later cells were not run"
        )
    if executor.cut_cells:
        cells = ", ".join(str(i + 1) for i in sorted(executor.cut_cells))
        notes.append(f"output cut at {job.limits.output_bytes} bytes in cell(s) {cells}")
    return notes


def _without_hidden_tests(text: str) -> str:
    """The notebook as the learner may see it: hidden-test regions cut out of every cell."""
    nb = nbformat.reads(text, as_version=4)
    clear = ClearHiddenTests(enforce_metadata=False)
    for cell in nb.cells:
        clear._remove_hidden_test_region(cell)
    return nbformat.writes(nb)


def kernel_environment(
    job: ExecJob, workdir: Path, home: Path | None, endpoint_url: str
) -> dict[str, str]:
    """Everything the kernel's environment holds; nothing else of this process's reaches it."""
    env = system_env()
    env.update(job.env)
    # This job's own folder, also on a Dask worker that is not the grading host.
    env["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
    env["HUBTRAIN_PROGRESS"] = str(workdir / "progress.json")
    if endpoint_url:
        env.update(s3_env(endpoint_url))
    if home is not None:
        env["HOME"] = str(home)
    # As `nbgrader autograde` (converters/autograde.py) sets it around Execute.
    env["NBGRADER_EXECUTION"] = "autograde"
    return env


class JudgeExecute(GradingExecute):
    """Runs the judge's notebook; a learner function's stand-in asks through `input()`."""

    link: LearnerLink | None = None

    async def async_execute_cell(
        self,
        cell: NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> NotebookNode:
        assert self.kc is not None
        self.kc.allow_stdin = True
        serving = asyncio.ensure_future(answer_stdin(self.kc, self.link))
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    # nbclient binds its sync wrapper to its own coroutine, not to an override.
    execute_cell = run_sync(async_execute_cell)


class Judge:
    """The judge of one notebook: a fresh kernel, on a pristine copy at the learner's paths.

    The learner's executor calls `cell(i)` for each locked cell as it reaches it
    (after exporting the answers the cell reads), so the judge runs the checks in
    step with the learner's kernel, which is then still running for the calls
    to the learner's functions. Never raises for what either kernel does.
    """

    def __init__(
        self,
        job: ExecJob,
        name: str,
        nb: NotebookNode,
        learner: GradingExecute,
        sandbox: Sandbox | None,
        paths: tuple[Path, Path],
        links: dict[int, Path],
        env: dict[str, str],
    ) -> None:
        self.job, self.name, self.nb, self.learner = job, name, nb, learner
        self.sandbox, self.links, self.env = sandbox, links, env
        self.workdir, self.folder = paths
        self.cells = set(judged_cells(nb))
        self.root = Path(tempfile.mkdtemp(prefix="hubtrain-judge-"))
        self.control = self.root / "control"
        self.control.mkdir()
        # With a sandbox the judge sees `fresh` where the learner's kernel saw its
        # workdir; without one it can only reuse the workdir, restored.
        self.fresh = self.root / "work" if sandbox else self.workdir
        self.executor: JudgeExecute | None = None
        self.stack = contextlib.ExitStack()
        self.stopped = ""
        self.notes: list[str] = []
        self.done: set[int] = set()
        self.refused: list[str] = []
        self.link: LearnerLink | None = None

    def wants(self, index: int) -> bool:
        return index in self.cells

    def _pristine(self) -> None:
        folder = self.fresh / self.job.assignment
        if self.sandbox is None:
            shutil.rmtree(folder, ignore_errors=True)
        for rel in self.job.course_files:
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.job.files[rel])
        visible = _without_hidden_tests(nbformat.writes(self.nb))
        (folder / f"{self.name}.ipynb").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.ipynb").write_text(visible, encoding="utf-8")
        home = self.fresh / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (self.fresh / "runtime").mkdir(exist_ok=True)

    def _start(self) -> JudgeExecute:
        self._pristine()
        wrapper = wrapper_command(
            self.workdir,
            self.job.limits.memory_bytes,
            self.links,
            self.sandbox,
            control=self.control,
            workdir_from=self.fresh if self.sandbox else None,
        )
        executor = _executor(self.job, wrapper, self.env, self.control, JudgeExecute)
        assert isinstance(executor, JudgeExecute)
        NotebookClient.__init__(executor, nbformat.v4.new_notebook(metadata=self.nb.metadata))
        executor.reset_execution_trackers()
        self.resources = {"metadata": {"path": str(self.folder)}}
        executor._check_assign_resources(self.resources)
        self.executor = executor
        self.stack.enter_context(executor.setup_kernel())
        killed = threading.Event()
        self.stack.callback(_kill_at(executor, executor.deadline + 15, killed).cancel)
        assert executor.kc is not None
        executor.wait_for_reply(executor.kc.kernel_info())
        if self.learner.km is not None:
            seconds = float(self.learner.cell_timeout or self.job.limits.notebook_seconds)
            link = LearnerLink(
                self.learner.km.get_connection_info(), self.learner.language, seconds
            )
            self.stack.callback(link.close)
            executor.link = self.link = link
        self._run(prelude(self.learner.language))
        return executor

    def _run(self, source: str, metadata: dict | None = None) -> NotebookNode:
        assert self.executor is not None
        cell = nbformat.v4.new_code_cell(source)
        if metadata:
            cell.metadata = metadata
        self.executor.nb.cells.append(cell)
        index = len(self.executor.nb.cells) - 1
        self.executor.preprocess_cell(cell, self.resources, index)
        return self.executor.nb.cells[index]

    def cell(self, index: int) -> None:
        """Judge the learner notebook's locked cell `index`: it gets the judge's outputs."""
        self.done.add(index)
        target = self.nb.cells[index]
        graded = index in self.learner.not_run
        if graded and index not in self.learner.snapshots:
            not_checked(target, "its answers could not be read from the learner's kernel")
            return
        if self.stopped:
            if graded:
                not_checked(target, self.stopped)
            return
        try:
            if self.executor is None:
                self._start()
            if index in self.learner.snapshots:
                names = self.learner.export_names[index]
                snapshot = self.learner.snapshots[index]
                self.refused += refused(snapshot)
                self._run(load_code(snapshot, names, self.learner.language))
            done = self._run(target.source, target.metadata)
        except (DeadKernelError, CellTimeoutError) as exc:
            why = "stopped" if isinstance(exc, DeadKernelError) else "could not be interrupted"
            self.stopped = f"the checks' kernel {why}"
            self.notes.append(f"checks: {self.stopped} at cell {index + 1}; later checks score 0")
            if graded:
                not_checked(target, self.stopped)
            return
        except Exception as exc:
            self.stopped = f"the checks could not be run: {_first(exc)}"
            self.notes.append(f"checks: {self.stopped}")
            if graded:
                not_checked(target, self.stopped)
            return
        target.outputs = done.get("outputs", [])
        target.execution_count = done.get("execution_count")
        if self.executor is not None and self.executor.out_of_time:
            self.stopped = "the checks ran past their time limit"

    def close(self) -> list[str]:
        """Stop the judge's kernel and remove its files; returns its notes."""
        self.stack.close()
        if self.link is not None:
            self.refused += self.link.refused
        # One note per answer that could not travel (an object that equals everything?).
        self.notes += list(dict.fromkeys(self.refused))
        shutil.rmtree(self.root, ignore_errors=True)
        for index in (self.cells & self.learner.not_run) - self.done:
            not_checked(self.nb.cells[index], "the notebook stopped before this test")
        return self.notes


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def execute_job(job: ExecJob) -> ExecResult:
    """Run every notebook of `job` in a fresh folder; never raises for learner code.

    With `limits.sandbox` and no working bubblewrap here, runs nothing and says
    why in `refused`: learner code never runs unsandboxed unless asked to.
    Notebooks in `job.answers` are judged in a fresh kernel (`judge.py`).
    """
    start = time.monotonic()
    result = ExecResult(job.key)
    sandbox = None
    if job.limits.sandbox:
        sandbox, why = find_sandbox()
        if sandbox is None:
            result.refused = (
                f"not graded: no working sandbox on {socket.gethostname()} ({why}); "
                "install bubblewrap there, or grade with --no-sandbox"
            )
            return result
    result.sandboxed = sandbox is not None
    workdir = Path(tempfile.mkdtemp(prefix="hubtrain-grade-"))
    try:
        folder = workdir / job.assignment
        for rel, data in job.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        home = None
        if sandbox:
            # The grader's home is not inside the sandbox; the kernel gets an empty one.
            home = workdir / "home"
            home.mkdir()
        with contextlib.ExitStack() as stack:
            links: dict[int, Path] = {}
            endpoint = ""
            if job.buckets:
                eager = mentions_buckets(list(job.notebooks.values()), job.env)
                own = OwnBuckets(workdir, job.buckets, sandbox is not None, eager)
                stack.enter_context(own)
                links, endpoint = own.links, own.endpoint_url
            env = kernel_environment(job, workdir, home, endpoint)
            wrapper = wrapper_command(workdir, job.limits.memory_bytes, links, sandbox)
            for name, text in sorted(job.notebooks.items()):
                nb = nbformat.reads(text, as_version=4)
                # The kernel's folder holds the notebook as the learner has it: the
                # one being run has the hidden tests back and must stay out of reach.
                (folder / f"{name}.ipynb").parent.mkdir(parents=True, exist_ok=True)
                (folder / f"{name}.ipynb").write_text(_without_hidden_tests(text), encoding="utf-8")
                learner = _executor(job, wrapper, env, workdir)
                judge = None
                if name in job.answers:
                    learner.language = notebook_language(nb)
                    learner.not_run = graded_tests(nb)
                    learner.export_names = exports(nb, job.answers[name])
                    paths = (workdir, folder)
                    judge = Judge(job, name, nb, learner, sandbox, paths, links, env)
                    learner.judge = judge
                judge_notes: list[str] = []
                try:
                    notes = _run_notebook(learner, nb, folder, job)
                finally:
                    if judge is not None:
                        judge_notes = judge.close()
                notes += judge_notes
                result.notes += [f"{name}: {n}" if len(job.notebooks) > 1 else n for n in notes]
                result.notebooks[name] = nbformat.writes(nb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        result.seconds = time.monotonic() - start
    return result
