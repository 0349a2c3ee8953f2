"""What a rehearsal will do, checked against the hub file before anything is created.

A `Plan` is built from an event file (`--event FILE`) and command-line flags
(flags win). Every learner gets `user_options` exactly as KubeSpawner reads them
from a POST to `/hub/api/users/<name>/server`: `{"profile": slug, "<option>":
choice}` or, for a value typed into "Other", `{"<option>--unlisted-choice": text}`.
A profile, option or choice the hub file does not offer is a `PlanError` (one
line), so a rehearsal never starts servers the real day's learners could not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubtrain.hubfile.config import HubConfig, HubFileError, Profile, read_yaml

__all__ = [
    "ARRIVALS",
    "FAILURE_KINDS",
    "PREFIX",
    "Limits",
    "Plan",
    "PlanError",
    "parse_profile_spec",
]

# How a learner's walk can end, besides "ok"; the report counts each kind. Kept
# here, not in `learner` (which imports Locust), so the report can use it too.
FAILURE_KINDS = (
    "HTTP 429",
    "timeout",
    "spawn error",
    "pull error",
    "kernel died",
    "check failed",
    "other",
)

ARRIVALS = ("burst", "ramp", "poisson")
# Every user a rehearsal creates starts with this; clean-up removes only these.
PREFIX = "hubtrain-rehearsal-"
EVENT_KEYS = {"users", "arrival", "rate", "module", "profiles", "groups", "limits", "seed"}
LIMIT_KEYS = {"p95", "p95_pull", "p95_check", "max_failures"}


class PlanError(ValueError):
    """A rehearsal that cannot be run as asked; `str()` is one line."""


@dataclass(frozen=True)
class Limits:
    """What the TA calls "good enough": p95 seconds per step, and failures allowed."""

    p95: float | None = None
    p95_pull: float | None = None
    p95_check: float | None = None
    max_failures: int = 0


@dataclass(frozen=True)
class Plan:
    """Validated settings of one rehearsal."""

    users: int
    arrival: str = "burst"
    rate: float = 1.0
    module: str = "01"
    mix: tuple[dict[str, str], ...] = ()
    groups: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    seed: int = 0

    def user_options(self, index: int) -> dict[str, str]:
        """The options learner `index` (0-based) sends: the mix, in turn."""
        return dict(self.mix[index % len(self.mix)])


def _choice_options(profile: Profile, given: dict[str, str], where: str) -> dict[str, str]:
    """`{option: value}` as typed -> KubeSpawner's user_options for `profile`.

    A value that is one of the option's choices is that choice; any other value
    goes to "Other" (`<option>--unlisted-choice`), which the option must allow and
    whose `validation_regex` it must pass, as KubeSpawner checks at spawn time.
    """
    options = {"profile": profile.key}
    for name, value in given.items():
        option = profile.profile_options.get(name)
        if option is None:
            known = ", ".join(profile.profile_options) or "none"
            raise PlanError(
                f"{where}: profile {profile.key!r} has no option {name!r} (options: {known})"
            )
        value = str(value)
        if value in option.choices:
            options[name] = value
            continue
        unlisted = option.unlisted_choice
        if unlisted is None or not unlisted.enabled:
            known = ", ".join(option.choices)
            raise PlanError(
                f"{where}: {value!r} is not a choice of {profile.key}.{name} (choices: {known})"
            )
        if unlisted.validation_regex and not re.match(unlisted.validation_regex, value):
            reason = unlisted.validation_message or f"it must match {unlisted.validation_regex}"
            raise PlanError(f"{where}: {value!r} for {profile.key}.{name}: {reason}")
        options[f"{name}--unlisted-choice"] = value
    return options


def parse_profile_spec(hub: HubConfig, spec: str, where: str = "--profile") -> dict[str, str]:
    """`slug` or `slug,option=value,...` -> user_options, checked against `hub`."""
    slug, *pairs = [part.strip() for part in spec.split(",")]
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise PlanError(f"{where}: expected slug,option=value, not {spec!r}")
        given[name.strip()] = value.strip()
    return _profile_options(hub, slug, given, where)


def _profile_options(hub: HubConfig, slug: str, given: dict[str, str], where: str) -> dict:
    profile = next((p for p in hub.profile_list if p.key == slug), None)
    if profile is None:
        known = ", ".join(p.key for p in hub.profile_list)
        raise PlanError(f"{where}: no profile {slug!r} in {hub.source} (profiles: {known})")
    return _choice_options(profile, given, where)


def _event_mix(hub: HubConfig, entries: Any, source: str) -> list[dict[str, str]]:
    """An event file's `profiles:` list; each entry may carry a `share` weight."""
    if not isinstance(entries, list) or not entries:
        raise PlanError(f"{source}: profiles expected a list such as [{{profile: small}}]")
    mix: list[dict[str, str]] = []
    for index, entry in enumerate(entries):
        where = f"{source}: profiles[{index}]"
        if isinstance(entry, str):
            entry = {"profile": entry}
        if not isinstance(entry, dict) or "profile" not in entry:
            raise PlanError(f"{where} expected a mapping with a profile key")
        share = entry.get("share", 1)
        if not isinstance(share, int) or share < 1:
            raise PlanError(f"{where}.share expected a whole number of at least 1")
        options = entry.get("options") or {}
        if not isinstance(options, dict):
            raise PlanError(f"{where}.options expected a mapping of option: value")
        mix += [_profile_options(hub, str(entry["profile"]), options, where)] * share
    return mix


