"""The suite's own scheduling: tests in one `xdist_group` share a worker, and the
longest groups start first.

The shared practice hubs and built books rely on the first; the suite's wall time on
two workers on the second (see `tests/xdist_groups.py`). One small suite, run once
with two workers, shows both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Each test notes which worker ran it, in the order the worker ran them.
NOTE = """
import os

def note(what):
    with open(os.environ["RAN"], "a") as ran:
        ran.write(os.environ["PYTEST_XDIST_WORKER"] + " " + what + "\\n")
"""

GROUPED = """
import pytest
from note import note

pytestmark = pytest.mark.xdist_group("shared")

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    note("grouped")
"""

LOOSE = """
import pytest
from note import note

@pytest.mark.parametrize("n", range(6))
def test_loose(n):
    note("loose")
"""

# A group `SECONDS` names as long: the fewest tests, and collected last.
LONG = """
import pytest
from note import note

pytestmark = pytest.mark.xdist_group("walkthrough")

def test_long():
    note("long")
"""


def test_a_group_runs_on_one_worker_and_the_longest_starts_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{Path(__file__).parent}:{pytester.path}")
    monkeypatch.setenv("RAN", str(pytester.path / "ran.txt"))
    pytester.makepyfile(note=NOTE, test_grouped=GROUPED, test_loose=LOOSE, test_z_long=LONG)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-p", "xdist_groups", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=13)
    ran = [line.split() for line in (pytester.path / "ran.txt").read_text().splitlines()]
    grouped = {worker for worker, what in ran if what == "grouped"}
    assert len(grouped) == 1, f"one group ran on {sorted(grouped)}: {ran}"
    # xdist alone hands out the group with the fewest tests last.
    (long,) = [worker for worker, what in ran if what == "long"]
    first = next(what for worker, what in ran if worker == long)
    assert first == "long", f"the long group did not start first on {long}: {ran}"
