"""Hub files written the way hub administrators write them, not the way we do.

The files in `tests/files/real-world-hubs/` are shaped like public hub
configurations (a community operator's per-hub values with anchors and byte
sizes, Zero to JupyterHub's documented profile lists, KubeSpawner's dict form).
Where KubeSpawner itself decides something (slugs, profile order, sizes), the
test asks the installed KubeSpawner and JupyterHub, not our own expectations.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from jupyterhub.traitlets import ByteSpecification
from kubespawner import KubeSpawner

from hubtrain.course.build import build_book
from hubtrain.course.links import exercise_link
from hubtrain.course.pages import profile_rows, substitutions
from hubtrain.grading.environment import profile_env
from hubtrain.hubfile.config import HubConfig, HubFileError
from hubtrain.hubfile.load import load_hub

ROOT = Path(__file__).resolve().parent.parent
REAL_WORLD = sorted((ROOT / "tests" / "files" / "real-world-hubs").glob("*.yml"))


def _kubespawner_profiles(path: Path) -> list[dict]:
    """The profile list as the pinned KubeSpawner completes it for its form."""
    raw = yaml.safe_load(path.read_text())["profile_list"]
    return KubeSpawner._get_initialized_profile_list(
        None, KubeSpawner._sorted_dict_values(None, raw)
    )


@pytest.fixture(params=REAL_WORLD, ids=lambda p: p.stem)
def real_world(request: pytest.FixtureRequest) -> tuple[Path, HubConfig]:
    return request.param, load_hub(request.param)


def test_profiles_come_out_in_kubespawners_order_with_its_slugs(real_world) -> None:
    path, hub = real_world
    expected = _kubespawner_profiles(path)
    assert [p.display_name for p in hub.profile_list] == [p["display_name"] for p in expected]
    assert [p.key for p in hub.profile_list] == [p["slug"] for p in expected]
    default = next(p for p in expected if p.get("default"))
    assert hub.default_profile.key == default["slug"]


def test_memory_becomes_the_bytes_jupyterhub_would_set(real_world) -> None:
    """MEM_LIMIT in the grading environment equals what JupyterHub's trait reads."""
    path, hub = real_world
    raw = _kubespawner_profiles(path)
    for profile, spec in zip(hub.profile_list, raw, strict=True):
        env = profile_env(profile)
        override = dict(spec.get("kubespawner_override", {}))
        for option in spec.get("profile_options", {}).values():
            default = next((c for c in option.get("choices", {}).values() if c["default"]), {})
            override.update(default.get("kubespawner_override", {}))
        for key in ("mem_limit", "mem_guarantee"):
            if key in override:
                assert env[key.upper()] == str(ByteSpecification().validate(None, override[key]))
            else:
                assert key.upper() not in env
        if "cpu_limit" in override:
            assert float(env["CPU_LIMIT"]) == float(override["cpu_limit"])


def test_keys_we_do_not_model_are_kept_for_the_hub(real_world) -> None:
    path, hub = real_world
    raw = _kubespawner_profiles(path)
    facts = hub.facts()["profile_list"]
    for profile, spec in zip(facts, raw, strict=True):
        for key, value in spec.items():
            if key in ("slug", "default", "profile_options"):
                continue
            assert profile[key] == value, key


def test_links_and_profile_table_are_for_this_hub(real_world) -> None:
    _, hub = real_world
    link = urlsplit(exercise_link(hub, "01-login/login.ipynb"))
    assert f"{link.scheme}://{link.netloc}" == hub.url
    query = parse_qs(link.query)
    assert query["repo"] == [hub.content.repo]
    assert query["urlpath"][0].endswith(f"{hub.content.directory}/01-login/login.ipynb")
    rows = profile_rows(hub)
    assert [r["slug"] for r in rows] == [p.key for p in hub.profile_list]
    for row in rows:
        # Byte counts are shown in units a learner reads, never as 10-digit numbers.
        assert not re.search(r"\d{7,}", row["memory"]), row["memory"]


def test_shared_folders_written_as_paths() -> None:
    hub = load_hub(ROOT / "tests/files/real-world-hubs/community-gcs-anchors.yml")
    assert [d.display for d in hub.storage.shared_dirs] == ["~/shared", "~/shared-readwrite"]
    # Written as bare paths, the file does not say who can write: the book makes no claim.
    assert substitutions(hub)["shared_dirs"] == "`~/shared`, `~/shared-readwrite`"
    outside = load_hub(ROOT / "tests/files/real-world-hubs/profiles-as-dict.yml")
    assert substitutions(outside)["shared_dirs"] == "`/srv/datasets` (read-only)"


