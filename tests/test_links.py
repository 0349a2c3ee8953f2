"""nbgitpuller links, tested by parsing them back into their parts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hubtrain.cli import main
from hubtrain.course.links import exercise_link, nbgitpuller_link
from hubtrain.hubfile.config import HubConfig

ROOT = Path(__file__).resolve().parent.parent


def parts(link: str) -> tuple[str, str, dict[str, str]]:
    url = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(url.query, strict_parsing=True).items()}
    return f"{url.scheme}://{url.netloc}", url.path, query


def test_link_anatomy() -> None:
    link = nbgitpuller_link(
        "https://hub.example.org/",
        "https://github.com/org/course",
        "01-login/login.ipynb",
        branch="student",
    )
    base, path, query = parts(link)
    assert base == "https://hub.example.org"
    assert path == "/hub/user-redirect/git-pull"
    assert query == {
        "repo": "https://github.com/org/course",
        "branch": "student",
        "urlpath": "lab/tree/course/01-login/login.ipynb",
    }


def test_branch_omitted_leaves_it_to_the_remote_default() -> None:
    _, _, query = parts(nbgitpuller_link("https://h.org", "https://g.com/o/r", "a.ipynb"))
    assert "branch" not in query


def test_dot_git_repo_keeps_dot_git_in_the_directory_unless_target_is_set() -> None:
    repo = "https://github.com/org/course.git"
    _, _, query = parts(nbgitpuller_link("https://h.org", repo, "a.ipynb"))
    assert query["urlpath"] == "lab/tree/course.git/a.ipynb"
    assert "targetPath" not in query
    _, _, query = parts(nbgitpuller_link("https://h.org", repo, "a.ipynb", target_dir="course"))
    assert query["targetPath"] == "course"
    assert query["urlpath"] == "lab/tree/course/a.ipynb"


def test_classic_view() -> None:
    base, path, query = parts(
        nbgitpuller_link("https://h.org/prefix", "https://g.com/o/r", "x/y.ipynb", app="tree")
    )
    assert base == "https://h.org"
    assert path == "/prefix/hub/user-redirect/git-pull"
    assert query["urlpath"] == "tree/r/x/y.ipynb"


def test_named_server_link_goes_to_that_servers_spawn_page_then_pulls_there() -> None:
    """JupyterHub's user-redirect would pass through the *default* server's spawn
    page; the named server's own spawn page, with the pull as `next`, does not."""
    base, path, query = parts(
        nbgitpuller_link(
            "https://h.org/prefix/",
            "https://g.com/o/r",
            "x/y.ipynb",
            branch="main",
            server_name="gpu-1",
            user_name="ada@uni.edu",
        )
    )
    assert base == "https://h.org"
    assert path == "/prefix/hub/spawn/ada@uni.edu/gpu-1"
    assert list(query) == ["next"]
    pull_path, pull_query = query["next"].split("?", 1)
    assert pull_path == "/prefix/user/ada@uni.edu/gpu-1/git-pull"
    assert {k: v[0] for k, v in parse_qs(pull_query).items()} == {
        "repo": "https://g.com/o/r",
        "branch": "main",
        "urlpath": "lab/tree/r/x/y.ipynb",
    }


@pytest.mark.parametrize("name", ["gpu 1", "GPU", "1gpu", "gpu--1", "gpu-", "a" * 31, "gpü"])
def test_server_names_jupyterhub_refuses_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not one JupyterHub accepts"):
        nbgitpuller_link("https://h.org", "https://g.com/o/r", server_name=name, user_name="ada")


def test_named_server_link_needs_the_user() -> None:
    with pytest.raises(ValueError, match="must name its user"):
        nbgitpuller_link("https://h.org", "https://g.com/o/r", server_name="gpu")


def test_cli_prints_a_named_server_link_and_refuses_bad_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = str(ROOT / "hubs" / "practice.yml")
    assert (
        main(["link", "--hub", hub, "01-login/login.ipynb", "--server", "big", "--user", "ada"])
        == 0
    )
    _, path, query = parts(capsys.readouterr().out.strip())
    assert path == "/hub/spawn/ada/big"
    assert query["next"].startswith("/user/ada/big/git-pull?")
    assert main(["link", "--hub", hub, "a.ipynb", "--server", "Big One", "--user", "ada"]) == 2
    assert "not one JupyterHub accepts" in capsys.readouterr().err
    assert main(["link", "--hub", hub, "a.ipynb", "--user", "ada"]) == 2
    assert "--server" in capsys.readouterr().err


def test_special_characters_survive_the_round_trip() -> None:
    repo = "https://example.org/git/a repo&co"
    _, _, query = parts(nbgitpuller_link("https://h.org", repo, "dir/ünï code.ipynb", branch="b&c"))
    assert query["repo"] == repo
    assert query["branch"] == "b&c"
    assert query["urlpath"] == "lab/tree/a repo&co/dir/ünï code.ipynb"


@pytest.mark.parametrize(
    "kwargs, message",
    [({"app": "rstudio"}, "app must be"), ({"repo": "https://x.org/r?token=abc"}, "token")],
)
def test_refuses_bad_links(kwargs: dict[str, str], message: str) -> None:
    args = {"repo": "https://g.com/o/r", **kwargs}
    repo = args.pop("repo")
    with pytest.raises(ValueError, match=message):
        nbgitpuller_link("https://h.org", repo, "a.ipynb", **args)


def test_exercise_link_uses_the_hub_file(practice_hub: HubConfig) -> None:
    base, _, query = parts(exercise_link(practice_hub, "02-profiles/profiles.ipynb"))
    assert base == practice_hub.url
    assert query["repo"] == practice_hub.content.repo
    assert query["branch"] == practice_hub.content.branch
    assert query["urlpath"] == "lab/tree/hubtrain-course/02-profiles/profiles.ipynb"
    moved, _, _ = parts(exercise_link(practice_hub, "a.ipynb", hub_url="http://127.0.0.1:9999"))
    assert moved == "http://127.0.0.1:9999"
