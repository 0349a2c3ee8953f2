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

__all__ = [
    "R_PACKAGES",
    "Finding",
    "Requirement",
    "add_commands",
    "check",
    "check_r",
    "load_facts",
    "requirements",
]

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


# What the R exercises (the `<module>-r` assignments) and their check runtime `hubcheck.R` load.
R_PACKAGES = {
    "IRkernel": "runs R notebooks in JupyterLab (the `ir` kernel)",
    "jsonlite": "hubcheck.R reads the hub facts and records progress",
    "digest": "hubcheck.R fingerprints answers, so visible checks do not show them",
    "httr": "the R notebooks call the hub's and the server's REST APIs",
    "sf": "module 5 in R reads and writes buckets through GDAL",
    "stars": "module 5 in R reads rasters lazily",
}
_KERNELS_PROBE = """
import json
try:
    from jupyter_client.kernelspec import KernelSpecManager
    specs = KernelSpecManager().get_all_specs()
except ImportError:
    specs = {}
print(json.dumps({n: s["spec"].get("language", "") for n, s in specs.items()}))
"""
# system.file() finds an installed package without loading it (no start-up messages).
_R_PROBE = 'for (p in commandArgs(TRUE)) if (!nzchar(system.file(package = p))) cat(p, "\\n")'
RSTUDIO_SERVER = ("rserver", "/usr/lib/rstudio-server/bin/rserver")


@dataclass(frozen=True)
class Requirement:
    """One thing the hub must provide: a package, a command or an environment variable."""

    kind: str  # "package", "command", "env", or "r" (the optional R track)
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


def _kernels(python: str) -> dict[str, str]:
    """The Jupyter kernels `python`'s jupyter_client finds, with their languages."""
    result = subprocess.run(
        [python, "-c", _KERNELS_PROBE], capture_output=True, text=True, check=False, cwd="/"
    )
    return json.loads(result.stdout) if result.returncode == 0 else {}


def check_r(python: str = sys.executable, env: dict[str, str] | None = None) -> list[Finding]:
    """The R track's needs: an R kernel, the R packages the R notebooks load, RStudio.

    Informational: a hub without R still runs the Python track, so these never
    change doctor's exit status. RStudio is what its R tasks are about
    (jupyter-rsession-proxy and RStudio Server in the image).
    """
    env = dict(os.environ) if env is None else env
    path = env.get("PATH", "")
    findings = []
    r_kernels = sorted(name for name, lang in _kernels(python).items() if lang.lower() == "r")
    kernel_need = Requirement(
        "r",
        "R kernel",
        "R notebooks open in JupyterLab with it",
        "install R and IRkernel in the image (`- r-irkernel` from conda-forge, or "
        "`IRkernel::installspec(user = FALSE)` after installing it), or use an R image "
        "such as quay.io/jupyter/r-notebook or a Rocker image",
    )
    found = ", ".join(r_kernels)
    findings.append(Finding(kernel_need, bool(r_kernels), found or "no kernel with language R"))
    rscript = shutil.which("Rscript", path=path)
    packages_need = Requirement(
        "r",
        "R packages",
        "; ".join(f"{name}: {why}" for name, why in R_PACKAGES.items()),
        "add the missing ones to the image (conda-forge names start with r-, e.g. `- r-sf`)",
    )
    if rscript is None:
        findings.append(Finding(packages_need, False, "Rscript is not on PATH: no R here"))
    else:
        probe = subprocess.run(
            [rscript, "--vanilla", "-e", _R_PROBE, *R_PACKAGES],
            capture_output=True,
            text=True,
            check=False,
        )
        missing = probe.stdout.split()
        if probe.returncode != 0:
            findings.append(Finding(packages_need, False, f"{rscript} failed to run"))
        elif missing:
            findings.append(Finding(packages_need, False, "not installed: " + ", ".join(missing)))
        else:
            findings.append(Finding(packages_need, True, ", ".join(R_PACKAGES)))
    proxy = _installed(python, ["jupyter_rsession_proxy"]).get("jupyter_rsession_proxy")
    server = next(
        (
            p
            for p in (shutil.which(RSTUDIO_SERVER[0], path=path), RSTUDIO_SERVER[1])
            if p and Path(p).exists()
        ),
        None,
    )
    rstudio_need = Requirement(
        "r",
        "RStudio",
        "the R notebooks' RStudio tasks (missing variables, the power button)",
        "add RStudio Server and jupyter-rsession-proxy to the image (Rocker images "
        "and many R hub images have both); without them, skip those tasks",
    )
    detail = (
        f"jupyter-rsession-proxy {proxy}, {server}"
        if proxy and server
        else ("no jupyter-rsession-proxy" if not proxy else "no RStudio Server (rserver)")
    )
    findings.append(Finding(rstudio_need, bool(proxy and server), detail))
    return findings


def load_facts(facts_file: str = "", hub_file: str = "", cwd: Path | None = None) -> dict:
    """The hub facts: from `--facts`, `--hub`, or a release's `hub.json` found nearby.

    Without either option, `./hub.json` and `./*/hub.json` are tried, so running
    doctor in the course folder the exercise links created just works.
    """
    if hub_file:
        from hubtrain.hubfile.load import load_hub

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


def _lines(findings: list[Finding]) -> list[str]:
    labels = {"package": "python package ", "command": "command ", "env": "variable ", "r": ""}
    lines = []
    for finding in findings:
        need = finding.requirement
        status = "ok     " if finding.ok else "MISSING"
        lines.append(f"  {status} {labels[need.kind]}{need.name}: {finding.detail}")
        if not finding.ok:
            lines.append(f"          needed for: {need.why}")
            lines.append(f"          fix: {need.fix}")
    return lines


def report(facts: dict[str, Any], findings: list[Finding]) -> str:
    """The text doctor prints: one line per check, a fix under each problem.

    The optional R track's findings (kind "r") come last, after the verdict they
    do not change.
    """
    provider = facts["storage"]["provider"]
    main = [f for f in findings if f.requirement.kind != "r"]
    r_track = [f for f in findings if f.requirement.kind == "r"]
    lines = [f"Checking this server for {facts.get('name', 'the hub')} ({provider} storage)"]
    lines += _lines(main)
    missing = [f.requirement.name for f in main if not f.ok]
    if missing:
        lines.append(f"{len(missing)} problem(s): {', '.join(missing)}")
    else:
        lines.append(f"All {len(main)} checks passed: this hub has what the course needs.")
    if r_track:
        lines.append("For the R notebooks (optional; a hub without R runs the Python ones):")
        lines += _lines(r_track)
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the checks; exit status 1 if anything is missing, 2 for bad input."""
    try:
        facts = load_facts(args.facts, args.hub)
        findings = check(facts, python=args.python)
        findings += check_r(python=args.python)
    except (ValueError, RuntimeError) as exc:
        print(f"hubtrain doctor: {exc}", file=sys.stderr)
        return 2
    print(report(facts, findings))
    return 0 if all(f.ok for f in findings if f.requirement.kind != "r") else 1


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
