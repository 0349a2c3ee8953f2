"""`hubtrain init`: write `hubs/<name>.yml` by answering questions, or from flags.

A champion re-hosting the course should not have to learn the hub file's keys
before seeing a first build. `init` asks for each fact a hub file needs (or takes
it from a flag, for scripts and tests) and checks every answer at once with
`hubtrain.hubfile.load.parse_hub`, the very validation a hand-written file gets: an
answer is tried in a draft hub file whose other keys are valid placeholders, so
any error is about that answer and is shown before the next question.

The file is written only at the end, with a comment above each section, and an
existing file is replaced only after the user said yes (in a terminal) or passed
`--force`. What is written is parsed once more before it touches the disk.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hubtrain.hubfile.config import HubFileError, slugify
from hubtrain.hubfile.load import load_hub, parse_hub

__all__ = [
    "InitError",
    "add_commands",
    "parse_profile_spec",
    "render_hub_file",
    "run_init",
]

# A hub file every key of which is valid, so that one answer at a time can be
# checked by the full validation: only the answer differs from it.
_PLACEHOLDER: dict[str, Any] = {
    "name": "New hub",
    "url": "https://hub.example.org",
    "login": {"method": "github"},
    "profile_list": [{"display_name": "Default"}],
    "storage": {"provider": "s3"},
    "content": {"repo": "https://example.org/course"},
}
# `--profile` keys that are the profile's own; every other key is a KubeSpawner override.
_PROFILE_KEYS = ("description", "slug", "default")
_LOGIN_HELP = {
    "github": 'Click "Sign in with GitHub" and authorise the hub. Your hub username is your '
    "GitHub username in lowercase.",
    "google": 'Click "Sign in with Google" and choose your account. Your hub username is your '
    "email address.",
    "password": "Type the username and password your hub administrator gave you.",
}


# Defaults of the questions a values file can answer; a flag given wins over both.
_DEFAULTS = {
    "login_method": "github",
    "storage": "s3",
    "default_url": "/lab",
    "named_servers": "no",
    "idle_timeout": "3600",
    "max_age": "0",
}


class InitError(HubFileError):
    """The hub file cannot be written (a missing flag, a refused overwrite).

    A `HubFileError`, so the command line prints `str()` as one line and exits 2.
    """


@dataclass
class _Answers:
    """Where answers come from: a terminal (asking) or the flags alone."""

    interactive: bool
    ask: Callable[[str], str] = input

    def _ask(self, prompt: str) -> str:
        try:
            return self.ask(prompt).strip()
        except EOFError:
            raise InitError("no answer (end of input); nothing was written") from None

    def text(self, prompt: str, default: str = "", *, optional: bool = False) -> str:
        """One answer; blank means `default`. Without a terminal, the default is the answer."""
        if not self.interactive:
            return default
        shown = f" [{default}]" if default else (" (optional)" if optional else "")
        while True:
            answer = self._ask(f"{prompt}{shown}: ")
            if answer or default or optional:
                return answer or default
            print("  An answer is needed here.")

    def yes(self, prompt: str, default: bool = False) -> bool:
        if not self.interactive:
            return default
        while True:
            answer = self._ask(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            print("  Please answer y or n.")


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `data` with `value` at the key path."""
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return data


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with the keys of `over` laid on top, section by section."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validated(config: Any, path: tuple[str, ...]) -> Any:
    """The value the validation made of an answer ("3600" -> 3600, "yes" -> True)."""
    for key in path:
        config = getattr(config, key)
    return config


