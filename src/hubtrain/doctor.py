"""`hubtrain doctor`: check, in a terminal on the hub, what the course needs from it.

It uses only the standard library, so a champion can also run this file on its own
(`python doctor.py --facts ~/<course>/01-login/hub.json`) on a hub where hubtrain is
not installed. The list of checks is `requirements()`; the re-hosting page's image
checklist describes the same list.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Finding", "Requirement", "add_commands", "check", "load_facts", "requirements"]

STORAGE_PACKAGE = {"s3": "s3fs", "gcs": "gcsfs"}
STORAGE_SCHEME = {"s3": "s3", "gcs": "gs"}
# Set by JupyterHub's Spawner in every single-user server; the course's checks
# and nbgitpuller links rely on them.
HUB_ENV = {
    "JUPYTERHUB_USER": "your hub username",
    "JUPYTERHUB_API_URL": "where your server reaches the hub's API",
    "JUPYTERHUB_SERVICE_PREFIX": "your server's address under the hub (/user/<name>/)",
    "JUPYTERHUB_API_TOKEN": "your server's token for the hub API",
}
_PROBE = """
import importlib.metadata as md, importlib.util as iu, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        spec = iu.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        continue
    try:
        found[name] = md.version(name)
    except md.PackageNotFoundError:
        found[name] = "installed"
print(json.dumps(found))
"""


@dataclass(frozen=True)
class Requirement:
    """One thing the hub must provide: a package, a command or an environment variable."""

    kind: str  # "package", "command" or "env"
    name: str
    why: str
    fix: str
    prefix: str = ""  # for a bucket variable: the value must start with this


@dataclass(frozen=True)
class Finding:
    requirement: Requirement
    ok: bool
    detail: str


def _package(name: str, why: str) -> Requirement:
    return Requirement(
        "package",
        name,
        why,
        f"add {name} to the hub image (`pip install {name}` in its Dockerfile, or "
        f"`- {name}` from conda-forge in its environment.yml), then restart your server",
    )


def requirements(facts: dict[str, Any]) -> list[Requirement]:
    """Everything the course needs on a hub described by `facts` (a `hub.json`)."""
    provider = facts["storage"]["provider"]
    storage = STORAGE_PACKAGE[provider]
    needs = [
        _package("nbgitpuller", "opens the course links (the hub's git-pull page)"),
        _package("jupyterlab", "the interface the course teaches"),
        _package("ipywidgets", "the exercises' interactive checks"),
        _package("fsspec", "reads and writes cloud storage in module 5"),
        _package(storage, f"fsspec's {provider} backend for the hub's buckets"),
    ]
    if facts["server"]["default_url"] == "/tree":
        needs.append(_package("notebook", "serves the hub's default /tree view"))
    needs.append(
        Requirement(
            "command",
            "git",
            "nbgitpuller runs git to clone and update the course",
            "install git in the hub image (`apt-get install git`, or `- git` from conda-forge)",
        )
    )
    for name, why in HUB_ENV.items():
        needs.append(
            Requirement(
                "env",
                name,
                why,
                "JupyterHub sets this in every server it starts: run doctor in a terminal "
                "of your server on the hub",
            )
        )
    scheme = STORAGE_SCHEME[provider]
    for key in ("scratch_env", "persistent_env"):
        name = facts["storage"][key]
        if name:
            needs.append(
                Requirement(
                    "env",
                    name,
                    f"your own prefix in the hub's {key.split('_')[0]} bucket",
                    f"set {name} for every user, e.g. in Zero to JupyterHub's "
                    f"singleuser.extraEnv: `{name}: {scheme}://<bucket>/$(JUPYTERHUB_USER)`",
                    prefix=f"{scheme}://",
                )
            )
    return needs


def _installed(python: str, names: list[str]) -> dict[str, str]:
    """Which of `names` the interpreter `python` can import, with their versions."""
    # Run from "/" so that a folder in the current directory cannot pose as a package.
    result = subprocess.run(
        [python, "-c", _PROBE, *names], capture_output=True, text=True, check=False, cwd="/"
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python}: could not run this Python ({result.stderr.strip()[-200:]})")
    return json.loads(result.stdout)


def check(
    facts: dict[str, Any], *, python: str = sys.executable, env: dict[str, str] | None = None
) -> list[Finding]:
    """Check every requirement against `python`'s packages, PATH and `env` (default: ours)."""
    env = dict(os.environ) if env is None else env
    needs = requirements(facts)
    packages = _installed(python, [r.name for r in needs if r.kind == "package"])
    findings = []
    for need in needs:
        if need.kind == "package":
            version = packages.get(need.name)
            findings.append(Finding(need, version is not None, version or "not installed"))
        elif need.kind == "command":
            path = shutil.which(need.name, path=env.get("PATH", ""))
            findings.append(Finding(need, path is not None, path or "not on PATH"))
        else:
            value = env.get(need.name, "")
            if not value:
                findings.append(Finding(need, False, "not set"))
            elif need.prefix and not value.startswith(need.prefix):
                findings.append(Finding(need, False, f"{value!r} should start with {need.prefix}"))
            elif "TOKEN" in need.name:
                findings.append(Finding(need, True, "set"))
            else:
                findings.append(Finding(need, True, value))
    return findings


