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
# --junitxml=...`, summed by group (2026-12-07, a quiet two-core machine; the
# exercises-grading group then also held the `hubtrain grade` round trip, about 60 s
# more). Only their order matters. Refresh them when a group grows or shrinks a lot.
SECONDS = {
    "walkthrough": 179.0,
    "hostile-room": 150.0,
    "exercises-grading": 150.0,
    "book-practice": 106.0,
    "rehearse": 64.0,
    "idle-culling": 54.0,
    "room": 46.0,
    "a11y-hub": 37.0,
    "plain-hub": 33.0,
    "practice-hub-r": 31.0,
    "tests/test_config_real_world.py::"
    "test_book_builds_from_the_toc_whatever_else_lies_in_the_tree": 29.0,
    "practice-hub": 28.0,
    "buckets": 26.0,
    "confinement": 17.0,
    "grading-corpus": 14.0,
    "tests/test_workflows.py::test_github_workflow_steps_build_and_publish_locally": 13.0,
    "exercises-offhub": 12.0,
    "book-example-managed": 11.0,
    "tests/test_grading.py::test_killed_run_resumes_without_duplicates_or_losses": 10.0,
    "book-example-gcs": 10.0,
    "book-practice-plain": 8.0,
    "a11y-room": 8.0,
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
