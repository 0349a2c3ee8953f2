"""Benchmark: stock `nbgrader autograde` vs `hubtrain grade` on the whole course, same run.

Builds N learners per kind (correct, partial, blank) for every assignment of
`exercises/`, grades them both ways from copies of one course in the same
grading environment, checks that every cell's score is identical, and prints
seconds per notebook for each, the speed-up, and the floor: nbclient alone
executing the same notebooks one after another (kernel start plus cells).
It measures; it never fails on speed. Run: `.venv/bin/python benchmarks/grading.py --n 2`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from hubtrain.config import load_hub
from hubtrain.grading.course import prepare_course
from hubtrain.grading.execute import Limits
from hubtrain.grading.runner import grade_batch
from hubtrain.grading.samples import KINDS, answered
from hubtrain.gradingenv import grading_environment
from hubtrain.localenv import execute_notebook
from hubtrain.release import nbgrader_env

ROOT = Path(__file__).resolve().parent.parent


def cell_scores(course: Path) -> dict[tuple[str, ...], float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            (s.student.id, a.name, nb.name, g.name): g.score
            for a in gb.assignments
            for s in a.submissions
            for nb in s.notebooks
            for g in nb.grades
        }


def floor_seconds(course: Path, hub_file: Path, work: Path) -> float:
    """nbclient alone, sequentially, on the autograded notebooks (outputs cleared)."""
    hub = load_hub(hub_file)
    total = 0.0
    with grading_environment(hub, work / "floor-env") as env:
        for path in sorted((course / "autograded").glob("*/*/*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
            start = time.monotonic()
            execute_notebook(nb, path.parent, env, timeout=30)
            total += time.monotonic() - start
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2, help="learners per kind (default: 2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hub", default=str(ROOT / "hubs" / "practice.yml"))
    parser.add_argument(
        "--no-sandbox", action="store_true", help="grade without bubblewrap (as stock does)"
    )
    args = parser.parse_args()
    hub_file = Path(args.hub)
    hub = load_hub(hub_file)

    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-grading-") as tmp:
        work = Path(tmp)
        exercises = work / "exercises"
        shutil.copytree(ROOT / "exercises", exercises)
        course = prepare_course(hub, exercises, work / "out" / "course")
        stock = work / "stock"
        shutil.copytree(course.root, stock)
        incoming = work / "in" / "submitted"
        notebooks = 0
        for assignment, names in course.assignments.items():
            for name in names:
                release = nbformat.read(course.root / "release" / assignment / f"{name}.ipynb", 4)
                source = nbformat.read(course.root / "source" / assignment / f"{name}.ipynb", 4)
                for kind in KINDS:
                    for i in range(args.n):
                        target = incoming / f"{kind}{i}" / assignment / f"{name}.ipynb"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        nbformat.write(answered(release, source, kind), target)
                        notebooks += 1
        shutil.copytree(incoming, stock / "submitted")

        start = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hubtrain.cli",
                "grading-env",
                "--hub",
                str(hub_file),
                "--",
                sys.executable,
                "-m",
                "nbgrader",
                "autograde",
                "*",
                f"--CourseDirectory.root={stock}",
            ],
            cwd=stock,
            env=nbgrader_env(),
            check=True,
            capture_output=True,
        )
        stock_s = time.monotonic() - start

        start = time.monotonic()
        result = grade_batch(
            hub,
            exercises,
            incoming.parent,
            work / "out",
            workers=args.workers,
            limits=Limits(sandbox=not args.no_sandbox),
            say=lambda _: None,
        )
        ours_s = time.monotonic() - start
        floor_s = floor_seconds(work / "out" / "course", hub_file, work)

        same = cell_scores(stock) == cell_scores(work / "out" / "course")
        print(
            f"{notebooks} notebooks ({args.n} per kind x {len(KINDS)} kinds x whole course), "
            f"{args.workers} workers, {os.cpu_count()} cores"
        )
        print(f"identical scores: {'yes' if same else 'NO'}")
        sandboxes = sorted({row.sandbox for row in result.rows})
        print(f"learner code ran in: {', '.join(sandboxes)} (hubtrain grade; stock: no sandbox)")
        print(f"stock nbgrader autograde: {stock_s:7.1f} s  {stock_s / notebooks:5.2f} s/notebook")
        print(f"hubtrain grade:           {ours_s:7.1f} s  {ours_s / notebooks:5.2f} s/notebook")
        print(
            f"floor (nbclient, serial): {floor_s:7.1f} s  {floor_s / notebooks:5.2f} s/notebook"
            f"  (/{args.workers} workers: {floor_s / notebooks / args.workers:.2f})"
        )
        print(f"speed-up vs stock: {stock_s / ours_s:.2f}x")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
