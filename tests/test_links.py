"""nbgitpuller links, tested by parsing them back into their parts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from hubtrain.config import HubConfig
from hubtrain.links import exercise_link, nbgitpuller_link


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


def test_classic_view_and_named_server() -> None:
    base, path, query = parts(
        nbgitpuller_link(
            "https://h.org/prefix",
            "https://g.com/o/r",
            "x/y.ipynb",
            app="tree",
            server_name="gpu 1",
        )
    )
    assert base == "https://h.org"
    assert path == "/prefix/hub/user-redirect/gpu%201/git-pull"
    assert query["urlpath"] == "tree/r/x/y.ipynb"


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
