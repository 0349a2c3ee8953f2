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

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from hubtrain.hubfile.config import HubConfig, Profile

# GRADING_FLAG is set in the grading environment; the learner runtime skips live
# self-checks there and records no progress.
from hubtrain.learner.hubcheck import GRADING_FLAG, mem_bytes, profile_overrides
from hubtrain.localcloud.gcsbuckets import bucket_env, local_buckets
from hubtrain.localcloud.localenv import kernel_sockets, with_venv_on_path

if TYPE_CHECKING:
    from traitlets.config import Config

__all__ = [
    "GRADING_BUCKETS",
    "GRADING_FLAG",
    "GRADING_USER",
    "grading_environment",
    "grading_variables",
    "hub_env",
    "profile_env",
    "system_env",
]

# Everyone is graded as the same user, so answers that depend on the user match.
GRADING_USER = "learner"
GRADING_TOKEN = "hubtrain-grading-token"
SCRATCH_BUCKET = "hubtrain-scratch"
PERSISTENT_BUCKET = "hubtrain-persistent"
GRADING_BUCKETS = (SCRATCH_BUCKET, PERSISTENT_BUCKET)

# The only variables taken from the grader's own environment: what Python, Jupyter
# and nbgrader need to run, and nothing that can hold a secret. Everything else a
# kernel sees is set here from the hub file (tokens, database URLs and cloud keys in
# the TA's shell never reach learner code, nor a Dask worker).
SYSTEM_VARS = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_PATH",
    "JUPYTER_PLATFORM_DIRS",
    "IPYTHONDIR",
    "NBFORMAT_VALIDATOR",
)
SYSTEM_PREFIXES = ("LC_", "XDG_")


def system_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed part of `environ` (default `os.environ`), this venv's `bin` on PATH.

    Callers can rely on it holding none of the grader's secrets: only the names in
    `SYSTEM_VARS` and the locale (`LC_*`) and XDG folders are kept.
    """
    environ = os.environ if environ is None else environ
    kept = {
        key: value
        for key, value in environ.items()
        if key in SYSTEM_VARS or key.startswith(SYSTEM_PREFIXES)
    }
    return with_venv_on_path(kept)


def profile_env(profile: Profile | None, defaults: dict[str, Any] | None = None) -> dict[str, str]:
    """The variables a server started with `profile` (default choices) gets, on a hub
    whose hub-wide settings are `defaults` (`HubConfig.defaults.overrides()`).

    JupyterHub's `Spawner.get_env` writes memory as whole bytes and CPU as a
    float (`MEM_LIMIT=1073741824`, `CPU_LIMIT=1.0`); KubeSpawner adds the image as
    `JUPYTER_IMAGE_SPEC` and `JUPYTER_IMAGE`. A value the learner types on the
    options page (`{value}`) is not known here and is left out.
    """
    overrides = profile_overrides(profile.model_dump() if profile else {}, defaults)
    overrides = {k: v for k, v in overrides.items() if "{value}" not in str(v)}
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


def grading_variables(hub: HubConfig, workdir: Path, scheme: str = "s3") -> dict[str, str]:
    """The hub's side of the grading environment, without bucket endpoint or system variables.

    The hub's variables for the default profile and the user `learner`,
    `storage.scratch_env`/`persistent_env` set to `<scheme>://<bucket>/learner`, a dummy
    `JUPYTERHUB_API_TOKEN` and `HUBTRAIN_GRADING=1`. Travels to grading workers,
    which add `system_env()` and their own bucket server's `s3_env`.

    `hubtrain grade` gives every submission S3 buckets of its own (`s3://`, also
    on GCS hubs: the exercises open buckets through fsspec, which picks the
    filesystem from the address); `hubtrain grading-env` passes the hub's own
    scheme and serves it with the hub's provider.
    """
    env = hub_env(hub)
    env.update(profile_env(hub.default_profile, hub.defaults.overrides()))
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
    return env


@contextmanager
def grading_environment(hub: HubConfig, workdir: Path) -> Iterator[dict[str, str]]:
    """A complete environment for grading exercises of `hub` (for `hubtrain grading-env`).

    Starts a local bucket server of the hub's provider (S3 or GCS) with empty
    scratch and persistent buckets for the duration of the `with` block, and
    yields the variables to run nbgrader (or anything else) with: `system_env()`
    (an allow-list of the grader's own variables, never its tokens),
    `grading_variables()` with `s3://` or `gs://` addresses as on the hub, and the
    variables that point s3fs or gcsfs at the local server. The
    buckets start empty because the exercises create their own sample data.
    `workdir` receives the kernels' runtime files; it must be writable.

    Kernels that Jupyter tools (nbgrader, nbconvert, `jupyter execute`) start in
    this environment talk over unix sockets, not TCP ports (`kernel_sockets` says
    why): a `jupyter_config.py` on `JUPYTER_CONFIG_PATH`, beside the sockets, says so.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with kernel_sockets() as sockets, local_buckets(hub.storage.provider) as server:
        config_dir = Path(sockets.KernelManager.ip).parent
        (config_dir / "jupyter_config.py").write_text(_config_file(sockets), encoding="utf-8")
        for bucket in GRADING_BUCKETS:
            server.ensure_bucket(bucket)
        env = system_env()
        env.update(grading_variables(hub, workdir, scheme=hub.storage.scheme))
        env.update(bucket_env(server))
        env["JUPYTER_CONFIG_PATH"] = str(config_dir)
        yield env


def _config_file(config: Config) -> str:
    """`config` as the text of a `jupyter_config.py`, for tools that read only files."""
    lines = ["# Written by hubtrain's grading environment (see grading_environment)."]
    for section, values in config.items():
        lines += [f"c.{section}.{name} = {value!r}" for name, value in values.items()]
    return "\n".join(lines) + "\n"
