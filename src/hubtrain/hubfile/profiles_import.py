"""What a Zero to JupyterHub Helm values file says about the servers learners get.

Hub operators keep their settings in a values file, often inside a chart that wraps
Zero to JupyterHub (2i2c's `jupyterhub:` or `basehub: jupyterhub:`, Pangeo's
`daskhub: jupyterhub:`) among many other Helm keys. A champion points
`profile_list_from:` (or `hubtrain import-profiles`, or `hubtrain init
--profiles-from`) at that file instead of copying by hand, so the book cannot
drift from the hub. Read from it:

- the profile list (`singleuser.profileList`, or `hub.config.KubeSpawner.profile_list`);
  a hub with none, or with `profileList: []`, starts servers without an options page;
- the hub-wide settings every server starts from (`singleuser.image`, `.memory`,
  `.cpu`, `.extraResource.limits`), with the chart's own defaults where the file
  is silent (the chart guarantees 1G of memory);
- the culler, named servers, default URL, home quota and shared folders, as
  defaults for `init`'s questions.

The Littlest JupyterHub's `config.yaml` (what `tljh-config show` prints) is read
too: it has no profile list, and its `limits` apply to every server.

A list built in Python (`hub.extraConfig`) cannot be read: the error says so and
what to do instead. Every problem of a file is reported at once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from hubtrain.hubfile.config import (
    HubFileError,
    Profile,
    ServerDefaults,
    explain_error,
    key_path,
    kubespawner_key_warnings,
    read_yaml,
)

__all__ = [
    "CHART_DEFAULTS",
    "ValuesFile",
    "add_commands",
    "dump_yaml",
    "import_profiles",
    "read_values",
]

VALUES_KEY = "singleuser.profileList"
# What the Zero to JupyterHub chart's own values.yaml sets when a values file is
# silent (jupyterhub/values.yaml: singleuser.memory.guarantee, cull.*,
# hub.allowNamedServers, singleuser.storage.capacity); no CPU or memory limit.
CHART_DEFAULTS: dict[str, Any] = {
    "mem_guarantee": "1G",
    "cull_timeout": 3600,
    "cull_every": 600,
    "cull_max_age": 0,
    "allow_named_servers": False,
    "storage_capacity": "10Gi",
}
# Wrapping charts put Zero to JupyterHub's values under one of these keys.
_WRAPPERS = ("jupyterhub", "basehub", "daskhub", "binderhub", "pangeo")
# Keys of The Littlest JupyterHub's config.yaml (tljh/configurer.py), which has no chart.
_TLJH_KEYS = ("limits", "user_environment", "users", "auth", "services", "https", "http")
_TLJH_APPS = {"jupyterlab": "/lab", "classic": "/tree"}
# Folders a volume may be mounted on that are not a learner's shared folder.
_SYSTEM_DIRS = ("/etc", "/usr", "/var", "/dev", "/proc", "/sys", "/tmp", "/opt", "/srv/conda")


@dataclass
class ValuesFile:
    """What one values file says, as hub-file data and `init` defaults."""

    source: str
    chart: str  # the key path of the Zero to JupyterHub values, "" or "jupyterhub." ...
    profiles: list[dict[str, Any]]
    defaults: dict[str, Any]
    hints: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # where the profile list was found, "" when there is none


def _mapping(data: Any, *keys: str) -> dict[str, Any]:
    """`data[k1][k2]...` if every step is a mapping, else {}."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _charts(data: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """Every mapping that holds Zero to JupyterHub values, with its key path prefix."""
    if not isinstance(data, dict) or depth > 3:
        return []
    found = []
    if any(isinstance(data.get(k), dict) for k in ("singleuser", "hub", "cull")):
        found.append((prefix, data))
    for key in _WRAPPERS:
        found += _charts(data.get(key), f"{prefix}{key}.", depth + 1)
    return found


def _profile_lists(chart: dict[str, Any]) -> list[tuple[str, Any]]:
    """Where this chart's values hold a profile list, and the list."""
    lists = []
    singleuser = _mapping(chart, "singleuser")
    if "profileList" in singleuser:
        lists.append((VALUES_KEY, singleuser["profileList"]))
    kubespawner = _mapping(chart, "hub", "config", "KubeSpawner")
    if "profile_list" in kubespawner:
        lists.append(("hub.config.KubeSpawner.profile_list", kubespawner["profile_list"]))
    return lists


def _python_lists(chart: dict[str, Any]) -> list[str]:
    """Keys of `hub.extraConfig` whose Python sets the profile list."""
    extra = _mapping(chart, "hub", "extraConfig")
    return [key for key, code in extra.items() if isinstance(code, str) and "profile_list" in code]


def _image(singleuser: dict[str, Any]) -> str:
    image = _mapping(singleuser, "image")
    name = image.get("name")
    if not isinstance(name, str) or not name:
        return ""
    tag = image.get("tag")
    return f"{name}:{tag}" if tag not in (None, "") else name


