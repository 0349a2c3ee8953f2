"""The practice hub's spawner: KubeSpawner's profile list on local processes.

Managed hubs run KubeSpawner. The practice hub runs each learner's server as a
local process instead, but shows the same options page (KubeSpawner's own form
template, rendered from the installed `kubespawner` package) and applies the
choice with KubeSpawner's rules, so the server's environment carries the same
`MEM_LIMIT`, `CPU_LIMIT`, `MEM_GUARANTEE`, `CPU_GUARANTEE`, `JUPYTER_IMAGE_SPEC`
and `JUPYTER_IMAGE` a learner would see on a Kubernetes hub. Resource limits are not
enforced (a local process cannot be limited the way a container is, and the image
is a name), but with `confine` each server runs inside bubblewrap, as a pod runs
in its container: it sees its own home, the shared directories and a read-only
Python, and nothing else of this machine's files (the course sources with their
solutions, the hub's state, other learners' homes).
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import os
import re
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment, FileSystemLoader
from jupyterhub.spawner import SimpleLocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Bool, Dict, List, Unicode, default

from hubtrain.grading.sandbox import find_sandbox
from hubtrain.hubfile.config import slugify

__all__ = ["SYSTEM_FILES", "PracticeSpawner", "kubespawner_templates"]

# What a learner's server may read of /etc besides what the grading sandbox
# binds: name lookup, Debian's alternatives (commands in /usr/bin link there),
# R's settings and file types. Never the whole of /etc: servers run as root here,
# and /etc/shadow would be readable.
SYSTEM_FILES = ("resolv.conf", "alternatives", "R", "mime.types", "timezone", "gitconfig")

START_ATTEMPTS = 3


def kubespawner_templates() -> Path:
    """The installed KubeSpawner's `templates/` folder, found without importing it.

    Importing `kubespawner` loads the Kubernetes client (seconds at every hub
    start); the form template is all the practice hub needs from it.
    """
    spec = importlib.util.find_spec("kubespawner")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the jupyterhub-kubespawner package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "templates"


def _format(value: Any, text: str) -> Any:
    """Put `text` into every `{value}` placeholder of a nested override value.

    KubeSpawner's `recursive_format`: other placeholders are left as they are.
    """

    class _Keep(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    if isinstance(value, str):
        return value.format_map(_Keep(value=text))
    if isinstance(value, list):
        return [_format(item, text) for item in value]
    if isinstance(value, dict):
        return {_format(k, text): _format(v, text) for k, v in value.items()}
    return value


def _merge(target: dict[str, Any], new: dict[str, Any]) -> None:
    """KubeSpawner's `recursive_update`: nested merge where None deletes a key."""
    for key, value in new.items():
        if isinstance(value, dict):
            _merge(target.setdefault(key, {}), value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value


class PracticeSpawner(SimpleLocalProcessSpawner):
    """A local single-user server per learner, with a KubeSpawner-style profile list.

    `SimpleLocalProcessSpawner` is the base because learners of the practice hub
    are not system users: it runs servers as the hub's own user, in a home folder
    from `home_dir_template`, where `LocalProcessSpawner` would look the name up
    in the system's password database and switch to that user.
    """

    profile_list = List(
        trait=Dict(),
        config=True,
        help="KubeSpawner's profile_list: the profiles offered on the options page.",
    )
    server_defaults = Dict(
        config=True,
        help="The hub-wide settings every server starts from (Zero to JupyterHub's "
        "singleuser.image, .memory and .cpu), in kubespawner_override form.",
    )
    image = Unicode(
        "",
        config=True,
        help="The image name a profile chose; reported as JUPYTER_IMAGE(_SPEC), not pulled.",
    )
    shared_dirs = Dict(
        config=True,
        help="Folders every learner sees in their home: {name in home: shared folder}.",
    )
    writable_shared_dirs = List(
        trait=Unicode(),
        config=True,
        help="Names (keys of shared_dirs) that learners may write to; the others are read-only.",
    )
    confine = Bool(
        False,
        config=True,
        help="Run each server in bubblewrap, seeing only its home, the shared "
        "directories, readable_paths and a read-only Python.",
    )
    readable_paths = List(
        trait=Unicode(),
        config=True,
        help="Further folders a confined server may read (e.g. the hub's Jupyter config).",
    )
    form_template_dir = Unicode(
        config=True, help="Where KubeSpawner's form.html lives (default: the installed package)."
    )

    @default("form_template_dir")
    def _default_form_template_dir(self) -> str:
        return str(kubespawner_templates())

    @default("options_form")
    def _default_options_form(self) -> Any:
        if not self.profile_list:
            return ""
        # A callable, so each render pre-selects the learner's last choice.
        return lambda spawner: spawner.render_options_form()

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return self.user_options_from_form

    # -- the options page -------------------------------------------------

    def initialized_profiles(self) -> list[dict[str, Any]]:
        """The profile list completed the way KubeSpawner completes it.

        Missing slugs come from display names; an option with choices but no
        default gets its first choice as default; every option gets an
        `unlisted_choice` entry; and if no profile is the default, the first is.
        """
        profiles = copy.deepcopy(list(self.profile_list))
        for profile in profiles:
            profile.setdefault("slug", slugify(profile["display_name"]))
            for option in profile.get("profile_options", {}).values():
                choices = option.get("choices") or {}
                if choices and not any(c.get("default") for c in choices.values()):
                    choices[next(iter(choices))]["default"] = True
                unlisted = option.setdefault("unlisted_choice", {}) or {}
                option["unlisted_choice"] = unlisted
                unlisted.setdefault("enabled", False)
                if unlisted["enabled"]:
                    unlisted.setdefault("display_name_in_choices", "Other...")
        if profiles and not any(p.get("default") for p in profiles):
            profiles[0]["default"] = True
        return profiles

    def render_options_form(self) -> str:
        """KubeSpawner's own `form.html`, filled with this hub's profiles."""
        profiles = self.initialized_profiles()
        user_options = dict(self.user_options or {})
        try:
            self.validate_user_options(profiles, user_options)
        except ValueError as exc:
            # Saved options can go stale when the hub file changes; fall back to
            # the defaults instead of pre-selecting something that no longer exists.
            self.log.warning("Not pre-selecting saved options: %s", exc)
            user_options = {}
        env = Environment(loader=FileSystemLoader(self.form_template_dir))
        # Keep the hub file's order of profiles and choices in any `tojson` output.
        env.policies["json.dumps_kwargs"] = {"sort_keys": False}
        return env.get_template("form.html").render(
            profile_list=profiles, user_options=user_options
        )

    def user_options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, str]:
        """Form fields -> user options, with KubeSpawner's field names.

        `profile` holds the slug; `profile-option-<slug>--<option>` holds a choice
        key, or with a `--unlisted-choice` suffix the text typed for "Other".
        Fields of profiles other than the chosen one are dropped.
        """
        slug = formdata.get("profile", [""])[0]
        options: dict[str, str] = {}
        if slug:
            options["profile"] = slug
            prefix = f"profile-option-{slug}--"
            for key, values in formdata.items():
                if key.startswith(prefix):
                    options[key[len(prefix) :]] = values[0]
        return options

    # -- applying the choice ---------------------------------------------

    @staticmethod
    def find_profile(slug: str, profiles: list[dict[str, Any]]) -> dict[str, Any]:
        """The profile with `slug`, or the default one when `slug` is empty."""
        if not slug:
            return next(p for p in profiles if p.get("default"))
        for profile in profiles:
            if profile["slug"] == slug:
                return profile
        known = ", ".join(p["slug"] for p in profiles)
        raise ValueError(f"No such profile: {slug}. Options include: {known}")

    def validate_user_options(
        self, profiles: list[dict[str, Any]], user_options: dict[str, Any]
    ) -> None:
        """Raise ValueError for a profile that does not exist or an "Other" value
        that the option does not allow or that fails its `validation_regex`."""
        slug = user_options.get("profile")
        if not slug:
            return
        profile = self.find_profile(slug, profiles)
        for name, option in profile.get("profile_options", {}).items():
            typed = user_options.get(f"{name}--unlisted-choice")
            if not typed:
                choice = user_options.get(name)
                if choice and choice not in option.get("choices", {}):
                    raise ValueError(f"No such choice for {name}: {choice}")
                continue
            unlisted = option.get("unlisted_choice") or {}
            if not unlisted.get("enabled"):
                raise ValueError(f"Received unlisted_choice for {name} without being enabled.")
            regex = unlisted.get("validation_regex")
            if regex and not re.match(regex, typed):
                message = unlisted.get("validation_message") or "it failed validation"
                raise ValueError(f"{unlisted.get('display_name') or name}: {message}")

    def apply_overrides(self, overrides: dict[str, Any]) -> None:
        """Set spawner traits from a `kubespawner_override`; dicts merge, others replace."""
        for name, value in overrides.items():
            current = getattr(self, name, None)
            if isinstance(value, dict) and isinstance(current, dict):
                _merge(current, value)
            else:
                setattr(self, name, value)

    def load_user_options(self) -> None:
        """Apply the chosen profile, then each of its options, in KubeSpawner's order.

        The profile's own `kubespawner_override` comes first; each option's chosen
        (or typed, or default) choice then overrides it, so an option can refine
        what its profile set.
        """
        # The hub-wide settings first, at every start: this spawner object is reused
        # for the learner's next start, which may choose a profile that sets less.
        for name in ("image", "mem_limit", "mem_guarantee", "cpu_limit", "cpu_guarantee"):
            self.apply_overrides({name: self.server_defaults.get(name, self.trait_defaults(name))})
        profiles = self.initialized_profiles()
        if not profiles:
            # No profile list: no options page, and every server gets the defaults.
            return
        user_options = dict(self.user_options or {})
        self.validate_user_options(profiles, user_options)
        profile = self.find_profile(user_options.get("profile", ""), profiles)
        self.log.info("Server %s uses profile %r", self._log_name, profile["display_name"])
        self.apply_overrides(profile.get("kubespawner_override", {}))
        for name, option in profile.get("profile_options", {}).items():
            typed = user_options.get(f"{name}--unlisted-choice")
            choice = user_options.get(name)
            if typed:
                unlisted = option["unlisted_choice"].get("kubespawner_override", {})
                overrides = {k: _format(v, typed) for k, v in unlisted.items()}
            elif choice:
                overrides = option["choices"][choice].get("kubespawner_override", {})
            else:
                if not option.get("choices"):
                    raise ValueError(f"Unable to determine a default choice for {name}.")
                chosen = next(c for c in option["choices"].values() if c.get("default"))
                overrides = chosen.get("kubespawner_override", {})
            self.apply_overrides(overrides)

    # -- the process ------------------------------------------------------

    def get_env(self) -> dict[str, str]:
        """The base Spawner's environment plus KubeSpawner's image variables.

        `{username}` in `environment` values becomes the learner's name, as
        KubeSpawner expands it, so `s3://bucket/{username}` is a per-user prefix.
        """
        env = super().get_env()
        for key, value in self.environment.items():
            if isinstance(value, str):
                env[key] = value.replace("{username}", self.user.name)
        if self.image:
            env["JUPYTER_IMAGE_SPEC"] = self.image
            env["JUPYTER_IMAGE"] = self.image
        return env

    def get_args(self) -> list[str]:
        args = super().get_args()
        if os.geteuid() == 0:
            # The practice hub often runs as root (containers, CI runners), and a
            # Jupyter server refuses to start as root unless told it may.
            args.append("--ServerApp.allow_root=True")
        return args

    def confinement(self, home: Path) -> list[str]:
        """The bubblewrap command put in front of the server's own, or [] when not confined.

        The network is kept (the server talks to the hub, and nbgitpuller clones
        from the course service, over 127.0.0.1); everything else is unshared.
        Paths keep their names inside, so `notebook_dir` and the shared-folder
        links in the home work unchanged. `/tmp` is the server's own and empty.
        """
        if not self.confine:
            return []
        sandbox, reason = find_sandbox()
        if sandbox is None:
            # The hub checks bubblewrap before it starts; never fall back to an open server.
            raise RuntimeError(f"cannot confine the server: {reason}")
        writable = [Path(self.shared_dirs[n]) for n in self.writable_shared_dirs]
        readable = [
            Path(t) for n, t in self.shared_dirs.items() if n not in self.writable_shared_dirs
        ]
        readable += [Path(p) for p in self.readable_paths]
        readable += [Path("/etc") / n for n in SYSTEM_FILES if (Path("/etc") / n).exists()]
        # Module 2 reads the memory limit Linux enforces from the cgroup files, as a
        # learner does in a container on a real hub; they are mounted read-only.
        readable += [p for p in (Path("/sys/fs/cgroup"),) if p.is_dir()]
        return sandbox.command(home, network=True, binds=tuple(writable), ro_binds=tuple(readable))

    # Ports given to this hub's servers that have not stopped. JupyterHub's
    # random_port() only checks that a port is free when it is picked; a server
    # binds it after importing JupyterLab (tens of seconds when 30 learners start
    # at once), so two servers could be given one port and the hub would send one
    # learner to another learner's server. Found by `hubtrain rehearse`.
    _ports_given: ClassVar[set[int]] = set()
    _picked_port = 0

    def _pick_port(self) -> int:
        """A free port no other server of this hub has been given."""
        while True:
            port = random_port()
            if port not in PracticeSpawner._ports_given:
                PracticeSpawner._ports_given.add(port)
                return port

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)
        PracticeSpawner._ports_given.discard(self._picked_port)

    async def start(self) -> Any:
        self.load_user_options()
        home = Path(self.home_dir)
        home.mkdir(parents=True, exist_ok=True)
        for name, target in self.shared_dirs.items():
            Path(target).mkdir(parents=True, exist_ok=True)
            link = home / name
            # Never replace something the learner made with the same name.
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target, target_is_directory=True)
        # `cmd` is the configured server command; the sandbox goes in front of it
        # at each start (the spawner object is reused for the learner's next start).
        if not hasattr(self, "_server_cmd"):
            self._server_cmd = list(self.cmd)
        self.cmd = [*self.confinement(home), *self._server_cmd]
        # A port is free when picked, but the server binds it only after starting
        # up; meanwhile any process (a kernel's ZeroMQ sockets, another program)
        # may take it, and the server exits. Then start again on another port.
        for _ in range(START_ATTEMPTS):
            if self.port == 0 or self.port == self._picked_port:
                PracticeSpawner._ports_given.discard(self._picked_port)
                self.port = self._picked_port = self._pick_port()
            address = await super().start()
            if await self._wait_serving(*address):
                break
            self.log.warning("Server %s lost port %s before binding it", self._log_name, self.port)
        return address

    async def _wait_serving(self, ip: str, port: int) -> bool:
        """True once this server answers HTTP on its port; False if it exited first.

        JupyterHub checks a new server with exponential backoff (waits of up to
        5 s), so a server that is ready just after a check waits for the next
        one; asking every 0.2 s here means the hub's first check finds it ready.
        The answer must be HTTP: a kernel's ZeroMQ socket on the same port also
        accepts connections.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        request = f"HEAD {self.server.base_url}api HTTP/1.0\r\n\r\n".encode()
        while loop.time() < deadline:
            if await self.poll() is not None:
                return False
            try:
                reader, writer = await asyncio.open_connection(ip or "127.0.0.1", port)
                writer.write(request)
                first = await asyncio.wait_for(reader.readline(), 5)
                writer.close()
                if first.startswith(b"HTTP/"):
                    return True
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        return True  # the hub's own timeout decides from here
