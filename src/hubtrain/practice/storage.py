"""Buckets that survive a restart: the moto server's objects saved in the state folder.

moto keeps objects in memory, so the practice hub copies every object to
`<state>/buckets/<bucket>/<quoted key>` when it stops and uploads them again
when it starts. A key is quoted into one file name, so keys such as `a/` and
`a/b` (a folder marker and a file inside it) can both be kept.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["load_objects", "save_objects"]


def save_objects(client: Any, folder: Path) -> int:
    """Write every object of every bucket to `folder`; return how many.

    The copy is written beside `folder` first and swapped in at the end, so a
    failure half-way leaves the previous copy intact.
    """
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = 0
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        (staging / name).mkdir()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=name, Key=item["Key"])["Body"].read()
                (staging / name / quote(item["Key"], safe="")).write_bytes(body)
                count += 1
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return count


def load_objects(client: Any, folder: Path) -> int:
    """Create the buckets saved in `folder` and upload their objects; return how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    count = 0
    for bucket_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket_dir.name)
        for path in sorted(bucket_dir.iterdir()):
            client.put_object(
                Bucket=bucket_dir.name, Key=unquote(path.name), Body=path.read_bytes()
            )
            count += 1
    return count
