"""A local S3-compatible server (moto) standing in for a hub's object storage.

Managed hubs give learners `SCRATCH_BUCKET`/`PERSISTENT_BUCKET` prefixes on a
cloud bucket. The practice hub and the grading environment use `LocalS3` instead:
a real moto server on 127.0.0.1 that `s3fs.S3FileSystem()` reaches with no
arguments once the variables from `s3_env` are set.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any, Self

from hubtrain.localcloud.localenv import free_port, stop_process

__all__ = ["DUMMY_KEY", "LocalS3", "LocalS3Error", "LocalServer", "s3_env"]

# moto accepts any credentials; these are obviously not real ones.
DUMMY_KEY = "hubtrain-local"
REGION = "us-east-1"
START_TIMEOUT = 30.0


class LocalS3Error(RuntimeError):
    """The local bucket server could not start or answer; `str()` is one line."""


def s3_env(endpoint_url: str) -> dict[str, str]:
    """Environment variables that point an unmodified `s3fs.S3FileSystem()` at `endpoint_url`.

    botocore (and so aiobotocore and s3fs) reads `AWS_ENDPOINT_URL` for every
    service since botocore 1.31; fsspec turns `FSSPEC_S3_ENDPOINT_URL` into the
    `endpoint_url` argument of every `S3FileSystem`. Both are set so either route
    works. Credentials are dummies, and the shared config files point nowhere so
    a developer's own `~/.aws` cannot send requests to a real account.

    GDAL (R's sf and stars, `/vsis3/` paths) does not read `AWS_ENDPOINT_URL`: it
    takes `AWS_S3_ENDPOINT` as host:port, `AWS_HTTPS=NO` for plain HTTP, and
    `AWS_VIRTUAL_HOSTING=FALSE` for path-style addresses a local server answers.
    """
    host = endpoint_url.split("://", 1)[-1].rstrip("/")
    return {
        "AWS_S3_ENDPOINT": host,
        "AWS_HTTPS": "NO" if endpoint_url.startswith("http://") else "YES",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ENDPOINT_URL": endpoint_url,
        "FSSPEC_S3_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalServer:
    """A local bucket server in a child process, on 127.0.0.1 (S3 or GCS stand-in).

    `port=0` picks a free port. Use as a context manager, or call `start()` and
    `stop()`. Each server has its own state (a separate process), so two servers
    never see each other's buckets. Subclasses say how to run the server
    (`_command`, `_env`) and how to tell it answers (`_answers`).
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The server's address, e.g. `http://127.0.0.1:41234`."""
        if not self.port:
            raise LocalS3Error("the local bucket server has not been started")
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _answers(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start the server and wait until it answers HTTP; return self."""
        if self._process is not None:
            return self
        if not self.port:
            self.port = free_port()
        elif not _port_free(self.port):
            # Checked first: otherwise the readiness probe would reach the other server.
            raise LocalS3Error(f"cannot start the local bucket server: port {self.port} is in use")
        # Through hubtrain.localcloud.child: the server exits if we are killed outright.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "hubtrain.localcloud.child", *self._command()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise LocalS3Error(
                    f"the local bucket server exited at start (is port {self.port} in use?)"
                )
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise LocalS3Error(f"the local bucket server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server (buckets kept in memory are gone with it). Safe to call twice."""
        process, self._process = self._process, None
        stop_process(process)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalS3(LocalServer):
    """A moto S3 server in a child process, on 127.0.0.1 (see `LocalServer`)."""

    def _command(self) -> list[str]:
        return ["moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def _env(self) -> dict[str, str]:
        # A clean environment: moto must not pick up a developer's AWS settings.
        return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False

    def client(self) -> Any:
        """A boto3 S3 client for this server, with the dummy credentials."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=DUMMY_KEY,
            aws_secret_access_key=DUMMY_KEY,
            region_name=REGION,
        )

    def ensure_bucket(self, name: str) -> None:
        """Create bucket `name` unless it exists already."""
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write one object (course data seeded before learners or graders arrive)."""
        self.ensure_bucket(bucket)
        self.client().put_object(Bucket=bucket, Key=key, Body=data)
