"""The hub file: `hubs/<name>.yml`, validated once into a typed `HubConfig`.

Everything downstream (release, pages, links, practice hub, grading) receives a
`HubConfig`; nothing else reads the YAML. A bad file raises `HubFileError` whose
message has one line per problem, each naming the file, the key path and what
was expected (with the nearest valid key for a misspelled one).

Hub administrators write these files the way they write their Zero to JupyterHub
values, so the KubeSpawner-shaped parts accept everything the pinned KubeSpawner
accepts: a profile list given as a list or as a dict, profiles without a slug,
sizes as `1.8G`, `512M` or a number of bytes, CPUs as a number (or a numeric
string), and keys we do not model, which are the hub's business and are kept.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args, get_origin
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
from slugify import slugify as _python_slugify

__all__ = [
    "HubConfig",
    "HubFileError",
    "Profile",
    "read_yaml",
]


class HubFileError(ValueError):
    """A hub file that cannot be used; `str()` has one line per problem, for a human."""


class _Strict(BaseModel):
    """Our own keys: unknown keys are mistakes (usually typos), so they fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# KubeSpawner reads sizes with `jupyterhub.traitlets.ByteSpecification`: a number
# is bytes; a number followed by K, M, G or T is that many powers of 1024.
_SIZE = re.compile(r"[0-9]*\.?[0-9]+[KMGT]")
_SIZE_KEYS = ("mem_limit", "mem_guarantee")
_CPU_KEYS = ("cpu_limit", "cpu_guarantee")


