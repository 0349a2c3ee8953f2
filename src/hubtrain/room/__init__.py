"""`hubtrain room`: the TA's live view of a workshop, learners × tasks.

What this package owns: reading the course's progress record
(`~/hubtrain-progress.json`, written by the learner runtime in `learner/`) and
each learner's server state through the hub's REST API, the rules that say who
needs help, and the local page (127.0.0.1) that shows it all and updates itself.

What it may import: the hub file (`hubtrain.hubfile.config`), small shared helpers
(`hubtrain.localcloud.localenv`) and its own modules. Never another capability's internals
(`practice/`, `rehearse/`, `learner/`) and never `cli.py`: the command line calls
`add_commands` below, the way it registers every other capability.

Modules, from the hub outwards:
- `tasks`: which checks the session's modules have (read from `exercises/`).
- `hubreader`: the token, its scopes, the learners' list and their records.
- `grid`: the room as data: cells, counts, needs-help rules, CSV, projector counts.
- `poller`: reads the hub politely every few seconds and keeps the latest grid.
- `server`: the local web page and its JSON.
- `command`: `hubtrain room` itself.
"""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `hubtrain room`."""
    from hubtrain.room.command import add_arguments, run

    parser = sub.add_parser(
        "room",
        help="the TA's live view of the room: who passed, who is stuck "
        "(token in $HUBTRAIN_HUB_TOKEN)",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