def _defaults(singleuser: dict[str, Any]) -> dict[str, Any]:
    """The hub-wide settings, in KubeSpawner's names, with the chart's defaults.

    A key absent from the file takes the chart's value (a 1G memory guarantee); a
    key present but empty (`limit:`) means none, as in the chart.
    """
    memory = _mapping(singleuser, "memory")
    cpu = _mapping(singleuser, "cpu")
    defaults: dict[str, Any] = {
        "image": _image(singleuser),
        "mem_limit": memory.get("limit"),
        "mem_guarantee": memory.get("guarantee", CHART_DEFAULTS["mem_guarantee"]),
        "cpu_limit": cpu.get("limit"),
        "cpu_guarantee": cpu.get("guarantee"),
        "extra_resource_limits": dict(_mapping(singleuser, "extraResource", "limits")),
    }
    return {k: v for k, v in defaults.items() if v not in (None, "", {})}


def _login_method(authenticator: str) -> str:
    """`oauthenticator.github.GitHubOAuthenticator` or `github` -> `github`."""
    name = authenticator.rsplit(".", 1)[-1]
    for suffix in ("OAuthenticator", "Authenticator"):
        name = name.removesuffix(suffix)
    return name.lower() or authenticator


def _shared_dirs(singleuser: dict[str, Any]) -> list[dict[str, Any]]:
    """Folders from `singleuser.storage.extraVolumeMounts`, except home and system folders."""
    storage = _mapping(singleuser, "storage")
    home = str(storage.get("homeMountPath") or "/home/jovyan").rstrip("/")
    mounts = storage.get("extraVolumeMounts") or []
    if isinstance(mounts, dict):  # newer charts also take a dict of mounts
        mounts = list(mounts.values())
    dirs = []
    for mount in mounts:
        path = str(mount.get("mountPath") or "").rstrip("/") if isinstance(mount, dict) else ""
        if not path or path == home or path.startswith(_SYSTEM_DIRS):
            continue
        entry: dict[str, Any] = {"path": path}
        if mount.get("readOnly") is True:
            entry["writable"] = False
        dirs.append(entry)
    return dirs


def _hints(chart: dict[str, Any]) -> dict[str, Any]:
    """Answers to `init`'s other questions, keyed by its option names.

    The culler and named servers take the chart's defaults when the file is
    silent; the rest is given only when the file states it.
    """
    hints: dict[str, Any] = {}
    authenticator = _mapping(chart, "hub", "config", "JupyterHub").get("authenticator_class")
    if isinstance(authenticator, str) and authenticator.strip():
        hints["login_method"] = _login_method(authenticator.strip())
    named = _mapping(chart, "hub").get("allowNamedServers")
    named = CHART_DEFAULTS["allow_named_servers"] if named is None else named
    if isinstance(named, bool):
        hints["named_servers"] = "yes" if named else "no"
    singleuser = _mapping(chart, "singleuser")
    if singleuser.get("defaultUrl") in ("/lab", "/tree"):
        hints["default_url"] = singleuser["defaultUrl"]
    cull = _mapping(chart, "cull")
    if cull.get("enabled", True) is False:
        hints["idle_timeout"] = hints["max_age"] = "0"
    else:
        for key, hint, chart in (
            ("timeout", "idle_timeout", "cull_timeout"),
            ("maxAge", "max_age", "cull_max_age"),
        ):
            value = cull.get(key, CHART_DEFAULTS[chart])
            if type(value) is int:
                hints[hint] = str(value)
    capacity = _mapping(singleuser, "storage").get("capacity")
    if isinstance(capacity, str | int) and capacity:
        hints["home_quota"] = str(capacity)
    if dirs := _shared_dirs(singleuser):
        hints["shared_dirs"] = dirs
    env = singleuser.get("extraEnv")
    values = (
        env.values()
        if isinstance(env, dict)
        else [item.get("value") for item in env or [] if isinstance(item, dict)]
    )
    schemes = {v.split("://")[0] for v in values if isinstance(v, str) and "://" in v}
    for scheme, provider in (("gs", "gcs"), ("s3", "s3")):
        if scheme in schemes:
            hints["storage"] = provider
            break
    return hints


def _tljh(source: str, data: dict[str, Any]) -> ValuesFile:
    """The Littlest JupyterHub: one kind of server, `limits` for everyone (SystemdSpawner's
    `mem_limit` and `cpu_limit`), the default app and the culler where the file says."""
    limits = _mapping(data, "limits")
    defaults = {
        k: v
        for k, v in (("mem_limit", limits.get("memory")), ("cpu_limit", limits.get("cpu")))
        if v not in (None, "")
    }
    hints: dict[str, Any] = {"named_servers": "no"}
    auth = _mapping(data, "auth").get("type")
    if isinstance(auth, str) and auth.strip():
        hints["login_method"] = _login_method(auth.strip())
    app = _mapping(data, "user_environment").get("default_app")
    if app in _TLJH_APPS:
        hints["default_url"] = _TLJH_APPS[app]
    cull = _mapping(data, "services", "cull")
    if cull.get("enabled", True) is False:
        hints["idle_timeout"] = hints["max_age"] = "0"
    for key, hint in (("timeout", "idle_timeout"), ("max_age", "max_age")):
        if cull.get("enabled", True) is not False and type(cull.get(key)) is int:
            hints[hint] = str(cull[key])
    problems = _defaults_problems(source, "limits", defaults)
    if problems:
        raise HubFileError("\n".join(problems))
    return ValuesFile(source=source, chart="", profiles=[], defaults=defaults, hints=hints)