def _override_problems(overrides: dict[str, Any]) -> list[str]:
    """What is wrong with the sizes and CPUs in one `kubespawner_override`.

    Only the keys whose form we rely on are checked (the book prints them and the
    grading environment turns them into `MEM_LIMIT` and `CPU_LIMIT`); a value
    holding KubeSpawner's `{value}` placeholder is filled in at spawn time.
    """
    problems = []
    for key in _SIZE_KEYS:
        value = overrides.get(key)
        if value is None or isinstance(value, bool) or "{value}" in str(value):
            continue
        if isinstance(value, int | float) and value >= 0:
            continue
        if isinstance(value, str) and _SIZE.fullmatch(value.strip()):
            continue
        problems.append(
            f"{key} as a size such as 512M, 1.8G or a number of bytes (got {value!r}; "
            "KubeSpawner reads K, M, G and T as powers of 1024 and refuses Gi or GB)"
        )
    for key in _CPU_KEYS:
        value = overrides.get(key)
        if value is None or "{value}" in str(value):
            continue
        if not isinstance(value, bool) and _as_float(value) is not None:
            continue
        problems.append(f"{key} as a number of CPUs such as 0.5 or 2 (got {value!r})")
    return problems


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _KubeSpawnerShaped(BaseModel):
    """KubeSpawner's own schema, pasted from a Helm values file.

    KubeSpawner accepts extra keys here (and Zero to JupyterHub values files carry
    some), so unknown keys are kept rather than refused.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    @field_validator("kubespawner_override", check_fields=False)
    @classmethod
    def _sizes_and_cpus(cls, value: dict[str, Any]) -> dict[str, Any]:
        problems = _override_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


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

    @property
    def label(self) -> str:
        """What the drop-down entry for a free-text value reads (KubeSpawner's default)."""
        return self.display_name_in_choices or "Other..."


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
    allowed_groups: list[str] = Field(default_factory=list)

    @field_validator("description", mode="before")
    @classmethod
    def _empty_description(cls, value: Any) -> Any:
        """`description:` with nothing after it is YAML's null; KubeSpawner shows no text."""
        return "" if value is None else value

    @field_validator("allowed_groups", mode="before")
    @classmethod
    def _no_groups(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def key(self) -> str:
        """The slug KubeSpawner would use: the given slug, else one from the name."""
        return self.slug or slugify(self.display_name)

    def override(self, name: str) -> Any:
        """A `kubespawner_override` value of this profile, or None."""
        return self.kubespawner_override.get(name)


class ServerDefaults(_KubeSpawnerShaped):
    """What every server gets unless its profile says otherwise: KubeSpawner's own settings.

    Zero to JupyterHub sets them from `singleuser.image`, `singleuser.memory`,
    `singleuser.cpu` and `singleuser.extraResource.limits`; a profile's
    `kubespawner_override` then replaces them for that profile (and an override
    of `null` removes the value: no limit). Empty means the hub sets nothing.
    """

    image: str = ""
    mem_limit: Any = None
    mem_guarantee: Any = None
    cpu_limit: Any = None
    cpu_guarantee: Any = None
    extra_resource_limits: dict[str, Any] = Field(default_factory=dict)

    @field_validator("image", "extra_resource_limits", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: Any) -> Any:
        """`image:` or `extra_resource_limits:` left empty (null) sets nothing."""
        if value is None:
            return "" if info.field_name == "image" else {}
        return value

    @model_validator(mode="after")
    def _sizes(self) -> ServerDefaults:
        problems = _override_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def overrides(self) -> dict[str, Any]:
        """The settings that are set, in `kubespawner_override` form."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, "", {})}


class Login(_Strict):
    method: str = Field(min_length=1)
    help: str = ""


class SharedDir(_Strict):
    """A folder the hub mounts for everyone, written as a path or `{path, description}`.

    `writable` is None when the hub file does not say; pages then make no claim.
    """

    path: str = Field(min_length=1)
    description: str = ""
    writable: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @property
    def name(self) -> str:
        """The folder's path under the learner's home (`shared`), else its last part.

        Hub files name folders as `shared`, `~/shared` or `/home/jovyan/shared`;
        all three are the same folder for a learner whose home is `/home/jovyan`.
        """
        home_relative = self.home_relative
        return home_relative or PurePosixPath(self.path).name

    @property
    def home_relative(self) -> str:
        """The path relative to the learner's home, or "" when it lies outside home."""
        path = self.path.strip()
        if path.startswith("~/"):
            return path[2:].strip("/")
        parts = PurePosixPath(path).parts
        if not path.startswith("/"):
            return path.strip("/")
        if len(parts) > 3 and parts[1] == "home":
            return "/".join(parts[3:])
        return ""

    @property
    def display(self) -> str:
        """How pages show it: `~/shared` inside home, else the absolute path."""
        return f"~/{self.home_relative}" if self.home_relative else self.path


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
    # JupyterHub.shutdown_on_logout, when the hub file knows it; None: the book says it
    # cannot tell (JupyterHub's default is False, but a managed hub may change it).
    shutdown_on_logout: bool | None = None


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
    profile_list: list[Profile] = Field(default_factory=list)
    defaults: ServerDefaults = ServerDefaults()
    storage: Storage
    server: Server = Server()
    content: Content
    source: str = Field(default="", exclude=True)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return hub_base_url(value)

    @field_validator("profile_list", mode="before")
    @classmethod
    def _no_profiles(cls, value: Any) -> Any:
        """`profile_list:` left empty (null) is a hub without a list, as `[]` is."""
        return [] if value is None else value

    @field_validator("profile_list", mode="before")
    @classmethod
    def _list_from_dict(cls, value: Any) -> Any:
        """KubeSpawner also takes a dict of profiles: it offers them sorted by key.

        The dict's keys only order the profiles; as in KubeSpawner, a profile's
        slug is its own `slug`, else one made from its display name.
        """
        if isinstance(value, dict):
            return [value[key] for key in sorted(value, key=str)]
        return value

    @field_validator("profile_list")
    @classmethod
    def _unique_slugs(cls, profiles: list[Profile]) -> list[Profile]:
        keys = [p.key for p in profiles]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"unique profile slugs; repeated: {', '.join(dupes)}")
        return profiles

    @property
    def default_profile(self) -> Profile | None:
        """The profile KubeSpawner preselects: the one marked default, else the first.

        None for a hub without a profile list, which starts servers straight away.
        """
        return next(
            (p for p in self.profile_list if p.default), next(iter(self.profile_list), None)
        )

    @property
    def has_options_page(self) -> bool:
        """KubeSpawner shows its options page whenever the profile list is not empty."""
        return bool(self.profile_list)

    def server_overrides(self, profile: Profile | None = None) -> dict[str, Any]:
        """What a server started with `profile` (default choices) gets: the hub's
        defaults, then the profile's overrides. Without a profile: the default one,
        or the hub's defaults alone on a hub without a list."""
        from hubtrain.learner.hubcheck import profile_overrides

        profile = profile or self.default_profile
        data = profile.model_dump() if profile else {}
        return profile_overrides(data, self.defaults.overrides())

    @property
    def warnings(self) -> list[str]:
        """Keys KubeSpawner would ignore, most likely misspelt, each with a did-you-mean."""
        return [f"{self.source}: {line}" for line in kubespawner_key_warnings(self.facts())]

    def facts(self) -> dict[str, Any]:
        """The config as plain JSON-able data, for the book and the release.

        Each profile carries the slug KubeSpawner gives it, so the learner's checks
        (which have no python-slugify) name profiles as the options page does.
        """
        data = json.loads(self.model_dump_json())
        for profile, model in zip(data["profile_list"], self.profile_list, strict=True):
            profile["slug"] = model.key
        return data


# Where a hub's own pages live under its base URL: what is pasted from the address
# bar (`/hub/home`, `/hub/login`, `/user/ana/lab`) ends at the base URL.
_HUB_PAGES = re.compile(r"/(hub|user)(/.*)?$")


def hub_base_url(value: str) -> str:
    """The hub's base URL, from the base URL itself or an address of one of its pages.

    `https://hub.example.org/hub/home` and `https://hub.example.org/user/ana/lab`
    both give `https://hub.example.org`; a hub under a path keeps it
    (`https://example.org/jupyter/hub/home` -> `https://example.org/jupyter`).
    Raises ValueError for what is not an http(s) URL, or has a ?query or #fragment
    that is not part of a hub page's address.
    """
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("an http(s) URL such as https://hub.example.org")
    path = _HUB_PAGES.sub("", parsed.path.rstrip("/"))
    if (parsed.query or parsed.fragment) and path == parsed.path.rstrip("/"):
        raise ValueError("the hub's base URL, without ?query or #fragment")
    return f"{parsed.scheme}://{parsed.netloc}{path}".rstrip("/")


# The keys KubeSpawner 7.1 reads in each part of a profile list (`_get_initialized_profile_list`,
# `_load_profile`, form.html), and `allowed_groups`, which KubeSpawner does not read but
# hubs that show profiles to some groups only (2i2c's among them) filter the list by.
_KNOWN_KEYS = {
    "profile": (
        "display_name",
        "description",
        "slug",
        "default",
        "kubespawner_override",
        "profile_options",
        "allowed_groups",
    ),
    "option": ("display_name", "choices", "unlisted_choice"),
    "choice": ("display_name", "default", "kubespawner_override"),
    "unlisted": (
        "enabled",
        "display_name",
        "display_name_in_choices",
        "validation_regex",
        "validation_message",
        "kubespawner_override",
    ),
}
# KubeSpawner settings a `kubespawner_override` commonly sets; a key close to one
# of these but not equal is a likely typo (`mem_limt`). Others are the hub's own business.
KUBESPAWNER_TRAITS = (
    "image",
    "image_pull_policy",
    "mem_limit",
    "mem_guarantee",
    "cpu_limit",
    "cpu_guarantee",
    "extra_resource_limits",
    "extra_resource_guarantees",
    "node_selector",
    "tolerations",
    "environment",
    "default_url",
    "working_dir",
    "volumes",
    "volume_mounts",
    "init_containers",
    "lifecycle_hooks",
    "extra_labels",
    "extra_annotations",
    "extra_pod_config",
    "extra_container_config",
    "service_account",
    "cmd",
    "args",
    "uid",
    "gid",
    "fs_gid",
    "storage_capacity",
)


def _unknown(where: str, data: Any, kind: str) -> list[str]:
    if not isinstance(data, dict):
        return []
    known = _KNOWN_KEYS[kind]
    return [
        f"{where}.{key} is not a key KubeSpawner reads{did_you_mean(str(key), list(known))}"
        for key in data
        if key not in known and did_you_mean(str(key), list(known))
    ]


def _override_typos(where: str, overrides: Any) -> list[str]:
    if not isinstance(overrides, dict):
        return []
    return [
        f"{where}.kubespawner_override.{key} is not a KubeSpawner setting"
        f"{did_you_mean(str(key), list(KUBESPAWNER_TRAITS))}"
        for key in overrides
        if key not in KUBESPAWNER_TRAITS and did_you_mean(str(key), list(KUBESPAWNER_TRAITS))
    ]


def kubespawner_key_warnings(facts: dict[str, Any]) -> list[str]:
    """Keys of a profile list that KubeSpawner would ignore and that look like a typo.

    Unknown keys are kept (KubeSpawner ignores them and hubs carry their own), so
    only a key close to one KubeSpawner reads is reported, with the key it resembles.
    """
    lines = []
    for i, profile in enumerate(facts.get("profile_list") or []):
        where = f"profile_list[{i}]"
        lines += _unknown(where, profile, "profile")
        lines += _override_typos(where, profile.get("kubespawner_override"))
        for name, option in (profile.get("profile_options") or {}).items():
            at = f"{where}.profile_options.{name}"
            lines += _unknown(at, option, "option")
            for key, choice in (option.get("choices") or {}).items():
                lines += _unknown(f"{at}.choices.{key}", choice, "choice")
                lines += _override_typos(f"{at}.choices.{key}", choice.get("kubespawner_override"))
            if option.get("unlisted_choice"):
                lines += _unknown(f"{at}.unlisted_choice", option["unlisted_choice"], "unlisted")
    return lines


def slugify(text: str) -> str:
    """The slug KubeSpawner derives from a display name (it uses python-slugify too)."""
    return _python_slugify(text)


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


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the keys at `loc` (for suggesting a key name)."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            current = _item_type(current)
            if current is None:
                return None
    current = _item_type(current) if not isinstance(current, type) else current
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _item_type(annotation: Any) -> Any:
    """The model inside `list[X]`, `dict[str, X]` or `X | None`, else None."""
    if get_origin(annotation) in (list, dict):
        return get_args(annotation)[-1]
    models = [
        arg for arg in get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)
    ]
    return models[0] if models else None


