"""The suite's own scheduling: tests in one `xdist_group` share a worker.

The shared practice hubs and built books rely on it (see `tests/xdist_groups.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

GROUPED = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("shared")

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    print("WORKER", os.environ["PYTEST_XDIST_WORKER"])
"""

LOOSE = """
@__import__("pytest").mark.parametrize("n", range(6))
def test_loose(n):
    pass
"""


def test_a_group_runs_on_one_worker(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    pytester.makepyfile(test_grouped=GROUPED, test_loose=LOOSE)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-v", "-p", "xdist_groups", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=12)
    workers = set(re.findall(r"\[(gw\d)\].*PASSED test_grouped\.py", result.stdout.str()))
    assert len(workers) == 1, f"one group ran on {sorted(workers)}:\n{result.stdout.str()}"


LAST_IN_ORDER = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("walkthrough")

def test_long():
    with open(os.environ["RAN"], "a") as ran:
        ran.write(os.environ["PYTEST_XDIST_WORKER"] + " long\\n")
"""

MANY = """
import os
import pytest

@pytest.mark.parametrize("n", range(6))
def test_short(n):
    with open(os.environ["RAN"], "a") as ran:
        ran.write(os.environ["PYTEST_XDIST_WORKER"] + " short\\n")
"""


def test_the_longest_group_is_handed_out_first(pytester: pytest.Pytester, monkeypatch) -> None:
    """A group measured as long (`SECONDS`) starts first on its worker, even though
    it has the fewest tests and is collected last (xdist alone would start it last)."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setenv("RAN", str(pytester.path / "ran.txt"))
    pytester.makepyfile(test_a_many=MANY, test_z_long=LAST_IN_ORDER)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-p", "xdist_groups", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=7)
    lines = (pytester.path / "ran.txt").read_text().split("\n")
    worker = next(line.split()[0] for line in lines if line.endswith(" long"))
    first = next(line for line in lines if line.startswith(worker + " "))
    assert first == f"{worker} long", lines
