"""The book and release commands: `build`, `release`, `link`, and (registered by
their own modules) `publish` and `link-sheet`.

Argument parsing only; the work is in `build.build_book`, `release.make_release` and
`links.exercise_link`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hubtrain.hubfile.cliutil import UsageError, add_hub, hub_from_args

__all__ = ["add_commands", "cmd_build", "cmd_link", "cmd_release"]


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


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `build`, `release`, `link`, `publish` and `link-sheet`."""
    from hubtrain.course import linksheet, publish

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

    publish.add_commands(sub)
    linksheet.add_commands(sub)
