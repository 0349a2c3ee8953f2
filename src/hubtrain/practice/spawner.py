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
solutions, the hub's state, other learners' homes). Inside, it looks like a server
of the Jupyter images: it runs as `jovyan` (uid 1000, gid 100) with its home at
`/home/jovyan`, on a host named `jupyter-<user>`. Confined or not, a server offers
only the kernels its image has (`image_kernels`).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib.util
import os
import posixpath
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment, FileSystemLoader
from jupyterhub.spawner import SimpleLocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Bool, Dict, List, Unicode, default

from hubtrain.grading.sandbox import find_sandbox
from hubtrain.hubfile.config import slugify

__all__ = [
    "SERVER_HOME",
    "SERVER_USER",
    "SYSTEM_FILES",
    "PracticeSpawner",
    "image_kernels",
    "kubespawner_templates",
    "server_user_works",
]

# What a learner's server may read of /etc besides what the grading sandbox
# binds: name lookup, Debian's alternatives (commands in /usr/bin link there),
# R's settings and file types. Never the whole of /etc: a server's jovyan is this
# machine's user (often root) seen through a user namespace, so /etc/shadow would
# be readable.
SYSTEM_FILES = ("resolv.conf", "alternatives", "R", "mime.types", "timezone", "gitconfig")

START_ATTEMPTS = 3

