"""The gate's last results, checked in as `accessibility/results.json`.

The book's accessibility page is built from this file (and the waiver file), so
the strict build never runs a browser and stays the same from run to run. The
gate compares what it finds with the file and fails when they differ; run it
with `HUBTRAIN_A11Y_RECORD=1` to write the new results instead, and commit them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hubtrain.a11y.axe import TAGS, Violation, axe_version
from hubtrain.a11y.waivers import Waiver

__all__ = ["RESULTS", "check_or_record", "summary"]

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "accessibility" / "results.json"


def summary(
    browser_version: str, views: list[str], violations: list[Violation], waivers: list[Waiver]
) -> dict[str, Any]:
    """One scope's results: browser, views checked, and each rule that failed.

    Element counts are left out: they change with the hub's state (how many
    files JupyterLab lists), while the rules that fail do not.
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for v in violations:
        entry = found.setdefault(
            (v.rule, v.impact),
            {"rule": v.rule, "impact": v.impact, "help": v.help, "views": set(), "waived": set()},
        )
        entry["views"].add(v.view)
        entry["waived"].update(w.upstream for w in waivers if w.matches(v))
    return {
        "browser": f"Chromium {browser_version.split('.')[0]}",
        "views": sorted(views),
        "found": [
            {**e, "views": len(e["views"]), "waived": sorted(e["waived"])}
            for _, e in sorted(found.items())
        ],
    }


def check_or_record(scope: str, result: dict[str, Any], path: Path = RESULTS) -> str:
    """'' if `result` is what the file holds for `scope`; else what differs.

    With HUBTRAIN_A11Y_RECORD=1 in the environment, write it instead.
    """
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    expected = {"axe": axe_version(), "tags": TAGS}
    if os.environ.get("HUBTRAIN_A11Y_RECORD") == "1":
        stored.update(expected)
        stored.setdefault("scopes", {})[scope] = result
        path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return ""
    old = {**{k: stored.get(k) for k in expected}, **stored.get("scopes", {}).get(scope, {})}
    new = {**expected, **result}
    # The browser's version is reported on the book's page but not compared:
    # Debian ships Chromium security releases often, and a new major version
    # alone says nothing about our pages.
    differences = [
        f"{key}: recorded {old.get(key)!r}, found {new[key]!r}"
        for key in new
        if key != "browser" and old.get(key) != new[key]
    ]
    if differences:
        return (
            f"{path.name} is out of date for {scope} (run the gate with "
            "HUBTRAIN_A11Y_RECORD=1 and commit the file):\n" + "\n".join(differences)
        )
    return ""