class _Draft:
    """The hub file being written: the answers so far, each one checked as it comes."""

    def __init__(self, answers: _Answers, source: str) -> None:
        self.answers = answers
        self.source = source
        self.checked: dict[str, Any] = {}  # the answers, as they will be written

    def _parse(self, path: tuple[str, ...], value: Any) -> Any:
        """The whole validation of the answers so far plus this one; raises `HubFileError`."""
        trial = _set(_merged(_PLACEHOLDER, self.checked), path, value)
        return parse_hub(trial, self.source)

    def check(self, path: tuple[str, ...], value: Any, flag: str) -> str:
        """ "" if `value` at `path` makes a valid hub file with the answers so far, else why not.

        Without a terminal the message also names the flag the value came from.
        """
        try:
            self._parse(path, value)
        except HubFileError as exc:
            problem = str(exc).removeprefix(f"{self.source}: ")
            return problem if self.answers.interactive else f"{problem} (from {flag})"
        return ""

    def keep(self, path: tuple[str, ...], value: Any, typed: bool = True) -> Any:
        """Record a checked answer and return it; `typed` keeps the validated value."""
        if typed:
            value = _validated(self._parse(path, value), path)
        self.checked = _set(self.checked, path, value)
        return value

    def offer(self, path: tuple[str, ...], value: Any, flag: str, typed: bool = True) -> bool:
        """Keep `value` if valid; otherwise say why (terminal) or stop (flags). True if kept."""
        problem = self.check(path, value, flag)
        if not problem:
            self.keep(path, value, typed)
            return True
        if not self.answers.interactive:
            raise InitError(problem)
        print(f"  {problem}")
        return False

    def answer(
        self,
        path: tuple[str, ...],
        prompt: str,
        default: str,
        flag: str,
        *,
        optional: bool = False,
        convert: Callable[[str], Any] = str,
        typed: bool = True,
    ) -> Any:
        """Ask until the answer passes the hub-file validation; keep and return it."""
        while True:
            raw = self.answers.text(prompt, default, optional=optional)
            if not raw and not optional:
                raise InitError(f"{flag} is required (or run `hubtrain init` in a terminal)")
            if self.offer(path, convert(raw), flag, typed):
                return self._kept(path)
            if raw == default:  # a default that fails is no default
                default = ""

    def _kept(self, path: tuple[str, ...]) -> Any:
        node: Any = self.checked
        for key in path:
            node = node[key]
        return node

    def yes(self, path: tuple[str, ...], prompt: str, default: bool) -> bool:
        return self.keep(path, self.answers.yes(prompt, default))


def _none_is_empty(answer: str) -> str:
    return "" if answer.strip().lower() == "none" else answer


