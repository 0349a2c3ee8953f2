"""Buckets of a submission's own: a bucket server per submission, with only the S3 API.

`hubtrain grade` never lets two submissions share a bucket server: one could
delete another's objects, reset the emulator for the whole room (moto's
`/moto-api/reset`), or race an honest neighbour on the same keys. Each job gets
its own server instead, with the grading buckets already created, stopped with
the job. A start costs about a second of CPU, and most exercises never touch a
bucket: the server starts with the job (beside the kernel's own start) when a
notebook names buckets (`mentions_buckets`), else when the kernel first connects. The server runs in
the grading worker, outside the sandbox, and serves moto's S3 application alone:
no other AWS service and no moto administration API is mounted, so a kernel can
change nothing but its own submission's objects.

Run as a module it is that server: `python -m hubtrain.grading.ownbuckets SOCKET BUCKET...`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from hubtrain.grading.environment import system_env
from hubtrain.localcloud.localenv import stop_process

__all__ = ["SANDBOX_PORT", "OwnBuckets", "mentions_buckets"]

# The port the launcher listens on inside the sandbox's own network namespace;
# nothing else can listen there, so one number serves every kernel.
SANDBOX_PORT = 9000
START_TIMEOUT = 60.0


# Words in a notebook's code that make its job start the bucket server at once.
_BUCKET_WORDS = ("s3://", "gs://", "fsspec", "s3fs", "gcsfs", "boto", "zarr", "/vsis3/", "/vsigs/")


def mentions_buckets(notebooks: list[str]) -> bool:
    """Whether these notebooks (JSON text) look like they use buckets: S3 or GCS libraries
    or addresses in their code cells. Only a head start: a server starts anyway when a
    kernel first connects; this saves waiting for it, and costs a start when wrong."""
    for text in notebooks:
        cells = json.loads(text).get("cells", [])
        code = "\n".join(
            "".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"
        )
        if any(word in code for word in _BUCKET_WORDS):
            return True
    return False


def _pump(a: socket.socket, b: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := a.recv(65536):
            b.sendall(data)
    for s in (a, b):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


class OwnBuckets:
    """One submission's bucket server, reached through a listener made on entry.

    `sandboxed=True`: the listener is a unix socket in the folder `workdir` (the sandbox's
    launcher forwards `127.0.0.1:SANDBOX_PORT` to it, see `links`); otherwise a
    TCP port on 127.0.0.1. `endpoint_url` is what the kernel's S3 variables name.
    """

    def __init__(
        self, workdir: Path, buckets: tuple[str, ...], sandboxed: bool, eager: bool = False
    ) -> None:
        self.eager = eager
        self.workdir = workdir
        self.buckets = buckets
        self.sandboxed = sandboxed
        self.endpoint_url = ""
        self.links: dict[int, Path] = {}
        self._listener: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._private = Path(tempfile.mkdtemp(prefix="hubtrain-s3-"))
        self._lock = threading.Lock()

    def __enter__(self) -> OwnBuckets:
        if self.sandboxed:
            path = self.workdir / ".buckets.sock"
            # Left by the last job of this worker (the folder is reused).
            path.unlink(missing_ok=True)
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(str(path))
            self.links = {SANDBOX_PORT: path}
            self.endpoint_url = f"http://127.0.0.1:{SANDBOX_PORT}"
        else:
            listener = socket.create_server(("127.0.0.1", 0))
            self.endpoint_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._serve, daemon=True).start()
        if self.eager:
            threading.Thread(target=self._warm, daemon=True).start()
        return self

    def _warm(self) -> None:
        with contextlib.suppress(OSError):
            self._upstream().close()

    def _serve(self) -> None:
        assert self._listener is not None
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                try:
                    up = self._upstream()
                except OSError:
                    conn.close()
                    continue
                for a, b in ((conn, up), (up, conn)):
                    threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def _upstream(self) -> socket.socket:
        """A connection to the server, started on first use."""
        path = self._private / "s3.sock"
        with self._lock:
            if self._process is None:
                command = [sys.executable, "-m", "hubtrain.localcloud.child", __name__, str(path)]
                self._process = subprocess.Popen(
                    [*command, *self.buckets],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=system_env(),
                )
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                sock = socket.socket(socket.AF_UNIX)
                try:
                    sock.connect(str(path))
                    return sock
                except OSError:
                    sock.close()
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        raise
                time.sleep(0.02)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            process, self._process = self._process, None
        stop_process(process)
        # It holds the server's socket only, or nothing when no cell used a bucket.
        shutil.rmtree(self._private, ignore_errors=True)


def main(argv: list[str]) -> None:
    """Serve moto's S3 application alone on the unix socket `argv[0]`, with buckets `argv[1:]`."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from moto.s3.models import s3_backends
    from werkzeug.serving import run_simple

    from hubtrain.localcloud.buckets import REGION

    path, *buckets = argv
    app = create_backend_app("s3")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for name in buckets:
        backend.create_bucket(name, REGION)
    run_simple(f"unix://{path}", 0, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
