"""Module 2's exercises on hubs that set no memory or CPU limit, from real values files.

Most Zero to JupyterHub hubs set no limit at all (the chart's default), and JupyterHub
then writes no `MEM_LIMIT` or `CPU_LIMIT` into the server's environment. A learner on
such a hub must be able to pass every task by reporting what is true there, "no
limit" (`math.inf` in Python, `Inf` in R), and a learner who reads a missing
variable as 0 must be told that the hub sets no limit. The hubs are made with
`hubtrain init --no-input` from public values files in `tests/files/values/real/`;
each notebook, with its solutions, runs in the environment a server of that hub gets.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import nbformat
import pytest
from test_hubcheck import load_runtime

from hubtrain.cli import main
from hubtrain.course.release import stage_course
from hubtrain.grading.environment import hub_env, profile_env, system_env
from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import execute_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exercises-no-limit")]

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "files" / "values" / "real"
# A plain hub (no profile list, no limit, no guarantee) and a hub whose default
# profile sets no limit.
VALUES = ["z2jh-dev-config.values.yaml", "2i2c-ncar-cisl.values.yaml"]
NOTEBOOKS = {
    "02-profiles/profiles.ipynb": ("limits", "my_profile", "smallest_fit", "fits_in_memory"),
    "02-profiles-r/profiles_r.ipynb": (
        "r_limits",
        "r_enforced_memory",
        "r_smallest_fit",
        "r_fits_in_memory",
    ),
}


def _hub(values: str, folder: Path) -> HubConfig:
    """The hub file `hubtrain init --no-input` writes for a real values file."""
    hub_file = folder / "hub.yml"
    args = ["init", "--no-input", "--name", values, "--url", "https://hub.example.org"]
    args += ["--content-repo", "https://github.com/example/course"]
    assert main([*args, "--profiles-from", str(REAL / values), "--file", str(hub_file)]) == 0
    return load_hub(hub_file)


def _server_env(hub: HubConfig) -> dict[str, str]:
    """What a server of `hub` started with its default profile has: no limit variables."""
    env = {**hub_env(hub, "ada"), **profile_env(hub.default_profile, hub.defaults.overrides())}
    assert "MEM_LIMIT" not in env and "CPU_LIMIT" not in env, "the file must set no limit"
    return env


@pytest.mark.parametrize("values", VALUES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_module_2_passes_on_a_hub_without_limits(
    values: str, notebook: str, tmp_path: Path
) -> None:
    hub = _hub(values, tmp_path)
    stage_course(hub, ROOT / "exercises", tmp_path / "course")
    path = tmp_path / "course" / "source" / notebook
    progress = tmp_path / "progress.json"
    env = {**system_env(), **_server_env(hub)}
    env.update(
        HOME=str(tmp_path),
        HUBTRAIN_PROGRESS=str(progress),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    run = nbformat.read(path, as_version=4)
    execute_notebook(run, path.parent, env)
    errors = [o for c in run.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == [], [e.evalue for e in errors]
    results = json.loads(progress.read_text())[path.parent.name]
    assert {task: results[task]["passed"] for task in NOTEBOOKS[notebook]} == dict.fromkeys(
        NOTEBOOKS[notebook], True
    )


def test_reading_a_missing_limit_as_zero_is_told_there_is_no_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook's own check of task 1, run on the old mistake: `os.environ.get(...,
    "0")` on a hub without limits."""
    hub = _hub(VALUES[0], tmp_path)
    for key in [k for k in os.environ if k.startswith(("MEM_", "CPU_", "JUPYTERHUB_"))]:
        monkeypatch.delenv(key)
    for key, value in _server_env(hub).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HUBTRAIN_PROGRESS", str(tmp_path / "progress.json"))
    hubcheck = load_runtime(tmp_path / "02-profiles", hub)
    source = nbformat.read(ROOT / "exercises" / "02-profiles" / "profiles.ipynb", as_version=4)
    check = next(
        c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_limits"
    )
    names = {"hubcheck": hubcheck, "math": math, "my_cpu_limit": math.inf}
    with pytest.raises(hubcheck.CheckFailed) as failed:
        exec(check, {**names, "my_mem_limit_gib": 0.0})
    assert "MEM_LIMIT is not set, so there is no limit" in str(failed.value)
    exec(check, {**names, "my_mem_limit_gib": math.inf})  # the right answer passes
