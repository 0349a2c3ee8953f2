"""What the local servers we start need: a free port on loopback, and our tools on PATH."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

__all__ = ["free_port", "with_venv_on_path"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_venv_on_path(env: dict[str, str]) -> dict[str, str]:
    """`env` with this interpreter's `bin` folder first on PATH.

    Tools we run find their helpers on PATH (nbgrader runs `alembic`, JupyterHub
    runs `jupyterhub-singleuser`); when the virtual environment is not activated
    its `bin` is not there, so we put it there.
    """
    bin_dir = str(Path(sys.executable).parent)
    return {**env, "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")])}
