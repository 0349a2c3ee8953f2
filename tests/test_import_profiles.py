"""Profile lists read straight from Zero to JupyterHub values files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hubtrain.cli import main
from hubtrain.config import HubFileError, load_hub
from hubtrain.pages import profile_rows
from hubtrain.profiles_import import import_profiles

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
    assert (
        rows[0]["options"] == 'Image: Pangeo, Other... (then type it in the box "Your own image")'
    )
    assert rows[1]["slug"] == "large-8-cpu-64-gb"


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
    assert block == {"profile_list": _operator_profiles()}
    hub = load_hub(_hub_file(tmp_path, **block))
    assert hub.default_profile.key == "notebook"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"singleuser": {"image": {"name": "x"}}}, "no singleuser.profileList"),
        ({"jupyterhub": {"hub": {}}}, "no singleuser.profileList"),
        ({"singleuser": {"profileList": []}}, "singleuser.profileList expected a non-empty list"),
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
    ],
    ids=["no-list", "wrapped-no-list", "empty", "bad-profile", "two-lists", "not-mapping"],
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
    values.write_text("hub: {}\n")
    assert main(["import-profiles", str(values)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hubtrain: {values}: no singleuser.profileList")
    assert "\n" not in err
