"""Running one notebook in a kernel the grader starts: the limits, the launcher, the notebook.

`GradingExecute` is nbgrader's own `Execute` preprocessor (so a notebook runs
exactly as under `nbgrader autograde`), plus the limits stock nbgrader lacks: a
whole-notebook deadline, an output cap, and what judging needs (`judge.py`):
graded tests it must not run, and the answers to export before a cell.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute
from traitlets import Dict, List, Unicode
from traitlets.config import Config

from hubtrain.grading import plaindata
from hubtrain.grading.judge import export_code, snapshot_text

__all__ = [
    "GradingExecute",
    "GradingKernelManager",
    "Limits",
    "error_output",
    "kill_at",
    "make_executor",
    "run_notebook",
    "without_hidden_tests",
]


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


def error_output(ename: str, evalue: str) -> NotebookNode:
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
        # Locked cells only the judge runs (judge.judge_only); not graded.
        self.judge_only: set[int] = set()
        self.export_names: dict[int, list[str]] = {}
        self.snapshots: dict[int, str] = {}
        self.language = "python"
        # The judge of this notebook's locked cells (judging.Judge), if it is judged.
        self.judge: Any = None
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
                error_output("NotebookTimeout", "not run: the notebook's time limit was reached")
            ]
            return cell, resources
        if index in self.export_names:
            self._export(index)
            if not self._time_left():
                return cell, resources
        if index in self.not_run or index in self.judge_only:
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


def kill_at(executor: GradingExecute, when: float, fired: threading.Event) -> threading.Timer:
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


def make_executor(
    config: Config,
    limits: Limits,
    wrapper: list[str],
    env: dict[str, str],
    control: Path,
    kind: type[GradingExecute] = GradingExecute,
) -> GradingExecute:
    """An executor whose kernel starts through `wrapper`, its sockets in `control`."""
    # A deep copy: a shallow one shares sections with the job's config, which other
    # jobs (Dask threads) read while this one writes its wrapper and variables.
    config = copy.deepcopy(Config(config))
    config.GradingKernelManager.wrapper = wrapper
    config.GradingKernelManager.kernel_env = env
    config.GradingKernelManager.transport = "ipc"
    config.GradingKernelManager.ip = str(control / ".kernel")
    config.GradingKernelManager.connection_file = str(control / ".kernel.json")
    executor = kind(config=config, kernel_manager_class=GradingKernelManager)
    executor.setup_limits(limits)
    return executor


def run_notebook(executor: GradingExecute, nb: NotebookNode, folder: Path) -> list[str]:
    """Run `nb` with `executor`; never raises for what the notebook does. Returns notes."""
    notes = []
    killed = threading.Event()
    timer = kill_at(executor, executor.deadline + 15, killed)
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
                    error_output("KernelDied", "the kernel stopped before this cell finished"),
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
                cell.outputs = [
                    error_output("NotRun", "not run: an earlier cell could not be stopped")
                ]
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        notes.append(f"the notebook could not be run: {first}")
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.get("outputs"):
                cell.outputs = [error_output("NotRun", "the notebook could not be run")]
    finally:
        timer.cancel()
    if executor.out_of_time:
        notes.append(
            f"the notebook ran past its {executor.limits.notebook_seconds} s limit; "
            "later cells were not run"
        )
    if executor.cut_cells:
        cells = ", ".join(str(i + 1) for i in sorted(executor.cut_cells))
        notes.append(f"output cut at {executor.limits.output_bytes} bytes in cell(s) {cells}")
    return notes


def without_hidden_tests(text: str) -> str:
    """The notebook as the learner may see it: hidden-test regions cut out of every cell."""
    nb = nbformat.reads(text, as_version=4)
    clear = ClearHiddenTests(enforce_metadata=False)
    for cell in nb.cells:
        clear._remove_hidden_test_region(cell)
    return nbformat.writes(nb)
