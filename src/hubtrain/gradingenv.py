"""The grading environment: a hub-like place where graded exercise code re-runs.

nbgrader re-executes a learner's notebook on the grader's machine, not on the
learner's hub. Graded answers are computed from what the hub provides (its
environment variables and buckets), so grading needs the same kind of
environment: the JupyterHub and KubeSpawner variables of the hub file's default
profile, the hub's bucket variables pointing at a local S3 or GCS server (the
hub file's provider), and nothing from the grader's own hub or cloud account.
It is the same for every learner, so
stock `nbgrader autograde` run under `hubtrain grading-env` and `hubtrain grade`
give equal scores.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from hubtrain.buckets import LocalS3Error
from hubtrain.config import HubConfig, Profile
from hubtrain.gcsbuckets import bucket_env, local_buckets

# GRADING_FLAG is set in the grading environment; the learner runtime skips live
# self-checks there and records no progress.
from hubtrain.learner.hubcheck import GRADING_FLAG, mem_bytes, profile_overrides
from hubtrain.release import nbgrader_env

__all__ = [
    "GRADING_FLAG",
    "GRADING_USER",
    "add_commands",
    "grading_environment",
    "hub_env",
    "profile_env",
]

# Everyone is graded as the same user, so answers that depend on the user match.
GRADING_USER = "learner"
GRADING_TOKEN = "hubtrain-grading-token"
SCRATCH_BUCKET = "hubtrain-scratch"
PERSISTENT_BUCKET = "hubtrain-persistent"

# Variables a hub, KubeSpawner or a cloud account may have put in the grader's own
# environment; none of them may leak into grading.
_DROP_PREFIXES = ("JUPYTERHUB_", "JPY_", "AWS_", "FSSPEC_", "GOOGLE_", "GCS")
_DROP_NAMES = (
    "MEM_LIMIT",
    "MEM_GUARANTEE",
    "CPU_LIMIT",
    "CPU_GUARANTEE",
    "JUPYTER_IMAGE",
    "JUPYTER_IMAGE_SPEC",
)


def profile_env(profile: Profile) -> dict[str, str]:
    """The variables a server started with `profile` (default choices) gets.

    JupyterHub's `Spawner.get_env` writes memory as whole bytes and CPU as a
    float (`MEM_LIMIT=1073741824`, `CPU_LIMIT=1.0`); KubeSpawner adds the image as
    `JUPYTER_IMAGE_SPEC` and `JUPYTER_IMAGE`.
    """
    overrides = profile_overrides(profile.model_dump())
    env: dict[str, str] = {}
    for key in ("mem_limit", "mem_guarantee"):
        if overrides.get(key):
            env[key.upper()] = str(mem_bytes(overrides[key]))
    for key in ("cpu_limit", "cpu_guarantee"):
        if overrides.get(key):
            env[key.upper()] = str(float(overrides[key]))
    if overrides.get("image"):
        env["JUPYTER_IMAGE_SPEC"] = env["JUPYTER_IMAGE"] = str(overrides["image"])
    return env


def hub_env(hub: HubConfig, user: str = GRADING_USER, server_name: str = "") -> dict[str, str]:
    """JupyterHub's own variables for `user`'s server on `hub` (no API token).

    `JUPYTERHUB_BASE_URL` is the hub's URL path ("/" for most hubs) and
    `JUPYTERHUB_SERVICE_PREFIX` is the server's path under it, as in
    `Spawner.get_env`; `JUPYTERHUB_SERVICE_URL` is where the server itself listens
    (KubeSpawner's default port 8888).
    """
    base = urlparse(hub.url).path.rstrip("/") + "/"
    prefix = f"{base}user/{user}/" + (f"{server_name}/" if server_name else "")
    return {
        "JUPYTERHUB_USER": user,
        "JUPYTERHUB_SERVER_NAME": server_name,
        "JUPYTERHUB_BASE_URL": base,
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_API_URL": f"{hub.url}/hub/api",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:8888{prefix}",
    }


def _clean(environ: dict[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(_DROP_PREFIXES) and key not in _DROP_NAMES
    }


@contextmanager
def grading_environment(hub: HubConfig, workdir: Path) -> Iterator[dict[str, str]]:
    """A complete environment (based on `os.environ`) for grading exercises of `hub`.

    Starts a local bucket server of the hub's provider (S3 or GCS) with empty
    scratch and persistent buckets for the duration of the `with` block, and
    yields the variables to run nbgrader (or anything else) with: the hub's
    variables for the default profile and the user `learner`,
    `storage.scratch_env`/`persistent_env` set to `s3://<bucket>/learner` (or
    `gs://...` on a GCS hub), the variables that point s3fs or gcsfs at the local
    server, a dummy `JUPYTERHUB_API_TOKEN` and `HUBTRAIN_GRADING=1`. The
    buckets start empty because the exercises create their own sample data.
    `workdir` receives the kernels' runtime files; it must be writable.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    scheme = hub.storage.scheme
    with local_buckets(hub.storage.provider) as server:
        server.ensure_bucket(SCRATCH_BUCKET)
        server.ensure_bucket(PERSISTENT_BUCKET)
        env = _clean(nbgrader_env())
        env.update(hub_env(hub))
        env.update(profile_env(hub.default_profile))
        env.update(bucket_env(server))
        if hub.storage.scratch_env:
            env[hub.storage.scratch_env] = f"{scheme}://{SCRATCH_BUCKET}/{GRADING_USER}"
        if hub.storage.persistent_env:
            env[hub.storage.persistent_env] = f"{scheme}://{PERSISTENT_BUCKET}/{GRADING_USER}"
        # Exercises build request headers from the token; grading makes no requests,
        # so a fixed, worthless value keeps every learner's result the same.
        env["JUPYTERHUB_API_TOKEN"] = GRADING_TOKEN
        env[GRADING_FLAG] = "1"
        # Kernel connection files and any stray progress stay in `workdir`, away from
        # the grader's own Jupyter and home directory.
        env["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
        env["HUBTRAIN_PROGRESS"] = str(workdir / "progress.json")
        yield env


def cmd_grading_env(args: argparse.Namespace) -> int:
    from hubtrain.cli import UsageError, _hub

    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("grading-env needs a command after --, e.g. -- nbgrader autograde ps1")
    with tempfile.TemporaryDirectory(prefix="hubtrain-grading-") as tmp:
        try:
            with grading_environment(_hub(args), Path(tmp)) as env:
                try:
                    code = subprocess.run(command, env=env).returncode
                except FileNotFoundError:
                    raise UsageError(f"command not found: {command[0]}") from None
        except LocalS3Error as exc:
            raise UsageError(str(exc)) from None
    # A command killed by a signal reports -N; shells report that as 128 + N.
    return code if code >= 0 else 128 - code


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `grading-env` on the CLI."""
    from hubtrain.cli import _add_hub

    parser = sub.add_parser(
        "grading-env",
        help="run a command (e.g. nbgrader autograde) in the hub-like grading environment",
        description="Run COMMAND with the hub file's variables and a local bucket server, "
        "as `hubtrain grade` does; exit with COMMAND's exit status.",
    )
    _add_hub(parser)
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    parser.set_defaults(func=cmd_grading_env)
