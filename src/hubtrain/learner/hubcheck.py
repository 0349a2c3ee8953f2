"""Checks for hubtrain exercises: plain-sentence feedback instead of tracebacks.

This file ships inside the student release next to each notebook, because the
learner's hub does not have hubtrain installed. It needs only the standard
library, plus ipywidgets for the interactive parts (with a plain-text fallback).

Three kinds of check, all recorded in one progress file for the whole course:

- `task(...)`: a graded check (an nbgrader test cell). A failure raises
  `CheckFailed`, which IPython shows as one sentence and a hint; nbgrader still
  sees an error, so the cell scores zero.
- `self_check(...)`: a live check of state outside the notebook (files, kernels,
  the profile). It never raises, offers a "Check my work" button, and is skipped
  during grading, where that state does not exist.
- `question(...)`: a multiple-choice question with immediate feedback.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "CheckFailed",
    "answer",
    "course_summary",
    "digest",
    "expect",
    "grading",
    "hub_facts",
    "limit",
    "limit_text",
    "matching_profiles",
    "mem_bytes",
    "need_env",
    "profile_limits",
    "profile_overrides",
    "question",
    "self_check",
    "server_api",
    "summary",
    "task",
]

HERE = Path(__file__).resolve().parent
GRADING_FLAG = "HUBTRAIN_GRADING"
PROGRESS_ENV = "HUBTRAIN_PROGRESS"
OFF_HUB_HINT = "Open this notebook on your hub with the course link, then run it again."
_TASK_CALL = re.compile(r"\b(task|self_check|question)\(\s*\"([a-z0-9_]+)\",\s*\"([^\"]+)\"")


class CheckFailed(AssertionError):
    """A check that did not pass; its message is one sentence and a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} Hint: {hint}" if hint else message)

    def lines(self) -> list[str]:
        """The feedback as shown to the learner."""
        out = [f"✗ {self.message}"]
        if self.hint:
            out.append(f"  Hint: {self.hint}")
        return out

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: learners see only
        # the sentence. nbgrader still sees an error, so the cell scores zero.
        return self.lines()


# --- the hub ---------------------------------------------------------------


def grading() -> bool:
    """True in the grading environment (`hubtrain grade` / `hubtrain grading-env`)."""
    return os.environ.get(GRADING_FLAG) == "1"


def need_env(name: str, allow_empty: bool = False) -> str:
    """The value of a variable the hub sets, or a plain failure saying it is missing.

    `allow_empty` is for variables a hub sets to "" on purpose, such as
    `JUPYTERHUB_SERVER_NAME` for the default (unnamed) server.
    """
    value = os.environ.get(name)
    if value is None or (not value and not allow_empty):
        raise CheckFailed(f"this check must run on your hub: {name} is not set.", OFF_HUB_HINT)
    return value


def limit(name: str) -> float:
    """This server's `MEM_LIMIT` (bytes) or `CPU_LIMIT` (cores), `math.inf` when unset.

    JupyterHub writes these variables only when a limit is set: on a hub that sets
    none (the Zero to JupyterHub chart's default) the variable is absent, and that
    absence is the answer, "no limit", not a sign of being off the hub. Whether this
    is a hub at all is told by `JUPYTERHUB_USER`, which every server has.
    """
    need_env("JUPYTERHUB_USER")
    value = os.environ.get(name)
    return float(value) if value else math.inf


def limit_text(value: float, unit: str = "") -> str:
    """A limit from `limit()` in words, for a check's message.

    `unit` "bytes" gives "2147483648 bytes", "GiB" gives "2 GiB", "" the plain number;
    an unset limit is "not set, so there is no limit" whatever the unit.
    """
    if math.isinf(value):
        return "not set, so there is no limit"
    if unit == "bytes":
        return f"{value:.0f} bytes"
    return f"{value / 2**30:g} GiB" if unit == "GiB" else f"{value:g}"


_FACTS: dict[str, Any] = {}