def _mutated(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((ROOT / "hubs" / "practice.yml").read_text())
    mutate(data)
    path = tmp_path / "hub.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _many_mistakes(data: dict) -> None:
    data["profile_lst"] = data.pop("profile_list")
    data["url"] = "hub.example.org"
    data["server"]["idle_timout"] = 60
    data["storage"]["provder"] = data["storage"].pop("provider")
    data["content"]["branch"] = ""


def test_every_problem_is_listed_with_a_suggestion(tmp_path: Path) -> None:
    path = _mutated(tmp_path, _many_mistakes)
    with pytest.raises(HubFileError) as info:
        load_hub(path)
    lines = str(info.value).splitlines()
    assert sorted(lines) == sorted(
        [
            f"{path}: profile_lst is not a known key; did you mean profile_list?",
            f"{path}: url expected an http(s) URL such as https://hub.example.org",
            f"{path}: server.idle_timout is not a known key; did you mean idle_timeout?",
            f"{path}: storage.provder is not a known key; did you mean provider?",
            f"{path}: content.branch expected String should have at least 1 character",
        ]
    )


def test_cli_lists_every_problem_without_a_traceback(tmp_path: Path) -> None:
    path = _mutated(tmp_path, _many_mistakes)
    result = subprocess.run(
        [sys.executable, "-m", "hubtrain.cli", "link", "--hub", str(path), "x.ipynb"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 5
    assert "did you mean profile_list?" in result.stderr


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("1Gi", "refuses Gi or GB"), ("2GB", "refuses Gi or GB"), ("lots", "a size such as")],
)
def test_sizes_kubespawner_would_refuse_are_refused(
    tmp_path: Path, value: str, fragment: str
) -> None:
    path = _mutated(
        tmp_path, lambda d: d["profile_list"][0]["kubespawner_override"].update(mem_limit=value)
    )
    with pytest.raises(HubFileError, match=fragment) as info:
        load_hub(path)
    assert "profile_list[0].kubespawner_override expected mem_limit" in str(info.value)
    with pytest.raises(Exception):  # noqa: B017 - the real trait must refuse it as well
        ByteSpecification().validate(None, value)


@pytest.mark.slow
@pytest.mark.parametrize("hub_file", REAL_WORLD, ids=lambda p: p.stem)
def test_book_builds_from_the_toc_whatever_else_lies_in_the_tree(
    tmp_path: Path, hub_file: Path
) -> None:
    """Each real-world hub file builds, and leftovers in the tree are never executed.

    The copy holds what a champion's checkout holds after `make hub`: the
    practice hub's blank release under `.hubtrain/`, and a scratch notebook
    beside the chapters, both of which stop on NotImplementedError if executed,
    and a page with a broken role outside the table of contents.
    """
    tree = tmp_path / "checkout"
    for name in ("book", "exercises", "accessibility", "_config.yml", "_toc.yml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name)
        else:
            shutil.copy2(source, tree / name)
    failing = '{"cells": [{"cell_type": "code", "metadata": {}, "execution_count": null,'
    failing += ' "outputs": [], "source": "raise NotImplementedError()"}], "metadata": {},'
    failing += ' "nbformat": 4, "nbformat_minor": 5}'
    stray = [
        tree / ".hubtrain/build/course/release/01-login/login.ipynb",
        tree / "book/scratch.ipynb",
        tree / "notes/try.md",
    ]
    for path in stray:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(failing if path.suffix == ".ipynb" else "# {unknown-role}`x`\n")
    hub = load_hub(hub_file)
    html = build_book(hub, tree, tmp_path / "out").html
    assert (html / "book" / "01-log-in-and-out.html").is_file()
    assert not list(html.rglob("scratch.html")) and not list(html.rglob("try.html"))
    assert not (html / ".hubtrain").exists()
    page = (html / "book" / "02-choose-an-environment.html").read_text()
    for row in profile_rows(hub):
        assert f"{html_escape(row['memory'], quote=False)}</p></td>" in page, row["memory"]
        assert html_escape(row["name"], quote=False) in page
    launch = (html / "book" / "01-log-in-and-out.html").read_text()
    assert html_escape(exercise_link(hub, "01-login/login.ipynb")) in launch
