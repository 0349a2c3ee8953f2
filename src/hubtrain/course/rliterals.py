"""The literals R code spells out, read by R's own parser, for the answer-leak scan.

`release.find_answer_literals` asks here about the cells of R notebooks: which
literal answers a solution assigns (`leaked_line <- 3`, `right <- c(edited = "keep")`)
and which literals a visible check shows. The parsing is done by `rliterals.R` in
one `Rscript` run for all the cells given, so a course scan starts R once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RCell", "scan_r_cells"]

SCRIPT = Path(__file__).with_name("rliterals.R")


@dataclass
class RCell:
    """What one R cell spells out; values are read as the Python scanner reads literals.

    A number is an int when whole (R's `3` is a double), an unnamed R vector is a
    set (its order is not part of an answer), a named vector or list is a dict,
    an unnamed list is a list, NULL and NA are None.
    """

    parsed: bool
    assigned: list[tuple[str, Any]] = field(default_factory=list)
    literals: list[Any] = field(default_factory=list)
    letters: list[Any] = field(default_factory=list)


def _value(tagged: dict[str, Any]) -> Any:
    [(kind, payload)] = tagged.items()
    if kind == "null":
        return None
    if kind == "num":
        number = float(payload)
        return int(number) if number.is_integer() else number
    if kind in ("str", "bool"):
        return payload
    if kind == "set":
        return {_value(item) for item in payload}
    if kind == "list":
        return [_value(item) for item in payload]
    return {str(key): _value(item) for key, item in payload}


def scan_r_cells(sources: list[str]) -> list[RCell]:
    """Read each R cell source with R's parser (one Rscript run); one RCell per source.

    A cell R cannot parse has `parsed` False and nothing else. Raises RuntimeError
    when R is not installed or the script fails: a scan that cannot read R must
    not pass as a clean one.
    """
    if not sources:
        return []
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise RuntimeError("scanning R notebooks for shown answers needs Rscript (install R)")
    result = subprocess.run(
        [rscript, "--vanilla", str(SCRIPT)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed:\n{result.stderr}")
    cells = []
    for raw in json.loads(result.stdout):
        cells.append(
            RCell(
                parsed=raw["parsed"],
                assigned=[(name, _value(value)) for name, value in raw["assigned"]],
                literals=[_value(value) for value in raw["literals"]],
                letters=[_value(value) for value in raw["letters"]],
            )
        )
    return cells
