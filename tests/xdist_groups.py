"""Make `--dist loadgroup` keep each `xdist_group` on one worker again.

pytest-xdist 3.8 marks a grouped test by appending `@group` to `item._nodeid`, but
pytest 9 keeps a node's id in `item._id`, so the suffix is lost and xdist's scheduler
spreads every group over all workers. Each worker then starts its own copy of an
expensive shared fixture (a practice hub, a built book), which doubles the suite's
time on two cores. This plugin adds the suffix where pytest 9 reads it; it does
nothing when xdist already did (the id ends in `@group`) or when not distributing
by group. `tests/test_suite_groups.py` runs a small suite to prove it works.

It also hands out the longest groups first. xdist gives each worker the next unit
(a group, or one ungrouped test) in order of test count, so a group of three long
tests (the walkthrough) used to start last, while the other worker had run out of
work. Here the next unit is the one with the most seconds in `SECONDS` (measured,
see there); ungrouped tests keep xdist's order and fill the gaps at the end.
"""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId
from xdist.scheduler import LoadGroupScheduling

# Seconds each group (or ungrouped test, its [params] left out) took on one worker of
# a whole run, setup and teardown included: `pytest -n 2 --dist loadgroup
# --durations=0`, summed by group. Measured on a shared machine four times slower than
# a free one; only their order matters. Refresh them when a group grows or shrinks a lot.
SECONDS = {
    "hostile-room": 657.0,
    "walkthrough": 582.0,
    "rehearse": 492.0,
    "practice-hub": 437.0,
    "tests/test_grading_roundtrip.py::test_real_exercises_score_like_stock_nbgrader": 315.0,
    "book-example-managed": 283.0,
    "idle-culling": 265.0,
    "exercises-grading": 246.0,
    "book-practice": 237.0,
    "practice-hub-r": 219.0,
    "buckets": 201.0,
    "book-example-gcs": 198.0,
    "plain-hub": 192.0,
    "tests/test_config_real_world.py::"
    "test_book_builds_from_the_toc_whatever_else_lies_in_the_tree": 182.0,
    "a11y-hub": 180.0,
    "room": 165.0,
    "tests/test_build.py::test_unknown_exercise_path_fails_the_build": 155.0,
    "confinement": 141.0,
    "tests/test_build.py::test_cli_build_prints_where_to_open_the_book": 137.0,
    "book-practice-plain": 133.0,
    "tests/test_build.py::test_a_broken_page_fails_the_build": 105.0,
}


def seconds(scope: str) -> float:
    """A unit's `SECONDS`: by its group's name, or by its test's id without [params]."""
    return SECONDS.get(scope, SECONDS.get(scope.split("[", 1)[0], 0.0))


def _group_names(item: pytest.Item) -> list[str]:
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return sorted(names)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # xdist sets `loadgroup` on each worker's options; the controller never schedules.
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = _group_names(item)
        if names and "@" not in item.nodeid:
            # The suffix goes into the last name, after any [params], as xdist puts it.
            path, _, rest = f"{item.nodeid}@{'_'.join(names)}".partition("::")
            item._id = NodeId(path=path, names=tuple(rest.split("::")))


class LongestFirst(LoadGroupScheduling):
    """xdist's `loadgroup`, handing out the unit with the most `SECONDS` first."""

    def _assign_work_unit(self, node: object) -> None:
        longest = max(self.workqueue, key=seconds)
        self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)  # type: ignore[arg-type]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LongestFirst | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    return LongestFirst(config, log)  # type: ignore[arg-type]