def _event(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(path, "event file")
    except HubFileError as exc:
        raise PlanError(str(exc)) from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: expected a mapping (users, arrival, profiles, ...)")
    unknown = sorted(set(data) - EVENT_KEYS)
    if unknown:
        raise PlanError(
            f"{path}: {unknown[0]} is not a known key ({', '.join(sorted(EVENT_KEYS))})"
        )
    limits = data.get("limits") or {}
    if not isinstance(limits, dict) or set(limits) - LIMIT_KEYS:
        raise PlanError(f"{path}: limits expected some of {', '.join(sorted(LIMIT_KEYS))}")
    return data


def _number(value: Any, where: str, kind: type, low: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise PlanError(f"{where} expected a number of at least {low}, not {value!r}")
    return kind(value)


def make_plan(hub: HubConfig, flags: dict[str, Any], event: Path | None = None) -> Plan:
    """Merge the event file (if any) and flags (set ones win) into a checked Plan."""
    data = _event(event) if event else {}
    source = str(event) if event else "flags"
    limits = dict(data.get("limits") or {})
    for key in LIMIT_KEYS:
        if flags.get(key) is not None:
            limits[key] = flags[key]

    def pick(key: str, default: Any) -> Any:
        return flags[key] if flags.get(key) is not None else data.get(key, default)

    users = _number(pick("users", None) or 0, f"{source}: users", int, 1)
    arrival = pick("arrival", "burst")
    if arrival not in ARRIVALS:
        raise PlanError(f"{source}: arrival expected one of {', '.join(ARRIVALS)}, not {arrival!r}")
    rate = _number(pick("rate", 1.0), f"{source}: rate", float, 0.001)
    module = str(pick("module", "1")).zfill(2)
    if flags.get("profiles"):
        mix = [parse_profile_spec(hub, spec) for spec in flags["profiles"]]
    elif "profiles" in data:
        mix = _event_mix(hub, data["profiles"], source)
    else:
        # A hub without a profile list starts every server the same way: no options.
        mix = [{"profile": hub.default_profile.key}] if hub.default_profile else [{}]
    groups = flags.get("groups") or data.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise PlanError(f"{source}: groups expected a list of group names")
    return Plan(
        users=users,
        arrival=arrival,
        rate=rate,
        module=module,
        mix=tuple(mix),
        groups=tuple(groups),
        limits=Limits(
            p95=_optional(limits, "p95", source),
            p95_pull=_optional(limits, "p95_pull", source),
            p95_check=_optional(limits, "p95_check", source),
            max_failures=int(
                _number(limits.get("max_failures", 0), f"{source}: max_failures", int, 0)
            ),
        ),
        seed=int(pick("seed", 0)),
    )


def _optional(limits: dict[str, Any], key: str, source: str) -> float | None:
    value = limits.get(key)
    return None if value is None else _number(value, f"{source}: limits.{key}", float, 0.001)
