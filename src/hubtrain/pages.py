"""Hub facts as the book sees them: MyST substitutions and the profile table rows.

`hubtrain build` turns a `HubConfig` into these once; the Sphinx extension and the
generated Jupyter Book config only ever receive the results (as JSON), never YAML.
"""

from __future__ import annotations

from typing import Any

from hubtrain.config import HubConfig, Profile, UnlistedChoice
from hubtrain.learner.hubcheck import profile_overrides
from hubtrain.links import exercise_link

__all__ = [
    "book_facts",
    "duration",
    "profile_rows",
    "substitutions",
    "unlisted_choice_text",
]

FSSPEC_PACKAGE = {"s3": "s3fs", "gcs": "gcsfs"}
FSSPEC_CLASS = {"s3": "s3fs.S3FileSystem", "gcs": "gcsfs.GCSFileSystem"}


def duration(seconds: int) -> str:
    """Seconds as a person says them: `3600` -> "1 hour", `0` -> "no limit"."""
    if seconds <= 0:
        return "no limit"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' * (count != 1)}"
    return f"{seconds} seconds"


def _resource(profile: Profile, name: str) -> str:
    """A profile's setting as a learner gets it by default, written as in the hub file.

    KubeSpawner applies the profile's `kubespawner_override`, then each option's
    default choice; many hubs set memory and CPU only in the choices.
    """
    value = profile_overrides(profile.model_dump()).get(name)
    return "" if value is None else _size_text(name, value)


def _depends_on(profile: Profile, names: tuple[str, ...]) -> str:
    """ " (the default; depends on Resource allocation)" when a choice changes `names`."""
    options = [
        option.display_name
        for option in profile.profile_options.values()
        if any(
            len({str(c.kubespawner_override.get(name)) for c in option.choices.values()}) > 1
            or (option.unlisted_choice and name in option.unlisted_choice.kubespawner_override)
            for name in names
        )
    ]
    return f" (the default; depends on {', '.join(options)})" if options else ""


def _size_text(name: str, value: Any) -> str:
    if name.startswith("mem_") and isinstance(value, int | float) and not isinstance(value, bool):
        return _bytes_text(value)
    return str(value)


def _bytes_text(count: float) -> str:
    """A byte count as people read it: `1991244775` -> "1.85 GiB".

    Hub files written by tools often give memory in bytes; sizes written with a
    KubeSpawner suffix (`4G`) are shown as written instead.
    """
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{int(count)} bytes"


def unlisted_choice_text(unlisted: UnlistedChoice) -> str:
    """How the options page shows a free-text choice, as KubeSpawner's form.html does:
    the drop-down entry is `display_name_in_choices` (KubeSpawner's default
    "Other..."), and the box that then appears is labelled `display_name`."""
    entry = unlisted.label
    if unlisted.display_name:
        return f'{entry} (then type it in the box "{unlisted.display_name}")'
    return f"{entry} (then type your own value)"


def _options_text(profile: Profile) -> str:
    parts = []
    for option in profile.profile_options.values():
        choices = [c.display_name for c in option.choices.values()]
        unlisted = option.unlisted_choice
        if unlisted and unlisted.enabled:
            choices.append(unlisted_choice_text(unlisted))
        parts.append(f"{option.display_name}: {', '.join(choices)}")
    return "; ".join(parts)


def _image_text(profile: Profile) -> str:
    image = profile.override("image")
    if image:
        return image
    images = [
        str(choice.kubespawner_override["image"])
        for option in profile.profile_options.values()
        for choice in option.choices.values()
        if "image" in choice.kubespawner_override
    ]
    return " or ".join(images) if images else "the hub's default image"


def profile_rows(hub: HubConfig) -> list[dict[str, str]]:
    """One row per profile, in the hub's order, with the columns the book shows.

    Guarantees and limits are printed exactly as written in the hub file (KubeSpawner
    units such as `4G`), so the table matches what an administrator configured.
    """
    rows = []
    for profile in hub.profile_list:
        rows.append(
            {
                "name": profile.display_name
                + (" (default)" if profile is hub.default_profile else ""),
                "slug": profile.key,
                "description": profile.description,
                "cpu": _range(_resource(profile, "cpu_guarantee"), _resource(profile, "cpu_limit"))
                + _depends_on(profile, ("cpu_guarantee", "cpu_limit")),
                "memory": _range(
                    _resource(profile, "mem_guarantee"), _resource(profile, "mem_limit")
                )
                + _depends_on(profile, ("mem_guarantee", "mem_limit")),
                "image": _image_text(profile),
                "options": _options_text(profile),
            }
        )
    return rows


def _range(guarantee: str, limit: str) -> str:
    if guarantee and limit:
        return f"{guarantee} guaranteed, up to {limit}"
    if limit:
        return f"up to {limit}"
    if guarantee:
        return f"{guarantee} guaranteed"
    return "not set"


def _shared_dirs_text(hub: HubConfig) -> str:
    """The hub's shared folders for prose: "`~/shared` (read-only)", or "none"."""
    dirs = hub.storage.shared_dirs
    if not dirs:
        return "none"
    access = {True: " (everyone can write)", False: " (read-only)", None: ""}
    return ", ".join(f"`{d.display}`{access[d.writable]}" for d in dirs)


def substitutions(hub: HubConfig) -> dict[str, str]:
    """The `{{ name }}` values every book page may use.

    Keep names flat and obvious: content authors use them in prose.
    """
    storage = hub.storage
    return {
        "hub_name": hub.name,
        "hub_url": hub.url,
        "hub_login_method": hub.login.method,
        "hub_login_help": hub.login.help,
        "hub_control_panel": f"{hub.url}/hub/home",
        "hub_logout": f"{hub.url}/hub/logout",
        "hub_token_page": f"{hub.url}/hub/token",
        "hub_spawn_page": f"{hub.url}/hub/spawn",
        "hub_lab_url": f"{hub.url}/hub/user-redirect/lab",
        "default_url": hub.server.default_url,
        "named_servers": "can" if hub.server.named_servers else "cannot",
        "idle_timeout": duration(hub.server.idle_timeout),
        "max_age": duration(hub.server.max_age),
        "home_quota": storage.home_quota or "set by your hub's administrators",
        "storage_provider": {"s3": "Amazon S3", "gcs": "Google Cloud Storage"}[storage.provider],
        "storage_scheme": storage.scheme,
        "fsspec_package": FSSPEC_PACKAGE[storage.provider],
        "fsspec_class": FSSPEC_CLASS[storage.provider],
        "scratch_env": storage.scratch_env,
        "persistent_env": storage.persistent_env,
        "course_repo": hub.content.repo,
        "course_branch": hub.content.branch,
        "course_dir": hub.content.directory,
        "default_profile": hub.default_profile.display_name,
        "shared_dirs": _shared_dirs_text(hub),
    }


def book_facts(hub: HubConfig, assignment_paths: list[str], hub_url: str = "") -> dict[str, Any]:
    """All the book needs: hub facts, substitutions, profile rows and exercise links.

    `assignment_paths` are notebook paths inside the release (`01-login/login.ipynb`).
    """
    return {
        "hub": hub.facts(),
        "substitutions": substitutions(hub),
        "profiles": profile_rows(hub),
        "links": {path: exercise_link(hub, path, hub_url) for path in assignment_paths},
        "link_base": {
            "repo": hub.content.repo,
            "branch": hub.content.branch,
            "app": hub.server.default_url.strip("/"),
            "target_dir": hub.content.target_dir,
        },
    }
