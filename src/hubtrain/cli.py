"""The `hubtrain` command line: a thin layer that nothing imports.

Each capability registers its own subcommands with `add_commands(sub)`; this module
only puts them together and turns errors a user can fix (a bad hub file, a port in
use) into one line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hubtrain.course.build import BuildError
from hubtrain.course.release import LeakError
from hubtrain.hubfile.cliutil import UsageError
from hubtrain.hubfile.config import HubFileError


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubtrain", description="Build, host and grade the hubtrain course."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # One line per capability, in the order `hubtrain --help` lists them.
    from hubtrain import practice, rehearse, room
    from hubtrain.course import commands as course
    from hubtrain.grading import commands as grading
    from hubtrain.hubfile import commands as hubfile

    course.add_commands(sub)  # build, release, link, publish, link-sheet
    hubfile.add_commands(sub)  # init, import-profiles, doctor
    practice.add_commands(sub)  # hub
    grading.add_commands(sub)  # grading-env, grade
    rehearse.add_commands(sub)  # rehearse
    room.add_commands(sub)  # room
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors become a one-line message and exit status 2."""
    args = make_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except (HubFileError, UsageError, BuildError, LeakError) as exc:
        print(f"hubtrain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hubtrain: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
