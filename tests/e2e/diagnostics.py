"""What a failing browser test shows about its pages."""

from __future__ import annotations


def page_log(page, last: int = 60) -> str:
    """The page's last console lines and the room panel's state, for a failure message."""
    lines = getattr(page, "console_lines", [])[-last:]
    try:
        panel = page.evaluate(
            "JSON.stringify({...(document.querySelector('[data-room]') || {}).dataset})"
        )
    except Exception as error:  # the page may be gone; the log is still worth showing
        panel = f"(panel unreadable: {error})"
    return f"{page.url}\npanel: {panel}\n" + "\n".join(lines)
