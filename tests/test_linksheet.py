"""`hubtrain link-sheet`: a printable page of every exercise link with its QR code."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import segno

from hubtrain.cli import main
from hubtrain.course.links import exercise_link
from hubtrain.course.release import R_SUFFIX, assignments, r_twin
from hubtrain.hubfile.config import HubConfig
from hubtrain.hubfile.load import load_hub

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"


@pytest.fixture
def gcs_hub() -> HubConfig:
    return load_hub(ROOT / "hubs" / "example-gcs.yml")


def _cards(page: str) -> list[tuple[str, str, str]]:
    """(title, QR svg, link) of each card, as the page shows them."""
    return [
        (unescape(title), svg, unescape(href))
        for svg, title, href in re.findall(
            r'<section class="card">(<svg.*?</svg>)<div><h2>(.*?)</h2>.*?<a href="([^"]+)"',
            page,
        )
    ]


def _sheet(tmp_path: Path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "sheet.html"
    hub = str(ROOT / "hubs" / "example-gcs.yml")
    code = main(["link-sheet", "--hub", hub, "--root", str(ROOT), "--out", str(out), *args])
    return code, out


def test_every_module_has_its_link_and_a_qr_code_of_it(tmp_path: Path, gcs_hub: HubConfig) -> None:
    code, out = _sheet(tmp_path)
    assert code == 0
    page = out.read_text()
    cards = _cards(page)
    paths = [
        f"{name}/{nb.name}"
        for name in assignments(EXERCISES)
        for nb in sorted((EXERCISES / name).glob("*.ipynb"))
    ]
    # A Python assignment and its R twin `<module>-r` per module, both on the sheet, in
    # course order: `01-login/login.ipynb`, then `01-login-r/login_r.ipynb`.
    assert len(cards) == len(paths) == len(assignments(EXERCISES))
    python = [path for path in paths if not path.split("/")[0].endswith(R_SUFFIX)]
    assert [path for path in paths if path not in python] == [r_twin(path) for path in python]
    assert paths.index(r_twin(python[0])) == 1
    for (title, svg, href), path in zip(cards, paths, strict=True):
        assert href == exercise_link(gcs_hub, path)
        # The code is segno's rendering of exactly this link.
        assert svg == segno.make(href, error="m").svg_inline(scale=3, title=title)
    assert f"Exercise links for {gcs_hub.name}" in page
    assert gcs_hub.url in page


def test_hub_url_option_points_the_sheet_elsewhere(tmp_path: Path, gcs_hub: HubConfig) -> None:
    code, out = _sheet(tmp_path, "--hub-url", "http://127.0.0.1:8765")
    assert code == 0
    for _, _, href in _cards(out.read_text()):
        assert href.startswith("http://127.0.0.1:8765/hub/user-redirect/git-pull?")


def test_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheet.html"
    out.write_text("my annotated sheet")
    code, _ = _sheet(tmp_path)
    assert code == 2
    assert out.read_text() == "my annotated sheet"
    err = capsys.readouterr().err.strip()
    assert err == f"hubtrain: {out}: already exists; pass --force to replace it"
    code, _ = _sheet(tmp_path, "--force")
    assert code == 0
    assert _cards(out.read_text())


def test_titles_come_from_the_notebooks(tmp_path: Path) -> None:
    _, out = _sheet(tmp_path)
    titles = [title for title, _, _ in _cards(out.read_text())]
    assert all(titles) and len(set(titles)) == len(titles)
    assert "Module 1 in R: Log in and out" in titles
