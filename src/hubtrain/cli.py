"""The `hubtrain` command line: parses arguments and calls one function each.

Errors a user can fix (a bad hub file, a port in use) print one line and exit 2;
they never show a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hubtrain.course.build import BuildError
from hubtrain.course.release import LeakError
from hubtrain.hubfile.cliutil import UsageError, add_hub, hub_from_args
from hubtrain.hubfile.config import HubFileError


def cmd_build(args: argparse.Namespace) -> int:
    from hubtrain.course.build import build_book

    result = build_book(hub_from_args(args), Path(args.root), Path(args.out) if args.out else None)
    print(f"Student release: {result.release}")
    print(f"Book: open {result.html / 'index.html'} in a browser")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from hubtrain.course.release import make_release

    root = Path(args.root).resolve()
    out = Path(args.out).resolve() if args.out else root
    release = make_release(hub_from_args(args), root / "exercises", out / "_build")
    print(f"Student release: {release}")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    from hubtrain.course.links import exercise_link

    hub = hub_from_args(args)
    if args.user and not args.server:
        raise UsageError("--user is only for a named server's link: add --server NAME")
    try:
        link = exercise_link(
            hub, args.path, args.hub_url or "", server_name=args.server, user_name=args.user
        )
    except ValueError as exc:
        raise UsageError(f"--server/--user: {exc}") from None
    print(link)
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubtrain", description="Build, host and grade the hubtrain course."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build the student release and the book")
    add_hub(build)
    build.add_argument("--root", default=".", help="the course repository (default: .)")
    build.add_argument("--out", default="", help="write to OUT/_build (default: ROOT)")
    build.set_defaults(func=cmd_build)

    release = sub.add_parser("release", help="make the student release with nbgrader")
    add_hub(release)
    release.add_argument("--root", default=".", help="the course repository (default: .)")
    release.add_argument("--out", default="", help="write to OUT/_build (default: ROOT)")
    release.set_defaults(func=cmd_release)

    link = sub.add_parser("link", help="print the nbgitpuller link for one release file")
    add_hub(link)
    link.add_argument("path", help="a path inside the release, e.g. 01-login/login.ipynb")
    link.add_argument("--hub-url", default="", help="use this hub address instead")
    link.add_argument(
        "--server",
        default="",
        help="a named server: the link starts that server (not the default one) and pulls there",
    )
    link.add_argument(
        "--user", default="", help="with --server: the learner whose named server it is"
    )
    link.set_defaults(func=cmd_link)

    # Each capability adds its subcommands below, in its own block, by calling an
    # `add_commands(sub)` function of its module.
    # --- exercises and grading environment (issue 4) ---
    from hubtrain.grading.environment import add_commands as add_exercises

    add_exercises(sub)
    # --- practice hub (issue 5) ---
    from hubtrain.practice import add_commands as add_practice_hub

    add_practice_hub(sub)
    # --- re-hosting: import-profiles, publish, doctor, link-sheet (issue 6) ---
    from hubtrain.course.publish import add_commands as add_rehosting

    add_rehosting(sub)
    # --- workshop grading (issue 7) ---
    from hubtrain.grading.commands import add_commands as add_grading

    add_grading(sub)
    # --- hubtrain init: write a hub file by answering questions (issue 17) ---
    from hubtrain.hubfile.init import add_commands as add_init

    add_init(sub)
    # --- rehearsals: simulated learners on a real hub (issue 16) ---
    from hubtrain.rehearse import add_commands as add_rehearse

    add_rehearse(sub)
    # --- the TA's live room view (issue 24) ---
    from hubtrain.room import add_commands as add_room

    add_room(sub)

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
    # Run as `python -m hubtrain.cli`, this file is `__main__`, and the commands
    # raise `hubtrain.cli.UsageError`, a class of another module object: use that
    # module's `main`, so their errors are caught and exit with status 2.
    from hubtrain.cli import main as package_main

    sys.exit(package_main())
