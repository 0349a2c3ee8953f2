"""`hubtrain doctor` on a server: what the hub image and settings lack, and how to add it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubtrain.course.release import write_hub_facts
from hubtrain.hubfile import doctor
from hubtrain.hubfile.doctor import check, requirements
from hubtrain.hubfile.load import load_hub

ROOT = Path(__file__).resolve().parent.parent
DOCTOR = ROOT / "src" / "hubtrain" / "hubfile" / "doctor.py"


def _facts_folder(tmp_path: Path, hub: str) -> Path:
    """A course folder as the exercise links create it: `<assignment>/hub.json`."""
    folder = tmp_path / "course" / "01-login"
    folder.mkdir(parents=True)
    write_hub_facts(load_hub(ROOT / "hubs" / f"{hub}.yml"), folder)
    return folder.parent


def _server_env(scheme: str = "s3") -> dict[str, str]:
    """The variables JupyterHub's spawner and the hub's extraEnv give a server."""
    return {
        **os.environ,
        "JUPYTERHUB_USER": "ada",
        "JUPYTERHUB_API_URL": "http://hub:8081/hub/api",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/",
        "JUPYTERHUB_API_TOKEN": "secret-token-value",
        "SCRATCH_BUCKET": f"{scheme}://scratch-bucket/ada",
        "PERSISTENT_BUCKET": f"{scheme}://persistent-bucket/ada",
    }


def _doctor(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubtrain.cli", "doctor", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Python environment with none of the course's packages, like a bare image."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


def test_a_complete_server_passes(tmp_path: Path) -> None:
    course = _facts_folder(tmp_path, "example-managed")
    result = _doctor(env=_server_env("s3"), cwd=course)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All " in result.stdout and "checks passed" in result.stdout
    assert "python package s3fs: " in result.stdout
    # Tokens are never printed.
    assert "secret-token-value" not in result.stdout


def test_a_bare_image_lists_every_missing_package_and_how_to_add_it(
    tmp_path: Path, bare_python: str
) -> None:
    course = _facts_folder(tmp_path, "example-gcs")
    result = _doctor("--python", bare_python, env=_server_env("gs"), cwd=course)
    assert result.returncode == 1
    for package in ("nbgitpuller", "jupyterlab", "ipywidgets", "fsspec", "gcsfs", "notebook"):
        assert f"MISSING python package {package}: not installed" in result.stdout
        assert f"`pip install {package}`" in result.stdout
    assert "s3fs" not in result.stdout
    assert "6 problem(s)" in result.stdout


def test_missing_and_wrong_bucket_variables(tmp_path: Path) -> None:
    course = _facts_folder(tmp_path, "example-gcs")
    env = _server_env("s3")  # an S3 address on a GCS hub
    del env["PERSISTENT_BUCKET"]
    result = _doctor("--facts", str(course / "01-login" / "hub.json"), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "MISSING variable SCRATCH_BUCKET: 's3://scratch-bucket/ada' should start with gs://" in (
        result.stdout
    )
    assert "MISSING variable PERSISTENT_BUCKET: not set" in result.stdout
    assert "singleuser.extraEnv: `PERSISTENT_BUCKET: gs://<bucket>/$(JUPYTERHUB_USER)`" in (
        result.stdout
    )


def test_outside_a_server_the_hub_variables_are_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    result = _doctor("--hub", str(ROOT / "hubs" / "practice.yml"), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "MISSING variable JUPYTERHUB_USER: not set" in result.stdout
    assert "run doctor in a terminal of your server on the hub" in result.stdout


def test_no_facts_is_a_one_line_error(tmp_path: Path) -> None:
    result = _doctor(env=_server_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hubtrain doctor: no hub facts here")
    assert len(result.stderr.strip().splitlines()) == 1
    broken = tmp_path / "hub.json"
    broken.write_text("{}")
    result = _doctor(env=_server_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "not a hubtrain hub.json" in result.stderr


def test_runs_as_a_standalone_script_with_only_the_standard_library(tmp_path: Path) -> None:
    """Champions can copy doctor.py to a hub that has no hubtrain installed."""
    course = _facts_folder(tmp_path, "example-managed")
    copy = tmp_path / "doctor.py"
    copy.write_text(DOCTOR.read_text())
    result = subprocess.run(
        [sys.executable, "-I", str(copy), "--facts", str(course / "01-login" / "hub.json")],
        env=_server_env("s3"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_requirements_follow_the_hub_file() -> None:
    managed = requirements(load_hub(ROOT / "hubs" / "example-managed.yml").facts())
    gcs = requirements(load_hub(ROOT / "hubs" / "example-gcs.yml").facts())
    managed_names = {r.name for r in managed}
    gcs_names = {r.name for r in gcs}
    assert {"s3fs", "git", "SCRATCH_BUCKET"} <= managed_names
    assert "gcsfs" not in managed_names and "notebook" not in managed_names
    assert {"gcsfs", "notebook"} <= gcs_names and "s3fs" not in gcs_names


def test_check_reads_the_given_environment() -> None:
    facts = load_hub(ROOT / "hubs" / "example-managed.yml").facts()
    findings = {f.requirement.name: f for f in check(facts, env=_server_env("s3"))}
    assert findings["SCRATCH_BUCKET"].ok
    assert findings["SCRATCH_BUCKET"].detail == "s3://scratch-bucket/ada"
    assert findings["JUPYTERHUB_API_TOKEN"].detail == "set"


def test_the_r_track_is_reported_without_changing_the_verdict(tmp_path: Path) -> None:
    course = _facts_folder(tmp_path, "example-managed")
    result = _doctor(env=_server_env("s3"), cwd=course)
    assert result.returncode == 0, result.stdout + result.stderr
    r_part = result.stdout.split("For the R notebooks (optional", 1)[1]
    # This machine has Debian's R with IRkernel registered in the project's environment.
    assert "ok      R kernel: ir" in r_part
    assert "ok      R packages: IRkernel, jsonlite, digest, httr, sf, stars" in r_part
    assert "RStudio: " in r_part


def test_a_bare_image_has_no_r_kernel(tmp_path: Path, bare_python: str) -> None:
    course = _facts_folder(tmp_path, "example-managed")
    env = {**_server_env("s3"), "PATH": str(Path(bare_python).parent)}
    result = _doctor("--python", bare_python, env=env, cwd=course)
    r_part = result.stdout.split("For the R notebooks (optional", 1)[1]
    assert "MISSING R kernel: no kernel with language R" in r_part
    assert "MISSING R packages: Rscript is not on PATH: no R here" in r_part
    assert "MISSING RStudio: no jupyter-rsession-proxy" in r_part


def test_missing_r_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # A package no R has, next to the real list: the real Rscript must single it out.
    monkeypatch.setitem(doctor.R_PACKAGES, "hubtrainNoSuchPackage", "a test")
    packages = next(f for f in doctor.check_r() if f.requirement.name == "R packages")
    assert not packages.ok
    assert packages.detail == "not installed: hubtrainNoSuchPackage"
