"""What the local servers and kernels we start need: a free port on loopback,
our tools on PATH, a kernel that cannot lose a port race, and helpers that end
when the command that started them is killed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode
    from traitlets.config import Config

__all__ = [
    "execute_notebook",
    "exit_when_orphaned",
    "free_port",
    "kernel_sockets",
    "stop_process",
    "with_venv_on_path",
]


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


def execute_notebook(
    notebook: NotebookNode,
    cwd: Path,
    env: dict[str, str],
    timeout: int = 120,
    *,
    allow_errors: bool = True,
) -> None:
    """Run every cell of `notebook` in place, in `cwd`, with a kernel that gets exactly `env`.

    Errors in cells are kept as outputs (a learner's failing check is a result,
    not a crash); with `allow_errors=False` the first one stops the run and raises
    nbclient's `CellExecutionError`, as nbgrader sees it. The kernel talks over
    unix sockets (see `kernel_sockets`).
    """
    from nbclient import NotebookClient

    from hubtrain.localcloud.kernelclient import WakefulKernelClient

    with kernel_sockets() as config:
        config.AsyncKernelManager.client_factory = (
            f"{WakefulKernelClient.__module__}.WakefulKernelClient"
        )
        client = NotebookClient(
            notebook,
            timeout=timeout,
            allow_errors=allow_errors,
            config=config,
            resources={"metadata": {"path": str(cwd)}},
        )
        client.execute(env=env)


@contextmanager
def kernel_sockets() -> Iterator[Config]:
    """Jupyter config that puts kernels on unix sockets: `KernelManager.transport` is
    "ipc" and `KernelManager.ip` a socket path in a folder of its own.

    jupyter_client gives a TCP kernel five ports it found free and let go; another
    process starting at that moment (parallel tests, a busy hub) can take one, and
    the kernel dies ("Address already in use"). Unix sockets in a folder of our own
    cannot be taken. The folder is short (a socket's path holds 107 bytes at most)
    and is removed when the block ends.
    """
    from traitlets.config import Config

    sockets = Path(tempfile.mkdtemp(prefix="hubtrain-kernel-"))
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(sockets / "kernel")
    try:
        yield config
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def exit_when_orphaned(poll: float = 1.0) -> None:
    """Make this process exit (status 1) within `poll` seconds of its parent dying.

    For helpers we start (grading workers, the bucket server): when the command
    that started them is killed outright (SIGKILL, a closed terminal) it cannot
    stop them, and they would run on holding ports and memory. A daemon thread
    notices that the parent changed (the orphan is handed to another process).
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-when-orphaned").start()


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """Terminate a child process and reap it; kill it if it has not gone in `timeout` s."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
