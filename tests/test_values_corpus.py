"""Real Zero to JupyterHub values files become hub files whose book tells the truth.

The files in `tests/files/values/real/` are public values files written by hub
operators (2i2c, Pangeo, the chart's own developers), each with a first line
naming its repository and path. Each goes through `hubtrain init --no-input
--profiles-from`, and the book's profile table is compared with two oracles that
are not our code: the pinned KubeSpawner (its own `form.html`, profile
initialisation and override rules) and the chart's own defaults
(`tests/files/values/z2jh-chart-defaults.values.yaml`), laid under the values
file as Helm does.
"""

from __future__ import annotations

import copy
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader
from kubespawner import KubeSpawner

from hubtrain.cli import main
from hubtrain.course.pages import UNNAMED_IMAGE, book_facts, profile_rows
from hubtrain.hubfile.config import HubConfig, HubFileError
from hubtrain.hubfile.load import load_hub
from hubtrain.hubfile.profiles_import import read_values
from hubtrain.practice.spawner import kubespawner_templates

ROOT = Path(__file__).resolve().parent.parent
VALUES = ROOT / "tests" / "files" / "values"
CORPUS = sorted((VALUES / "real").glob("*.yaml"))
CHART = yaml.safe_load((VALUES / "z2jh-chart-defaults.values.yaml").read_text())
# Files whose profile list is built in Python: the import must refuse them, with the way forward.
PYTHON_LISTS = {"pangeo-hydro-python-list.values.yaml"}
WRAPPERS = ("jupyterhub", "basehub", "daskhub", "binderhub", "pangeo")


def test_the_corpus_is_real_and_varied() -> None:
    """A dozen-ish files, each naming where it comes from, covering the shapes hubs use."""
    assert len(CORPUS) >= 10
    for path in CORPUS:
        assert path.read_text().startswith("# Source: "), path.name
    texts = {p.name: p.read_text() for p in CORPUS}
    shapes = {
        "basehub wrapper": any(t.count("\nbasehub:") for t in texts.values()),
        "jupyterhub wrapper": any("\njupyterhub:" in t for t in texts.values()),
        "anchors": any(re.search(r"&\w", t) for t in texts.values()),
        "GPUs": any("nvidia.com/gpu" in t for t in texts.values()),
        "groups": any("allowed_groups" in t for t in texts.values()),
        "no profile list": any("profileList" not in t for t in texts.values()),
        "null overrides": any(re.search(r"mem_limit: ?(null)?\n", t) for t in texts.values()),
    }
    assert all(shapes.values()), shapes


# -- the oracles ---------------------------------------------------------------


def _helm_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Values laid over defaults as Helm does: mappings merge, null removes a default."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _helm_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _chart_values(path: Path) -> tuple[dict[str, Any], bool]:
    """The Zero to JupyterHub values of a file (unwrapped) over the chart's defaults,
    and whether the file itself names an image."""
    data = yaml.safe_load(path.read_text())
    while not any(k in data for k in ("singleuser", "hub", "cull")):
        data = next(data[k] for k in WRAPPERS if isinstance(data.get(k), dict))
    names_image = bool((data.get("singleuser") or {}).get("image", {}).get("name"))
    return _helm_merge(CHART, data), names_image


class _Stub:
    """The parts of a KubeSpawner that its own override code reads and writes."""

    log = logging.getLogger("kubespawner-oracle")
    _get_profile = KubeSpawner._get_profile
    _apply_overrides = KubeSpawner._apply_overrides
    _load_profile = KubeSpawner._load_profile

    def __init__(self, settings: dict[str, Any]) -> None:
        self.__dict__.update(settings)
        self.user_options: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return None  # a KubeSpawner setting the hub does not set


def _spawner(values: dict[str, Any]) -> _Stub:
    """A spawner configured from chart values the way the chart's hub config does it."""
    singleuser = values["singleuser"]
    image = singleuser.get("image") or {}
    return _Stub(
        {
            "image": f"{image['name']}:{image['tag']}" if image.get("name") else "",
            "mem_limit": (singleuser.get("memory") or {}).get("limit"),
            "mem_guarantee": (singleuser.get("memory") or {}).get("guarantee"),
            "cpu_limit": (singleuser.get("cpu") or {}).get("limit"),
            "cpu_guarantee": (singleuser.get("cpu") or {}).get("guarantee"),
            "extra_resource_limits": dict(
                (singleuser.get("extraResource") or {}).get("limits") or {}
            ),
        }
    )


