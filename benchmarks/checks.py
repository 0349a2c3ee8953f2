"""How long a learner waits for each kind of check, next to a bare function call.

Runs the learner runtime as a release ships it (a copy beside `hub.json`), with
progress written to a temporary file, and prints the time per check and its ratio
to the baseline measured in the same run. The course aims for well under 100 ms
per check that does not use the network. It measures; it never fails on speed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from hubtrain.course.release import LEARNER_RUNTIME, write_hub_facts
from hubtrain.grading.environment import hub_env, profile_env
from hubtrain.hubfile.load import load_hub

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def load_runtime(folder: Path) -> ModuleType:
    shutil.copy(LEARNER_RUNTIME, folder / "hubcheck.py")
    spec = importlib.util.spec_from_file_location("hubcheck", folder / "hubcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["hubcheck"] = module
    spec.loader.exec_module(module)
    return module


def per_call(func: Callable[[], object], number: int) -> float:
    """Seconds per call: the best of five repeats, quietly (checks print)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return min(timeit.repeat(func, number=number, repeat=5)) / number


def main() -> None:
    hub = load_hub(ROOT / "hubs" / "practice.yml")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "01-login"
        folder.mkdir()
        write_hub_facts(hub, folder)
        os.environ.update(hub_env(hub), **profile_env(hub.default_profile))
        os.environ["HUBTRAIN_PROGRESS"] = str(Path(tmp) / "progress.json")
        os.environ.pop("HUBTRAIN_GRADING", None)
        hc = load_runtime(folder)
        sys.modules["ipywidgets"] = None  # type: ignore[assignment]  # text fallback only

        def graded_task() -> None:
            with hc.task("who_am_i", "Your username"):
                hc.expect(hc.need_env("JUPYTERHUB_USER") == "learner", "wrong user")

        def failing_task() -> None:
            with contextlib.suppress(hc.CheckFailed), hc.task("t", "T"):
                hc.expect(False, "x is 3, not 4.", "Add one.")

        with contextlib.redirect_stdout(io.StringIO()):
            hc.question("q", "Q", "Pick one.", {"a": "x", "b": "y"}, "b", {})
        checks: dict[str, Callable[[], object]] = {
            "graded task (pass, records progress)": graded_task,
            "graded task (fail, records progress)": failing_task,
            "self-check (live, text fallback)": lambda: hc.self_check(
                "s", "S", lambda: hc.need_env("MEM_LIMIT")
            ),
            "profile the server started with": hc.matching_profiles,
            "question answered in text": lambda: hc.answer("q", "b"),
            "module progress summary": hc.summary,
        }
        baseline = per_call(lambda: None, 100_000)
        print(f"baseline (a bare function call): {baseline * 1e9:.0f} ns")
        print(f"{'check':<40} {'ms per check':>12} {'x baseline':>12}  under {TARGET_MS:.0f} ms")
        for name, func in checks.items():
            seconds = per_call(func, 200)
            ok = "yes" if seconds * 1000 < TARGET_MS else "NO"
            print(f"{name:<40} {seconds * 1000:>12.3f} {seconds / baseline:>12.0f}  {ok}")


if __name__ == "__main__":
    main()
