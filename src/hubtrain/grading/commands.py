"""`hubtrain grading-env` and `hubtrain grade`: argument parsing only; the work is in
`environment.grading_environment` and `runner.grade_batch`."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

__all__ = ["add_commands", "cmd_grade", "cmd_grading_env"]


def cmd_grade(args: argparse.Namespace) -> int:
    from hubtrain.grading.execute import Limits
    from hubtrain.grading.runner import grade_batch
    from hubtrain.hubfile.cliutil import UsageError, hub_from_args
    from hubtrain.localcloud.buckets import LocalS3Error

    if args.workers < 0:
        raise UsageError(f"--workers {args.workers}: expected 0 (one per core) or more")
    if not Path(args.submissions).exists():
        raise UsageError(f"{args.submissions}: no such folder or zip file")
    exercises = Path(args.exercises)
    if not exercises.is_dir():
        raise UsageError(f"--exercises {exercises}: no such folder")
    limits = Limits(
        cell_seconds=args.cell_timeout,
        notebook_seconds=args.notebook_timeout,
        memory_bytes=args.memory_mb * 1024**2,
        output_bytes=args.output_kb * 1024,
        sandbox=not args.no_sandbox,
    )
    try:
        result = grade_batch(
            hub_from_args(args),
            exercises,
            Path(args.submissions),
            Path(args.out),
            assignment=args.assignment,
            workers=args.workers,
            dask=args.dask,
            limits=limits,
        )
    except (ValueError, LocalS3Error) as exc:
        raise UsageError(str(exc)) from None
    if result.sandbox_note:
        print(f"Note: {result.sandbox_note}")
    return 0


def cmd_grading_env(args: argparse.Namespace) -> int:
    """Run the command after `--` in the grading environment; return its exit status."""
    from hubtrain.grading.environment import grading_environment
    from hubtrain.hubfile.cliutil import UsageError, hub_from_args
    from hubtrain.localcloud.buckets import LocalS3Error

    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("grading-env needs a command after --, e.g. -- nbgrader autograde ps1")
    with tempfile.TemporaryDirectory(prefix="hubtrain-grading-") as tmp:
        try:
            with grading_environment(hub_from_args(args), Path(tmp)) as env:
                try:
                    code = subprocess.run(command, env=env).returncode
                except FileNotFoundError:
                    raise UsageError(f"command not found: {command[0]}") from None
        except LocalS3Error as exc:
            raise UsageError(str(exc)) from None
    # A command killed by a signal reports -N; shells report that as 128 + N.
    return code if code >= 0 else 128 - code


def _add_grading_env(sub: argparse._SubParsersAction) -> None:
    from hubtrain.hubfile.cliutil import add_hub

    parser = sub.add_parser(
        "grading-env",
        help="run a command (e.g. nbgrader autograde) in the hub-like grading environment",
        description="Run COMMAND with the hub file's variables and a local bucket server, "
        "as `hubtrain grade` does; exit with COMMAND's exit status.",
    )
    add_hub(parser)
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    parser.set_defaults(func=cmd_grading_env)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `grading-env` and `grade` on the CLI."""
    from hubtrain.hubfile.cliutil import add_hub

    _add_grading_env(sub)
    parser = sub.add_parser(
        "grade",
        help="grade a folder or zip of submitted notebooks with nbgrader",
        description="Grade SUBMISSIONS (nbgrader's submitted/<student>/<assignment>/ layout, "
        "or a folder or zip of notebooks whose file names carry the student) into an nbgrader "
        "gradebook in OUT/course; write OUT/grades.csv and a feedback page per submission.",
    )
    add_hub(parser)
    parser.add_argument("submissions", metavar="SUBMISSIONS", help="folder or .zip file")
    parser.add_argument("--assignment", default="", help="grade only this assignment")
    parser.add_argument(
        "--workers", type=int, default=0, help="local workers (default: one per core)"
    )
    parser.add_argument("--dask", default="", metavar="ADDRESS", help="use this Dask scheduler")
    parser.add_argument("--out", default="grading", help="output folder (default: %(default)s)")
    parser.add_argument(
        "--exercises", default="exercises", help="source exercises (default: %(default)s)"
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=0,
        help="seconds per cell, if lower than nbgrader's Execute.timeout (default: that)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=int,
        default=300,
        help="seconds per notebook (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-mb", type=int, default=2048, help="kernel memory cap (default: %(default)s)"
    )
    parser.add_argument(
        "--output-kb", type=int, default=1024, help="output cap per cell (default: %(default)s)"
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run learner code without bubblewrap (recorded in grades.csv); without it, "
        "grading refuses to run where bubblewrap does not work",
    )
    parser.set_defaults(func=cmd_grade)
