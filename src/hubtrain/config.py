"""The hub file: `hubs/<name>.yml`, validated once into a typed `HubConfig`.

Everything downstream (release, pages, links, practice hub, grading) receives a
`HubConfig`; nothing else reads the YAML. A bad file raises `HubFileError` whose
message names the file, the key path and what was expected, in one line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "HubConfig",
    "HubFileError",
    "Profile",
    "load_hub",
    "parse_hub",
    "read_yaml",
]


class HubFileError(ValueError):
    """A hub file that cannot be used; `str()` is one line meant for a human."""


class _Strict(BaseModel):
    """Our own keys: unknown keys are mistakes (usually typos), so they fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _KubeSpawnerShaped(BaseModel):
    """KubeSpawner's own schema, pasted from a Helm values file.

    KubeSpawner accepts extra keys here (and Zero to JupyterHub values files carry
    some), so unknown keys are kept rather than refused.
    """

    model_config = ConfigDict(extra="allow", frozen=True)


class OptionChoice(_KubeSpawnerShaped):
    display_name: str
    default: bool = False
    kubespawner_override: dict[str, Any] = Field(default_factory=dict)


class UnlistedChoice(_KubeSpawnerShaped):
    enabled: bool = False
    display_name: str = ""
    display_name_in_choices: str = ""
    validation_regex: str = ""
    validation_message: str = ""
    kubespawner_override: dict[str, Any] = Field(default_factory=dict)


class ProfileOption(_KubeSpawnerShaped):
    display_name: str
    choices: dict[str, OptionChoice] = Field(default_factory=dict)
    unlisted_choice: UnlistedChoice | None = None

    @model_validator(mode="after")
    def _has_a_choice(self) -> ProfileOption:
        if not self.choices and not (self.unlisted_choice and self.unlisted_choice.enabled):
            raise ValueError("a profile option needs `choices` or an enabled `unlisted_choice`")
        return self


class Profile(_KubeSpawnerShaped):
    """One entry of KubeSpawner's `profile_list`."""

    display_name: str
    description: str = ""
    slug: str = ""
    default: bool = False
    kubespawner_override: dict[str, Any] = Field(default_factory=dict)
    profile_options: dict[str, ProfileOption] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The slug KubeSpawner would use: the given slug, else one from the name."""
        return self.slug or slugify(self.display_name)

    def override(self, name: str) -> Any:
        """A `kubespawner_override` value of this profile, or None."""
        return self.kubespawner_override.get(name)


class Login(_Strict):
    method: str = Field(min_length=1)
    help: str = ""


class SharedDir(_Strict):
    path: str
    description: str = ""
    writable: bool = False


class Storage(_Strict):
    provider: Literal["s3", "gcs"]
    scratch_env: str = "SCRATCH_BUCKET"
    persistent_env: str = "PERSISTENT_BUCKET"
    home_quota: str = ""
    shared_dirs: list[SharedDir] = Field(default_factory=list)

    @field_validator("scratch_env", "persistent_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
            raise ValueError("an environment variable name such as SCRATCH_BUCKET")
        return value

    @property
    def scheme(self) -> str:
        """The URL scheme fsspec uses for this provider."""
        return {"s3": "s3", "gcs": "gs"}[self.provider]


class Server(_Strict):
    default_url: Literal["/lab", "/tree"] = "/lab"
    named_servers: bool = False
    idle_timeout: int = Field(default=3600, ge=0)
    max_age: int = Field(default=0, ge=0)


class Content(_Strict):
    repo: str = Field(min_length=1)
    branch: str = Field(default="main", min_length=1)
    target_dir: str = ""

    @property
    def directory(self) -> str:
        """Where nbgitpuller puts the clone: `target_dir`, else the repo name.

        nbgitpuller names the clone after the last part of the repo URL, keeping a
        trailing `.git`; that is why a `.git` URL needs `target_dir` set for links to
        point at the right file (see `links.nbgitpuller_link`).
        """
        if self.target_dir:
            return self.target_dir.strip("/")
        return self.repo.rstrip("/").rsplit("/", 1)[-1]


class HubConfig(_Strict):
    """Everything hub-specific about the course, from one hub file."""

    name: str = Field(min_length=1)
    url: str
    login: Login
    profile_list: list[Profile] = Field(min_length=1)
    storage: Storage
    server: Server = Server()
    content: Content
    source: str = Field(default="", exclude=True)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("an http(s) URL such as https://hub.example.org")
        if parsed.query or parsed.fragment:
            raise ValueError("the hub's base URL, without ?query or #fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _unique_slugs(self) -> HubConfig:
        keys = [p.key for p in self.profile_list]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"profile slugs must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def default_profile(self) -> Profile:
        """The profile KubeSpawner preselects: the one marked default, else the first."""
        return next((p for p in self.profile_list if p.default), self.profile_list[0])

    def facts(self) -> dict[str, Any]:
        """The config as plain JSON-able data, for the book and the release."""
        return json.loads(self.model_dump_json())


def slugify(text: str) -> str:
    """A lowercase, dash-separated slug, as KubeSpawner derives profile slugs."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def key_path(loc: tuple[Any, ...], nested: bool = False) -> str:
    """A pydantic error location as a YAML key path: `profile_list[0].slug`.

    `nested=True` gives a suffix to append to an outer path (`[0].slug`).
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path or nested else str(part)
    return path or ("" if nested else "(top level)")


def explain_error(error: dict[str, Any]) -> str:
    """What a pydantic error expected, in words for a hub-file author."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "is not a known key (check the spelling; see hubs/practice.yml)"
    if kind == "missing":
        return "is required but missing"
    # Pydantic says "Input should be 's3' or 'gcs'"; after "expected" the prefix is noise.
    message = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    return f"expected {message}"


def parse_hub(data: Any, source: str = "<hub file>") -> HubConfig:
    """Validate already-parsed YAML data; `source` names the file in errors."""
    if not isinstance(data, dict):
        raise HubFileError(f"{source}: expected a mapping of keys (name, url, ...) at the top")
    if "profile_list_from" in data:
        data = _with_imported_profiles(data, source)
    try:
        return HubConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = exc.error_count() - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        raise HubFileError(
            f"{source}: {key_path(first['loc'])} {explain_error(first)}{tail}"
        ) from None


def load_hub(path: str | Path) -> HubConfig:
    """Read and validate a hub file; the only place YAML is read."""
    path = Path(path)
    return parse_hub(read_yaml(path), str(path))


def read_yaml(path: Path, what: str = "hub file") -> Any:
    """Parse one YAML file; a missing or malformed file is a one-line `HubFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HubFileError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise HubFileError(f"{path}: not valid YAML{where}") from None


def _with_imported_profiles(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Replace `profile_list_from: PATH` by the profile list of that values file.

    PATH is relative to the hub file. The imported list is then validated with
    the rest of the hub file, as if it had been pasted in.
    """
    from hubtrain.profiles_import import import_profiles

    data = dict(data)
    values = data.pop("profile_list_from")
    if "profile_list" in data:
        raise HubFileError(f"{source}: profile_list_from expected alone (remove profile_list)")
    if not isinstance(values, str) or not values.strip():
        raise HubFileError(f"{source}: profile_list_from expected the path of a values file")
    data["profile_list"] = import_profiles(Path(source).parent / values)
    return data
