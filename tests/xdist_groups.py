"""Make `--dist loadgroup` keep each `xdist_group` on one worker again.

pytest-xdist 3.8 marks a grouped test by appending `@group` to `item._nodeid`, but
pytest 9 keeps a node's id in `item._id`, so the suffix is lost and xdist's scheduler
spreads every group over all workers. Each worker then starts its own copy of an
expensive shared fixture (a practice hub, a built book), which doubles the suite's
time on two cores. This plugin adds the suffix where pytest 9 reads it; it does
nothing when xdist already did (the id ends in `@group`) or when not distributing
by group. `tests/test_suite_groups.py` runs a small suite to prove it works.
"""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


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
