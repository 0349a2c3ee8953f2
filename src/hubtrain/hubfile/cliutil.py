"""What every `hubtrain` subcommand shares: the `--hub` option, loading the hub
file it names, and `UsageError`, the error a user can fix (printed as one line,
exit status 2, by `hubtrain.cli.main`).

Low on purpose: each capability's `add_commands` imports this, never `hubtrain.cli`,
so the command line stays a thin layer on top that nothing imports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub

__all__ = ["DEFAULT_HUB", "UsageError", "add_hub", "hub_from_args"]


DEFAULT_HUB = Path("hubs/practice.yml")


class UsageError(Exception):
    """A problem the user can fix; printed as one line."""


def hub_from_args(args: argparse.Namespace) -> HubConfig:
    hub = load_hub(args.hub)
    for line in hub.warnings:
        print(f"hubtrain: warning: {line}", file=sys.stderr)
    return hub


def add_hub(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", default=str(DEFAULT_HUB), help="hub file (default: %(default)s)")
