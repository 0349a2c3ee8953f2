"""Loading a hub file: read the YAML, take a values file's profile list where
`profile_list_from:` points, and validate it all with `config`'s model.

Above `config` (the model) and `profiles_import` (values files), which both stay
free of each other's loading: the one place a hub file is read from disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hubtrain.hubfile.config import HubConfig, HubFileError, problem_lines, read_yaml

__all__ = ["load_hub", "parse_hub"]


def parse_hub(data: Any, source: str = "<hub file>") -> HubConfig:
    """Validate already-parsed YAML data; `source` names the file in errors.

    Every problem is reported at once, one line each, so an author fixes a file
    in one pass instead of one error per run.
    """
    if not isinstance(data, dict):
        raise HubFileError(f"{source}: expected a mapping of keys (name, url, ...) at the top")
    if "profile_list_from" in data:
        data = _with_imported_profiles(data, source)
    try:
        return HubConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise HubFileError("\n".join(problem_lines(exc, source))) from None


def load_hub(path: str | Path) -> HubConfig:
    """Read and validate a hub file; the only place YAML is read."""
    path = Path(path)
    return parse_hub(read_yaml(path), str(path))


def _with_imported_profiles(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Replace `profile_list_from: PATH` by the profile list of that values file, and
    take its hub-wide `defaults` unless the hub file states them.

    PATH is relative to the hub file. The imported list is then validated with
    the rest of the hub file, as if it had been pasted in.
    """
    from hubtrain.hubfile.profiles_import import read_values

    data = dict(data)
    values = data.pop("profile_list_from")
    if "profile_list" in data:
        raise HubFileError(f"{source}: profile_list_from expected alone (remove profile_list)")
    if not isinstance(values, str) or not values.strip():
        raise HubFileError(f"{source}: profile_list_from expected the path of a values file")
    imported = read_values(Path(source).parent / values)
    data["profile_list"] = imported.profiles
    data.setdefault("defaults", imported.defaults)
    return data
