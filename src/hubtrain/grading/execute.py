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
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute
from traitlets import Dict, List, Unicode
from traitlets.config import Config

from hubtrain.buckets import s3_env
from hubtrain.grading.ownbuckets import OwnBuckets, mentions_buckets
from hubtrain.grading.sandbox import find_sandbox, wrapper_command
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

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict, index: int
    ) -> tuple[NotebookNode, dict]:
        self.current = index
        if cell.cell_type != "code":
            return cell, resources
        left = self.deadline - time.monotonic()
        if left < 1:
            self.out_of_time = True
            cell.outputs = [
                _error("NotebookTimeout", "not run: the notebook's time limit was reached")
            ]
            return cell, resources
        if self.cell_timeout is not None:
            self.timeout = max(1, min(self.cell_timeout, int(left)))
        return super().preprocess_cell(cell, resources, index)

    def output(
        self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        content = msg.get("content", {})
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


def _run_notebook(
    nb: NotebookNode, folder: Path, job: ExecJob, wrapper: list[str], env: dict[str, str]
) -> list[str]:
    config = Config(job.config)
    config.GradingKernelManager.wrapper = wrapper
    config.GradingKernelManager.kernel_env = env
    config.GradingKernelManager.transport = "ipc"
    config.GradingKernelManager.ip = str(folder.parent / ".kernel")
    config.GradingKernelManager.connection_file = str(folder.parent / ".kernel.json")
    executor = GradingExecute(config=config, kernel_manager_class=GradingKernelManager)
    executor.setup_limits(job.limits)
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


def execute_job(job: ExecJob) -> ExecResult:
    """Run every notebook of `job` in a fresh folder; never raises for learner code.

    With `limits.sandbox` and no working bubblewrap here, runs nothing and says
    why in `refused`: learner code never runs unsandboxed unless asked to.
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
                notes = _run_notebook(nb, folder, job, wrapper, env)
                result.notes += [f"{name}: {n}" if len(job.notebooks) > 1 else n for n in notes]
                result.notebooks[name] = nbformat.writes(nb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        result.seconds = time.monotonic() - start
    return result
