"""Run a Python module as a child process that exits when its parent dies.

`python -m hubtrain.localcloud.child MODULE [ARGS...]` is `python -m MODULE [ARGS...]`, plus
`localenv.exit_when_orphaned`: servers we start for a command (the local bucket
server) go away with it even when it is killed without a chance to stop them.
"""

from __future__ import annotations

import runpy
import sys

from hubtrain.localcloud.localenv import exit_when_orphaned


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m hubtrain.localcloud.child MODULE [ARGS...]")
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    exit_when_orphaned()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
