"""The local S3 server: a real moto server that an argument-less `s3fs.S3FileSystem()` reaches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hubtrain.localcloud.buckets import LocalS3, LocalS3Error, s3_env

# One worker runs these tests, so the module's server starts once.
pytestmark = pytest.mark.xdist_group("buckets")

# Run in a fresh interpreter, as a notebook kernel is: s3fs reads the environment at start.
ROUND_TRIP = """
import s3fs
fs = s3fs.S3FileSystem()
fs.pipe("course-data/ada/hello.txt", b"hello")
print(fs.cat("course-data/ada/hello.txt").decode(), fs.ls("course-data"))
"""


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}


@pytest.fixture(scope="module")
def s3() -> LocalS3:
    with LocalS3() as server:
        server.ensure_bucket("course-data")
        yield server


@pytest.mark.parametrize(
    "drop",
    [(), ("FSSPEC_S3_ENDPOINT_URL",), ("AWS_ENDPOINT_URL",)],
    ids=["both", "botocore-only", "fsspec-only"],
)
def test_an_unmodified_s3fs_talks_to_the_local_server(s3: LocalS3, drop: tuple[str, ...]) -> None:
    env = {**_clean_env(), **s3_env(s3.endpoint_url)}
    for name in drop:
        del env[name]
    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[0] == "hello"
    assert "course-data/ada" in run.stdout


def test_it_listens_on_localhost_only_and_ensure_bucket_is_rerunnable(s3: LocalS3) -> None:
    assert s3.endpoint_url.startswith("http://127.0.0.1:")
    s3.ensure_bucket("course-data")
    s3.put("course-data", "seed/readme.txt", b"seeded")
    body = s3.client().get_object(Bucket="course-data", Key="seed/readme.txt")["Body"].read()
    assert body == b"seeded"


def test_each_server_has_its_own_buckets_and_stop_frees_the_port(s3: LocalS3) -> None:
    with LocalS3() as other:
        names = [b["Name"] for b in other.client().list_buckets()["Buckets"]]
        assert names == []
        port = other.port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    other.stop()  # a second stop is harmless


def test_a_server_that_cannot_start_says_why_in_one_line(s3: LocalS3) -> None:
    with pytest.raises(LocalS3Error) as failure:
        LocalS3(port=s3.port).start(timeout=20)
    assert f"port {s3.port}" in str(failure.value)
    with pytest.raises(LocalS3Error, match="not been started"):
        _ = LocalS3().endpoint_url


# A command that starts a bucket server, says its port, then waits to be killed.
STARTER = """
import time
from hubtrain.localcloud.{module} import {server}
server = {server}().start()
print(server.port, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize(
    ("module", "server"), [("buckets", "LocalS3"), ("gcsbuckets", "LocalGCS")], ids=["s3", "gcs"]
)
def test_the_server_goes_away_when_the_command_that_started_it_is_killed(
    module: str, server: str
) -> None:
    # `hubtrain hub` or `hubtrain grade` killed outright (SIGKILL, a closed
    # terminal) cannot stop its bucket server; the server must not run on.
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER.format(module=module, server=server)],
        stdout=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    try:
        assert starter.stdout is not None
        port = int(starter.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it serves while its starter lives
    finally:
        starter.kill()
        starter.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.2)
    pytest.fail(f"the bucket server on port {port} outlived the process that started it")


@pytest.mark.parametrize("used", [False, True], ids=["never-used", "used"])
def test_a_submissions_own_bucket_server_leaves_nothing_in_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, used: bool
) -> None:
    """Each graded submission that may use buckets gets its own server; a TA's
    `hubtrain grade` must not leave a folder per submission behind, used or not."""
    from hubtrain.grading.ownbuckets import OwnBuckets

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with OwnBuckets(tmp_path, ("course-data",), sandboxed=False) as own:
        if used:
            host, port = own.endpoint_url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=60) as conn:
                conn.sendall(b"GET /course-data HTTP/1.0\r\n\r\n")
                assert conn.recv(64).startswith(b"HTTP/1.")
    assert list(temp.iterdir()) == []