def load_facts(facts_file: str = "", hub_file: str = "", cwd: Path | None = None) -> dict:
    """The hub facts: from `--facts`, `--hub`, or a release's `hub.json` found nearby.

    Without either option, `./hub.json` and `./*/hub.json` are tried, so running
    doctor in the course folder the exercise links created just works.
    """
    if hub_file:
        from hubtrain.config import load_hub

        return load_hub(hub_file).facts()
    cwd = cwd or Path.cwd()
    if facts_file:
        path = Path(facts_file)
    else:
        found = [cwd / "hub.json", *sorted(cwd.glob("*/hub.json"))]
        found = [p for p in found if p.is_file()]
        if not found:
            raise ValueError(
                "no hub facts here: pass --facts PATH/hub.json (every exercise folder of "
                "the student release has one) or --hub hubs/<name>.yml"
            )
        path = found[0]
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
        usable = facts["storage"]["provider"] in STORAGE_PACKAGE and facts["server"]["default_url"]
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the hub facts ({exc.strerror})") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        usable = False
    if not usable:
        raise ValueError(f"{path}: not a hubtrain hub.json (expected storage and server)")
    return facts


def report(facts: dict[str, Any], findings: list[Finding]) -> str:
    """The text doctor prints: one line per check, a fix under each problem."""
    provider = facts["storage"]["provider"]
    lines = [f"Checking this server for {facts.get('name', 'the hub')} ({provider} storage)"]
    for finding in findings:
        need = finding.requirement
        label = {"package": "python package", "command": "command", "env": "variable"}[need.kind]
        status = "ok     " if finding.ok else "MISSING"
        lines.append(f"  {status} {label} {need.name}: {finding.detail}")
        if not finding.ok:
            lines.append(f"          needed for: {need.why}")
            lines.append(f"          fix: {need.fix}")
    missing = [f.requirement.name for f in findings if not f.ok]
    if missing:
        lines.append(f"{len(missing)} problem(s): {', '.join(missing)}")
    else:
        lines.append(f"All {len(findings)} checks passed: this hub has what the course needs.")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the checks; exit status 1 if anything is missing, 2 for bad input."""
    try:
        facts = load_facts(args.facts, args.hub)
        findings = check(facts, python=args.python)
    except (ValueError, RuntimeError) as exc:
        print(f"hubtrain doctor: {exc}", file=sys.stderr)
        return 2
    print(report(facts, findings))
    return 0 if all(f.ok for f in findings) else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check, on a hub, that its image and settings have what the course needs"
    )
    _arguments(parser)


def _arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--facts", default="", help="a hub.json from the student release")
    source.add_argument("--hub", default="", help="a hub file (hubs/<name>.yml)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python whose packages to check (default: this one)",
    )
    parser.set_defaults(func=cmd_doctor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doctor", description=__doc__.splitlines()[0])
    _arguments(parser)
    args = parser.parse_args(argv)
    return cmd_doctor(args)


if __name__ == "__main__":
    sys.exit(main())
