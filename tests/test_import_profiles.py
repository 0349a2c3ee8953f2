"""Profile lists read straight from Zero to JupyterHub values files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hubtrain.cli import main
from hubtrain.course.pages import profile_rows
from hubtrain.hubfile.config import HubFileError
from hubtrain.hubfile.load import load_hub
from hubtrain.hubfile.profiles_import import import_profiles, read_values

ROOT = Path(__file__).resolve().parent.parent
OPERATOR_VALUES = ROOT / "tests" / "files" / "values" / "2i2c-style.values.yaml"
PRACTICE = ROOT / "hubs" / "practice.yml"


def _operator_profiles() -> list[dict]:
    return yaml.safe_load(OPERATOR_VALUES.read_text())["jupyterhub"]["singleuser"]["profileList"]


def _hub_file(folder: Path, **changes: object) -> Path:
    """The practice hub file with some top-level keys replaced (None removes one)."""
    data = yaml.safe_load(PRACTICE.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = folder / "hubs" / "mine.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda p: {"singleuser": {"profileList": p}}, id="zero-to-jupyterhub"),
        pytest.param(lambda p: {"jupyterhub": {"singleuser": {"profileList": p}}}, id="jupyterhub"),
        pytest.param(
            lambda p: {"basehub": {"jupyterhub": {"singleuser": {"profileList": p}}}},
            id="basehub",
        ),
    ],
)
def test_finds_the_profile_list_however_it_is_wrapped(tmp_path: Path, wrap) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump({"proxy": {"https": {"enabled": True}}, **wrap([{"display_name": "Only"}])})
    )
    assert import_profiles(values) == [{"display_name": "Only"}]


def test_operator_file_with_other_helm_keys() -> None:
    assert import_profiles(OPERATOR_VALUES) == _operator_profiles()


def test_hub_file_profile_list_from_is_relative_to_the_hub_file(tmp_path: Path) -> None:
    hub_path = _hub_file(tmp_path, profile_list=None, profile_list_from="../values/hub.yaml")
    (tmp_path / "values").mkdir()
    shutil.copy(OPERATOR_VALUES, tmp_path / "values" / "hub.yaml")
    hub = load_hub(hub_path)
    assert [p.display_name for p in hub.profile_list] == [
        "Notebook: 2 CPU, 8 GB",
        "Large: 8 CPU, 64 GB",
    ]
    # The imported list feeds the book's profile table like a pasted one.
    rows = profile_rows(hub)
    assert rows[0]["memory"] == "6G guaranteed, up to 8G"
    # KubeSpawner's drop-down entry is "Other..."; `display_name` labels the box it opens.
    assert rows[0]["options"].splitlines() == [
        "Image: Pangeo (preselected)",
        'Image: Other... (then type it in the box "Your own image")',
    ]
    assert rows[1]["slug"] == "large-8-cpu-64-gb"


def test_choices_restricted_to_groups_say_who_sees_them(tmp_path: Path) -> None:
    """Hubs that filter profiles by group (2i2c's) also filter single choices."""
    profiles = _operator_profiles()
    choices = profiles[0]["profile_options"]["image"]["choices"]
    choices["big"] = {"display_name": "Big", "allowed_groups": ["org:big-compute"]}
    hub = load_hub(_hub_file(tmp_path, profile_list=profiles))
    lines = profile_rows(hub)[0]["options"].splitlines()
    assert "Image: Big (only for members of org:big-compute)" in lines
    assert "Image: Pangeo (preselected)" in lines


def test_imported_and_pasted_lists_give_the_same_config(tmp_path: Path) -> None:
    pasted = load_hub(_hub_file(tmp_path / "a", profile_list=_operator_profiles()))
    shutil.copy(OPERATOR_VALUES, tmp_path / "values.yaml")
    imported = load_hub(
        _hub_file(tmp_path / "b", profile_list=None, profile_list_from="../../values.yaml")
    )
    assert imported.profile_list == pasted.profile_list


def test_cli_prints_a_block_a_hub_file_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-profiles", str(OPERATOR_VALUES)]) == 0
    block = yaml.safe_load(capsys.readouterr().out)
    # The file states a 1G memory guarantee for every server, and no other hub-wide value.
    assert block == {"profile_list": _operator_profiles(), "defaults": {"mem_guarantee": "1G"}}
    hub = load_hub(_hub_file(tmp_path, **block))
    assert hub.default_profile.key == "notebook"


@pytest.mark.parametrize(
    ("content", "defaults"),
    [
        (
            {"singleuser": {"image": {"name": "x", "tag": "1"}}},
            {"image": "x:1", "mem_guarantee": "1G"},
        ),
        ({"jupyterhub": {"hub": {}}}, {"mem_guarantee": "1G"}),
        ({"singleuser": {"profileList": []}}, {"mem_guarantee": "1G"}),
        (
            {"daskhub": {"jupyterhub": {"singleuser": {"profileList": None}}}},
            {"mem_guarantee": "1G"},
        ),
        (
            {"singleuser": {"memory": {"limit": "2G", "guarantee": None}, "cpu": {"limit": 1}}},
            {"mem_limit": "2G", "cpu_limit": 1},
        ),
    ],
    ids=["image-only", "wrapped-hub-only", "empty-list", "daskhub-null-list", "null-guarantee"],
)
def test_hub_without_profile_list_is_imported_with_its_defaults(
    tmp_path: Path, content: dict, defaults: dict
) -> None:
    """No list (or an empty one): one kind of server, no options page. The chart
    guarantees 1G of memory unless the file says otherwise (`guarantee:` empty: none)."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(content))
    imported = read_values(values)
    assert imported.profiles == []
    assert imported.defaults == defaults


def test_profile_list_in_hub_config_is_read_and_python_is_refused_with_the_way_forward(
    tmp_path: Path,
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {"hub": {"config": {"KubeSpawner": {"profile_list": [{"display_name": "A"}]}}}}
        )
    )
    assert import_profiles(values) == [{"display_name": "A"}]
    code = "c.KubeSpawner.profile_list = [{'display_name': 'Small'}]\n"
    values.write_text(yaml.safe_dump({"hub": {"extraConfig": {"profiles": code}}}))
    with pytest.raises(HubFileError) as info:
        import_profiles(values)
    message = str(info.value)
    assert message.startswith(f"{values}: hub.extraConfig.profiles sets the profile list in Python")
    assert "profile_list:" in message and "--profile" in message


def test_the_littlest_jupyterhub_config_is_a_hub_without_a_profile_list(tmp_path: Path) -> None:
    """TLJH's config.yaml (`tljh-config show`): `limits` apply to every server."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "users": {"admin": ["ana"]},
                "limits": {"memory": "4G", "cpu": 2},
                "user_environment": {"default_app": "jupyterlab"},
                "services": {"cull": {"timeout": 1800}},
                "auth": {"type": "firstuseauthenticator.FirstUseAuthenticator"},
            }
        )
    )
    imported = read_values(config)
    assert (imported.profiles, imported.defaults) == ([], {"mem_limit": "4G", "cpu_limit": 2})
    assert imported.hints == {
        "named_servers": "no",
        "login_method": "firstuse",
        "default_url": "/lab",
        "idle_timeout": "1800",
    }
    config.write_text(yaml.safe_dump({"limits": {"memory": "4GB"}}))
    with pytest.raises(HubFileError, match=r"config.yaml: limits expected mem_limit as a size"):
        read_values(config)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"jupyterhub": {"singleuser": {"profileList": [{"display_name": "A"}, {"slug": "b"}]}}},
            "jupyterhub.singleuser.profileList[1].display_name is required but missing",
        ),
        (
            {
                "singleuser": {"profileList": [{"display_name": "A"}]},
                "jupyterhub": {"singleuser": {"profileList": [{"display_name": "B"}]}},
            },
            "more than one profile list",
        ),
        (["a", "list"], "expected a Helm values mapping"),
        ({"proxy": {"https": {"enabled": True}}}, "no Zero to JupyterHub values"),
        ({"singleuser": {"memory": {"limit": "2Gi"}}}, "singleuser expected mem_limit as a size"),
    ],
    ids=["bad-profile", "two-lists", "not-mapping", "no-chart", "hub-wide-size"],
)
def test_bad_values_file_names_file_and_key(tmp_path: Path, content: object, expected: str) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(content))
    with pytest.raises(HubFileError) as info:
        import_profiles(values)
    message = str(info.value)
    assert message.startswith(f"{values}: ")
    assert expected in message
    assert "\n" not in message