def _validation_problems(source: str, where: str, profiles: list[Any]) -> list[str]:
    try:
        TypeAdapter(list[Profile]).validate_python(profiles)
    except ValidationError as exc:
        return [
            f"{source}: {where}{key_path(e['loc'], nested=True)} {explain_error(e)}"
            for e in exc.errors()
        ]
    return []


def _defaults_problems(source: str, where: str, defaults: dict[str, Any]) -> list[str]:
    """What is wrong with the hub-wide sizes and CPUs; `where` is their key path."""
    try:
        ServerDefaults.model_validate(defaults)
    except ValidationError as exc:
        return [f"{source}: {where} {explain_error(e)}" for e in exc.errors()]
    return []


def read_values(path: str | Path) -> ValuesFile:
    """Read a values file; raise `HubFileError` with one line per problem, all at once.

    Errors name the values file and the key path inside it
    (`jupyterhub.singleuser.profileList[1].display_name is required but missing`).
    """
    path = Path(path)
    source = str(path)
    data = read_yaml(path, "values file")
    if not isinstance(data, dict):
        raise HubFileError(f"{source}: expected a Helm values mapping with singleuser: or hub:")
    charts = _charts(data)
    if not charts and any(isinstance(data.get(k), dict) for k in _TLJH_KEYS):
        return _tljh(source, data)
    if not charts:
        raise HubFileError(
            f"{source}: no Zero to JupyterHub values (singleuser:, hub: or cull:, also looked "
            f"under {', '.join(f'{w}:' for w in _WRAPPERS)})"
        )
    lists = [
        (prefix + where, value, prefix)
        for prefix, c in charts
        for where, value in _profile_lists(c)
    ]
    problems: list[str] = []
    if len(lists) > 1:
        paths = ", ".join(where for where, _, _ in lists)
        problems.append(f"{source}: more than one profile list ({paths}); keep one")
    prefix, chart = next(((p, c) for p, c in charts if _profile_lists(c)), charts[0])
    where, profiles = "", []
    if lists:
        where, profiles, _ = lists[0]
        if profiles is None:
            profiles = []
        if not isinstance(profiles, list | dict):
            problems.append(f"{source}: {where} expected a list of profiles")
            profiles = []
        if isinstance(profiles, dict):  # KubeSpawner offers a dict's profiles sorted by key
            profiles = [profiles[key] for key in sorted(profiles, key=str)]
        problems += _validation_problems(source, where, profiles)
    python = [f"{p}hub.extraConfig.{key}" for p, c in charts for key in _python_lists(c)]
    if python and not profiles:
        problems.append(
            f"{source}: {', '.join(python)} sets the profile list in Python, which hubtrain "
            "cannot run; write the profiles it makes into the hub file's profile_list: in "
            "KubeSpawner's schema (or give them to `hubtrain init` with --profile "
            "'NAME;mem_limit=...'), or ask the hub's administrators for the list"
        )
    singleuser = _mapping(chart, "singleuser")
    defaults = _defaults(singleuser)
    problems += _defaults_problems(source, f"{prefix}singleuser", defaults)
    if problems:
        raise HubFileError("\n".join(problems))
    return ValuesFile(
        source=source,
        chart=prefix,
        profiles=profiles,
        defaults=defaults,
        hints=_hints(chart),
        where=where,
    )


def import_profiles(path: str | Path) -> list[dict[str, Any]]:
    """The profile list of a values file as plain data (empty for a hub without one).

    The result is exactly what the hub file's `profile_list` accepts.
    """
    return read_values(path).profiles


class _PlainDumper(yaml.SafeDumper):
    """Writes every block in full: no `&id001`/`*id001` anchors, so editing one
    profile in the written file never silently edits another, and list items are
    indented under their key, as the example hub files are written."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML for a hub file: keys in the given order, no anchors, Unicode kept."""
    return yaml.dump(
        data,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=96,
    )


def cmd_import_profiles(args: argparse.Namespace) -> int:
    """Print the `profile_list:` and `defaults:` blocks for a hub file."""
    values = read_values(args.values)
    if values.profiles:
        print(
            f"# From {args.values} ({len(values.profiles)} profiles, {values.where}); "
            "paste into hubs/<name>.yml"
        )
    else:
        print(
            f"# From {args.values}: no profile list, so the hub starts servers without an "
            "options page; paste into hubs/<name>.yml"
        )
    print(dump_yaml({"profile_list": values.profiles, "defaults": values.defaults}), end="")
    for line in kubespawner_key_warnings({"profile_list": values.profiles}):
        where = line.replace("profile_list", values.where, 1)
        print(f"hubtrain: warning: {values.source}: {where}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import-profiles",
        help="print the profile_list and hub-wide defaults of a Zero to JupyterHub values file",
    )
    parser.add_argument("values", help="a Helm values file (singleuser.profileList, if any)")
    parser.set_defaults(func=cmd_import_profiles)
