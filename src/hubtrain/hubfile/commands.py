"""The hub file's commands: `init`, `import-profiles` and `doctor`.

Each lives with its work (`init`, `profiles_import`, `doctor`); this module only
registers them, importing them when called.
"""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `init`, `import-profiles` and `doctor`."""
    from hubtrain.hubfile import doctor, init, profiles_import

    init.add_commands(sub)
    profiles_import.add_commands(sub)
    doctor.add_commands(sub)