def test_every_problem_of_a_values_file_is_listed_at_once(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "singleuser": {
                    "memory": {"limit": "4GB"},
                    "profileList": [
                        {"slug": "a"},
                        {"display_name": "B", "kubespawner_override": {"mem_limit": "1Gi"}},
                        {"display_name": "C", "profile_options": {"x": {"display_name": "X"}}},
                    ],
                }
            }
        )
    )
    with pytest.raises(HubFileError) as info:
        import_profiles(values)
    lines = str(info.value).splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith(f"{values}: ") for line in lines)
    assert "singleuser.profileList[0].display_name is required" in lines[0]
    assert "singleuser.profileList[1].kubespawner_override expected mem_limit" in lines[1]
    assert "singleuser.profileList[2].profile_options.x" in lines[2]
    assert "singleuser expected mem_limit" in lines[3]


def test_hub_file_errors(tmp_path: Path) -> None:
    both = _hub_file(tmp_path, profile_list_from="values.yaml")
    with pytest.raises(HubFileError, match="profile_list_from expected alone"):
        load_hub(both)
    missing = _hub_file(tmp_path, profile_list=None, profile_list_from="absent.yaml")
    with pytest.raises(HubFileError) as info:
        load_hub(missing)
    assert str(info.value).startswith(str(tmp_path / "hubs" / "absent.yaml"))
    assert "cannot read the values file" in str(info.value)


def test_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("proxy: {}\n")
    assert main(["import-profiles", str(values)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hubtrain: {values}: no Zero to JupyterHub values")
    assert "\n" not in err
