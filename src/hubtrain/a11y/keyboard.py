"""Keyboard-only checks for a page open in Playwright: reach, see, leave.

Each check raises `AssertionError` with a sentence saying what a keyboard user
would meet; the tests run them on the real page and on broken copies.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NO_FOCUS_RING", "leave_by_tab", "tab_to", "visible_focus"]

# A style that hides every focus indicator: what a careless theme change does.
# Tests add it to a page to show that `visible_focus` catches it.
NO_FOCUS_RING = (
    "*:focus, *:focus-visible { outline: none !important; box-shadow: none !important; }"
)

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'the page';
    const name = el.id ? '#' + el.id : el.tagName.toLowerCase();
    return name + (el.name ? `[name=${el.name}]` : '');
}"""


def tab_to(page: Any, selector: str, limit: int = 80) -> int:
    """Press Tab until `selector` has focus; the number of presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) || false", selector):
            return presses
    raise AssertionError(f"{selector} cannot be reached with Tab ({limit} presses)")


def leave_by_tab(page: Any, container: str, limit: int = 30, key: str = "Tab") -> None:
    """From inside `container`, Tab (or Shift+Tab) must move focus out of it: no trap."""
    for _ in range(limit):
        page.keyboard.press(key)
        inside = page.evaluate("(c) => !!document.activeElement?.closest(c)", container)
        if not inside:
            return
    stuck = page.evaluate(FOCUSED)
    raise AssertionError(f"keyboard trap: {key} keeps focus inside {container} (on {stuck})")


def visible_focus(page: Any) -> None:
    """The focused element shows it: an outline or a box shadow that focus adds."""
    style = page.evaluate(
        """() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,
                    shadow: s.boxShadow};
        }"""
    )
    if (style["outline"] != "none" and style["width"] > 0) or style["shadow"] != "none":
        return
    raise AssertionError(f"{page.evaluate(FOCUSED)} has focus but shows no focus indicator")
