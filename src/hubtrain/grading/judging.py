"""Where and how a worker judges: its folders, its judge kernels, the judge of one notebook.

A grading worker (one thread of a worker process) keeps its folders at the same
paths for every job (`WorkerSpace`), so the judge's kernel, started once per
language, sees the same paths, variables and bucket address as each learner's
kernel. The judge's kernel only ever runs the course's locked cells and the
answers it is sent as plain data, never learner code; between notebooks its
names, the course's modules and fsspec's cached filesystems are cleared and its
folder is a pristine copy again. If it dies or runs out of time it is replaced.
Starting a kernel costs more than the checks of a notebook, hence the reuse.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from traitlets.config import Config

from hubtrain.grading.judge import (
    LearnerLink,
    answer_stdin,
    judged_cells,
    load_code,
    not_checked,
    prelude,
    refused,
)
from hubtrain.grading.kernels import (
    GradingExecute,
    Limits,
    kill_at,
    make_executor,
)
from hubtrain.grading.sandbox import Sandbox, wrapper_command

__all__ = ["Judge", "JudgeSetup", "WorkerSpace", "worker_space"]

# GDAL caches what it read from a bucket by address; every job's buckets have the
# same addresses, so the judge's R kernel reads them uncached.
_JUDGE_ONLY_ENV = {"CPL_VSIL_CURL_NON_CACHED": "/vsis3/:/vsigs/"}


class JudgeExecute(GradingExecute):
    """Runs the judge's cells; a learner function's stand-in asks through `input()`."""

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


def _reset_code(language: str, folder: Path, workdir: Path) -> str:
    """Forget the last notebook: names, modules from its folder, cached filesystems, paths."""
    if language == "R":
        return (
            f"setwd({json.dumps(str(folder))})\n"
            "rm(list = ls(envir = globalenv(), all.names = TRUE), envir = globalenv())\n"
            "invisible(gc())"
        )
    return (
        # First the folder: the last one is gone, and reset() needs a working directory.
        f"__import__('os').chdir({str(folder)!r})\n"
        "get_ipython().reset(new_session=False)\n"
        "import os as _os, sys as _sys\n"
        f"_work = {str(workdir)!r}\n"
        "for _name, _module in list(_sys.modules.items()):\n"
        "    if str(getattr(_module, '__file__', None) or '').startswith(_work):\n"
        "        del _sys.modules[_name]\n"
        "if 'fsspec' in _sys.modules:\n"
        "    _sys.modules['fsspec'].AbstractFileSystem.clear_instance_cache()\n"
        # python -m put the folder the kernel started in first on sys.path.
        "_sys.path[:] = [_os.getcwd()] + [p for p in _sys.path if not p.startswith(_work)]\n"
        "__import__('importlib').invalidate_caches()\n"
        "del _os, _sys, _work, _name, _module"
    )


@dataclass(frozen=True)
class JudgeSetup:
    """What the judge of a job's notebooks needs of the job and of the learner's kernel."""

    config: Config
    limits: Limits
    env: dict[str, str]
    sandbox: Sandbox | None
    links: dict[int, Path]
    # The assignment's own files (not the learner's), for the judge's pristine copy.
    course_files: dict[str, bytes]

    def key(self) -> tuple:
        """What a running judge kernel must have been started with to be reused."""
        return (
            json.dumps(self.env, sort_keys=True),
            json.dumps(sorted(self.links.items()), default=str),
            self.sandbox is not None,
            self.limits.memory_bytes,
        )


class JudgeKernel:
    """One language's judge kernel in a worker space, started on first use."""

    def __init__(self, space: WorkerSpace, language: str) -> None:
        self.space, self.language = space, language
        self.executor: JudgeExecute | None = None
        self.stack = contextlib.ExitStack()
        self.key: tuple = ()

    def running(self, key: tuple) -> bool:
        """Whether the kernel is up, and was started for the same paths and variables."""
        if self.executor is None or self.key != key:
            return False
        process = getattr(getattr(self.executor.km, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    def start(self, setup: JudgeSetup, metadata: dict[str, Any]) -> JudgeExecute:
        """Start the kernel named in the notebook `metadata` (its kernelspec)."""
        self.stop()
        space = self.space
        wrapper = wrapper_command(
            space.workdir,
            setup.limits.memory_bytes,
            setup.links,
            setup.sandbox,
            control=space.control,
            workdir_from=space.view if setup.sandbox else None,
            binds=(space.buckets,),
        )
        env = {**setup.env, **_JUDGE_ONLY_ENV}
        executor = make_executor(
            setup.config, setup.limits, wrapper, env, space.control, JudgeExecute
        )
        assert isinstance(executor, JudgeExecute)
        NotebookClient.__init__(executor, nbformat.v4.new_notebook(metadata=metadata))
        executor.reset_execution_trackers()
        executor._check_assign_resources({"metadata": {"path": str(space.folder)}})
        self.executor, self.key = executor, setup.key()
        self.stack.enter_context(executor.setup_kernel())
        assert executor.kc is not None
        executor.wait_for_reply(executor.kc.kernel_info())
        return executor

    def stop(self) -> None:
        if self.executor is not None:
            with contextlib.suppress(Exception):
                self.stack.close()
        self.executor, self.key = None, ()
        self.stack = contextlib.ExitStack()


class WorkerSpace:
    """The folders one grading thread uses for every job, at the same paths each time.

    `workdir` is the learner's (emptied for each job); the judge's kernel sees
    `view` at `workdir`'s path; `control` holds the judge's sockets (out of the
    learner's sight); `buckets` the bucket server's socket, shown to both.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hubtrain-grade-"))
        self.workdir = self.root / "work"
        self.view = self.root / "judge"
        self.control = self.root / "control"
        self.buckets = self.root / "buckets"
        for folder in (self.workdir, self.view, self.control, self.buckets):
            folder.mkdir()
        self.folder = self.workdir
        self.judges: dict[str, JudgeKernel] = {}

    def fresh_workdir(self, assignment: str) -> Path:
        """The learner's folder for a new job: empty, at the same path as before."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir()
        self.folder = self.workdir / assignment
        return self.folder

    def judge(self, language: str) -> JudgeKernel:
        return self.judges.setdefault(language, JudgeKernel(self, language))

    def close(self) -> None:
        for judge in self.judges.values():
            judge.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_SPACES: dict[int, WorkerSpace] = {}
_LOCK = threading.Lock()


def worker_space() -> WorkerSpace:
    """This thread's worker space (made on first use, removed when the process exits)."""
    with _LOCK:
        if not _SPACES:
            atexit.register(_close_all)
        space = _SPACES.get(threading.get_ident())
        if space is None:
            space = _SPACES[threading.get_ident()] = WorkerSpace()
        return space


def _close_all() -> None:
    for space in list(_SPACES.values()):
        space.close()
    _SPACES.clear()


class Judge:
    """The judge of one notebook, run in step with the learner's kernel.

    The learner's executor calls `cell(i)` for each locked cell as it reaches it
    (after exporting the answers the cell reads), so the learner's kernel is still
    running for the calls to the learner's functions. Never raises for what
    either kernel does.
    """

    def __init__(
        self,
        space: WorkerSpace,
        name: str,
        nb: NotebookNode,
        learner: GradingExecute,
        setup: JudgeSetup,
        visible: str,
    ) -> None:
        self.space, self.name, self.nb, self.learner = space, name, nb, learner
        self.setup = setup
        # The notebook as the learner has it (hidden tests removed), for the judge's folder.
        self.visible = visible
        self.cells = set(judged_cells(nb))
        self.kernel = space.judge(learner.language)
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
        """The judge's folder: the assignment's own files and the notebook as released."""
        setup, space = self.setup, self.space
        view = space.view if setup.sandbox else space.workdir
        folder = view / space.folder.relative_to(space.workdir)
        if setup.sandbox:
            # Emptied, not replaced: the judge's sandbox shows this very folder.
            _empty(view)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        for rel, data in setup.course_files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / f"{self.name}.ipynb").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.ipynb").write_text(self.visible, encoding="utf-8")
        home = view / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (view / "runtime").mkdir(exist_ok=True)

    def _begin(self) -> JudgeExecute:
        setup = self.setup
        self._pristine()
        kernel = self.kernel
        if not kernel.running(setup.key()):
            kernel.start(setup, self.nb.metadata)
        executor = kernel.executor
        assert executor is not None
        # A new notebook for each learner's: nbclient tracks cells by index.
        executor.nb = nbformat.v4.new_notebook(metadata=self.nb.metadata)
        executor.reset_execution_trackers()
        executor.setup_limits(setup.limits)
        self.resources = {"metadata": {"path": str(self.space.folder)}}
        self.executor = executor
        killed = threading.Event()
        self.stack.callback(kill_at(executor, executor.deadline + 15, killed).cancel)
        if self.learner.km is not None:
            seconds = float(self.learner.cell_timeout or setup.limits.notebook_seconds)
            self.link = LearnerLink(
                self.learner.km.get_connection_info(), self.learner.language, seconds
            )
            self.stack.callback(self.link.close)
        executor.link = self.link
        language = self.learner.language
        reset = _reset_code(language, self.space.folder, self.space.workdir)
        self._run(reset + "\n" + prelude(language))
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
                self._begin()
            source = target.source
            if index in self.learner.snapshots:
                names = self.learner.export_names[index]
                snapshot = self.learner.snapshots[index]
                self.refused += refused(snapshot)
                # One execution, not two: each costs a kernel round trip (IRkernel's are slow).
                source = load_code(snapshot, names, self.learner.language) + "\n" + source
            done = self._run(source, target.metadata)
        except (DeadKernelError, CellTimeoutError) as exc:
            why = "stopped" if isinstance(exc, DeadKernelError) else "could not be interrupted"
            self._stop(f"the checks' kernel {why}", index, graded)
            return
        except Exception as exc:
            self._stop(f"the checks could not be run: {_first(exc)}", index, graded)
            return
        target.outputs = done.get("outputs", [])
        if self.executor is not None and self.executor.out_of_time:
            self._stop("the checks ran past their time limit", index, graded=False)

    def _stop(self, why: str, index: int, graded: bool) -> None:
        """Give up on this notebook's checks; the kernel is replaced for the next one."""
        self.stopped = why
        self.notes.append(f"checks: {why} at cell {index + 1}; later checks score 0")
        self.kernel.stop()
        if graded:
            not_checked(self.nb.cells[index], why)

    def close(self) -> list[str]:
        """Finish this notebook (the kernel stays for the next); returns its notes."""
        self.stack.close()
        if self.link is not None:
            self.refused += self.link.refused
        # One note per answer that could not travel (an object that equals everything?).
        self.notes += list(dict.fromkeys(self.refused))
        for index in (self.cells & self.learner.not_run) - self.done:
            not_checked(self.nb.cells[index], "the notebook stopped before this test")
        return self.notes


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