class _Form(HTMLParser):
    """Reads KubeSpawner's rendered form: each profile's slug, and each drop-down's
    entries with the preselected one."""

    def __init__(self) -> None:
        super().__init__()
        self.slugs: list[str] = []
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self._select = ""
        self._option: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") == "profile":
            self.slugs.append(a["value"] or "")
        elif tag == "select":
            self._select = a["name"] or ""
            self.selects[self._select] = []
        elif tag == "option" and self._select:
            self._option = ["", "selected" in a]

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None:
            self.selects[self._select].append((self._option[0].strip(), self._option[1]))
            self._option = None
        elif tag == "select":
            self._select = ""


def _rendered_form(profiles: list[dict[str, Any]]) -> _Form:
    env = Environment(loader=FileSystemLoader(str(kubespawner_templates())))
    html = env.get_template("form.html").render(profile_list=profiles, user_options={})
    form = _Form()
    form.feed(html)
    return form


def _shown(value: Any) -> str:
    """How the table writes a size: as written, or in GiB for a byte count."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 1024**2:
        return f"{value / 1024**3:.3g} GiB"
    return str(value)


# -- the corpus ----------------------------------------------------------------


def _init(tmp_path: Path, values: Path) -> int:
    """`hubtrain init --no-input` from the values file; its exit code."""
    return main(
        [
            "init",
            "--no-input",
            "--name",
            values.stem,
            "--url",
            "https://hub.example.org/hub/home",
            "--content-repo",
            "https://github.com/example/course",
            "--profiles-from",
            str(values),
            "--file",
            str(tmp_path / "hub.yml"),
        ]
    )


@pytest.fixture(params=[p for p in CORPUS if p.name not in PYTHON_LISTS], ids=lambda p: p.stem)
def imported(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, HubConfig]:
    values: Path = request.param
    assert _init(tmp_path, values) == 0
    return values, tmp_path / "hub.yml", load_hub(tmp_path / "hub.yml")


def test_hub_file_is_written_without_anchors_and_with_the_base_url(imported) -> None:
    _, path, hub = imported
    text = path.read_text()
    assert not re.search(r"[&*]id\d+", text), "anchors make one edit change several profiles"
    assert hub.url == "https://hub.example.org"


def test_table_agrees_with_kubespawners_form(imported) -> None:
    """Names, slugs, each choice on its own line and the preselected one marked, as the
    pinned KubeSpawner renders its options page for this profile list."""
    values, _, hub = imported
    raw = read_values(values).profiles
    profiles = KubeSpawner._get_initialized_profile_list(None, raw)
    form = _rendered_form(profiles)
    rows = profile_rows(hub)
    assert [row["slug"] for row in rows] == form.slugs
    assert hub.has_options_page == bool(form.slugs)
    for row, profile in zip(rows, profiles, strict=True):
        assert row["name"].startswith(profile["display_name"])
        assert row["name"].endswith(" (default)") == bool(profile.get("default"))
        lines = row["options"].splitlines() if row["options"] else []
        expected = []
        for key, option in (profile.get("profile_options") or {}).items():
            entries = form.selects[f"profile-option-{profile['slug']}--{key}"]
            for text, selected in entries:
                mark = " (preselected)" if selected and len(entries) > 1 else ""
                expected.append((f"{option['display_name']}: {text}", mark))
        assert len(lines) == len(expected)
        for line, (start, mark) in zip(lines, expected, strict=True):
            assert line.startswith(start), (line, start)
            assert (" (preselected)" in line) == bool(mark), line
        for group in profile.get("allowed_groups") or []:
            assert group in row["who"]


def test_table_agrees_with_kubespawners_overrides_and_the_charts_defaults(imported) -> None:
    """What a server of each profile gets (default choices), as KubeSpawner applies the
    profile over the chart's settings: no "not set" where the hub sets or guarantees a
    value, `null` overrides shown as no limit, the image named where the file names it,
    GPUs listed."""
    values, _, hub = imported
    chart, names_image = _chart_values(values)
    profiles = KubeSpawner._get_initialized_profile_list(None, read_values(values).profiles)
    expected = []
    for profile in profiles or [None]:
        spawner = _spawner(chart)
        if profile:
            spawner._load_profile(profile["slug"], profiles)
        expected.append((profile, spawner))
    rows = profile_rows(hub) or [book_facts(hub, [])["server"]]
    for row, (profile, spawner) in zip(rows, expected, strict=True):
        for column, kind in (("memory", "mem"), ("cpu", "cpu")):
            text = row[column]
            assert "not set" not in text
            guarantee, limit = (
                getattr(spawner, f"{kind}_guarantee"),
                getattr(spawner, f"{kind}_limit"),
            )
            if guarantee is not None:
                assert text.startswith(f"{_shown(guarantee)} guaranteed"), (text, guarantee)
            if limit is None:
                assert "up to" not in text.split(" (the default")[0], text
            else:
                assert f"up to {_shown(limit)}" in text, (text, limit)
        choices = [
            c.get("kubespawner_override", {}).get("image")
            for o in (profile or {}).get("profile_options", {}).values()
            for c in o.get("choices", {}).values()
        ]
        if any(choices):
            assert all(image in row["image"] for image in choices if image)
        elif names_image or (profile or {}).get("kubespawner_override", {}).get("image"):
            assert row["image"] == spawner.image
        else:
            # The chart's own image, named as far as a values file can know it: the
            # sample image, whose tag is the chart's version (set when it is published).
            sample = CHART["singleuser"]["image"]["name"].rsplit("/", 1)[-1]
            assert row["image"] == UNNAMED_IMAGE
            assert f"quay.io/jupyterhub/{sample}" in row["image"], row["image"]
            assert "chart's version" in row["image"]
        for name, count in (spawner.extra_resource_limits or {}).items():
            assert f"{count} × {name}" in row["gpu"]


def test_import_profiles_prints_every_block_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    """Profiles that share a block through an anchor are printed each in full: editing one
    of them in the hub file must not change the others."""
    values = VALUES / "real" / "2i2c-showcase.values.yaml"
    assert re.search(r"\*profile_options", values.read_text())
    assert main(["import-profiles", str(values)]) == 0
    out = capsys.readouterr().out
    assert not re.search(r"[&*]id\d+", out)
    block = yaml.safe_load(out)
    assert block["profile_list"] == read_values(values).profiles
    shared = [p["profile_options"] for p in block["profile_list"][3:7]]
    assert all(options == shared[0] for options in shared)


def test_a_key_kubespawner_would_ignore_is_reported_when_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CloudBank file has `default: true` inside a kubespawner_override, where
    KubeSpawner would set a setting that does not exist: init and import-profiles say so."""
    values = VALUES / "real" / "2i2c-cloudbank-common-gpu.values.yaml"
    assert _init(tmp_path, values) == 0
    err = capsys.readouterr().err
    assert "profile_list[0].kubespawner_override.default is not a KubeSpawner setting" in err
    assert main(["import-profiles", str(values)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{values}: jupyterhub.singleuser.profileList[0].kubespawner_override.default is not" in err
    )


def test_culler_named_servers_and_quota_come_from_the_file_or_the_chart(imported) -> None:
    values, _, hub = imported
    chart, _ = _chart_values(values)
    cull = chart["cull"]
    enabled = cull.get("enabled", True)
    assert hub.server.idle_timeout == (cull["timeout"] if enabled else 0)
    assert hub.server.max_age == (cull["maxAge"] if enabled else 0)
    assert hub.server.named_servers is chart["hub"].get("allowNamedServers", False)


def test_a_profile_list_built_in_python_is_refused_with_the_way_forward(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in PYTHON_LISTS:
        values = VALUES / "real" / name
        with pytest.raises(HubFileError) as info:
            read_values(values)
        message = str(info.value)
        assert message.startswith(f"{values}: pangeo.jupyterhub.hub.extraConfig.profile_list ")
        assert "in Python, which hubtrain cannot run" in message
        assert "profile_list:" in message and "--profile" in message
        assert _init(tmp_path, values) == 2
        assert "which hubtrain cannot run" in capsys.readouterr().err
        assert not (tmp_path / "hub.yml").exists()
