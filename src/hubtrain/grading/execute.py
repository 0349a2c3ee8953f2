"""The worker's step: execute one submission's sanitized notebooks and hand them back.

This is the only step that runs learner code, and the only one that runs in
worker processes (or on Dask workers). It never touches the gradebook or the
course folder: everything it needs travels in an `ExecJob` and everything it
learns goes back in an `ExecResult`; the grading process records it. Notebooks
run with nbgrader's own `Execute` preprocessor and the course's configuration
(`kernels.py`), and their graded tests are judged apart (`judging.py`).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config

from hubtrain.grading.declared import notebook_language
from hubtrain.grading.environment import system_env
from hubtrain.grading.judge import exports, graded_tests, judge_only
from hubtrain.grading.judging import Judge, JudgeSetup, worker_space
from hubtrain.grading.kernels import Limits, make_executor, run_notebook, without_hidden_tests
from hubtrain.grading.ownbuckets import OwnBuckets, mentions_buckets
from hubtrain.grading.sandbox import find_sandbox, wrapper_command
from hubtrain.localcloud.buckets import s3_env

__all__ = ["ExecJob", "ExecResult", "Limits", "execute_job", "kernel_environment"]


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
    # A notebook listed here has its locked cells judged apart (`judging.py`).
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
    Notebooks in `job.answers` have their locked cells judged apart (`judging.py`).
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
    space = worker_space()
    folder = space.fresh_workdir(job.assignment)
    workdir = space.workdir
    try:
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
                eager = mentions_buckets(list(job.notebooks.values()))
                own = OwnBuckets(space.buckets, job.buckets, sandbox is not None, eager)
                stack.enter_context(own)
                links, endpoint = own.links, own.endpoint_url
            env = kernel_environment(job, workdir, home, endpoint)
            wrapper = wrapper_command(
                workdir, job.limits.memory_bytes, links, sandbox, ro_binds=(space.buckets,)
            )
            course_files = {rel: job.files[rel] for rel in job.course_files}
            setup = JudgeSetup(job.config, job.limits, env, sandbox, links, course_files)
            for name, text in sorted(job.notebooks.items()):
                nb = nbformat.reads(text, as_version=4)
                # The kernel's folder holds the notebook as the learner has it: the
                # one being run has the hidden tests back and must stay out of reach.
                (folder / f"{name}.ipynb").parent.mkdir(parents=True, exist_ok=True)
                visible = without_hidden_tests(text)
                (folder / f"{name}.ipynb").write_text(visible, encoding="utf-8")
                learner = make_executor(job.config, job.limits, wrapper, env, workdir)
                judge = None
                if name in job.answers:
                    learner.language = notebook_language(nb)
                    learner.not_run = graded_tests(nb)
                    learner.judge_only = judge_only(nb)
                    learner.export_names = exports(nb, job.answers[name])
                    judge = learner.judge = Judge(space, name, nb, learner, setup, visible)
                judge_notes: list[str] = []
                try:
                    notes = run_notebook(learner, nb, folder)
                finally:
                    if judge is not None:
                        judge_notes = judge.close()
                notes += judge_notes
                result.notes += [f"{name}: {n}" if len(job.notebooks) > 1 else n for n in notes]
                result.notebooks[name] = nbformat.writes(nb)
    finally:
        # The learner's files go now; the folder itself is this worker's for the next job.
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(exist_ok=True)
        result.seconds = time.monotonic() - start
    return result
