"""The learner runtime `hubcheck.py`, loaded as a release ships it: a file beside `hub.json`.

At the end, its R twin hubcheck.R (run by real R) against it: an author computes an
answer's digest once and writes it into both twins' visible checks, so the two runtimes
must agree wherever the mapping in hubcheck.R's comment says they do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from hubtrain.course.release import LEARNER_RUNTIME, LEARNER_RUNTIME_R, write_hub_facts
from hubtrain.grading.environment import profile_env
from hubtrain.hubfile.config import HubConfig
from hubtrain.localcloud.localenv import execute_notebook

ROOT = Path(__file__).resolve().parent.parent
HUB_VARIABLES = ("JUPYTERHUB_", "MEM_", "CPU_", "JUPYTER_IMAGE", "HUBTRAIN_GRADING", "SCRATCH")


def load_runtime(folder: Path, hub: HubConfig) -> ModuleType:
    """Copy hubcheck.py and hub.json into `folder` (a module folder) and import it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(LEARNER_RUNTIME, folder / "hubcheck.py")
    write_hub_facts(hub, folder)
    name = f"hubcheck_{abs(hash(folder))}"
    spec = importlib.util.spec_from_file_location(name, folder / "hubcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def off_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine that is not a hub; progress goes to a file in tmp_path."""
    for key in list(os.environ):
        if key.startswith(HUB_VARIABLES):
            monkeypatch.delenv(key)
    progress = tmp_path / "progress.json"
    monkeypatch.setenv("HUBTRAIN_PROGRESS", str(progress))
    return progress


@pytest.fixture
def hc(tmp_path: Path, practice_hub: HubConfig, off_hub: Path) -> ModuleType:
    return load_runtime(tmp_path / "01-login", practice_hub)


def test_the_runtime_needs_nothing_from_hubtrain() -> None:
    source = LEARNER_RUNTIME.read_text()
    assert "hubtrain" not in "".join(
        line for line in source.splitlines() if line.startswith(("import", "from"))
    )


def test_off_hub_a_check_says_what_it_needs_in_a_sentence(hc: ModuleType) -> None:
    with pytest.raises(hc.CheckFailed) as failure:
        hc.need_env("JUPYTERHUB_USER")
    lines = failure.value._render_traceback_()
    assert lines[0] == "✗ this check must run on your hub: JUPYTERHUB_USER is not set."
    assert lines[1].startswith("  Hint: ")
    assert not any("Traceback" in line for line in lines)


def test_an_empty_server_name_is_a_real_value(
    hc: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "")
    assert hc.need_env("JUPYTERHUB_SERVER_NAME", allow_empty=True) == ""
    with pytest.raises(hc.CheckFailed):
        hc.need_env("JUPYTERHUB_SERVER_NAME")


def test_a_passing_task_says_so_and_is_recorded(
    hc: ModuleType, off_hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hc.task("who_am_i", "Your username"):
        hc.expect(True, "never shown")
    assert capsys.readouterr().out == "✓ Your username: passed.\n"
    entry = json.loads(off_hub.read_text())["01-login"]["who_am_i"]
    assert entry["passed"] is True and entry["title"] == "Your username"


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("undefined_answer", "✗ `undefined_answer` is not defined yet."),
        ("raise NotImplementedError()", "✗ this task has not been answered yet."),
        ("assert 1 == 2", "✗ not quite right yet."),
        ("{}['key']", "✗ the check stopped with KeyError: 'key'."),
        ("hc.expect(False, 'x is 3, not 4.', 'Add one.')", "✗ x is 3, not 4."),
    ],
)
def test_whatever_fails_inside_a_task_becomes_one_sentence_and_a_hint(
    hc: ModuleType, off_hub: Path, body: str, sentence: str
) -> None:
    with pytest.raises(hc.CheckFailed) as failure, hc.task("t", "T"):
        exec(body, {"hc": hc})
    lines = failure.value._render_traceback_()
    assert lines[0] == sentence
    assert len(lines) == 2 and lines[1].startswith("  Hint: ")
    # nbgrader sees an AssertionError, so the cell scores zero.
    assert isinstance(failure.value, AssertionError)
    assert json.loads(off_hub.read_text())["01-login"]["t"]["passed"] is False


