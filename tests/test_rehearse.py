"""`hubtrain rehearse` against a real practice hub: five learners walk module 1
with a profile mix (an unlisted choice included), everything they made is
removed (checked through the hub's API), a killed rehearsal's users are found
and removed, bad input is one line, and the report draws its charts in Chromium."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.rehearse.plan import PREFIX

ROOT = Path(__file__).resolve().parent.parent
HUBTRAIN = Path(sys.executable).with_name("hubtrain")
UNLISTED = "quay.io/jupyter/base-notebook:x1"
pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.xdist_group("rehearse")]


class Hub:
    """A running practice hub, its hub file (with the real port) and the token."""

    def __init__(self, practice: PracticeHub, hub_file: Path) -> None:
        self.practice = practice
        self.file = hub_file
        self.url = practice.url
        self.token = practice.rehearsal_token_path.read_text().strip()

    def api(self, path: str) -> requests.Response:
        return requests.get(
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )

    def rehearsal_users(self) -> list[dict]:
        reply = self.api(f"users?name_filter={PREFIX}")
        reply.raise_for_status()
        return [u for u in reply.json() if u["name"].startswith(PREFIX)]


def _env(token: str, tmp: Path) -> dict[str, str]:
    env = {**os.environ, "HUBTRAIN_HUB_TOKEN": token}
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    return env


# Seconds each simulated learner may take (the command's default is 600, as long
# as pytest gives a whole test): a stuck learner fails with its reason instead.
LEARNER_TIMEOUT = ["--timeout", "240"]
# Seconds a worker of the killed-master test waits for its silent master (Locust: 60).
# Its master sends a heartbeat each second, so a live one is never this late.
MASTER_SILENT = 10
MASTER_TIMEOUT_ENV = "HUBTRAIN_REHEARSE_MASTER_TIMEOUT"


def rehearse(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [str(HUBTRAIN), "rehearse", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=420,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the rehearsal did not end: {exc.stdout!r} {exc.stderr!r}")


def start_rehearsal(
    args: list[str], env: dict[str, str], output: int = subprocess.DEVNULL
) -> subprocess.Popen:
    """A rehearsal running in the background, for tests that interrupt it."""
    return subprocess.Popen(
        [str(HUBTRAIN), "rehearse", *args],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output == subprocess.PIPE else output,
        text=True,
    )


def wait_while_running(process: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """Wait (up to 300 s) until `ready()`; fail if the rehearsal ends first."""
    deadline = time.monotonic() + 300
    while not ready():
        assert process.poll() is None, f"the rehearsal ended before {what}"
        assert time.monotonic() < deadline, f"not after 300 s: {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, practice_hub: HubConfig) -> Iterator[Hub]:
    base = tmp_path_factory.mktemp("rehearse-hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_CONFIG_DIR", str(base / "jupyter-config"))
        patch.setenv("JUPYTER_RUNTIME_DIR", str(base / "jupyter-runtime"))
        practice = PracticeHub(practice_hub, base / "state", root=ROOT, port=free_port())
        with practice:
            # The hub file as the TA would have it: naming the hub's real address.
            data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
            data["url"] = practice.hub.url
            data["content"]["repo"] = practice.hub.content.repo
            hub_file = base / "hub.yml"
            hub_file.write_text(yaml.safe_dump(data, sort_keys=False))
            yield Hub(practice, hub_file)


@pytest.fixture(scope="module")
def five(
    hub: Hub, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess, Path]:
    """One rehearsal of five learners, shared by the tests that read its results."""
    out = tmp_path_factory.mktemp("rehearsal")
    args = ["--hub", str(hub.file), "--users", "5", "--out", str(out), "--p95", "300"]
    args += LEARNER_TIMEOUT
    args += ["--profile", "small", "--profile", "medium,image=r"]
    args += ["--profile", f"medium,image={UNLISTED}"]
    return rehearse(args, _env(hub.token, out)), out


def test_five_learners_walk_module_one_and_leave_nothing(
    hub: Hub, five: tuple[subprocess.CompletedProcess, Path]
) -> None:
    result, out = five
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("PASS: 5/5 learners finished")
    rows = list(csv.DictReader((out / "learners.csv").open(encoding="utf-8")))
    assert len(rows) == 5
    for row in rows:
        assert row["outcome"] == "ok", row
        assert int(row["checks_total"]) >= 3 and row["checks_passed"] == row["checks_total"]
        for step in ("ready", "pull", "first_check", "stop"):
            assert float(row[step]) > 0, (step, row)
    # What each server got, as its kernel saw it: the profile mix, taken in turn,
    # with the typed "Other" image reaching the server as KubeSpawner would set it.
    got = sorted((r["profile"], r["image"], r["mem_limit"]) for r in rows)
    assert got == sorted(
        [
            ("small", "quay.io/jupyter/scipy-notebook:2025-11-10", str(1024**3)),
            ("small", "quay.io/jupyter/scipy-notebook:2025-11-10", str(1024**3)),
            ("medium,image=r", "quay.io/jupyter/r-notebook:2025-11-10", str(4 * 1024**3)),
            ("medium,image=r", "quay.io/jupyter/r-notebook:2025-11-10", str(4 * 1024**3)),
            (f"medium,image--unlisted-choice={UNLISTED}", UNLISTED, str(4 * 1024**3)),
        ]
    )
    # Clean-up, seen by the hub: no rehearsal user is left, and no server runs.
    assert hub.rehearsal_users() == []
    assert all(not u.get("servers") for u in hub.api("users").json())


def test_report_draws_its_charts_in_chromium(
    five: tuple[subprocess.CompletedProcess, Path],
) -> None:
    from playwright.sync_api import sync_playwright

    from hubtrain.practice.browser import launch

    _, out = five
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto((out / "report.html").as_uri())
            assert page.locator(".verdict").inner_text().startswith("PASS")
            dots = page.locator("#ready-chart circle.dot")
            bars = page.locator("#steps-chart rect.bar")
            assert dots.count() == 5
            assert bars.count() == 15  # ready, pull, first check for each learner
            for shapes in (dots, bars):
                for i in range(shapes.count()):
                    box = shapes.nth(i).bounding_box()
                    assert box is not None and box["width"] > 0 and box["height"] > 0
            # The slowest learner's dot is drawn highest (smallest y). Learners a few
            # tenths of a second apart can share a height (the axis reaches the
            # --p95 limit), so "highest" is to within half a pixel.
            slowest = page.locator("#step-stats tbody tr").first.locator("td").nth(4).inner_text()
            name = slowest.split(" (")[0]
            titles = [dots.nth(i).locator("title").text_content() for i in range(5)]
            ys = [dots.nth(i).bounding_box()["y"] for i in range(5)]
            mine = next(i for i, title in enumerate(titles) if title.startswith(f"{name}: "))
            assert ys[mine] <= min(ys) + 0.5, (slowest, titles, ys)
            assert page.locator("#ready-chart line.limit").count() == 1  # --p95 300
        finally:
            browser.close()


def test_a_killed_rehearsals_users_are_removed_later(hub: Hub, tmp_path: Path) -> None:
    env = _env(hub.token, tmp_path)
    args = ["--hub", str(hub.file), "--users", "2", "--out", str(tmp_path / "out")]
    process = start_rehearsal(args, env)
    try:
        wait_while_running(process, lambda: len(hub.rehearsal_users()) >= 2, "its users existed")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert len(hub.rehearsal_users()) == 2  # nothing could clean up after kill -9
    result = rehearse(["--hub", str(hub.file), "--clean-up"], env)
    assert result.returncode == 0, result.stderr
    assert "Removed 2 rehearsal user(s)" in result.stdout
    assert hub.rehearsal_users() == []


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_failed_pull_names_its_cause(hub: Hub, tmp_path: Path) -> None:
    """A course repository that is not there: the row says git's message and the HTTP status,
    not only nbgitpuller's "Remote content unavailable"."""
    data = yaml.safe_load(hub.file.read_text())
    data["content"]["repo"] = data["content"]["repo"].rstrip("/") + "-no-such-course"
    wrong = tmp_path / "wrong-repo.yml"
    wrong.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    args = ["--hub", str(wrong), "--users", "1", "--out", str(out), *LEARNER_TIMEOUT]
    result = rehearse(args, _env(hub.token, tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    [row] = list(csv.DictReader((out / "learners.csv").open(encoding="utf-8")))
    assert row["outcome"] == "pull error", row
    assert "the course repository answers HTTP 404" in row["message"], row["message"]
    assert "not found" in row["message"], row["message"]  # git's own words
    assert hub.rehearsal_users() == []


def test_bad_token_is_one_line(hub: Hub, tmp_path: Path) -> None:
    env = _env("not-a-token-of-this-hub", tmp_path)
    line = _one_line(rehearse(["--hub", str(hub.file), "--users", "1"], env))
    assert "does not accept the token in $HUBTRAIN_HUB_TOKEN" in line
    assert hub.rehearsal_users() == []


def test_unreachable_hub_is_one_line(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
    data["url"] = f"http://127.0.0.1:{free_port()}"
    hub_file = tmp_path / "gone.yml"
    hub_file.write_text(yaml.safe_dump(data))
    line = _one_line(rehearse(["--hub", str(hub_file), "--users", "1"], _env("x", tmp_path)))
    assert line == f"hubtrain: cannot reach the hub at {data['url']}/ (connection failed)"


def test_unknown_profile_is_one_line(tmp_path: Path) -> None:
    args = ["--users", "1", "--profile", "huge"]
    line = _one_line(rehearse(args, _env("x", tmp_path)))
    assert "no profile 'huge' in hubs/practice.yml (profiles: small, medium)" in line


def test_event_file_sets_the_mix_and_flags_win(practice_hub: HubConfig, tmp_path: Path) -> None:
    """An event file's profile shares become the learners' user_options, checked
    against the hub file; a flag overrides the file."""
    from hubtrain.rehearse.plan import make_plan

    event = tmp_path / "event.yml"
    event.write_text(
        "users: 4\narrival: poisson\nrate: 0.5\nprofiles:\n"
        "  - {profile: small, share: 3}\n"
        f"  - {{profile: medium, options: {{image: '{UNLISTED}'}}}}\n"
        "limits: {p95: 90}\n"
    )
    plan = make_plan(practice_hub, {"users": 8}, event)
    assert (plan.users, plan.arrival, plan.rate, plan.limits.p95) == (8, "poisson", 0.5, 90)
    assert [plan.user_options(i) for i in range(4)] == [
        {"profile": "small"},
        {"profile": "small"},
        {"profile": "small"},
        {"profile": "medium", "image--unlisted-choice": UNLISTED},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users: 3\nprofile: small\n", "profile is not a known key"),
        ("users: 3\nprofiles: [{profile: medium, options: {image: 'no tag'}}]\n", "with a tag"),
        ("users: 3\nprofiles: [{profile: small, options: {image: r}}]\n", "has no option 'image'"),
        ("users: 0\n", "users expected a number of at least 1"),
    ],
)
def test_a_bad_event_file_is_one_line(
    practice_hub: HubConfig, tmp_path: Path, text: str, expected: str
) -> None:
    """(The command prints a PlanError as one line, like the unknown profile above.)"""
    from hubtrain.rehearse.plan import PlanError, make_plan

    event = tmp_path / "event.yml"
    event.write_text(text)
    with pytest.raises(PlanError) as error:
        make_plan(practice_hub, {}, event)
    line = str(error.value)
    assert "\n" not in line and expected in line and str(event) in line, line


def test_learners_spread_over_locust_workers(hub: Hub, tmp_path: Path) -> None:
    """Locust's master/worker mode: two worker processes walk one learner each."""
    args = ["--hub", str(hub.file), "--users", "2", "--workers", "2", "--out", str(tmp_path)]
    args += ["--master-port", str(free_port()), *LEARNER_TIMEOUT]
    result = rehearse(args, _env(hub.token, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader((tmp_path / "learners.csv").open(encoding="utf-8")))
    assert [r["outcome"] for r in rows] == ["ok", "ok"], result.stdout + result.stderr
    walkers = {r["walked_by"] for r in rows}
    assert len(walkers) == 2, walkers
    assert hub.rehearsal_users() == []


def test_a_worker_that_dies_mid_walk_fails_its_learner_not_the_rehearsal(
    hub: Hub, tmp_path: Path
) -> None:
    """A worker killed while its learner walks: the master stops waiting for that
    learner (its row says why), still reports the other, and removes both users."""
    args = ["--hub", str(hub.file), "--users", "2", "--workers", "2", "--out", str(tmp_path)]
    args += ["--master-port", str(free_port()), *LEARNER_TIMEOUT]
    process = start_rehearsal(args, _env(hub.token, tmp_path), subprocess.PIPE)

    def walking() -> bool:
        # Both servers requested: each worker has its learner and is walking it.
        servers = sum(bool(u.get("servers")) for u in hub.rehearsal_users())
        return servers >= 2 and len(psutil.Process(process.pid).children()) >= 2

    try:
        wait_while_running(process, walking, "its learners set off")
        workers = psutil.Process(process.pid).children()
        victim = workers[0].pid
        workers[0].kill()
        output, _ = process.communicate(timeout=420)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, output  # one learner of two failed: the verdict is FAIL
    rows = list(csv.DictReader((tmp_path / "learners.csv").open(encoding="utf-8")))
    by_walker = {r["walked_by"].rsplit(":", 1)[-1]: r for r in rows if r["walked_by"]}
    lost = [r for r in rows if r["outcome"] != "ok"]
    assert len(rows) == 2 and len(lost) == 1, rows
    assert "stopped answering" in lost[0]["message"], lost
    assert str(victim) not in by_walker, rows  # the dead worker reported nothing
    assert hub.rehearsal_users() == []


def test_a_workers_master_killed_outright_leaves_no_worker_behind(hub: Hub, tmp_path: Path) -> None:
    """kill -9 of the rehearsal: its worker stops once the master has been silent for
    Locust's minute (it used to wait for it for ever), and --clean-up removes the user.
    The minute is shortened to MASTER_SILENT seconds here, through the variable the
    worker reads, so the test waits for the worker's own decision, not for a clock."""
    args = ["--hub", str(hub.file), "--users", "1", "--workers", "1", "--out", str(tmp_path)]
    args += ["--master-port", str(free_port()), *LEARNER_TIMEOUT]
    env = {**_env(hub.token, tmp_path), MASTER_TIMEOUT_ENV: str(MASTER_SILENT)}
    process = start_rehearsal(args, env)
    try:
        wait_while_running(
            process,
            lambda: any(u.get("servers") for u in hub.rehearsal_users()),
            "its learner set off",
        )
        workers = psutil.Process(process.pid).children()
        assert len(workers) == 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    _, alive = psutil.wait_procs(workers, timeout=150)
    for worker in alive:
        worker.kill()
    assert alive == [], "the worker ran on after its rehearsal was killed"
    result = rehearse(["--hub", str(hub.file), "--clean-up"], env)
    assert result.returncode == 0, result.stderr
    assert hub.rehearsal_users() == []


@pytest.mark.parametrize("value", ["0", "a minute"])
def test_a_bad_master_timeout_is_one_line_naming_the_variable(value: str, tmp_path: Path) -> None:
    """A worker told to wait a nonsense time for its master says so, before connecting."""
    env = {**_env("any-token", tmp_path), MASTER_TIMEOUT_ENV: value}
    hub_file = str(ROOT / "hubs" / "practice.yml")
    result = rehearse(["--hub", hub_file, "--worker", f"127.0.0.1:{free_port()}"], env)
    assert result.returncode == 2, result.stdout + result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and f"{MASTER_TIMEOUT_ENV}={value!r}" in line, line
