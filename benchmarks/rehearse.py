"""Benchmark: can the practice hub hold a room? Request-to-ready for 1, 10 and 30
learners arriving in a burst, measured with `hubtrain rehearse` on one practice hub.

The baseline is one learner alone on the same hub in the same run; the ratios say
how much a full room slows each learner down. Each rehearsal walks module 1 in
full (spawn, pull, checks, stop) and its failures are printed too. It measures
and prints; it never fails on speed.

Run: `make bench`, or `.venv/bin/python benchmarks/rehearse.py [--sizes 1 10 30]`.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from hubtrain.config import load_hub
from hubtrain.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.rehearse.report import percentile

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def rehearse(hub_file: Path, token: str, users: int, out: Path) -> list[dict[str, str]]:
    """Run one burst rehearsal; return its CSV rows (every learner)."""
    env = dict(os.environ, HUBTRAIN_HUB_TOKEN=token)
    command = [str(BIN / "hubtrain"), "rehearse", "--hub", str(hub_file), "--users", str(users)]
    command += ["--yes", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)
    with (out / "learners.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 30])
    args = parser.parse_args()
    hub = load_hub(ROOT / "hubs" / "practice.yml")
    results = []
    with tempfile.TemporaryDirectory(prefix="hubtrain-bench-rehearse-") as name:
        tmp = Path(name)
        os.environ["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
        os.environ["PATH"] = os.pathsep.join(
            [str(BIN), str(ROOT / "node_modules" / ".bin"), os.environ["PATH"]]
        )
        with PracticeHub(hub, tmp / "state", root=ROOT, port=free_port()) as practice:
            data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
            data["url"] = practice.hub.url
            data["content"]["repo"] = practice.hub.content.repo
            hub_file = tmp / "hub.yml"
            hub_file.write_text(yaml.safe_dump(data, sort_keys=False))
            token = practice.rehearsal_token_path.read_text().strip()
            for users in args.sizes:
                rows = rehearse(hub_file, token, users, tmp / f"out-{users}")
                results.append((users, rows))
    print("Practice hub, learners arriving in a burst: request to ready, seconds")
    print(
        f"{'learners':>9}{'p50':>8}{'p95':>8}{'p95 ratio':>11}{'ok':>5}{'failed':>8}"
        "  pull p95  first check p95"
    )
    base = None
    for users, rows in results:
        ready = [float(r["ready"]) for r in rows if r["ready"]]
        pull = [float(r["pull"]) for r in rows if r["pull"]]
        check = [float(r["first_check"]) for r in rows if r["first_check"]]
        p50, p95 = percentile(ready, 50), percentile(ready, 95)
        base = base or p95
        ok = sum(r["outcome"] == "ok" for r in rows)
        ratio = f"{p95 / base:9.1f}x" if p95 and base else "      –"
        print(
            f"{users:>9}{p50 or 0:8.1f}{p95 or 0:8.1f}{ratio:>11}{ok:>5}{len(rows) - ok:>8}"
            f"  {percentile(pull, 95) or 0:8.1f}  {percentile(check, 95) or 0:14.1f}"
        )
        for row in rows:
            if row["outcome"] != "ok":
                print(f"    {row['name']}: {row['outcome']}: {row['message']}")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
