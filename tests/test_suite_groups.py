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
