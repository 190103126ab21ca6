"""axe-core (WCAG 2.1 A and AA) on the page state a browser test is looking at.

axe-core 4.10.3 is vendored under ``tests/e2e/vendor/axe-core/`` with its licence (MPL-2.0),
so the suite needs no download. It is evaluated through the DevTools protocol, which the
site's Content-Security-Policy does not block, so pages are checked with their real CSP.

    from tests.e2e.accessibility import assert_accessible

    page.goto(url)
    assert_accessible(page, "OPD list")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SOURCE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + "  " + n.failureSummary),
  }));
}"""


def accessibility_violations(page: Any) -> list[dict]:
    """The WCAG 2.1 A/AA violations axe finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    return page.evaluate(_RUN, list(WCAG_TAGS))


def assert_accessible(page: Any, state: str = "") -> None:
    """Fail with axe's own explanation of every violation on the page as it is now."""
    violations = accessibility_violations(page)
    if violations:
        lines = [f"axe: {len(violations)} WCAG 2.1 A/AA violation(s) on {state or page.url}"]
        for v in violations:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"])
        raise AssertionError("\n".join(lines))
