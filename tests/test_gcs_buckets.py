"""GCS hubs: a real local GCS emulator that an argument-less `gcsfs.GCSFileSystem()` reaches,
and the module 5 exercise graded against it."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_grading import own_home

from hubtrain.course.release import nbgrader_env, stage_course
from hubtrain.grading.samples import answered
from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.buckets import LocalS3Error
from hubtrain.localcloud.gcsbuckets import LocalGCS, gcs_env

pytestmark = pytest.mark.xdist_group("buckets")

ROOT = Path(__file__).resolve().parent.parent
GCS_HUB = ROOT / "hubs" / "example-gcs.yml"
HUBTRAIN = str(Path(sys.executable).with_name("hubtrain"))

# Run in a fresh interpreter, as a notebook kernel is: gcsfs reads the environment at start.
ROUND_TRIP = """
import fsspec, gcsfs
fs = gcsfs.GCSFileSystem()
fs.pipe("course-data/ada/hello.txt", b"hello")
with fsspec.open("gs://course-data/ada/note.txt", "w") as f:
    f.write("note")
other, path = fsspec.url_to_fs("gs://course-data/ada")
print(fs.cat("course-data/ada/hello.txt").decode(), type(other).__name__, sorted(other.ls(path)))
"""


def _clean_env() -> dict[str, str]:
    drop = ("AWS_", "FSSPEC_", "GOOGLE_", "GCS", "STORAGE_EMULATOR", "CLOUDSDK_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def gcs() -> LocalGCS:
    with LocalGCS() as server:
        server.ensure_bucket("course-data")
        yield server


def test_an_unmodified_gcsfs_talks_to_the_local_server(gcs: LocalGCS) -> None:
    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        env={**_clean_env(), **gcs_env(gcs.endpoint_url)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[:2] == ["hello", "GCSFileSystem"]
    assert "course-data/ada/note.txt" in run.stdout
    # The objects are really on the server, not in a client-side cache.
    assert {"ada/hello.txt", "ada/note.txt"} <= set(gcs.keys("course-data"))


def test_it_listens_on_localhost_only_and_is_rerunnable(gcs: LocalGCS) -> None:
    assert gcs.endpoint_url.startswith("http://127.0.0.1:")
    gcs.ensure_bucket("course-data")
    gcs.put("course-data", "seed/read me.txt", b"seeded")
    assert "seed/read me.txt" in gcs.keys("course-data")
    with pytest.raises(LocalS3Error) as failure:
        LocalGCS(port=gcs.port).start(timeout=20)
    assert f"port {gcs.port}" in str(failure.value)


def test_a_data_dir_keeps_buckets_across_restarts_and_memory_does_not(tmp_path: Path) -> None:
    with LocalGCS(data_dir=tmp_path / "gcs") as server:
        server.put("kept", "ada/notes.txt", b"kept")
    with LocalGCS(data_dir=tmp_path / "gcs") as server:
        assert server.keys("kept") == ["ada/notes.txt"]
    with LocalGCS() as server:
        assert server.buckets() == []


def _scores(course: Path, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission("05-cloud-data", student).notebooks[0]
        return {grade.name: grade.score for grade in notebook.grades if grade.max_score}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Module 5 staged for the GCS hub file and released by real nbgrader."""
    course = tmp_path_factory.mktemp("gcs-course")
    stage_course(load_hub(GCS_HUB), ROOT / "exercises", course)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "05-cloud-data", "--force"],
        cwd=course,
        env={**nbgrader_env(), "HOME": own_home(course / "home")},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return course


@pytest.mark.slow
def test_module_5_is_graded_against_gs_buckets_on_a_gcs_hub(course: Path) -> None:
    """Stock nbgrader under `hubtrain grading-env` for a GCS hub file: gs:// prefixes,
    the solution gets full marks, the blank release none."""
    env = {**nbgrader_env(), "HOME": own_home(course / "home")}
    shutil.copytree(
        course / "source" / "05-cloud-data", course / "submitted/solution/05-cloud-data"
    )
    shutil.copytree(course / "release" / "05-cloud-data", course / "submitted/blank/05-cloud-data")
    probe = "import os, sys; sys.exit(0 if os.environ['SCRATCH_BUCKET'].startswith('gs://') else 3)"
    grading_env = [HUBTRAIN, "grading-env", "--hub", str(GCS_HUB), "--"]
    assert subprocess.run([*grading_env, sys.executable, "-c", probe], env=env).returncode == 0
    autograde = [sys.executable, "-m", "nbgrader", "autograde", "*", "--create"]
    run = subprocess.run(
        [*grading_env, *autograde], cwd=course, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_assignment("05-cloud-data").notebooks[0]
        maximum = {cell.name: cell.max_score for cell in notebook.grade_cells}
    assert _scores(course, "solution") == maximum
    assert set(_scores(course, "blank").values()) == {0}


@pytest.mark.slow
def test_hubtrain_grade_reaches_the_gcs_server_from_its_sandbox(
    course: Path, tmp_path: Path
) -> None:
    """`hubtrain grade` runs kernels without a network; the GCS server is bridged in."""
    path = "05-cloud-data/cloud_data.ipynb"
    release = nbformat.read(course / "release" / path, 4)
    source = nbformat.read(course / "source" / path, 4)
    submitted = tmp_path / "in" / "ada" / path
    submitted.parent.mkdir(parents=True)
    nbformat.write(answered(release, source, "correct"), submitted)
    command = [HUBTRAIN, "grade", "--hub", str(GCS_HUB), "--workers", "1"]
    command += ["--out", str(tmp_path / "out"), str(tmp_path / "in")]
    run = subprocess.run(
        command,
        cwd=ROOT,
        env={**nbgrader_env(), "HOME": own_home(tmp_path / "home")},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with open(tmp_path / "out" / "grades.csv", newline="") as grades:
        row = next(csv.DictReader(grades))
    assert row["status"] == "graded", row
    assert float(row["score"]) == float(row["max_score"]) > 0, row
