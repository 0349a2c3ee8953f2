"""The waiver file: each waiver names its upstream issue, their number only goes
down, a waiver that matches nothing is stale, and an unwaived serious fault fails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hubtrain.a11y.axe import Violation
from hubtrain.a11y.ceiling import CEILING_FILE, WAIVERS_FILE, raised
from hubtrain.a11y.waivers import WAIVER_CEILING, Waiver, load_waivers, stale, unwaived

ROOT = Path(__file__).resolve().parent.parent

BUTTON = Violation(
    "hub:login page",
    "color-contrast",
    "serious",
    "#login_submit",
    '<input class="btn btn-jupyter" value="Sign in">',
    "Elements must meet contrast",
)
LANDMARK = Violation("hub:login page", "region", "moderate", "body > div", "<div>", "Landmarks")
WAIVER = Waiver("hub", "color-contrast", ".btn-jupyter", "jupyterhub/jupyterhub#4260", "orange")


def test_the_waiver_file_is_valid_and_at_its_ceiling() -> None:
    """Deleting a fixed waiver means lowering the ceiling too: the number only goes down."""
    waivers = load_waivers()
    assert len(waivers) <= WAIVER_CEILING, (
        f"{len(waivers)} waivers but the ceiling is {WAIVER_CEILING}: fix the fault instead"
    )
    assert len(waivers) == WAIVER_CEILING, (
        f"{len(waivers)} waivers: lower WAIVER_CEILING to {len(waivers)} so it stays there"
    )


def test_a_waived_fault_passes_and_an_unwaived_one_fails() -> None:
    assert unwaived([BUTTON, LANDMARK], [WAIVER]) == []
    assert unwaived([BUTTON, LANDMARK], []) == [BUTTON]  # moderate findings never gate
    other_rule = Waiver("hub", "link-name", "btn-jupyter", WAIVER.upstream, "x")
    other_scope = Waiver("lab", "color-contrast", "btn-jupyter", WAIVER.upstream, "x")
    assert unwaived([BUTTON], [other_rule, other_scope]) == [BUTTON]


def _on(html: str, target: str = "#login_submit") -> Violation:
    return Violation("hub:login page", "color-contrast", "serious", target, html, "contrast")


@pytest.mark.parametrize(
    ("where", "html", "waived"),
    [
        (".btn-jupyter", '<input class="btn btn-jupyter" value="Sign in">', True),
        ("input.btn-jupyter", '<input class="btn btn-jupyter" value="Sign in">', True),
        # A longer class, the text in a value or in the selector: not the element named.
        (".btn-jupyter", '<input class="btn btn-jupyter-dark" value="Sign in">', False),
        (".btn-jupyter", '<input class="btn" value="btn-jupyter">', False),
        ("a.btn-jupyter", '<input class="btn btn-jupyter" value="Sign in">', False),
        ('[role="feed"]', '<div class="jp-Notebook" role="feed">', True),
        ('[role="feed"]', '<div role="feedback">', False),
        ("jp-button", '<jp-button aria-pressed="false" class="x">', True),
        ("jp-button", '<jp-buttons aria-pressed="false">', False),
        ("<h1>Sign in</h1>", "<h1>Sign in</h1>", True),
        ("<h1>Sign in</h1>", '<h1>Sign in</h1><p class="x">', False),
    ],
)
def test_a_waiver_names_its_element_exactly(where: str, html: str, waived: bool) -> None:
    waiver = Waiver("hub", "color-contrast", where, WAIVER.upstream, "x")
    # The selector axe gives carries the class too: matching its text would waive more.
    violation = _on(html, target=".btn-jupyter-dark, #feed")
    assert unwaived([violation], [waiver]) == ([] if waived else [violation])


def test_a_waiver_that_matches_nothing_is_stale() -> None:
    assert stale([BUTTON], [WAIVER], "hub") == []
    assert stale([LANDMARK], [WAIVER], "hub") == [WAIVER]
    assert stale([LANDMARK], [WAIVER], "lab") == []  # checked by the module that scans lab


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("{scope: hub, rule: region, where: x, why: y}", "upstream"),
        ("{scope: hub, rule: region, where: x, why: y, upstream: '#12'}", "upstream"),
        ("{scope: ours, rule: region, where: x, why: y, upstream: a/b#1}", "scope"),
        ("{scope: hub, rule: region, where: x, upstream: a/b#1}", "why"),
        ("{scope: hub, rule: region, where: 'Sign in', why: y, upstream: a/b#1}", "selector"),
    ],
)
def test_a_waiver_without_issue_scope_or_reason_is_refused(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    path = tmp_path / "waivers.yml"
    path.write_text(f"- {entry}\n")
    with pytest.raises(ValueError, match=complaint):
        load_waivers(path)


def test_the_ceiling_and_the_waivers_never_went_up_since_main() -> None:
    """Compared with main in git, not with a constant the same commit could raise."""
    assert raised(ROOT) == ""


def _commit(repo: Path, ceiling: int, waivers: int | list[str], message: str) -> None:
    """Commit `waivers` hub waivers (or one per element named), and the ceiling."""
    wheres = ["x"] * waivers if isinstance(waivers, int) else waivers
    (repo / WAIVERS_FILE).write_text(
        "".join(
            f"- {{scope: hub, rule: color-contrast, where: '{where}', why: y, upstream: a/b#1}}\n"
            for where in wheres
        )
    )
    (repo / CEILING_FILE).write_text(f'"""Waivers."""\n\nWAIVER_CEILING = {ceiling}\n')
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", message], check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on main, with the waiver file and the ceiling where ours are."""
    repo = tmp_path / "repo"
    (repo / "accessibility").mkdir(parents=True)
    (repo / "src" / "hubtrain" / "a11y").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    return repo


def test_a_ceiling_raised_with_a_new_waiver_is_caught_on_a_branch_and_on_main(
    repo: Path,
) -> None:
    _commit(repo, 5, 5, "five waivers")
    subprocess.run(["git", "-C", str(repo), "checkout", "-qb", "topic"], check=True)
    _commit(repo, 6, 6, "a sixth waiver, and the ceiling raised with it")
    said = raised(repo)
    assert "WAIVER_CEILING went up from 5 to 6" in said
    assert "the waivers went up from 5 to 6" in said
    _commit(repo, 4, 4, "one fixed")
    assert raised(repo) == ""
    # Merged into main: main's tip is compared with the commit before it.
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    _commit(repo, 7, 7, "raised on main itself")
    assert "went up from 5 to 7" in raised(repo)


def test_a_waiver_swapped_in_for_a_deleted_one_is_caught(repo: Path) -> None:
    """The count alone lets a branch delete a stale waiver and add another for a fault
    on a page main already scans (a navigation bar gone dark, say), in one commit:
    the number stays, the regression is waived. Any waiver main lacks is refused."""
    _commit(repo, 2, [".btn-jupyter", "<h1>Sign in</h1>"], "two waivers")
    subprocess.run(["git", "-C", str(repo), "checkout", "-qb", "topic"], check=True)
    _commit(repo, 2, [".btn-jupyter", ".nav-link"], "the heading fixed; the nav bar waived")
    said = raised(repo)
    assert "hub color-contrast .nav-link" in said, said
    assert "Sign in" not in said  # deleting a waiver is always allowed
    # Widening a waiver's element is a new waiver too.
    _commit(repo, 1, [".btn"], "one waiver for every button")
    assert "hub color-contrast .btn since" in raised(repo)
    # Deleting, or keeping what main has, is fine.
    _commit(repo, 1, [".btn-jupyter"], "the heading fixed")
    assert raised(repo) == ""
