"""A local Google Cloud Storage stand-in (gcp-storage-emulator) for GCS hubs.

A hub file with `storage.provider: gcs` gives learners `gs://<bucket>/<user>`
prefixes. `LocalGCS` runs the emulator from PyPI on 127.0.0.1, and `gcs_env`
sets the variables that make an unmodified `gcsfs.GCSFileSystem()` (and so
`fsspec.open("gs://...")`, pandas, zarr) talk to it, as workload identity makes
it talk to Google on a real hub. `local_buckets` picks `LocalS3` or `LocalGCS`
for a provider, so callers need not care which.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from hubtrain.localcloud.buckets import LocalS3, LocalServer, s3_env

__all__ = ["PROJECT", "LocalGCS", "bucket_env", "gcs_env", "local_buckets"]

# The emulator accepts any project; buckets are created in this one.
PROJECT = "hubtrain-local"


def gcs_env(endpoint_url: str) -> dict[str, str]:
    """Environment variables that point an unmodified `gcsfs.GCSFileSystem()` at `endpoint_url`.

    - `STORAGE_EMULATOR_HOST`: gcsfs (`gcsfs.core._location`) and Google's own
      client libraries send every request there instead of to Google.
    - `FSSPEC_GCS_TOKEN=anon`: fsspec passes `token="anon"` to every GCS file
      system, so gcsfs sends no credentials and never looks for Google ones (the
      emulator needs none; a developer's own Google login is never used).
    - `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`: gcsfs 2026.10 otherwise asks
      Google's gRPC storage-control API for each bucket's layout, which the
      emulator does not speak (each lookup waits 60 s, then falls back).
    - `NO_GCE_CHECK=true`: google-auth does not probe for a Compute Engine
      metadata server if anything asks it for default credentials.
    - `GOOGLE_CLOUD_PROJECT` names the emulator's project, and `CLOUDSDK_CONFIG`
      points nowhere, so code that does ask for credentials cannot find a
      developer's own `gcloud` login.
    """
    return {
        "STORAGE_EMULATOR_HOST": endpoint_url,
        "FSSPEC_GCS_TOKEN": "anon",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        "NO_GCE_CHECK": "true",
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "CLOUDSDK_CONFIG": os.devnull,
    }


class LocalGCS(LocalServer):
    """gcp-storage-emulator in a child process, on 127.0.0.1 (see `LocalServer`).

    With `data_dir` the buckets are kept on disk there (and are back after a
    restart); without it they live in memory and are gone when the server
    stops. Errors are `LocalS3Error` (one line), as for `LocalS3`.
    """

    scheme = "gs"

    def __init__(self, port: int = 0, data_dir: Path | None = None) -> None:
        super().__init__(port)
        self.data_dir = Path(data_dir).resolve() if data_dir else None

    def env(self) -> dict[str, str]:
        """The variables that point gcsfs at this server (`gcs_env`)."""
        return gcs_env(self.endpoint_url)

    def _command(self) -> list[str]:
        command = ["gcp_storage_emulator"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command += ["--data-dir", str(self.data_dir)]
        command += ["start", "--host", "127.0.0.1", "--port", str(self.port), "--quiet"]
        if self.data_dir is None:
            command.append("--in-memory")
        return command

    def _request(self, method: str, path: str, data: bytes | None = None) -> bytes:
        request = urllib.request.Request(f"{self.endpoint_url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def _answers(self) -> bool:
        try:
            self._request("GET", f"/storage/v1/b?project={PROJECT}")
            return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False

    def buckets(self) -> list[str]:
        """The names of all buckets."""
        listing = json.loads(self._request("GET", f"/storage/v1/b?project={PROJECT}"))
        return [item["name"] for item in listing.get("items", [])]

    def ensure_bucket(self, name: str) -> None:
        """Create bucket `name` unless it exists already."""
        if name in self.buckets():
            return
        body = json.dumps({"name": name}).encode()
        self._request("POST", f"/storage/v1/b?project={PROJECT}", body)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write one object (course data seeded before learners or graders arrive)."""
        self.ensure_bucket(bucket)
        path = f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=media"
        request = urllib.request.Request(
            f"{self.endpoint_url}{path}&name={quote(key, safe='')}", data=data, method="POST"
        )
        request.add_header("Content-Type", "application/octet-stream")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def keys(self, bucket: str) -> list[str]:
        """The names of every object in `bucket`."""
        listing = json.loads(self._request("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o"))
        return [item["name"] for item in listing.get("items", [])]


def local_buckets(provider: str, port: int = 0, data_dir: Path | None = None) -> LocalS3 | LocalGCS:
    """The local bucket server for a hub file's `storage.provider` ("s3" or "gcs").

    `data_dir` keeps a GCS server's buckets on disk; the S3 server always keeps
    them in memory (the practice hub saves those itself, see `practice.storage`).
    """
    if provider == "gcs":
        return LocalGCS(port=port, data_dir=data_dir)
    return LocalS3(port=port)


def bucket_env(server: LocalS3 | LocalGCS) -> dict[str, str]:
    """The variables that point the provider's fsspec package at `server`."""
    if isinstance(server, LocalGCS):
        return server.env()
    return s3_env(server.endpoint_url)