def _scalar(text: str) -> Any:
    """A flag or answer as YAML would read it: "2" -> 2, "0.5" -> 0.5, "4G" stays text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def parse_profile_spec(spec: str) -> dict[str, Any]:
    """A `--profile` value as a profile: `NAME;key=value;...`.

    `description`, `slug` and `default` are the profile's own keys; any other key (`cpu_limit`,
    `mem_limit`, `image`...) goes into `kubespawner_override`. Raises `InitError`
    for a part without `=` or an empty name.
    """
    name, *parts = spec.split(";")
    profile: dict[str, Any] = {"display_name": name.strip()}
    if not profile["display_name"]:
        raise InitError(f"--profile {spec!r}: expected a display name before the first ';'")
    override: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InitError(f"--profile {spec!r}: expected key=value after ';', got {part!r}")
        if key == "default":
            profile[key] = value.strip().lower() in ("true", "yes", "1")
        elif key in _PROFILE_KEYS:
            profile[key] = value.strip()
        else:
            override[key] = _scalar(value.strip())
    if override:
        profile["kubespawner_override"] = override
    return profile


_PROFILE_QUESTIONS = (
    (("description",), "  one-line description"),
    (("kubespawner_override", "cpu_limit"), "  CPU limit, e.g. 2"),
    (("kubespawner_override", "mem_limit"), "  memory limit, e.g. 4G"),
    (("kubespawner_override", "image"), "  image, e.g. quay.io/jupyter/scipy-notebook:2025-11-10"),
)


def _ask_profile(draft: _Draft, done: list[dict[str, Any]]) -> dict[str, Any]:
    """One profile of a typed list; each answer is checked inside the whole profile list."""
    while True:
        name = draft.answers.text(f"Profile {len(done) + 1}: name shown on the options page")
        profile: dict[str, Any] = {"display_name": name}
        if slugify(name):
            profile["slug"] = slugify(name)
        if not done:
            profile["default"] = True
        problem = draft.check(("profile_list",), [*done, profile], "--profile")
        if not problem:
            break
        print(f"  {problem}")
    for path, prompt in _PROFILE_QUESTIONS:
        while raw := draft.answers.text(prompt, optional=True):
            trial = _set(profile, path, _scalar(raw))
            problem = draft.check(("profile_list",), [*done, trial], "--profile")
            if not problem:
                profile = trial
                break
            print(f"  {problem}")
    return profile


def _profiles(draft: _Draft, args: argparse.Namespace) -> dict[str, Any]:
    """Check and keep the profile list, imported or typed; return the values file's
    answers to later questions ({} when the list was typed)."""
    from hubtrain.hubfile.profiles_import import read_values

    if args.profile and not args.profiles_from:
        profiles = [parse_profile_spec(spec) for spec in args.profile]
        if not any(p.get("default") for p in profiles):
            profiles[0]["default"] = True
        for profile in profiles:
            if not profile.get("slug") and slugify(profile["display_name"]):
                profile["slug"] = slugify(profile["display_name"])
        problem = draft.check(("profile_list",), profiles, "--profile")
        if problem:  # flags are answers given in advance: no asking again, even in a terminal
            raise InitError(
                problem if problem.endswith("(from --profile)") else f"{problem} (from --profile)"
            )
        draft.keep(("profile_list",), profiles, typed=False)
        return {}
    default = args.profiles_from
    prompt = (
        "Profiles: a Zero to JupyterHub values file to import them from "
        "(leave blank to type a short list)"
    )
    while values := draft.answers.text(prompt, default, optional=True):
        default = ""
        try:
            imported = read_values(Path(values).expanduser())
        except HubFileError as exc:
            if not draft.answers.interactive:
                raise InitError(f"{exc} (from --profiles-from)") from None
            print(f"  {exc}")
            continue
        profiles = imported.profiles
        if draft.offer(("profile_list",), profiles, "--profiles-from", typed=False):
            draft.keep(("defaults",), imported.defaults, typed=False)
            if profiles:
                names = "; ".join(str(p.get("display_name")) for p in profiles)
                print(f"  Imported {len(profiles)} profiles from {values}: {names}")
            else:
                print(
                    f"  {values} has no profile list: servers start straight away, "
                    "without an options page"
                )
            return {"values_file": values, **imported.hints}
    if not draft.answers.interactive:
        raise InitError("--profiles-from or --profile is required (or run in a terminal)")
    typed: list[dict[str, Any]] = []
    while True:
        typed.append(_ask_profile(draft, typed))
        if not draft.answers.yes("Add another profile?", False):
            break
    draft.keep(("profile_list",), typed, typed=False)
    return {}


def _origin_url(root: Path) -> str:
    """The repository's `origin` as an https address learners can clone, or ""."""
    result = subprocess.run(
        ["git", "-C", str(root), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    )
    url = result.stdout.strip()
    if result.returncode != 0 or not url:
        return ""
    if url.startswith("git@") and ":" in url:
        host, _, path = url.removeprefix("git@").partition(":")
        url = f"https://{host}/{path}"
    if not url.startswith("https://"):
        return ""
    return url.removesuffix(".git")


def _comment(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def _dump(key: str, value: Any) -> str:
    from hubtrain.hubfile.profiles_import import dump_yaml

    return dump_yaml({key: value})


_PROFILE_ORDER = ("display_name", "slug", "description", "default")
# Optional keys left out of the file when empty; their defaults are the same.
_OMIT_EMPTY = {"storage": ("home_quota", "shared_dirs"), "content": ("target_dir",)}


def _tidy(data: dict[str, Any]) -> dict[str, Any]:
    """The answers as a person would write them: empty optional keys left out, and each
    typed profile's keys in KubeSpawner's documented order (imported ones stay as they were)."""
    data = copy.deepcopy(data)
    for section, keys in _OMIT_EMPTY.items():
        for key in keys:
            if data.get(section, {}).get(key) in ("", []):
                del data[section][key]
    if not data.get("defaults"):
        data.pop("defaults", None)
    data["profile_list"] = [
        {k: p[k] for k in _PROFILE_ORDER if k in p} | p for p in data.get("profile_list", [])
    ]
    return data


def render_hub_file(data: dict[str, Any], path: str, values_file: str = "") -> str:
    """The hub file's text: the data in the usual key order, a comment above each section."""
    data = _tidy(data)
    when = datetime.date.today().isoformat()
    profiles_note = (
        f"Imported from {values_file}. To refresh it, run `hubtrain import-profiles "
        f"{values_file}`,\nor replace the list by `profile_list_from: <values file path>` "
        "(relative to this file)."
        if values_file
        else "Add profiles, options and overrides as in your hub's singleuser.profileList."
    )
    if not data.get("profile_list"):
        profiles_note += (
            "\nEmpty: the hub has no profile list, so servers start straight away, without "
            "an options page."
        )
    sections = [
        (
            None,
            f"Hub file for {data['name']}, written by `hubtrain init` on {when}.\n"
            "Every hub-specific fact of the book comes from this file; edit it freely. Each key\n"
            'is explained in book/reference/rehosting.md ("Describe your hub in one file").\n'
            f"Build the book and the student release for it with: make book HUB={path}",
        ),
        ("name", "What your users call the hub, and its address (without /hub/)."),
        ("url", None),
        ("login", "How users log in: the method in a word, and what a new user should click."),
        (
            "profile_list",
            "What users choose on the server options page, in KubeSpawner's own schema.\n"
            + profiles_note,
        ),
        (
            "defaults",
            "What every server gets unless its profile says otherwise (Zero to JupyterHub's\n"
            "singleuser.image, .memory, .cpu), in KubeSpawner's names. A profile's override of\n"
            "null removes a value (no limit); a key it leaves out keeps the value here.",
        ),
        (
            "storage",
            "Object storage: s3 or gcs, and the variables that hold each user's bucket\n"
            'prefixes ("" if the hub has no such bucket); the home quota and shared folders.',
        ),
        (
            "server",
            "The default interface (/lab or /tree), named servers, and the idle culler's\n"
            "timeout and the maximum server age in seconds (0: no limit).",
        ),
        (
            "content",
            "Where learners pull the student release from: `hubtrain publish` commits it to\n"
            "this branch, and every exercise link in the book names it.",
        ),
    ]
    text = ""
    for key, note in sections:
        if note:
            text += ("\n" if text else "") + _comment(note)
        if key and key in data:
            text += _dump(key, data[key])
    return text


def _write(path: Path, text: str, overwrite: bool) -> None:
    """Write atomically; without `overwrite`, fail if the file appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if `path` exists: never replaces a file silently
    except FileExistsError:
        raise InitError(f"{path}: already exists; left as it was") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _target(answers: _Answers, args: argparse.Namespace, name: str) -> tuple[Path, bool]:
    """The file to write and whether replacing it was agreed; asks in a terminal."""
    path = Path(args.file or Path(args.hubs_dir) / f"{slugify(name) or 'hub'}.yml")
    while path.exists():
        if args.force:
            return path, True
        if not answers.interactive:
            raise InitError(f"{path}: already exists; pass --force to replace it")
        if answers.yes(f"{path} already exists. Replace it?", False):
            return path, True
        other = answers.text("Write to which file instead (blank to stop)", optional=True)
        if not other:
            raise InitError(f"{path}: already exists; left as it was, nothing written")
        path = Path(other)
    return path, False


def run_init(args: argparse.Namespace, interactive: bool) -> Path:
    """Collect and check every answer, then write the hub file; return its path."""
    answers = _Answers(interactive)
    if interactive:
        print(
            "Describe your hub; press Enter to take the [default]. Ctrl-C stops, writing nothing."
        )
    # The file name comes from the hub name, so errors name a provisional source first.
    draft = _Draft(answers, args.file or "hub file")
    name = draft.answer(("name",), "Hub name, as your users call it", args.name, "--name")
    path, overwrite = _target(answers, args, name)
    draft.source = str(path)
    url = draft.answer(("url",), "Hub address, like https://hub.example.org", args.url, "--url")
    hints = _profiles(draft, args)
    values_file = hints.pop("values_file", "")
    if hints and interactive:
        found = ", ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in hints.items()
            if key != "shared_dirs"
        )
        print(f"  Also read from it, as defaults below: {found}")

    def default(key: str) -> str:
        given = getattr(args, key)
        return given if given is not None else hints.get(key, _DEFAULTS[key])

    method = draft.answer(
        ("login", "method"),
        "Login method (github, google, password...)",
        default("login_method"),
        "--login-method",
    )
    draft.answer(
        ("login", "help"),
        "What a new user should do on the login page",
        args.login_help or _LOGIN_HELP.get(method.lower(), f"Log in to {url} with {method}."),
        "--login-help",
    )
    draft.answer(
        ("storage", "provider"),
        "Object storage provider (s3 or gcs)",
        default("storage"),
        "--storage",
    )
    draft.answer(
        ("storage", "scratch_env"),
        "Variable with each user's scratch bucket prefix (none if no such bucket)",
        args.scratch_env,
        "--scratch-env",
        convert=_none_is_empty,
    )
    draft.answer(
        ("storage", "persistent_env"),
        "Variable with each user's persistent bucket prefix (none if no such bucket)",
        args.persistent_env,
        "--persistent-env",
        convert=_none_is_empty,
    )
    draft.answer(
        ("storage", "home_quota"),
        "Home directory quota, like 10 GiB",
        args.home_quota or hints.get("home_quota", ""),
        "--home-quota",
        optional=True,
    )
    mounted = {d["path"]: d for d in hints.get("shared_dirs", [])}
    draft.answer(
        ("storage", "shared_dirs"),
        "Shared folders, relative to home, separated by commas",
        ",".join(args.shared_dir) or ",".join(mounted),
        "--shared-dir",
        optional=True,
        # A folder the values file mounts keeps what it said (read-only mounts).
        convert=lambda text: [
            mounted.get(d.strip(), {"path": d.strip()}) for d in text.split(",") if d.strip()
        ],
        typed=False,
    )
    draft.answer(
        ("server", "default_url"),
        "Default interface (/lab or /tree)",
        default("default_url"),
        "--default-url",
    )
    draft.yes(
        ("server", "named_servers"),
        "Can users start named servers?",
        default("named_servers") in ("yes", True),
    )
    draft.answer(
        ("server", "idle_timeout"),
        "Idle culler timeout in seconds",
        default("idle_timeout"),
        "--idle-timeout",
    )
    draft.answer(
        ("server", "max_age"),
        "Maximum server age in seconds (0: none)",
        default("max_age"),
        "--max-age",
    )
    repo = draft.answer(
        ("content", "repo"),
        "Repository learners pull the student release from (https, no password needed)",
        args.content_repo or _origin_url(Path(args.root)),
        "--content-repo",
    )
    draft.answer(
        ("content", "branch"),
        "Branch of that repository for the release",
        args.content_branch,
        "--content-branch",
    )
    target = args.target_dir
    if repo.endswith(".git") and not target:
        target = repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if target or repo.endswith(".git"):
        draft.answer(
            ("content", "target_dir"), "Folder name of the learners' clone", target, "--target-dir"
        )
    text = render_hub_file(draft.checked, str(path), values_file)
    parse_hub(yaml.safe_load(text), str(path))  # what is written must load as written
    _write(path, text, overwrite)
    return path


def cmd_init(args: argparse.Namespace) -> int:
    """Write a hub file; exit 2 with one line if an answer or flag is not usable."""
    interactive = not args.no_input and sys.stdin.isatty()
    path = run_init(args, interactive)
    for line in load_hub(path).warnings:
        print(f"hubtrain: warning: {line}", file=sys.stderr)
    print(f"Wrote {path}. Next (book/reference/rehosting.md walks through each step):")
    print(f"  - build the book and the student release: make book HUB={path}")
    print(f"  - publish the release for learners: make publish HUB={path}")
    print(
        f"  - or let GitHub do both on each push: set the repository variable HUBTRAIN_HUB={path}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `hubtrain init`."""
    parser = sub.add_parser(
        "init",
        help="write hubs/<name>.yml: asks in a terminal, or takes every answer from flags",
        description="Write a hub file. In a terminal it asks, with the flags as defaults; "
        "with --no-input (or no terminal) the flags are the answers.",
    )
    add = parser.add_argument
    add("--name", default="", help="what your users call the hub")
    add("--url", default="", help="the hub's address, like https://hub.example.org")
    add(
        "--login-method",
        help="github, google, password... (default: from the values file, else github)",
    )
    add("--login-help", default="", help="what a new user should do on the login page")
    add(
        "--profiles-from",
        default="",
        metavar="VALUES",
        help="import the profile list from a Zero to JupyterHub values file",
    )
    add(
        "--profile",
        action="append",
        default=[],
        metavar="SPEC",
        help="a profile as 'NAME;cpu_limit=2;mem_limit=4G;image=...' (repeat for more)",
    )
    add("--storage", help="object storage: s3 or gcs (default: from the values file, else s3)")
    add("--scratch-env", default="SCRATCH_BUCKET", help="'none' if the hub has no scratch bucket")
    add("--persistent-env", default="PERSISTENT_BUCKET", help="'none' if there is none")
    add("--home-quota", default="", help="the home directory's quota, like '10 GiB'")
    add("--shared-dir", action="append", default=[], help="a shared folder (repeat for more)")
    add("--default-url", help="/lab or /tree (default: from the values file, else /lab)")
    add(
        "--named-servers",
        action=argparse.BooleanOptionalAction,
        help="users may start named servers (default: from the values file, else no)",
    )
    add("--idle-timeout", help="idle culler timeout in seconds (default: values file, else 3600)")
    add("--max-age", help="maximum server age in seconds (default: values file, else 0: none)")
    add(
        "--content-repo",
        default="",
        help="where learners pull from (default: this repository's origin)",
    )
    add("--content-branch", default="student", help="its branch (default: student)")
    add("--target-dir", default="", help="the clone's folder name (needed for .git URLs)")
    add("--file", default="", help="write here instead of HUBS_DIR/<name>.yml")
    add("--hubs-dir", default="hubs", help="folder of hub files (default: hubs)")
    add("--root", default=".", help="the course repository, for its origin (default: .)")
    add("--force", "--overwrite", action="store_true", help="replace an existing file")
    add("--no-input", action="store_true", help="never ask, even in a terminal")
    parser.set_defaults(func=cmd_init)