def test_a_message_names_files_in_home_by_tilde_not_by_where_homes_are_kept(
    hc: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on the practice hub, whose homes live under its state folder in /tmp.
    home = tmp_path / "state" / "homes" / "ana"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(hc.CheckFailed) as failure, hc.task("t", "T"):
        hc.expect(False, f"{home / 'course' / 'x.ipynb'} is missing.", f"Look in {home}.")
    assert failure.value.lines() == ["✗ ~/course/x.ipynb is missing.", "  Hint: Look in ~."]
    # A neighbour whose name starts like the home is not the home.
    assert hc.shown_path(f"{home}2/x and {home}.old") == f"{home}2/x and {home}.old"
    assert str(tmp_path) not in _rscript(
        f'source("{LEARNER_RUNTIME_R}")\n'
        f'cat(hubcheck$failure("{home}/course is missing.", "Open {home}.")$message)',
        tmp_path,
    )


def _outputs(kernel: str, cells: list[str], folder: Path, allow_errors: bool = True) -> list:
    """Each cell's outputs after a real kernel ran `cells` in `folder` (as nbclient does)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": kernel, "display_name": kernel, "language": kernel}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    execute_notebook(nb, folder, dict(os.environ), allow_errors=allow_errors)
    return [cell.outputs for cell in nb.cells]


@pytest.mark.slow
def test_a_failed_r_check_shows_what_a_failed_python_check_shows(
    tmp_path: Path, off_hub: Path, practice_hub: HubConfig
) -> None:
    """Through the real IRkernel: the sentence and the hint, as one error output, and no
    "Error:", traceback or check source; nbgrader still sees an error (the cell scores 0)."""
    from nbclient.exceptions import CellExecutionError

    load_runtime(tmp_path / "py", practice_hub)
    (tmp_path / "r").mkdir()
    shutil.copy(LEARNER_RUNTIME_R, tmp_path / "r" / "hubcheck.R")
    python = _outputs(
        "python3",
        [
            "import hubcheck\nx = 3",
            'with hubcheck.task("t", "T"):\n'
            '    y = 2\n    hubcheck.expect(x == y, "x is 3, not 2.", "Set x to y.")',
        ],
        tmp_path / "py",
    )
    r_cells = [
        'source("hubcheck.R")\nx <- 3',
        'hubcheck$task("t", "T", {\n  y <- 2\n  hubcheck$expect(x == y, "x is 3, not 2.",'
        ' "Set x to y.")\n})',
        'fail()\ncat("not reached")',  # nbgrader's stub for an unanswered R cell
        'hubcheck$task("t2", "T2", { not_defined_yet })',
        # Outside a task (a setup cell): the failure also stops the cell's code.
        'scratch <- paste0(hubcheck$need_env("SCRATCH_BUCKET"), "/x")\ncat("not reached")',
    ]
    r = _outputs("ir", r_cells, tmp_path / "r")
    [box] = python[1]
    assert (box.output_type, box.ename) == ("error", "CheckFailed")
    assert box.traceback == ["✗ x is 3, not 2.", "  Hint: Set x to y."]
    assert [dict(o) for o in r[1]] == [dict(box)]
    for outputs in r[1:]:
        [output] = outputs
        assert output.output_type == "error" and output.ename == "CheckFailed"
        assert output.traceback[0].startswith("✗ ") and output.traceback[1].startswith("  Hint: ")
        assert len(output.traceback) == 2
        shown = "\n".join(output.traceback)
        for crash in ("Error", "Traceback", "hubcheck$", "stop(", "fail()\n"):
            assert crash not in shown, shown
    assert r[2][0].traceback[0] == "✗ this task has not been answered yet."
    assert r[3][0].traceback[0] == "✗ `not_defined_yet` is not defined yet."
    assert r[4][0].traceback[0] == "✗ this check must run on your hub: SCRATCH_BUCKET is not set."
    # The kernel's reply says "error": Run All stops at the failed check, as in Python.
    with pytest.raises(CellExecutionError):
        _outputs("ir", [*r_cells[:2], 'cat("not reached")'], tmp_path / "r", allow_errors=False)


def test_a_self_check_never_raises_and_grading_skips_it(
    hc: ModuleType,
    off_hub: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # the plain-text fallback
    hc.self_check("layout", "Layout", lambda: hc.need_env("JUPYTERHUB_USER"))
    assert "✗ this check must run on your hub" in capsys.readouterr().out
    off_hub.unlink()
    monkeypatch.setenv("HUBTRAIN_GRADING", "1")
    hc.self_check("layout", "Layout", lambda: 1 / 0)
    assert capsys.readouterr().out == "– Layout: self-checked live on your hub; not graded.\n"
    with hc.task("graded", "Graded"):
        pass
    assert not off_hub.exists(), "grading must not write progress into the grader's home"


def test_a_question_answered_in_plain_text_gives_feedback(
    hc: ModuleType,
    off_hub: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    hc.question("q1", "Q", "Pick one.", {"a": "this", "b": "that"}, "b", {"a": "No.", "b": "Yes."})
    assert 'hubcheck.answer("q1", "a")' in capsys.readouterr().out
    hc.answer("q1", "a")
    hc.answer("q1", "B)")
    hc.answer("q1", "z")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✗ Not quite. No."
    assert out[1] == "✓ Right. Yes."
    assert out[2].startswith("✗ 'z' is not one of the letters a, b")
    assert json.loads(off_hub.read_text())["01-login"]["q1"]["passed"] is True


def test_a_digest_compares_answers_without_showing_them(
    hc: ModuleType, off_hub: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert hc.digest({"f", "a", "e"}) == hc.digest({"a", "e", "f"}) != hc.digest({"a", "e"})
    assert hc.digest(4) == hc.digest(4.0) != hc.digest("4")

    class Agreeable:
        def __eq__(self, other: object) -> bool:
            return True

    assert hc.digest(Agreeable()) not in {hc.digest(4), hc.digest("4"), hc.digest(None)}
    # A question whose right letter is given as a digest works as with the letter.
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    right = hc.digest(["q2", "b"])
    hc.question("q2", "Q", "Pick one.", {"a": "this", "b": "that"}, right, {"b": "Yes."})
    hc.answer("q2", "a")
    hc.answer("q2", "b")
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == ["✗ Not quite.", "✓ Right. Yes."]


def test_memory_sizes_are_read_as_jupyterhub_reads_them(hc: ModuleType) -> None:
    assert hc.mem_bytes("1G") == 2**30
    assert hc.mem_bytes("512M") == 512 * 2**20
    assert hc.mem_bytes("1.9G") == int(1.9 * 2**30)
    assert hc.mem_bytes(1000) == 1000


def test_the_profile_a_server_started_with_is_recognised(
    hc: ModuleType, practice_hub: HubConfig
) -> None:
    small, medium = practice_hub.profile_list
    assert hc.matching_profiles(profile_env(small)) == ["small"]
    assert hc.matching_profiles(profile_env(medium)) == ["medium"]
    # Medium with an image typed into its "Other image" box is still medium.
    typed = {**profile_env(medium), "JUPYTER_IMAGE_SPEC": "quay.io/jupyter/base-notebook:latest"}
    assert hc.matching_profiles(typed) == ["medium"]
    assert hc.matching_profiles({**profile_env(small), "MEM_LIMIT": str(2 * 2**30)}) == []


def test_a_profile_is_named_by_its_slug_or_by_the_name_the_options_page_shows(
    hc: ModuleType, tmp_path: Path
) -> None:
    # Learners see "Medium" on the options page and "Medium (default)" in the book's table.
    names = ["medium", "Medium", " MEDIUM ", "Small (default)", "large", "", 3]
    assert [hc.profile_slug(n) for n in names] == [
        "medium",
        "medium",
        "medium",
        "small",
        None,
        None,
        None,
    ]
    # hubcheck.R reads them alike (NULL for no profile), from the same hub.json.
    shutil.copy(hc.HERE / "hub.json", tmp_path / "hub.json")
    script = (
        f'source("{LEARNER_RUNTIME_R}")\n'
        'for (n in list("medium", "Medium", " MEDIUM ", "Small (default)", "large", "", 3))'
        ' cat(if (is.null(hubcheck$profile_slug(n))) "NULL" else hubcheck$profile_slug(n), "\\n")\n'
    )
    assert _rscript(script, tmp_path).split() == [
        "medium",
        "medium",
        "medium",
        "small",
        "NULL",
        "NULL",
        "NULL",
    ]


def test_profile_limits_are_sorted_with_default_choices(
    tmp_path: Path, managed_hub: HubConfig, off_hub: Path
) -> None:
    hc = load_runtime(tmp_path / "02-profiles", managed_hub)
    rows = hc.profile_limits()
    assert [r["slug"] for r in rows] == ["small", "medium", "gpu"]
    assert rows[0]["mem_limit"] == 4 * 2**30
    # medium's default option choice ("mem_16") sets the same 16G as its base.
    assert rows[1]["mem_limit"] == 16 * 2**30


def _rscript(script: str, cwd: Path) -> str:
    """What an R script run by Rscript in `cwd` prints (it must succeed)."""
    result = subprocess.run(
        ["Rscript", "--vanilla", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=dict(os.environ),
    )
    return result.stdout


def _hub(practice_hub: HubConfig, **changes: object) -> HubConfig:
    """The practice hub with some top-level keys of its hub file replaced."""
    data = {**practice_hub.model_dump(exclude={"source"}), **changes}
    return HubConfig.model_validate(data)


SHARED_NODE = {
    "profile_list": [
        {"display_name": "Hub-wide", "slug": "plain"},
        {
            "display_name": "No limit",
            "slug": "unlimited",
            "kubespawner_override": {"mem_limit": None, "cpu_limit": None},
        },
        {
            "display_name": "Your own size",
            "slug": "typed",
            "profile_options": {
                "memory": {
                    "display_name": "Memory in GiB",
                    "unlisted_choice": {
                        "enabled": True,
                        "kubespawner_override": {"mem_limit": "{value}G"},
                    },
                }
            },
        },
    ],
    "defaults": {"mem_limit": "2G", "mem_guarantee": "1G", "cpu_limit": 1, "image": "a/b:1"},
}


def test_hub_wide_defaults_apply_unless_a_profile_overrides_them(
    tmp_path: Path, practice_hub: HubConfig, off_hub: Path
) -> None:
    """Absent from an override: the hub-wide value. `null`: no limit. `{value}G`: typed."""
    hub = _hub(practice_hub, **SHARED_NODE)
    hc = load_runtime(tmp_path / "02-profiles", hub)
    rows = hc.profile_limits()  # a typed size has no limit known in advance: not listed
    assert [(r["slug"], r["mem_limit"], r["cpu_limit"]) for r in rows] == [("plain", 2 * 2**30, 1)]
    plain, unlimited, typed = hub.profile_list
    assert profile_env(plain, hub.defaults.overrides())["MEM_LIMIT"] == str(2 * 2**30)
    assert "MEM_LIMIT" not in profile_env(unlimited, hub.defaults.overrides())
    assert profile_env(unlimited, hub.defaults.overrides())["MEM_GUARANTEE"] == str(2**30)
    # The size a learner types is not known in advance: no MEM_LIMIT for grading.
    assert "MEM_LIMIT" not in profile_env(typed, hub.defaults.overrides())
    server = {"MEM_LIMIT": str(2 * 2**30), "CPU_LIMIT": "1.0", "JUPYTER_IMAGE_SPEC": "a/b:1"}
    # A profile without a limit matches whatever limit a server has: a hub file written
    # by hand may not state the hub-wide value.
    assert hc.matching_profiles(server) == ["plain", "unlimited", "typed"]
    assert hc.matching_profiles({"JUPYTER_IMAGE_SPEC": "a/b:1"}) == ["unlimited"]


def test_a_hub_without_a_profile_list_is_matched_by_its_defaults(
    tmp_path: Path, practice_hub: HubConfig, off_hub: Path
) -> None:
    hub = _hub(practice_hub, profile_list=[], defaults=SHARED_NODE["defaults"])
    hc = load_runtime(tmp_path / "02-profiles", hub)
    assert hc.profile_limits() == []
    env = profile_env(None, hub.defaults.overrides())
    assert env["JUPYTER_IMAGE_SPEC"] == "a/b:1"
    assert hc.matching_profiles(env) == [""]
    assert hc.matching_profiles({**env, "MEM_LIMIT": str(2**30)}) == []


def test_slugs_are_kubespawners_in_the_book_and_in_the_learners_checks(
    tmp_path: Path, practice_hub: HubConfig, off_hub: Path
) -> None:
    """KubeSpawner makes a missing slug with python-slugify: "Große Maschine" is
    grosse-maschine, and the learner's runtime (without python-slugify) agrees."""
    from kubespawner import KubeSpawner

    profiles = [{"display_name": "Große Maschine", "kubespawner_override": {"mem_limit": "8G"}}]
    hub = _hub(practice_hub, profile_list=profiles)
    expected = KubeSpawner._get_initialized_profile_list(None, profiles)[0]["slug"]
    assert hub.profile_list[0].key == expected == "grosse-maschine"
    hc = load_runtime(tmp_path / "02-profiles", hub)
    assert [row["slug"] for row in hc.profile_limits()] == [expected]


def test_r_runtime_reads_defaults_nulls_and_typed_sizes_as_python_does(
    tmp_path: Path, practice_hub: HubConfig, off_hub: Path
) -> None:
    folder = tmp_path / "02-profiles-r"
    hc = load_runtime(folder, _hub(practice_hub, **SHARED_NODE))
    shutil.copy(LEARNER_RUNTIME_R, folder / "hubcheck.R")
    script = (
        'source("hubcheck.R")\n'
        "rows <- hubcheck$profile_limits()\n"
        'cat(jsonlite::toJSON(rows, dataframe = "rows", auto_unbox = TRUE, digits = NA))\n'
    )
    stdout = _rscript(script, folder)
    python = [
        {
            "slug": r["slug"],
            "name": r["name"],
            "mem_limit": r["mem_limit"],
            "cpu_limit": r["cpu_limit"],
        }
        for r in hc.profile_limits()
    ]
    assert json.loads(stdout.strip().splitlines()[-1]) == python


def test_course_summary_lists_every_module_and_task_in_the_learners_language(
    hc: ModuleType, off_hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hc.task("who_am_i", "Your username and server name"):
        pass
    capsys.readouterr()
    hc.course_summary(ROOT / "exercises")
    out = capsys.readouterr().out
    assert "01-login: 1 of 6 done" in out
    assert "  ✓ Your username and server name (graded)" in out
    assert "  – Your user record from the hub API (self-checked)" in out
    for name in ("02-profiles", "03-nbgitpuller", "04-jupyterlab", "05-cloud-data"):
        assert f"{name}: 0 of " in out
    # A learner who worked in Python only does not see every R module as undone.
    assert " (R): " not in out
    assert "The R versions of the modules are not listed: you have not run a check in R." in out
    assert "Course not complete yet in Python: 1 of " in out
    assert "Course complete" not in out


def _record_all(folders: list[Path], progress: Path, passed: bool = True) -> None:
    """A progress file in which every check of `folders` has run (and passed)."""
    records: dict[str, dict] = {}
    for folder in folders:
        for notebook in sorted(folder.glob("*.ipynb")):
            cells = json.loads(notebook.read_text())["cells"]
            text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            for task_id, title in re.findall(
                r'(?:task|self_check|question)\(\s*"([a-z0-9_]+)",\s*"([^"]+)"', text
            ):
                records.setdefault(folder.name, {})[task_id] = {"title": title, "passed": passed}
    progress.write_text(json.dumps(records))


@pytest.mark.parametrize(
    ("worked", "shown", "hidden"),
    [
        (["python"], ["Python"], ["R"]),
        (["r"], ["R"], ["Python"]),
        (["python", "r"], ["Python", "R"], []),
        ([], ["Python", "R"], []),
    ],
)
def test_the_course_summary_shows_the_languages_worked_in(
    hc: ModuleType,
    off_hub: Path,
    capsys: pytest.CaptureFixture[str],
    worked: list[str],
    shown: list[str],
    hidden: list[str],
) -> None:
    folders = sorted(p for p in (ROOT / "exercises").iterdir() if p.is_dir())
    python = [f for f in folders if not f.name.endswith("-r")]
    r = [f for f in folders if f.name.endswith("-r")]
    chosen = (python if "python" in worked else []) + (r if "r" in worked else [])
    _record_all(chosen, off_hub, passed=False)
    hc.course_summary(ROOT / "exercises")
    out = capsys.readouterr().out
    assert ("01-login: " in out) == ("Python" in shown)
    assert ("01-login (R): " in out) == ("R" in shown)
    for lang in shown:
        assert f"Course not complete yet in {lang}: 0 of " in out
    for lang in hidden:
        assert f"The {lang} versions of the modules are not listed" in out
    assert "not listed" in out if hidden else "not listed" not in out


def test_the_course_summary_says_when_the_course_is_complete(
    hc: ModuleType, off_hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = sorted(p for p in (ROOT / "exercises").iterdir() if p.is_dir())
    _record_all([f for f in folders if f.name.endswith("-r")], off_hub)
    hc.course_summary(ROOT / "exercises")
    out = capsys.readouterr().out
    assert "✓ Course complete in R: every task of every module passed." in out
    assert "complete yet in Python" not in out
    table = out.split("✓ passed   ")[0]
    assert "(R): " in table and "✗" not in table and "–" not in table
    # One task not yet passed, and the course is not complete.
    records = json.loads(off_hub.read_text())
    records["05-cloud-data-r"][next(iter(records["05-cloud-data-r"]))]["passed"] = False
    off_hub.write_text(json.dumps(records))
    hc.course_summary(ROOT / "exercises")
    out = capsys.readouterr().out
    assert "Course complete" not in out
    assert "Course not complete yet in R: " in out


# --- hubcheck.R's digest ------------------------------------------------------

# (R expression, the Python value it must digest like).
PAIRS: list[tuple[str, object]] = [
    ("4", 4),
    ("4L", 4),
    ("20000 * 20000 * 8", 20_000 * 20_000 * 8),
    ("1e300", 1e300),
    ("-0", 0),
    ("0.5", 0.5),
    ("-2.5", -2.5),
    ("1/3", 1 / 3),
    ("0.0001", 0.0001),
    ("1e-5", 1e-5),
    ("1.5e-7", 1.5e-7),
    ("123456789012345.6", 123456789012345.6),
    ("1234567890123456.8", 1234567890123456.8),
    ("Inf", float("inf")),
    ("-Inf", float("-inf")),
    ("NaN", float("nan")),
    ("TRUE", True),
    ("FALSE", False),
    ("NULL", None),
    ("NA", None),
    ("NA_character_", None),
    ('"keep"', "keep"),
    ('""', ""),
    ('"a\\"b\\\\c\\nd\\t\\u00e9\\u007f\\b\\f\\r"', 'a"b\\c\nd\té\x7f\b\f\r'),
    ('"\\U0001F600 \\u00fcber"', "\U0001f600 über"),
    ('c("a", "e")', ["a", "e"]),
    ('sort(c("f", "a", "e"), method = "radix")', {"f", "a", "e"}),
    ("c(3, 1.5)", (3, 1.5)),
    ('list("survives_restart", "a", TRUE)', ["survives_restart", "a", True]),
    ('list("later_click", "edited", "keep")', ["later_click", "edited", "keep"]),
    ('list("r_logout_keeps_server", "b")', ["r_logout_keeps_server", "b"]),
    ('c(edited = "keep", deleted = "restore")', {"deleted": "restore", "edited": "keep"}),
    ("list(b = 1, a = list(2.5, NULL))", {"a": [2.5, None], "b": 1}),
    ('c(Z = 1, a = 2, "\\u00e9" = 3)', {"a": 2, "Z": 1, "é": 3}),
    ("list()", []),
    ("character(0)", []),
    ('factor(c("x", "y", "x"))', ["x", "y", "x"]),
    ("structure(list(1, 2), class = 'anything')", [1, 2]),
]


def r_digests(expressions: list[str]) -> list[str]:
    """hubcheck$digest of each R expression, from one real Rscript run."""
    script = (
        f'source("{LEARNER_RUNTIME_R}")\n'
        "for (text in commandArgs(trailingOnly = TRUE)) {\n"
        "  cat(hubcheck$digest(eval(parse(text = text))), '\\n', sep = '')\n"
        "}\n"
    )
    result = subprocess.run(
        ["Rscript", "--vanilla", "-e", script, *expressions],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == "", "hubcheck.R must write nothing to stderr (nbgrader zeroes the cell)"
    return result.stdout.split()


def test_r_and_python_give_the_same_digest_for_the_same_answer(hc: ModuleType) -> None:
    # Doubles of every size, written exactly (as hexadecimal) so R reads the same number.
    rng = random.Random(12)
    doubles = [rng.uniform(-1, 1) * 10 ** rng.randint(-12, 22) for _ in range(150)]
    doubles += [float(n) / 8 for n in range(-20, 20)]
    expressions = [r for r, _ in PAIRS] + [f'as.numeric("{x.hex()}")' for x in doubles]
    expected = [hc.digest(value) for _, value in PAIRS] + [hc.digest(x) for x in doubles]
    got = r_digests(expressions)
    mismatched = [
        (expression, json.dumps(hc._plain_value(value)))
        for expression, value, r, py in zip(
            expressions, [v for _, v in PAIRS] + doubles, got, expected, strict=True
        )
        if r != py
    ]
    assert mismatched == []


def test_r_digests_tell_answers_apart_and_ignore_pretended_equality() -> None:
    four, text_four, vector, named, agreeable, function = r_digests(
        [
            "4",
            '"4"',
            'c("a", "e")',
            'c(a = "e")',
            # An object whose == says yes to everything digests as its data, not as 4.
            "local({ x <- structure(list(), class = 'agree');"
            " assign('==.agree', function(e1, e2) TRUE, envir = globalenv()); x })",
            "function() 4",
        ]
    )
    assert len({four, text_four, vector, named, agreeable, function}) == 6


def test_an_r_question_accepts_its_letter_as_a_digest(tmp_path: Path, off_hub: Path) -> None:
    script = (
        f'source("{LEARNER_RUNTIME_R}")\n'
        'right <- hubcheck$digest(list("q2", "b"))\n'
        'hubcheck$question("q2", "Q", "Pick one.", c(a = "this", b = "that"), right,'
        ' c(b = "Yes."))\n'
        'hubcheck$answer("q2", "a")\n'
        'hubcheck$answer("q2", "b")\n'
    )
    assert _rscript(script, tmp_path).splitlines()[-2:] == ["✗ Not quite.", "✓ Right. Yes."]
    assert json.loads(off_hub.read_text())[tmp_path.name]["q2"]["passed"] is True


# --- digests of answers computed the ways learners compute them ----------------

ARRAY_BYTES = 20_000 * 20_000 * 8


def graded_cell(notebook: str, grade_id: str) -> str:
    """The source of an exercise's graded test cell, as the release ships it to learners."""
    cells = json.loads((ROOT / "exercises" / notebook).read_text())["cells"]
    (cell,) = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    return "".join(cell["source"])


def test_numpy_answers_digest_as_the_numbers_they_equal(hc: ModuleType) -> None:
    import numpy as np

    shape = (20_000, 20_000)
    right = [
        np.prod(shape) * np.dtype("float64").itemsize,  # np.int64
        np.int64(20_000) * 20_000 * 8,
        np.uint64(ARRAY_BYTES),
        np.array(shape).prod() * 8,
        np.float64(20_000) ** 2 * 8,
        np.array(ARRAY_BYTES),  # a 0-d array
        np.zeros(3).itemsize * 20_000 * 20_000,  # plain int
    ]
    wrong = [np.int64(ARRAY_BYTES + 1), np.float64(ARRAY_BYTES + 0.5), np.int64(-1)]
    plain = [ARRAY_BYTES, float(ARRAY_BYTES), ARRAY_BYTES + 1, 0.1, 0.5, np.float64(0.5)]
    # Wherever == says equal, the digest says equal, and the other way round.
    for value in [*right, *wrong]:
        for other in plain:
            assert (hc.digest(value) == hc.digest(other)) == bool(value == other), (value, other)
    third = np.longdouble(1) / 3  # wider than a float on x86: not equal to 1/3
    assert (hc.digest(third) == hc.digest(1 / 3)) == bool(third == 1 / 3)
    assert hc.digest([np.int64(2), {"a": np.float64(2.5)}, {np.int64(3)}]) == hc.digest(
        [2, {"a": 2.5}, [3]]
    )
    # Deliberately, a boolean is not a number (documented in digest()), NumPy's or Python's.
    assert hc.digest(np.True_) == hc.digest(True) != hc.digest(1)
    assert hc.digest(np.False_) == hc.digest(False) != hc.digest(0)
    assert hc.digest(np.int64(1)) == hc.digest(1)

    # The module 2 check, as shipped, passes every right way and no wrong one.
    cell = graded_cell("02-profiles/profiles.ipynb", "test_array_bytes")
    for value in right:
        exec(cell, {"hubcheck": hc, "array_bytes": value})
    for value in [*wrong, True]:
        with pytest.raises(hc.CheckFailed, match="which is not 20000 × 20000"):
            exec(cell, {"hubcheck": hc, "array_bytes": value})


def test_r_answers_digest_alike_however_they_were_computed(tmp_path: Path, off_hub: Path) -> None:
    # Ways an R learner computes module 2's size; the first five equal 3.2e9, the rest do not.
    right = [
        "20000 * 20000 * 8",
        "20000^2 * 8",
        "prod(c(20000, 20000)) * 8",
        'as.numeric("3200000000")',
        "length(numeric(20000)) * 20000 * 8",  # an integer times doubles
    ]
    wrong = ["3200000001", "3.2e9 + 0.5", "TRUE"]
    *digests, true, one = r_digests([*right, *wrong[:2], "TRUE", "1"])
    assert digests[: len(right)] == [digests[0]] * len(right)
    assert digests[0] not in digests[len(right) :]
    # Deliberately, TRUE is not 1 (though TRUE == 1 in R), as in hubcheck.py.
    assert true != one
    # The module 2 check, as shipped, passes each right way and no wrong one.
    cell = graded_cell("02-profiles-r/profiles_r.ipynb", "test_matrix_bytes")
    script = (
        f'source("{LEARNER_RUNTIME_R}")\n'
        "for (text in commandArgs(trailingOnly = TRUE)) {\n"
        "  matrix_bytes <- eval(parse(text = text))\n"
        "  cat(text, ': ', sep = '')\n"
        f"  try({cell}, silent = TRUE)\n"
        "}\n"
    )
    result = subprocess.run(
        ["Rscript", "--vanilla", "-e", script, *right, *wrong],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    passed = [line.split(": ")[0] for line in result.stdout.splitlines() if "passed" in line]
    assert passed == right, result.stdout


# --- what the TA's room view reads (issue 24) --------------------------------


def _fail_twice_then_pass(hc: ModuleType) -> None:
    for _ in range(2):
        with pytest.raises(hc.CheckFailed), hc.task("t", "T"):
            hc.expect(False, "the file  is\nmissing.", "Make it.")


def test_each_result_keeps_tries_the_failure_sentence_and_a_utc_time(
    hc: ModuleType, off_hub: Path
) -> None:
    _fail_twice_then_pass(hc)
    failing = json.loads(off_hub.read_text())["01-login"]["t"]
    assert (failing["tries"], failing["message"]) == (2, "the file is missing.")
    with hc.task("t", "T"):
        pass
    passed = json.loads(off_hub.read_text())["01-login"]["t"]
    assert (passed["tries"], passed["message"], passed["passed"]) == (3, "", True)
    assert abs(passed["time"] - time.time()) < 3600


def test_the_record_is_a_visible_file_in_home_and_old_records_carry_over(
    tmp_path: Path, practice_hub: HubConfig, off_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    old = home / ".hubtrain" / "progress.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"00-old": {"x": {"title": "X", "passed": True}}}))
    monkeypatch.delenv("HUBTRAIN_PROGRESS")
    monkeypatch.setenv("HOME", str(home))
    hc = load_runtime(tmp_path / "01-login", practice_hub)
    with hc.task("t", "T"):
        pass
    record = json.loads((home / "hubtrain-progress.json").read_text())
    assert record["00-old"]["x"]["passed"] is True and record["01-login"]["t"]["tries"] == 1
    assert json.loads(old.read_text()) == {"00-old": {"x": {"title": "X", "passed": True}}}


def test_r_records_tries_and_the_failure_sentence_as_python_does(
    tmp_path: Path, off_hub: Path
) -> None:
    script = (
        f'source("{LEARNER_RUNTIME_R}")\n'
        "for (i in 1:2) try(silent = TRUE, hubcheck$task('t', 'T',"
        " hubcheck$expect(FALSE, 'the file  is\\nmissing.', 'Make it.')))\n"
    )
    subprocess.run(
        ["Rscript", "--vanilla", "-e", script], check=True, cwd=tmp_path, capture_output=True
    )
    failing = json.loads(off_hub.read_text())[tmp_path.name]["t"]
    assert (failing["tries"], failing["message"], failing["passed"]) == (
        2,
        "the file is missing.",
        False,
    )
    assert abs(failing["time"] - time.time()) < 3600
