"""What the book says a lazy Zarr read fetches, checked against the pinned zarr.

The counting store is taken from the book's own page (lazy-reads.md), so the test
measures with exactly what learners read, and a claim such as "`group["temperature"]`
reads nothing" fails here if zarr fetches anything.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.storage import FsspecStore

PAGE = Path(__file__).resolve().parent.parent / "book/05-files-and-data-in-the-cloud/lazy-reads.md"


def book_counting_store() -> type:
    """The `CountingStore` class, defined by running the page's own code cell."""
    cells = re.findall(r"```\{code-cell\} python3\n(.*?)```", PAGE.read_text(), flags=re.S)
    (cell,) = [c for c in cells if "class CountingStore" in c]
    namespace: dict[str, Any] = {}
    exec(cell, namespace)
    return namespace["CountingStore"]


def test_a_group_and_its_array_fetch_metadata_objects_and_no_chunks() -> None:
    url = f"memory://lazy-{uuid.uuid4().hex}/model-output.zarr"
    group = zarr.open_group(url, mode="w")
    written = group.create_array("temperature", shape=(60, 4), chunks=(30, 4), dtype="float32")
    written[:] = np.arange(240, dtype="float32").reshape(60, 4)

    store = book_counting_store()(FsspecStore.from_url(url, read_only=True))
    opened = zarr.open_group(store, mode="r")
    assert sorted(store.fetched) == ["zarr.json"]  # the group's metadata only
    store.fetched.clear()

    temperature = opened["temperature"]
    # Indexing the group fetches the array's own metadata object: small, and no chunk.
    assert sorted(store.fetched) == ["temperature/zarr.json"]
    assert 0 < store.fetched["temperature/zarr.json"] < 2000
    store.fetched.clear()

    january = temperature[0:31]
    assert sorted(store.fetched) == ["temperature/c/0/0", "temperature/c/1/0"]
    assert january.shape == (31, 4)
