"""Hub facts as the book sees them: MyST substitutions and the profile table rows.

`hubtrain build` turns a `HubConfig` into these once; the Sphinx extension and the
generated Jupyter Book config only ever receive the results (as JSON), never YAML.
"""

from __future__ import annotations

from typing import Any

from hubtrain.course.links import exercise_link
from hubtrain.hubfile.config import HubConfig, Profile, UnlistedChoice

__all__ = [
    "UNNAMED_IMAGE",
    "book_facts",
    "duration",
    "profile_rows",
    "resources",
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


def _resource(overrides: dict[str, Any], name: str) -> str:
    """One setting as a learner gets it by default, written as in the hub file.

    `overrides` are the hub's defaults with the profile's overrides and each
    option's default choice applied (`HubConfig.server_overrides`).
    """
    value = overrides.get(name)
    if value is None:
        return ""
    if "{value}" in str(value):
        return "the value you type"
    return _size_text(name, value)


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
    """One line per choice, "Option: choice", the preselected one marked.

    Lines, not a comma-separated list: real choice names contain commas ("~2 GB, ~0.25
    CPU"). KubeSpawner preselects the choice marked default, else the first listed;
    an option with only a free-text entry shows that entry alone.
    """
    lines = []
    for option in profile.profile_options.values():
        choices = list(option.choices.values())
        preselected = next((c for c in choices if c.default), choices[0] if choices else None)
        unlisted = option.unlisted_choice
        entries = len(choices) + bool(unlisted and unlisted.enabled)
        for choice in choices:
            mark = " (preselected)" if choice is preselected and entries > 1 else ""
            # Hubs that filter by group (2i2c's) also restrict single choices this way.
            groups = (choice.model_extra or {}).get("allowed_groups") or []
            if groups:
                mark += f" (only for members of {' or '.join(map(str, groups))})"
            lines.append(f"{option.display_name}: {choice.display_name}{mark}")
        if unlisted and unlisted.enabled:
            lines.append(f"{option.display_name}: {unlisted_choice_text(unlisted)}")
    return "\n".join(lines)


_NAMED_BY_LEARNER = "one you name on the options page"
# What a server runs when nothing names an image. On Zero to JupyterHub that is the
# chart's own `singleuser.image`: quay.io/jupyterhub/k8s-singleuser-sample (Docker
# Hub's jupyterhub/k8s-singleuser-sample before the chart moved to quay.io in
# jupyterhub/zero-to-jupyterhub-k8s#3254), whose tag chartpress sets to the chart's
# version when the chart is published. A values file does not say the chart's
# version, so the tag cannot be named here.
UNNAMED_IMAGE = (
    "not named in the hub file; on Zero to JupyterHub, the chart's sample image"
    " (quay.io/jupyterhub/k8s-singleuser-sample, tagged with the chart's version)"
)


def _image_text(profile: Profile, overrides: dict[str, Any]) -> str:
    """The image(s) a learner can get with this profile.

    Each listed choice's image, then "one you name" for a free-text image; without
    choices, the profile's (or the hub's) image; `UNNAMED_IMAGE` only when neither
    the profile nor the hub file names one.
    """
    images: list[str] = []
    for option in profile.profile_options.values():
        images += [
            str(c.kubespawner_override["image"])
            for c in option.choices.values()
            if c.kubespawner_override.get("image")
        ]
        unlisted = option.unlisted_choice
        if unlisted and unlisted.enabled and "image" in unlisted.kubespawner_override:
            images.append(_NAMED_BY_LEARNER)
    if images:
        return " or ".join(dict.fromkeys(images))
    image = overrides.get("image")
    if image and "{value}" in str(image):
        return _NAMED_BY_LEARNER
    return str(image) if image else UNNAMED_IMAGE


def _gpu_text(overrides: dict[str, Any]) -> str:
    """GPUs and other extra resources (`extra_resource_limits`): "1 × nvidia.com/gpu"."""
    extra = overrides.get("extra_resource_limits") or {}
    return ", ".join(f"{count} × {name}" for name, count in extra.items() if count)


def resources(hub: HubConfig, profile: Profile | None = None) -> dict[str, str]:
    """CPU, memory, image and GPUs of a server of `profile` (default choices); without
    one, of the default profile, or of the hub's only kind of server on a hub
    without a profile list."""
    profile = profile or hub.default_profile
    overrides = hub.server_overrides(profile)
    shown = profile or _NO_PROFILE
    cpu = ("cpu_guarantee", "cpu_limit")
    memory = ("mem_guarantee", "mem_limit")
    return {
        "cpu": _range(*(_resource(overrides, n) for n in cpu)) + _depends_on(shown, cpu),
        "memory": _range(*(_resource(overrides, n) for n in memory)) + _depends_on(shown, memory),
        "image": _image_text(shown, overrides),
        "gpu": _gpu_text(overrides),
    }


# A hub without a profile list gives every server the hub's defaults alone.
_NO_PROFILE = Profile(display_name="(no profile list)")


def _who(profile: Profile) -> str:
    """Who sees the profile: KubeSpawner offers one with `allowed_groups` only to
    members of at least one of those groups."""
    if not profile.allowed_groups:
        return "everyone"
    return "members of " + " or ".join(profile.allowed_groups)


def profile_rows(hub: HubConfig) -> list[dict[str, str]]:
    """One row per profile, in the hub's order, with the columns the book shows.

    Guarantees and limits are what a server gets: the hub-wide defaults, then the
    profile's overrides and default choices, printed as written in the hub file
    (KubeSpawner units such as `4G`), so the table matches what an administrator
    configured. A hub without a profile list has no rows.
    """
    rows = []
    for profile in hub.profile_list:
        rows.append(
            {
                "name": profile.display_name
                + (" (default)" if profile is hub.default_profile else ""),
                "slug": profile.key,
                "description": profile.description,
                "who": _who(profile),
                **resources(hub, profile),
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
        return f"{guarantee} guaranteed, no limit"
    return "no guarantee or limit set"


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
    server = resources(hub)
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
        "default_profile": (
            hub.default_profile.display_name
            if hub.default_profile
            else "none: every server is the same on this hub"
        ),
        # The server a learner starts without choosing anything: the default profile's, or
        # (no list) the one kind every server is.
        "the_default_server": (
            f"a server with the default profile (**{hub.default_profile.display_name}**)"
            if hub.default_profile
            else "a server (every server on this hub is the same)"
        ),
        # What every server gets on a hub without a profile list (else the default profile's).
        "server_memory": server["memory"],
        "server_cpu": server["cpu"],
        "server_image": server["image"],
        "server_gpu": server["gpu"] or "none",
        # What happens when a stopped server is started (KubeSpawner shows its options page
        # whenever the profile list is not empty; without one the server starts at once).
        "starting_your_server": (
            "the hub shows its **Server Options** page: choose a profile and press **Start**"
            if hub.has_options_page
            else "the hub starts it straight away"
        ),
        # How a learner gets other software: another profile, or (no list) the administrators.
        "get_another_image": (
            "stop your server and start it with a profile or image that offers R"
            if hub.has_options_page
            else "every server on this hub runs the same image, so ask the hub's administrators"
        ),
        "shared_dirs": _shared_dirs_text(hub),
        "logout_stops_server": _logout_text(hub),
    }


def _logout_text(hub: HubConfig) -> str:
    """What logging out does to a server on this hub, for module 1's prose."""
    setting = hub.server.shutdown_on_logout
    if setting is None:
        return (
            f"This book cannot tell whether {hub.name} changed it, so assume it did not:"
            " **stop your server first, then log out.**"
        )
    if setting:
        return (
            f"{hub.name} has turned it on, so logging out there stops your server too; on"
            " other hubs it may not, so make a habit of it: **stop your server first, then"
            " log out.**"
        )
    return (
        f"{hub.name} leaves it off: logging out leaves your server running, so **stop your"
        " server first, then log out.**"
    )


def book_facts(hub: HubConfig, assignment_paths: list[str], hub_url: str = "") -> dict[str, Any]:
    """All the book needs: hub facts, substitutions, profile rows and exercise links.

    `assignment_paths` are notebook paths inside the release (`01-login/login.ipynb`).
    """
    return {
        "hub": hub.facts(),
        "substitutions": substitutions(hub),
        "profiles": profile_rows(hub),
        "server": resources(hub),
        "links": {path: exercise_link(hub, path, hub_url) for path in assignment_paths},
        "link_base": {
            "repo": hub.content.repo,
            "branch": hub.content.branch,
            "app": hub.server.default_url.strip("/"),
            "target_dir": hub.content.target_dir,
        },
    }
