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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

from hubtrain.hubfile.load import load_hub
from hubtrain.localcloud.localenv import free_port
from hubtrain.practice import PracticeHub
from hubtrain.rehearse.report import percentile

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class CPUMeter(threading.Thread):
    """CPU seconds used by the hub's process tree (hub, proxy, learners' servers and
    kernels) and by the whole machine, while a rehearsal runs: on a shared machine
    this says how much of the 2 cores the room actually had."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.used: dict[int, float] = {}
        self.done = threading.Event()
        self.machine_start = psutil.cpu_times()
        self.started = time.monotonic()

    def _sample(self) -> None:
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                times = process.cpu_times()
                self.used[process.pid] = times.user + times.system
            except psutil.Error:
                pass

    def run(self) -> None:
        before = dict(self.used)
        while not self.done.wait(0.25):
            self._sample()
        self._sample()
        self.hub_cpu = sum(self.used.values()) - sum(before.values())

    def stop(self) -> tuple[float, float, float]:
        """(seconds of wall time, CPU-s of the hub tree, CPU-s of the whole machine)."""
        self.done.set()
        self.join()
        end = psutil.cpu_times()
        busy = sum(getattr(end, f) - getattr(self.machine_start, f) for f in ("user", "system"))
        return time.monotonic() - self.started, self.hub_cpu, busy


def rehearse(
    hub_file: Path, token: str, users: int, out: Path, hub_pid: int
) -> tuple[list[dict[str, str]], tuple[float, float, float]]:
    """Run one burst rehearsal; return its CSV rows (every learner) and CPU use."""
    env = dict(os.environ, HUBTRAIN_HUB_TOKEN=token)
    command = [str(BIN / "hubtrain"), "rehearse", "--hub", str(hub_file), "--users", str(users)]
    command += ["--yes", "--out", str(out)]
    meter = CPUMeter(hub_pid)
    meter._sample()
    meter.start()
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)
    cpu = meter.stop()
    with (out / "learners.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle)), cpu


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
            assert practice._process is not None
            for users in args.sizes:
                out = tmp / f"out-{users}"
                results.append(
                    (users, *rehearse(hub_file, token, users, out, practice._process.pid))
                )
            if any(r["outcome"] != "ok" for _, rows, _ in results for r in rows):
                # Keep the evidence: the hub's log says why a spawn or a pull failed.
                keep = ROOT / ".hubtrain" / "bench-rehearse"
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(practice.log_path, keep / "jupyterhub.log")
                for users, _, _ in results:
                    shutil.copy(
                        tmp / f"out-{users}" / "learners.csv", keep / f"learners-{users}.csv"
                    )
                print(f"Some learners failed; the hub's log and the CSVs are in {keep}")
    print("Practice hub, learners arriving in a burst: request to ready, seconds")
    print(
        f"{'learners':>9}{'p50':>8}{'p95':>8}{'p95 ratio':>11}{'ok':>5}{'failed':>8}"
        "  pull p95  first check p95"
    )
    base = None
    for users, rows, _ in results:
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
    cores = os.cpu_count() or 1
    print(f"\nCPU while each rehearsal ran ({cores} cores; the machine may be shared):")
    print(
        f"{'learners':>9}{'wall s':>8}{'hub+servers CPU-s':>19}{'per learner':>13}"
        f"{'others CPU-s':>14}"
    )
    for users, _, (wall, hub_cpu, busy) in results:
        print(
            f"{users:>9}{wall:8.1f}{hub_cpu:19.1f}{hub_cpu / users:13.2f}"
            f"{max(busy - hub_cpu, 0):14.1f}  (of {wall * cores:.0f} CPU-s available)"
        )


if __name__ == "__main__":
    main()
