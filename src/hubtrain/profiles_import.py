"""Profile lists taken straight from a Zero to JupyterHub Helm values file.

Hub operators keep the profile list in `singleuser.profileList`, often inside a
chart that wraps Zero to JupyterHub (2i2c's `jupyterhub: singleuser: ...`, or
`basehub: jupyterhub: singleuser: ...`) among many other Helm keys. A champion
points `profile_list_from:` (or `hubtrain import-profiles`) at that file instead of
copying the list by hand, so the book's profile table cannot drift from the hub.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from hubtrain.config import HubFileError, Profile, explain_error, key_path, read_yaml

__all__ = ["add_commands", "find_profile_list", "import_profiles"]

VALUES_KEY = "singleuser.profileList"


def _candidates(data: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every `...singleuser.profileList` in the mapping, with its dotted key path.

    Only mappings are searched, and only a few levels deep: the wrappers used in
    practice are one or two charts deep (`jupyterhub:`, `basehub: jupyterhub:`).
    """
    if not isinstance(data, dict) or depth > 3:
        return []
    found = []
    singleuser = data.get("singleuser")
    if isinstance(singleuser, dict) and "profileList" in singleuser:
        found.append((f"{prefix}{VALUES_KEY}", singleuser["profileList"]))
    for key, value in data.items():
        if key != "singleuser" and isinstance(value, dict):
            found += _candidates(value, f"{prefix}{key}.", depth + 1)
    return found


def find_profile_list(data: Any, source: str) -> tuple[str, list[Any]]:
    """The profile list in parsed values data, and the key path it was found under.

    Raises `HubFileError` naming `source` and the key when there is none, more than
    one, or it is not a non-empty list.
    """
    if not isinstance(data, dict):
        raise HubFileError(f"{source}: expected a Helm values mapping with {VALUES_KEY}")
    found = _candidates(data)
    if not found:
        raise HubFileError(
            f"{source}: no {VALUES_KEY} (also looked under wrapping keys such as "
            f"jupyterhub.{VALUES_KEY})"
        )
    if len(found) > 1:
        paths = ", ".join(path for path, _ in found)
        raise HubFileError(f"{source}: more than one profile list ({paths}); keep one")
    path, profiles = found[0]
    if not isinstance(profiles, list) or not profiles:
        raise HubFileError(f"{source}: {path} expected a non-empty list of profiles")
    return path, profiles


def import_profiles(path: str | Path) -> list[dict[str, Any]]:
    """Read and check the profile list of a values file; return it as plain data.

    The result is exactly what the hub file's `profile_list` accepts. Errors name
    the values file and the key path inside it (`jupyterhub.singleuser.profileList[1]
    .display_name is required but missing`).
    """
    path = Path(path)
    where, profiles = find_profile_list(read_yaml(path, "values file"), str(path))
    try:
        TypeAdapter(list[Profile]).validate_python(profiles)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise HubFileError(
            f"{path}: {where}{key_path(first['loc'], nested=True)} {explain_error(first)}"
        ) from None
    return profiles


def cmd_import_profiles(args: argparse.Namespace) -> int:
    """Print the `profile_list:` block for a hub file."""
    profiles = import_profiles(args.values)
    print(f"# From {args.values} ({len(profiles)} profiles); paste into hubs/<name>.yml")
    print(yaml.safe_dump({"profile_list": profiles}, sort_keys=False, allow_unicode=True), end="")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import-profiles",
        help="print the profile_list of a Zero to JupyterHub values file, for a hub file",
    )
    parser.add_argument("values", help="a Helm values file with singleuser.profileList")
    parser.set_defaults(func=cmd_import_profiles)
