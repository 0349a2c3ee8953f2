"""Start a command the way a terminal starts its foreground job, so a test can press Ctrl-C.

A shell starts a background job (`make test &`, `nohup ... &`, some CI runners' scripts)
with SIGINT ignored; every process under it inherits that, and Python then leaves SIGINT
ignored. A command the test stops with SIGINT would never see it: a test of Ctrl-C would
time out on the test machine, not on the command. In a terminal a foreground job gets
SIGINT's default action, and so does a command started with `as_foreground_job`.
"""

from __future__ import annotations

import signal


def as_foreground_job() -> None:
    """`preexec_fn` for `subprocess.Popen`: SIGINT back to its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
