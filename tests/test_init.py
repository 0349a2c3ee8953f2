"""`hubtrain init`: a hub file from answers in a real terminal, or from flags.

The terminal tests run the installed `hubtrain` command in a pseudo-terminal
(pexpect), type answers the way a champion would, wrong ones included, and read
the file back with the same loader the build uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from hubtrain.cli import main
from hubtrain.hubfile.load import load_hub
from hubtrain.hubfile.profiles_import import import_profiles

ROOT = Path(__file__).resolve().parent.parent
VALUES = ROOT / "tests" / "files" / "values" / "2i2c-style.values.yaml"
HUBTRAIN = str(Path(sys.executable).parent / "hubtrain")


def _terminal(cwd: Path) -> pexpect.spawn:
    """`hubtrain init` in a fresh pseudo-terminal, in a folder that is not a git repository."""
    env = {**os.environ, "TERM": "dumb", "GIT_CEILING_DIRECTORIES": str(cwd.parent)}
    child = pexpect.spawn(HUBTRAIN, ["init"], cwd=str(cwd), env=env, encoding="utf-8", timeout=60)
    child.setecho(False)
    return child


def _answer(child: pexpect.spawn, question: str, answer: str) -> None:
    child.expect_exact(question)
    child.sendline(answer)


def _finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_init_in_a_terminal_rejects_bad_answers_and_writes_a_hub_file(tmp_path: Path) -> None:
    """Every wrong answer is refused with the hub file's own message, then asked again;
    an existing file is replaced after a yes."""
    path = tmp_path / "hubs" / "lakeside-hub.yml"
    path.parent.mkdir()
    path.write_text("name: an old draft\n", encoding="utf-8")
    child = _terminal(tmp_path)
    _answer(child, "Hub name", "Lakeside Hub")
    _answer(child, "hubs/lakeside-hub.yml already exists. Replace it?", "y")
    _answer(child, "Hub address", "hub.lakeside.org")
    child.expect_exact("url expected an http(s) URL")
    _answer(child, "Hub address", "https://hub.lakeside.org/")
    _answer(child, "Profiles:", str(tmp_path / "missing.yaml"))
    child.expect_exact("cannot read the values file")
    _answer(child, "Profiles:", str(VALUES))
    child.expect_exact("Imported 2 profiles")
    # The values file also answers some later questions: they become the defaults.
    _answer(child, "Login method (github, google, password...) [github]", "")
    _answer(child, "What a new user should do", "")
    _answer(child, "Object storage provider (s3 or gcs) [gcs]", "azure")
    child.expect_exact("storage.provider expected 's3' or 'gcs'")
    _answer(child, "Object storage provider (s3 or gcs) [gcs]", "")
    _answer(child, "scratch bucket", "scratch bucket")
    child.expect_exact("storage.scratch_env expected an environment variable name")
    _answer(child, "scratch bucket", "none")
    _answer(child, "persistent bucket", "")
    _answer(child, "Home directory quota", "20 GiB")
    _answer(child, "Shared folders", "shared, shared-readwrite")
    _answer(child, "Default interface", "/classic")
    child.expect_exact("server.default_url expected '/lab' or '/tree'")
    _answer(child, "Default interface (/lab or /tree) [/tree]", "")
    _answer(child, "named servers?", "y")
    _answer(child, "Idle culler timeout", "an hour")
    child.expect_exact("server.idle_timeout expected")
    _answer(child, "Idle culler timeout", "1800")
    _answer(child, "Maximum server age", "")
    # No git origin here, so there is no default: an empty answer is asked again.
    _answer(child, "Repository learners pull", "")
    child.expect_exact("An answer is needed here.")
    _answer(child, "Repository learners pull", "https://github.com/lakeside/course.git")
    _answer(child, "Branch of that repository", "")
    _answer(child, "Folder name of the learners' clone", "")  # default: course
    child.expect_exact("Wrote hubs/lakeside-hub.yml")
    assert _finish(child) == 0

    hub = load_hub(path)
    assert (hub.name, hub.url, hub.login.method) == (
        "Lakeside Hub",
        "https://hub.lakeside.org",
        "github",
    )
    assert "Sign in with GitHub" in hub.login.help
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["profile_list"] == import_profiles(VALUES)
    assert hub.storage.provider == "gcs"
    assert (hub.storage.scratch_env, hub.storage.persistent_env) == ("", "PERSISTENT_BUCKET")
    assert hub.storage.home_quota == "20 GiB"
    assert [d.path for d in hub.storage.shared_dirs] == ["shared", "shared-readwrite"]
    assert (hub.server.default_url, hub.server.named_servers) == ("/tree", True)
    assert (hub.server.idle_timeout, hub.server.max_age) == (1800, 0)
    assert (hub.content.branch, hub.content.directory) == ("student", "course")
    # Each section of the file is explained by a comment right above it.
    lines = text.splitlines()
    for key in ("name", "login", "profile_list", "storage", "server", "content"):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
        assert lines[at - 1].startswith("# "), f"no comment above {key}"


def test_init_in_a_terminal_typed_profiles_and_keeping_an_existing_file(tmp_path: Path) -> None:
    """A short typed profile list is checked as a whole; an existing file is only
    replaced after a yes, and a no leaves it byte for byte."""
    existing = tmp_path / "hubs" / "river-hub.yml"
    existing.parent.mkdir()
    existing.write_text("# my own notes\nname: River Hub\n", encoding="utf-8")

    child = _terminal(tmp_path)
    _answer(child, "Hub name", "River Hub")
    _answer(child, "already exists. Replace it?", "n")
    _answer(child, "Write to which file instead", "")
    child.expect_exact("left as it was, nothing written")
    assert _finish(child) == 2
    assert existing.read_text(encoding="utf-8") == "# my own notes\nname: River Hub\n"

    child = _terminal(tmp_path)
    _answer(child, "Hub name", "River Hub")
    _answer(child, "already exists. Replace it?", "n")
    _answer(child, "Write to which file instead", "hubs/river-2.yml")
    _answer(child, "Hub address", "https://river.example.org")
    _answer(child, "Profiles:", "")
    _answer(child, "Profile 1: name", "Small")
    _answer(child, "description", "Everyday work")
    _answer(child, "CPU limit", "1")
    _answer(child, "memory limit", "2G")
    _answer(child, "image", "")
    _answer(child, "Add another profile?", "y")
    _answer(child, "Profile 2: name", "small")  # same slug as "Small"
    child.expect_exact("profile_list expected unique profile slugs; repeated: small")
    _answer(child, "Profile 2: name", "Large")
    for question in ("description", "CPU limit", "memory limit"):
        _answer(child, question, "")
    _answer(child, "image", "quay.io/jupyter/r-notebook:2025-11-10")
    _answer(child, "Add another profile?", "")
    _answer(child, "Login method", "google")
    _answer(child, 'Click "Sign in with Google"', "")  # the default help for google
    for question in ("storage provider", "scratch bucket", "persistent bucket", "quota"):
        _answer(child, question, "")
    for question in ("Shared folders", "Default interface", "named servers", "Idle", "Maximum"):
        _answer(child, question, "")
    _answer(child, "Repository learners pull", "https://github.com/river/course")
    _answer(child, "Branch of that repository", "main")
    child.expect_exact("Wrote hubs/river-2.yml")
    assert _finish(child) == 0

    assert existing.read_text(encoding="utf-8") == "# my own notes\nname: River Hub\n"
    hub = load_hub(tmp_path / "hubs" / "river-2.yml")
    assert [(p.key, p.default) for p in hub.profile_list] == [("small", True), ("large", False)]
    assert hub.profile_list[0].description == "Everyday work"
    assert hub.profile_list[0].kubespawner_override == {"cpu_limit": 1, "mem_limit": "2G"}
    assert hub.profile_list[1].override("image") == "quay.io/jupyter/r-notebook:2025-11-10"
    assert (hub.login.method, hub.content.repo, hub.content.branch) == (
        "google",
        "https://github.com/river/course",
        "main",
    )


FLAGS = [
    "--no-input",
    "--name",
    "Harbour Hub",
    "--url",
    "https://harbour.example.org",
    "--profile",
    "Small;cpu_limit=1;mem_limit=2G;description=Everyday work",
    "--content-repo",
    "https://github.com/harbour/course",
]


def _run(tmp_path: Path, *args: str) -> int:
    return main(["init", "--hubs-dir", str(tmp_path / "hubs"), "--root", str(tmp_path), *args])


def test_init_from_flags_writes_the_hub_file(tmp_path: Path) -> None:
    assert (
        _run(tmp_path, *FLAGS, "--profile", "GPU;image=quay.io/pangeo/ml-notebook:2025.11.05") == 0
    )
    hub = load_hub(tmp_path / "hubs" / "harbour-hub.yml")
    assert [p.key for p in hub.profile_list] == ["small", "gpu"]
    assert hub.default_profile.key == "small"
    assert hub.profile_list[0].kubespawner_override == {"cpu_limit": 1, "mem_limit": "2G"}
    assert hub.profile_list[0].description == "Everyday work"
    assert (hub.storage.provider, hub.storage.scratch_env) == ("s3", "SCRATCH_BUCKET")
    assert (hub.content.repo, hub.content.branch) == (
        "https://github.com/harbour/course",
        "student",
    )


def test_init_from_flags_imports_a_values_file(tmp_path: Path) -> None:
    flags = [f for f in FLAGS if not f.startswith("Small")]
    flags.remove("--profile")
    assert _run(tmp_path, *flags, "--profiles-from", str(VALUES)) == 0
    path = tmp_path / "hubs" / "harbour-hub.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["profile_list"] == import_profiles(VALUES)
    assert f"hubtrain import-profiles {VALUES}" in path.read_text(encoding="utf-8")


def test_values_file_answers_what_it_knows(tmp_path: Path) -> None:
    """Settings a values file holds become defaults; flags still win over them."""
    data = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    chart = data["jupyterhub"]
    chart["hub"]["config"]["JupyterHub"]["authenticator_class"] = (
        "oauthenticator.google.GoogleOAuthenticator"
    )
    chart["hub"]["allowNamedServers"] = True
    chart["cull"] = {"timeout": 1800, "maxAge": 28800}
    chart["singleuser"]["extraEnv"] = [{"name": "SCRATCH_BUCKET", "value": "s3://scratch/$(U)"}]
    chart["singleuser"]["storage"] = {
        "capacity": "20Gi",
        "extraVolumeMounts": [
            {"name": "home", "mountPath": "/home/jovyan/shared", "readOnly": True},
            {"name": "home", "mountPath": "/home/jovyan/shared-readwrite"},
            {"name": "conf", "mountPath": "/etc/jupyter/extra.json"},  # not a folder for learners
        ],
    }
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(data), encoding="utf-8")
    flags = [f for f in FLAGS if not f.startswith("Small")]
    flags.remove("--profile")
    assert _run(tmp_path, *flags, "--profiles-from", str(values), "--idle-timeout", "600") == 0
    hub = load_hub(tmp_path / "hubs" / "harbour-hub.yml")
    assert (hub.login.method, hub.storage.provider) == ("google", "s3")
    assert (hub.server.default_url, hub.server.named_servers) == ("/tree", True)
    assert (hub.server.idle_timeout, hub.server.max_age) == (600, 28800)
    assert hub.storage.home_quota == "20Gi"
    assert [(d.display, d.writable) for d in hub.storage.shared_dirs] == [
        ("~/shared", False),
        ("~/shared-readwrite", None),
    ]


def test_init_from_flags_never_replaces_a_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "hubs" / "harbour-hub.yml"
    existing.parent.mkdir()
    existing.write_text("name: mine\n", encoding="utf-8")
    assert _run(tmp_path, *FLAGS) == 2
    assert "already exists; pass --force to replace it" in capsys.readouterr().err
    assert existing.read_text(encoding="utf-8") == "name: mine\n"
    assert _run(tmp_path, *FLAGS, "--force") == 0
    assert load_hub(existing).name == "Harbour Hub"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--url", "harbour.example.org"], "url expected an http(s) URL"),
        (["--storage", "azure"], "storage.provider expected 's3' or 'gcs' (from --storage)"),
        (["--scratch-env", "scratch"], "storage.scratch_env expected an environment variable"),
        (["--idle-timeout", "-5"], "server.idle_timeout expected"),
        (["--default-url", "/classic"], "server.default_url expected '/lab' or '/tree'"),
        (["--profile", "Small"], "repeated: small (from --profile)"),
        (["--profile", "Big;mem_limit"], "expected key=value after ';'"),
        (["--profiles-from", "nowhere.yaml"], "cannot read the values file"),
    ],
)
def test_init_from_flags_bad_value_is_one_line_naming_key_and_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    assert _run(tmp_path, *FLAGS, *flags) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "hubs").exists() or not any((tmp_path / "hubs").iterdir())


def test_init_from_flags_needs_the_facts_it_cannot_guess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "--no-input", "--name", "Harbour Hub") == 2
    assert "--url is required" in capsys.readouterr().err
