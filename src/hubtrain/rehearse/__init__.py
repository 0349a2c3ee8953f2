"""`hubtrain rehearse`: simulated learners walk the course on a real hub before the day.

This module only registers the command: the rehearsal itself runs in a fresh
interpreter (`python -m hubtrain.rehearse`) because Locust patches the standard
library for gevent when imported, and that must happen before anything else
has imported sockets, threads or SSL.

May import: `hubtrain.hubfile` and `hubtrain.course` (the course the simulated
learners walk); it drives any hub, the practice hub included, over HTTP only, so
never `practice`, `grading` or `cli`.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_arguments", "add_commands"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hubtrain rehearse` (shared by the CLI and `python -m`)."""
    parser.add_argument(
        "--hub", default="hubs/practice.yml", help="hub file (default: %(default)s)"
    )
    parser.add_argument("--users", type=int, help="how many simulated learners")
    parser.add_argument(
        "--arrival",
        choices=["burst", "ramp", "poisson"],
        help="everyone at once (burst, default), RATE per second (ramp), or at random "
        "at an average of RATE per second (poisson)",
    )
    parser.add_argument("--rate", type=float, help="learners per second for ramp/poisson")
    parser.add_argument("--module", help="the module whose checks learners run (default: 1)")
    parser.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        metavar="SLUG[,OPTION=VALUE...]",
        help="a profile (and option choices) to start; repeat for a mix, taken in turn. "
        "A value that is not a listed choice is typed into the option's 'Other' field",
    )
    parser.add_argument(
        "--group", action="append", dest="groups", help="add learners to this group"
    )
    parser.add_argument("--event", help="an event file (YAML) with the same settings; flags win")
    parser.add_argument("--p95", type=float, help="limit: p95 request-to-ready seconds")
    parser.add_argument("--p95-pull", type=float, help="limit: p95 pull seconds")
    parser.add_argument("--p95-check", type=float, help="limit: p95 seconds to the first check")
    parser.add_argument("--max-failures", type=int, help="limit: learners allowed to fail (0)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per learner (600)")
    parser.add_argument(
        "--out", default="", help="report folder (default: .hubtrain/rehearsals/<time>)"
    )
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    parser.add_argument("--seed", type=int, help="random seed for poisson arrivals")
    parser.add_argument("--yes", action="store_true", help="do not ask before creating users")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="spread learners over this many Locust worker processes on this computer",
    )
    parser.add_argument(
        "--expect-workers",
        type=int,
        default=0,
        help="wait for this many workers started elsewhere with --worker (Locust master mode)",
    )
    parser.add_argument(
        "--master-port", type=int, default=5557, help="port the master listens on (5557)"
    )
    parser.add_argument(
        "--worker",
        metavar="MASTER_HOST[:PORT]",
        help="walk learners for a master on another machine (same repository and hub file, "
        "and the token in $HUBTRAIN_HUB_TOKEN there too)",
    )
    parser.add_argument(
        "--clean-up",
        action="store_true",
        help="only remove users left by an earlier, interrupted rehearsal",
    )


def _argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """`args` back as command-line words, for the fresh interpreter."""
    words: list[str] = []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or value in (None, False, action.default):
            continue
        flag = action.option_strings[0]
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `hubtrain rehearse`."""
    parser = sub.add_parser(
        "rehearse",
        help="simulated learners walk the course on a real hub (token in $HUBTRAIN_HUB_TOKEN)",
    )
    add_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        sys.stdout.flush()
        argv = [sys.executable, "-m", "hubtrain.rehearse", *_argv(parser, args)]
        os.execv(sys.executable, argv)
        return 0  # not reached

    parser.set_defaults(func=run)