def did_you_mean(word: str, choices: list[str]) -> str:
    """`; did you mean X?` for the nearest valid key, or "" when none is close."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def explain_error(error: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    """What a pydantic error expected, in words for a hub-file author.

    `model` is the top-level model, used to suggest the nearest key for a typo.
    """
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, tuple(error["loc"][:-1])) if model else None
        known = [k for k in parent.model_fields if k != "source"] if parent else []
        hint = did_you_mean(str(error["loc"][-1]), known)
        return f"is not a known key{hint or ' (see hubs/practice.yml for the keys)'}"
    if kind == "missing":
        return "is required but missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a mapping of keys (key: value lines indented below it)"
    # Pydantic says "Input should be 's3' or 'gcs'"; after "expected" the prefix is noise.
    message = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    return f"expected {message}"


def problem_lines(exc: ValidationError, source: str) -> list[str]:
    """One line per problem; a required key that a typo stood in for is not repeated."""
    errors = exc.errors()
    suggested = set()
    lines = []
    for error in errors:
        text = explain_error(error, HubConfig)
        match = re.search(r"did you mean (\w+)\?", text)
        if match:
            suggested.add((*error["loc"][:-1], match.group(1)))
        lines.append((error, text))
    return [
        f"{source}: {key_path(error['loc'])} {text}"
        for error, text in lines
        if not (error["type"] == "missing" and tuple(error["loc"]) in suggested)
    ]


def read_yaml(path: Path, what: str = "hub file") -> Any:
    """Parse one YAML file; a missing or malformed file is a one-line `HubFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HubFileError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HubFileError(f"{path}: not valid YAML{_yaml_problem(exc, text)}") from None


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """Where the YAML is broken, and why when the reason is a tab: YAML indents with
    spaces only, and a tab (invisible in most editors) is the usual cause."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    where = f" at line {mark.line + 1}, column {mark.column + 1}"
    lines = text.splitlines()
    for number in (mark.line, mark.line - 1):
        line = lines[number] if 0 <= number < len(lines) else ""
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            column = indent.index("\t") + 1
            return (
                f" at line {number + 1}, column {column}: a tab in the indentation; "
                "YAML indents with spaces only (replace the tab by spaces)"
            )
    problem = getattr(exc, "problem", "")
    return f"{where}: {problem}" if problem else where