# The user of the Jupyter Docker Stacks images (their NB_USER, NB_UID, NB_GID), as
# which a confined server runs, and where its home is mounted: what a learner on
# a Zero to JupyterHub hub sees in a terminal (`whoami`, `pwd`, `id`).
SERVER_USER = "jovyan"
SERVER_UID = 1000
SERVER_GID = 100
SERVER_HOME = "/home/jovyan"
# /etc files of a confined server, written by hubtrain: the user and group
# databases name jovyan (the shell's prompt and `whoami` read them), and bash's
# start-up files give the prompt an image's terminal shows (`jovyan@host:~$`).
# Jupyter Server starts terminals as login shells (`bash -l`), which read /etc/profile.
_SERVER_ETC = {
    "passwd": (
        "root:x:0:0:root:/root:/bin/bash\n"
        f"{SERVER_USER}:x:{SERVER_UID}:{SERVER_GID}::{SERVER_HOME}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "group": f"root:x:0:\nusers:x:{SERVER_GID}:\nnogroup:x:65534:\n",
    "profile": (
        "# Written by hubtrain for learners' servers.\n"
        'if [ -n "$BASH_VERSION" ] && [ -f /etc/bash.bashrc ]; then . /etc/bash.bashrc; fi\n'
    ),
    "bash.bashrc": (
        "# Written by hubtrain for learners' servers.\n"
        '[ -z "$PS1" ] && return\n'
        "PS1='\\u@\\h:\\w\\$ '\n"
    ),
}

# Images whose servers offer R besides Python: the Jupyter Docker Stacks images
# with R (by repository name) and the Rocker project's images (by organisation).
R_IMAGE_NAMES = ("r-notebook", "datascience-notebook")
R_IMAGE_OWNERS = ("rocker",)
PYTHON_KERNEL = "python3"
R_KERNEL = "ir"


def image_kernels(image: str) -> frozenset[str] | None:
    """The kernelspecs a server of `image` offers, or None (every one installed
    here) when no image is named: the practice hub cannot tell what it would hold.

    Every image has Python (JupyterLab runs on it); only an image with R has the
    `ir` kernel, as on a real hub, where the launcher shows no R tile otherwise.
    """
    if not image:
        return None
    path = image.split("@", 1)[0]
    if ":" in path.rsplit("/", 1)[-1]:
        path = path.rsplit(":", 1)[0]
    parts = path.lower().split("/")
    has_r = parts[-1] in R_IMAGE_NAMES or any(p in R_IMAGE_OWNERS for p in parts[:-1])
    return frozenset({PYTHON_KERNEL, R_KERNEL} if has_r else {PYTHON_KERNEL})


@functools.cache
def server_user_works(bwrap: str) -> str:
    """ "" if bubblewrap can run a process as jovyan here, else why not (one line).

    That needs a user namespace, which some machines forbid even where bubblewrap
    itself works (it then only unshares what it may).
    """
    try:
        result = subprocess.run(
            [
                bwrap,
                *("--unshare-user", "--uid", str(SERVER_UID), "--gid", str(SERVER_GID)),
                *("--ro-bind", "/", "/", sys.executable, "-c", "import os; print(os.getuid())"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if result.returncode != 0 or result.stdout.strip() != str(SERVER_UID):
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot run a server as {SERVER_USER} here: {last}"
    return ""


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


def shared_link(home: Path, target: str) -> str:
    """Where the link `home/<name>` to the shared folder `target` points: a relative
    path, so it leads to the folder both here and inside a confined server, which
    mounts the folder where the path leads from /home/jovyan (`/shared/<name>` for
    the practice hub's `state/homes/<user>` and `state/shared/<name>`)."""
    return os.path.relpath(Path(target).resolve(), home.resolve())


class PracticeSpawner(SimpleLocalProcessSpawner):
    """A local single-user server per learner, with a KubeSpawner-style profile list.

    `SimpleLocalProcessSpawner` is the base because learners of the practice hub
    are not system users: it runs servers as the hub's own user, in a home folder
    from `home_dir_template`, where `LocalProcessSpawner` would look the name up
    in the system's password database and switch to that user. Confined, the
    same process is jovyan inside its user namespace, and that folder its
    /home/jovyan.
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
    system_dir = Unicode(
        "",
        config=True,
        help="Where the /etc files of confined servers (passwd, group, shell start-up) "
        "are written; they are shown to each server at /etc/<name>, read-only.",
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
        if self.confine:
            # The server's root folder (JupyterHub passes notebook_dir here) as it
            # sees it: its home, mounted at /home/jovyan.
            env["JUPYTERHUB_ROOT_DIR"] = SERVER_HOME
        return env

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """The user's variables: the hub's own user and home, or, confined, jovyan's
        (as the Jupyter images set them: HOME, NB_USER, NB_UID, NB_GID)."""
        env = super().user_env(env)
        if self.confine:
            env["USER"] = env["NB_USER"] = SERVER_USER
            env["HOME"] = SERVER_HOME
            env["NB_UID"], env["NB_GID"] = str(SERVER_UID), str(SERVER_GID)
        return env

    def get_args(self) -> list[str]:
        args = super().get_args()
        if os.geteuid() == 0:
            # The practice hub often runs as root (containers, CI runners), and a
            # Jupyter server refuses to start as root unless told it may.
            args.append("--ServerApp.allow_root=True")
        kernels = image_kernels(self.image)
        if kernels is not None:
            # Only the chosen image's kernels: a Python image has no R tile.
            args.append(f"--KernelSpecManager.allowed_kernelspecs={sorted(kernels)!r}")
        return args

    def confinement(self, home: Path) -> list[str]:
        """The bubblewrap command put in front of the server's own, or [] when not confined.

        The network is kept (the server talks to the hub, and nbgitpuller clones
        from the course service, over 127.0.0.1); everything else is unshared.
        The server runs as jovyan, its home (`home` here) mounted at /home/jovyan,
        where it starts; each shared folder is mounted where the home's relative
        link to it leads (`shared_link`). `/tmp` is the server's own and empty.
        """
        if not self.confine:
            return []
        sandbox, reason = find_sandbox()
        reason = reason or (server_user_works(sandbox.bwrap) if sandbox else "")
        if sandbox is None or reason:
            # The hub checks bubblewrap before it starts; never fall back to an open server.
            raise RuntimeError(f"cannot confine the server: {reason}")
        readable = [Path(p) for p in self.readable_paths]
        readable += [Path("/etc") / n for n in SYSTEM_FILES if (Path("/etc") / n).exists()]
        # Module 2 reads the memory limit Linux enforces from the cgroup files, as a
        # learner does in a container on a real hub; they are mounted read-only.
        readable += [p for p in (Path("/sys/fs/cgroup"),) if p.is_dir()]
        cmd = sandbox.command(
            Path(SERVER_HOME), network=True, ro_binds=tuple(readable), workdir_from=home
        )[:-1]
        for name, target in self.shared_dirs.items():
            inside = posixpath.normpath(posixpath.join(SERVER_HOME, shared_link(home, target)))
            mode = "--bind" if name in self.writable_shared_dirs else "--ro-bind"
            cmd += [mode, str(target), inside]
        for name in _SERVER_ETC:
            cmd += ["--ro-bind", str(Path(self.system_dir) / name), f"/etc/{name}"]
        host = f"jupyter-{self.user.name}" + (f"--{self.name}" if self.name else "")
        cmd += ["--unshare-user", "--uid", str(SERVER_UID), "--gid", str(SERVER_GID)]
        cmd += ["--hostname", host[:63], "--chdir", SERVER_HOME]
        return [*cmd, "--"]

    def write_system_files(self) -> None:
        """Write the /etc files confined servers see (the same for every server)."""
        folder = Path(self.system_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in _SERVER_ETC.items():
            path = folder / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")

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
            relative = shared_link(home, target)
            # A link an earlier version made (absolute: it showed this machine's
            # path to the learner) is made relative; never replace something the
            # learner made with the same name.
            ours = (
                link.is_symlink() and (home / os.readlink(link)).resolve() == Path(target).resolve()
            )
            if ours and os.readlink(link) != relative:
                link.unlink()
            if not link.exists() and not link.is_symlink():
                link.symlink_to(relative, target_is_directory=True)
        if self.confine:
            self.write_system_files()
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