def hub_facts() -> dict[str, Any]:
    """The hub facts the course was built for (`hub.json` beside this file)."""
    if not _FACTS:
        path = HERE / "hub.json"
        try:
            _FACTS.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            raise CheckFailed(
                "hub.json is missing or damaged next to this notebook.",
                "Click the course link again: nbgitpuller restores files you deleted.",
            ) from None
    return _FACTS


def mem_bytes(value: Any) -> int:
    """A memory size in bytes, read the way JupyterHub reads `mem_limit`.

    Plain numbers are bytes; the suffixes K, M, G and T are powers of 1024
    (`jupyterhub.traitlets.ByteSpecification`), so "1G" is 1073741824.
    """
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))


def _option_choices(profile: dict[str, Any]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Per profile option, its (label, overrides) choices, the default choice first."""
    result = []
    for option in (profile.get("profile_options") or {}).values():
        choices = list((option.get("choices") or {}).items())
        choices.sort(key=lambda item: not item[1].get("default"))
        entries = [
            (c.get("display_name", k), c.get("kubespawner_override") or {}) for k, c in choices
        ]
        unlisted = option.get("unlisted_choice") or {}
        if unlisted.get("enabled"):
            entries.append(("other", unlisted.get("kubespawner_override") or {}))
        if entries:
            result.append(entries)
    return result


def _apply(merged: dict[str, Any], overrides: dict[str, Any]) -> None:
    """KubeSpawner's way of applying an override: a mapping merges into a mapping,
    `None` removes the setting (an override of `null` means "no limit"), anything
    else replaces it."""
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = dict(merged[key])
            _apply(inner, value)
            merged[key] = inner
        else:
            merged[key] = value


def profile_overrides(
    profile: dict[str, Any], defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What KubeSpawner gives a server of `profile` when no option is changed.

    The hub-wide `defaults` (hub.json's `defaults`) first, then the profile's own
    `kubespawner_override`, then each option's default choice (the one marked
    `default`, else the first), as `load_user_options` does. A key absent from an
    override keeps the hub-wide value; a key set to `null` removes it.
    """
    merged = {k: v for k, v in (defaults or {}).items() if v not in (None, "", {})}
    _apply(merged, profile.get("kubespawner_override") or {})
    for entries in _option_choices(profile):
        _apply(merged, entries[0][1])
    return merged


def _typed(value: Any) -> bool:
    """False for a value holding KubeSpawner's `{value}` placeholder (typed at start)."""
    return value is not None and "{value}" not in str(value)


def _matches(overrides: dict[str, Any], env: dict[str, str]) -> bool:
    """Whether a server started with `overrides` would have the variables in `env`."""
    for var, key in (("MEM_LIMIT", "mem_limit"), ("CPU_LIMIT", "cpu_limit")):
        want = overrides.get(key)
        if not _typed(want):
            continue  # no limit, or one the learner typed: any value matches
        want = mem_bytes(want) if key == "mem_limit" else float(want)
        if var not in env or float(env[var]) != float(want):
            return False
    image = overrides.get("image")
    # An unlisted choice ("{value}") accepts whatever image the learner typed.
    unlisted = "{value}" in str(image)
    return not image or unlisted or env.get("JUPYTER_IMAGE_SPEC") == image


def matching_profiles(env: dict[str, str] | None = None) -> list[str]:
    """Slugs of the hub's profiles (any option choices) that give this server's limits.

    A hub without a profile list gives every server its hub-wide settings: then the
    answer is `[""]` (no profile to name) when the server has them, else `[]`.
    """
    env = dict(os.environ) if env is None else env
    facts = hub_facts()
    if not facts["profile_list"]:
        return [""] if _matches(profile_overrides({}, facts.get("defaults")), env) else []
    found = []
    for profile in facts["profile_list"]:
        for combo in itertools.product(*_option_choices(profile)) or [()]:
            merged = profile_overrides(
                {"kubespawner_override": profile.get("kubespawner_override")}, facts.get("defaults")
            )
            for _, overrides in combo:
                _apply(merged, overrides)
            if _matches(merged, env):
                found.append(profile["slug"])
                break
    return found


def profile_limits() -> list[dict[str, Any]]:
    """The hub's profiles with a memory limit (default choices), smallest first.

    Each entry has `slug`, `name`, `mem_limit` (bytes) and `cpu_limit` (or None).
    """
    facts = hub_facts()
    rows = []
    for profile in facts["profile_list"]:
        overrides = profile_overrides(profile, facts.get("defaults"))
        if not _typed(overrides.get("mem_limit")):
            continue
        rows.append(
            {
                "slug": profile["slug"],
                "name": profile["display_name"],
                "mem_limit": mem_bytes(overrides["mem_limit"]),
                "cpu_limit": overrides.get("cpu_limit"),
            }
        )
    return sorted(rows, key=lambda row: row["mem_limit"])


def _server_url() -> str:
    url = need_env("JUPYTERHUB_SERVICE_URL")
    # KubeSpawner binds to 0.0.0.0; from inside the server, that is this machine.
    return re.sub(r"^(https?://)(0\.0\.0\.0|\[::\])", r"\g<1>127.0.0.1", url).rstrip("/") + "/"


def server_api(path: str, method: str = "GET") -> Any:
    """Call this Jupyter server's REST API (`api/...`) with the server's own token."""
    token = need_env("JUPYTERHUB_API_TOKEN")
    request = urllib.request.Request(
        _server_url() + path.lstrip("/"),
        method=method,
        headers={"Authorization": f"token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise CheckFailed(
            f"the Jupyter server refused the request ({exc.code} {exc.reason}).",
            "Restart this notebook's kernel, so it uses the token of the running server.",
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise CheckFailed(
            f"the Jupyter server did not answer ({exc}).",
            "Save your work and restart the kernel; if it persists, restart your server.",
        ) from None
    return json.loads(body) if body else None


# --- progress --------------------------------------------------------------

_SESSION: dict[str, dict[str, Any]] = {}


# The record sits in the home folder, not hidden: the TA's room view
# (`hubtrain room`) reads it through Jupyter Server's contents API, which refuses
# hidden paths, and the learner can open the very file the TA sees.
PROGRESS_FILE = "hubtrain-progress.json"
# Where records were kept before; read (once) when the new file does not exist yet.
OLD_PROGRESS = Path(".hubtrain") / "progress.json"
MESSAGE_CHARS = 200


def _progress_path() -> Path:
    custom = os.environ.get(PROGRESS_ENV)
    return Path(custom) if custom else Path.home() / PROGRESS_FILE


def _read_progress() -> dict[str, Any]:
    path = _progress_path()
    for candidate in [path] if os.environ.get(PROGRESS_ENV) else [path, Path.home() / OLD_PROGRESS]:
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


def _module() -> str:
    return HERE.name


def _record(task_id: str, title: str, passed: bool, message: str = "") -> None:
    """Save one result. Besides what the progress page shows, the entry keeps what
    the TA's room view shows: how many times the check ran, the failure's one
    sentence, and the time in seconds since 1970 (UTC, so rooms compare them)."""
    entry: dict[str, Any] = {
        "title": title,
        "passed": passed,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "time": int(time.time()),
        "message": " ".join(message.split())[:MESSAGE_CHARS],
    }
    if grading():
        _SESSION[task_id] = entry
        return  # Grading leaves no trace in the grader's home directory.
    path = _progress_path()
    data = _read_progress()
    module = data.get(_module())
    if not isinstance(module, dict):
        module = data[_module()] = {}
    before = module.get(task_id)
    tries = before.get("tries", 1) if isinstance(before, dict) else 0
    entry["tries"] = (tries if isinstance(tries, int) else 1) + 1
    module[task_id] = _SESSION[task_id] = entry
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)


def _tasks_of(notebook: Path) -> list[tuple[str, str, str]]:
    """(kind, id, title) of every check in a notebook, in order."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []
    found = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell["source"]
            text = "".join(source) if isinstance(source, list) else source
            found += [m.groups() for m in _TASK_CALL.finditer(text)]
    return found


def _label(folder: str) -> str:
    """How the progress page names a module folder: an R assignment (`01-login-r`,
    checked by hubcheck.R) shows as "01-login (R)", any other folder by its name."""
    return f"{folder.removesuffix('-r')} (R)" if folder.endswith("-r") else folder


def _tasks_in(folder: Path) -> list[tuple[str, str, str]]:
    """Every check in a module folder's notebooks, in file order."""
    return [task for notebook in sorted(folder.glob("*.ipynb")) for task in _tasks_of(notebook)]


def _table(module: str, tasks: list[tuple[str, str, str]], results: dict[str, Any]) -> list[str]:
    kinds = {"task": "graded", "self_check": "self-checked", "question": "question"}
    lines = []
    for kind, task_id, title in tasks:
        entry = results.get(task_id)
        mark = "–" if entry is None else ("✓" if entry["passed"] else "✗")
        lines.append(f"  {mark} {title} ({kinds[kind]})")
    done = sum(1 for _, t, _ in tasks if (results.get(t) or {}).get("passed"))
    return [f"{module}: {done} of {len(tasks)} done", *lines]


def summary() -> None:
    """Print this module's progress: ✓ passed, ✗ not yet, – not tried."""
    results = {**_read_progress().get(_module(), {}), **_SESSION}
    print("\n".join(_table(_label(_module()), _tasks_in(HERE), results)))
    print("✓ passed   ✗ not yet passed   – not tried yet")


def _language(folder: str) -> str:
    """The language a module folder's exercises are in: an R assignment ends in `-r`."""
    return "R" if folder.endswith("-r") else "Python"


def course_summary(root: str | Path = ".") -> None:
    """Print progress for every module of the course found under `root`, in the learner's
    own language: the one they have run checks in (both if both; both before any check).
    A learner who works in Python only is not shown every R module as undone. Ends with
    whether the course is complete in each language shown."""
    root = Path(root).resolve()
    progress = _read_progress()
    modules = [
        (folder.name, tasks)
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
        if (tasks := _tasks_in(folder))
    ]
    if not modules:
        print(f"No exercise folders found in {root}.")
        return
    languages = sorted({_language(name) for name, _ in modules}, key=lambda x: x != "Python")
    worked = [
        lang
        for lang in languages
        if any(progress.get(name) for name, _ in modules if _language(name) == lang)
    ]
    shown = worked or languages
    blocks, done, total = [], dict.fromkeys(shown, 0), dict.fromkeys(shown, 0)
    for name, tasks in modules:
        lang = _language(name)
        if lang not in shown:
            continue
        results = progress.get(name) or {}
        blocks.append("\n".join(_table(_label(name), tasks, results)))
        total[lang] += len(tasks)
        done[lang] += sum(1 for _, t, _ in tasks if (results.get(t) or {}).get("passed"))
    print("\n\n".join(blocks))
    print()
    for lang in shown:
        if done[lang] == total[lang]:
            print(f"✓ Course complete in {lang}: every task of every module passed.")
        else:
            print(f"Course not complete yet in {lang}: {done[lang]} of {total[lang]} tasks done.")
    for lang in (x for x in languages if x not in shown):
        print(
            f"The {lang} versions of the modules are not listed: you have not run a check in"
            f" {lang}. They appear here once you do."
        )
    print(f"\n✓ passed   ✗ not yet passed   – not tried yet   (saved in {_progress_path()})")


# --- graded checks ---------------------------------------------------------


def _numpy_scalar(value: Any) -> Any:
    """A NumPy scalar (or 0-d array) as the Python value `==` finds it equal to, else None.

    Learners compute answers with NumPy (`np.prod(shape) * 8` is an `np.int64`,
    `arr.any()` an `np.bool_`), and `np.int64(4) == 4` is True, so these must digest
    like the plain value. The module is read from the type, not imported: the
    runtime must work without NumPy. A float kind wider than Python's float
    (long double) is converted only when no digits are lost, so it never matches
    a float that `==` calls different. (NumPy compares a float32 with a Python
    number at float32 precision, so there `==` is not even transitive; the digest
    takes the float32's exact value.)
    """
    if type(value).__module__ != "numpy" or getattr(value, "shape", None) != ():
        return None
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if kind == "b":
        return bool(value)
    if kind in ("i", "u"):
        return int(value)
    if kind == "f" and float(value) == value:
        return float(value)
    return None


def _plain_value(value: Any) -> Any:
    numpy_value = _numpy_scalar(value)
    if numpy_value is not None:
        value = numpy_value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, set | frozenset):
        return sorted((_plain_value(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, int | float | str):
        return value
    # Anything else (an object that claims to equal everything) matches nothing.
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def digest(value: Any) -> str:
    """A fingerprint of `value`, so a visible check can compare an answer without showing it.

    Values that `==` treats as equal answers give equal digests (4, 4.0 and
    `np.int64(4)`; `np.float64(0.5)` and 0.5; a set whatever its order; a tuple and
    a list); strings, numbers (Python's or NumPy's scalars), booleans, None and
    containers of them only: any other object gets a digest no answer has.

    One deliberate exception: a boolean is not a number here, although `True == 1`
    in Python (and `TRUE == 1` in R). A yes/no answer given where a count is asked
    for (or 1 where True is asked for) is a different kind of answer, and the
    check should say so rather than pass it; `np.bool_` digests like `bool`.
    """
    text = json.dumps(_plain_value(value), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def expect(condition: object, message: str, hint: str = "") -> None:
    """Fail with `message` (one sentence) and `hint` unless `condition` is true."""
    if not condition:
        raise CheckFailed(message, hint)


def _plain(exc: BaseException) -> CheckFailed:
    """Turn whatever a learner's code raised into one sentence and a hint."""
    if isinstance(exc, CheckFailed):
        return exc
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or "a name"
        return CheckFailed(
            f"`{name}` is not defined yet.",
            "Write your answer in the cell above and run it (Shift+Enter) before this check.",
        )
    if isinstance(exc, NotImplementedError):
        return CheckFailed(
            "this task has not been answered yet.",
            "Replace `raise NotImplementedError()` in the cell above with your answer.",
        )
    if isinstance(exc, AssertionError):
        return CheckFailed(str(exc) or "not quite right yet.", "Re-read the task and try again.")
    return CheckFailed(
        f"the check stopped with {type(exc).__name__}: {exc}.",
        "Run the notebook from the top (Run > Run All Cells); fix the first cell that fails.",
    )


@contextlib.contextmanager
def task(task_id: str, title: str) -> Iterator[None]:
    """A graded check: its body raises `CheckFailed` (via `expect`) when wrong.

    Whatever goes wrong inside becomes one sentence and a hint; passing prints
    a tick. Either way the result is recorded in the course progress.
    """
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        failure = _plain(exc)
        _record(task_id, title, False, failure.message)
        raise failure from None
    _record(task_id, title, True)
    print(f"✓ {title}: passed.")


# --- live self-checks ------------------------------------------------------


def _run_live(task_id: str, title: str, check: Callable[[], object]) -> str:
    try:
        check()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        failure = _plain(exc)
        _record(task_id, title, False, failure.message)
        return "\n".join(failure.lines())
    _record(task_id, title, True)
    return f"✓ {title}: passed (checked live on your hub)."


class _Fallback:
    """Mixin: a widget whose plain-text form is useful where widgets cannot render."""

    fallback_text = ""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(bundle, dict):
            bundle["text/plain"] = self.fallback_text
        return bundle


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _show(box: Any, text: str) -> None:
    from IPython.display import display

    if box is None:
        print(text)
        return
    box.fallback_text = text
    display(box)


_BOX: list[type] = []


def _box(widgets: Any, children: list[Any]) -> Any:
    """A VBox whose plain-text form is our fallback text (the class is made once)."""
    if not _BOX:
        _BOX.append(type("HubcheckBox", (_Fallback, widgets.VBox), {}))
    return _BOX[0](children)


def self_check(task_id: str, title: str, check: Callable[[], object]) -> None:
    """Check state outside the notebook now, and offer a "Check my work" button.

    Never raises: a live check that fails only says what to do next. In the
    grading environment it is skipped, because that state exists only on the hub.
    """
    if grading():
        print(f"– {title}: self-checked live on your hub; not graded.")
        return
    result = _run_live(task_id, title, check)
    widgets = _widgets()
    if widgets is None:
        print(result)
        return
    output = widgets.Output()
    button = widgets.Button(description="Check my work", icon="check")

    def on_click(_: Any) -> None:
        output.clear_output()
        with output:
            print(_run_live(task_id, title, check))

    button.on_click(on_click)
    with output:
        print(result)
    _show(_box(widgets, [button, output]), result + "\n(Run this cell again to check again.)")


# --- multiple-choice questions ---------------------------------------------

_QUESTIONS: dict[str, dict[str, Any]] = {}


def _feedback(task_id: str, choice: str) -> str:
    spec = _QUESTIONS[task_id]
    why = spec["why"].get(choice, "")
    # `answer` is the letter, or (so the release does not show it) digest([task_id, letter]).
    passed = spec["answer"] in (choice, digest([task_id, choice]))
    _record(task_id, spec["title"], passed, "" if passed else f"answered {choice}")
    if passed:
        return f"✓ Right. {why}".rstrip()
    return f"✗ Not quite. {why}".rstrip()


def question(
    task_id: str,
    title: str,
    prompt: str,
    options: dict[str, str],
    answer: str,
    why: dict[str, str],
) -> None:
    """Ask a multiple-choice question with immediate feedback.

    `options` maps letters to answers, `answer` is the right letter, or better
    `digest([task_id, letter])` so that the notebook does not show it, and `why`
    explains each letter. Where widgets cannot render, the question is printed
    as text and answered with `hubcheck.answer(task_id, letter)`.
    """
    _QUESTIONS[task_id] = {"title": title, "options": options, "answer": answer, "why": why}
    text = "\n".join(
        [
            prompt,
            *(f"  {letter}) {label}" for letter, label in options.items()),
            f'Answer in a code cell: hubcheck.answer("{task_id}", "a")  (with your letter)',
        ]
    )
    widgets = _widgets()
    if widgets is None:
        print(text)
        return
    radio = widgets.RadioButtons(
        options=[(f"{k}) {v}", k) for k, v in options.items()],
        value=None,
        layout=widgets.Layout(width="auto"),
    )
    output = widgets.Output()

    def on_change(change: dict[str, Any]) -> None:
        output.clear_output()
        if change["new"] is not None:
            with output:
                print(_feedback(task_id, change["new"]))

    radio.observe(on_change, names="value")
    label = widgets.HTML(f"<b>{_escape(prompt)}</b>")
    _show(_box(widgets, [label, radio, output]), text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer(task_id: str, choice: str) -> None:
    """Answer a multiple-choice question in code (the plain-text way)."""
    if task_id not in _QUESTIONS:
        print(f"✗ There is no question {task_id!r} yet.")
        print("  Hint: run the cell that asks it first.")
        return
    choice = str(choice).strip().lower().rstrip(")")
    if choice not in _QUESTIONS[task_id]["options"]:
        letters = ", ".join(_QUESTIONS[task_id]["options"])
        print(f"✗ {choice!r} is not one of the letters {letters}.")
        return
    print(_feedback(task_id, choice))
