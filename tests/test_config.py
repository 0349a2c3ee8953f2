"""The hub file: good files load into one typed config, bad ones fail in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hubtrain.course.links import exercise_link
from hubtrain.hubfile.config import KUBESPAWNER_TRAITS, HubConfig, HubFileError
from hubtrain.hubfile.load import load_hub

HUBS = Path(__file__).resolve().parent.parent / "hubs"


@pytest.mark.parametrize("path", sorted(HUBS.glob("*.yml")), ids=lambda p: p.name)
def test_every_shipped_hub_file_loads(path: Path) -> None:
    hub = load_hub(path)
    assert isinstance(hub, HubConfig)
    assert hub.url.startswith(("http://", "https://"))
    # A hub file without profiles is a hub without an options page.
    assert hub.has_options_page == bool(hub.profile_list)


def test_managed_example_has_three_profiles_with_options(managed_hub: HubConfig) -> None:
    assert len(managed_hub.profile_list) == 3
    assert any(p.profile_options for p in managed_hub.profile_list)
    small = managed_hub.profile_list[0]
    assert small.profile_options["image"].choices["rocker"].kubespawner_override == {
        "image": "rocker/binder:4.4"
    }


def test_profile_list_accepts_kubespawner_keys_as_pasted() -> None:
    """Keys we do not model (KubeSpawner has many) are kept, not refused."""
    data = yaml.safe_load((HUBS / "practice.yml").read_text())
    data["profile_list"][0]["kubespawner_override"]["node_selector"] = {"pool": "a"}
    data["profile_list"][0]["some_future_kubespawner_key"] = True
    hub = HubConfig.model_validate(data)
    assert hub.profile_list[0].override("node_selector") == {"pool": "a"}


def test_default_profile_is_marked_one_else_first(practice_hub: HubConfig) -> None:
    assert practice_hub.default_profile.key == "small"
    data = yaml.safe_load((HUBS / "practice.yml").read_text())
    for profile in data["profile_list"]:
        profile.pop("default", None)
    data["profile_list"].reverse()
    assert HubConfig.model_validate(data).default_profile.key == "medium"


def test_clone_directory_follows_nbgitpuller_default(practice_hub: HubConfig) -> None:
    assert practice_hub.content.directory == "hubtrain-course"
    data = yaml.safe_load((HUBS / "practice.yml").read_text())
    data["content"]["repo"] = "https://github.com/org/course.git"
    # nbgitpuller keeps ".git" in the directory name (handlers.py: repo.split('/')[-1]).
    assert HubConfig.model_validate(data).content.directory == "course.git"


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((HUBS / "practice.yml").read_text())
    mutate(data)
    path = tmp_path / "myhub.yml"
    path.write_text(yaml.safe_dump(data))
    return path


BAD_FILES = {
    "unknown key": (lambda d: d.update(colour="blue"), "colour", "not a known key"),
    "typo in nested key": (
        lambda d: d["server"].update(idle_timout=5),
        "server.idle_timout",
        "not a known key",
    ),
    "wrong type": (
        lambda d: d["server"].update(idle_timeout="an hour"),
        "server.idle_timeout",
        "integer",
    ),
    "bad url": (lambda d: d.update(url="hub.example.org"), "url", "http(s) URL"),
    "bad hub-wide size": (
        lambda d: d.update(defaults={"mem_limit": "2Gi"}),
        "defaults",
        "refuses Gi or GB",
    ),
    "url with a query": (lambda d: d.update(url="https://hub.example.org/?next=x"), "url", "query"),
    "unknown provider": (
        lambda d: d["storage"].update(provider="azure"),
        "storage.provider",
        "'s3' or 'gcs'",
    ),
    "missing name": (lambda d: d.pop("name"), "name", "required"),
    "profile without display name": (
        lambda d: d["profile_list"][1].pop("display_name"),
        "profile_list[1].display_name",
        "required",
    ),
    "duplicate slugs": (
        lambda d: d["profile_list"][1].update(slug="small"),
        "profile_list",
        "unique",
    ),
    "bad env var name": (
        lambda d: d["storage"].update(scratch_env="scratch bucket"),
        "storage.scratch_env",
        "environment variable",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES), ids=str)
def test_bad_hub_file_names_file_key_and_expectation(tmp_path: Path, case: str) -> None:
    mutate, key, expected = BAD_FILES[case]
    path = _write(tmp_path, mutate)
    with pytest.raises(HubFileError) as info:
        load_hub(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key} ")
    assert expected in message
    assert "\n" not in message


def test_hub_without_profile_list_is_valid_and_has_no_options_page(tmp_path: Path) -> None:
    """Plain Zero to JupyterHub hubs and The Littlest JupyterHub have no profile list."""
    for empty in ([], None):
        path = _write(tmp_path, lambda d, e=empty: d.update(profile_list=e))
        hub = load_hub(path)
        assert hub.profile_list == [] and hub.default_profile is None
        assert not hub.has_options_page
    path = _write(tmp_path, lambda d: d.pop("profile_list"))
    assert load_hub(path).profile_list == []


@pytest.mark.parametrize(
    ("pasted", "base"),
    [
        ("https://hub.example.org/hub/home", "https://hub.example.org"),
        ("https://hub.example.org/hub/login?next=%2Fhub%2F", "https://hub.example.org"),
        ("https://hub.example.org/user/ana/lab/tree/x.ipynb", "https://hub.example.org"),
        ("https://hub.example.org/hub/", "https://hub.example.org"),
        ("https://uni.example.edu/jupyter/hub/spawn", "https://uni.example.edu/jupyter"),
        (" https://hub.example.org/ ", "https://hub.example.org"),
    ],
)
def test_pasted_hub_page_address_becomes_the_base_url(
    tmp_path: Path, pasted: str, base: str
) -> None:
    hub = load_hub(_write(tmp_path, lambda d: d.update(url=pasted)))
    assert hub.url == base
    link = exercise_link(hub, "01-login/login.ipynb")
    assert link.startswith(f"{base}/hub/user-redirect/git-pull?")


def test_empty_description_is_accepted_as_kubespawner_does(tmp_path: Path) -> None:
    path = tmp_path / "hub.yml"
    text = (HUBS / "practice.yml").read_text()
    path.write_text(
        text.replace("    description: 1 CPU, 1 GB", "    description:\n    x_note: 1 CPU, 1 GB")
    )
    assert load_hub(path).profile_list[0].description == ""


def test_misspelt_kubespawner_key_is_kept_with_a_warning(tmp_path: Path) -> None:
    def typos(data: dict) -> None:
        data["profile_list"][1].pop("default", None)
        data["profile_list"][1]["defualt"] = True
        data["profile_list"][0]["kubespawner_override"]["mem_limt"] = "2G"
        data["profile_list"][1]["profile_options"]["image"]["choices"]["r"]["dispaly_name"] = "R"

    path = _write(tmp_path, typos)
    hub = load_hub(path)
    assert hub.warnings == [
        f"{path}: profile_list[0].kubespawner_override.mem_limt is not a KubeSpawner "
        "setting; did you mean mem_limit?",
        f"{path}: profile_list[1].defualt is not a key KubeSpawner reads; did you mean default?",
        f"{path}: profile_list[1].profile_options.image.choices.r.dispaly_name is not a key "
        "KubeSpawner reads; did you mean display_name?",
    ]
    # Keys a hub carries for itself, far from any KubeSpawner key, are not reported.
    assert load_hub(HUBS / "practice.yml").warnings == []


def test_the_settings_a_typo_is_compared_with_are_kubespawners_own() -> None:
    from kubespawner import KubeSpawner

    assert set(KUBESPAWNER_TRAITS) <= set(KubeSpawner.class_trait_names())


def test_warnings_reach_the_command_line(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["profile_list"][0].update(defualt=True))
    result = subprocess.run(
        [sys.executable, "-m", "hubtrain.cli", "link", "--hub", str(path), "x.ipynb"],
        capture_output=True,
        text=True,
    )
    assert "did you mean default?" in result.stderr
    assert result.stdout.startswith("http://127.0.0.1:8000/hub/user-redirect/")


def test_tab_in_indentation_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "tabbed.yml"
    lines = (HUBS / "practice.yml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  method:"))
    lines[at] = "\t" + lines[at].lstrip()
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HubFileError) as info:
        load_hub(path)
    assert str(info.value) == (
        f"{path}: not valid YAML at line {at + 1}, column 1: a tab in the indentation; "
        "YAML indents with spaces only (replace the tab by spaces)"
    )


def test_not_yaml_and_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(HubFileError, match=r"broken.yml: not valid YAML at line \d"):
        load_hub(broken)
    listing = tmp_path / "list.yml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(HubFileError, match="expected a mapping"):
        load_hub(listing)
    with pytest.raises(HubFileError, match="cannot read the hub file"):
        load_hub(tmp_path / "absent.yml")


def test_cli_reports_a_bad_hub_file_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d.update(url="ftp://hub"))
    result = subprocess.run(
        [sys.executable, "-m", "hubtrain.cli", "link", "--hub", str(path), "x.ipynb"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr
    assert f"{path}: url expected an http(s) URL" in result.stderr
