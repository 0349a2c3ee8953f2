"""Benchmark process start-up: this environment's bytecode against compiling from source.

`make` compiles the environment once at install. A Python that may not write
bytecode (PYTHONDONTWRITEBYTECODE set, or a kernel in the grading sandbox or a
practice hub server, which see the environment read-only) would otherwise compile
every module it imports at every start. This prints, for each kind of process in
`STARTS`, the CPU seconds of its imports both ways, and their ratio.
It measures and prints; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/startup.py`.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile

# What each kind of process imports before it does any work.
STARTS = {
    "kernel": "ipykernel.kernelapp",
    "hub": "jupyterhub.app",
    "nbgrader": "nbgrader.apps",
    "learner's server": "jupyter_server.serverapp, jupyterlab",
    "book build": "sphinx.application, myst_nb",
}
ROUNDS = 3


def cpu_seconds(module: str, cache_prefix: str | None) -> float:
    """CPU time (user + system) of a fresh Python that imports `module`."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if cache_prefix:
        env["PYTHONPYCACHEPREFIX"] = cache_prefix  # an empty folder: nothing compiled
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    print(f"{'start':18} {'compiled':>9} {'source':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="hubtrain-nobytecode-") as empty:
        for name, module in STARTS.items():
            compiled = min(cpu_seconds(module, None) for _ in range(ROUNDS))
            source = min(cpu_seconds(module, empty) for _ in range(ROUNDS))
            print(f"{name:18} {compiled:8.2f}s {source:8.2f}s {source / compiled:5.1f}x")


if __name__ == "__main__":
    main()
