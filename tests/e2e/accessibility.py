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
#: A run that has not finished by then fails with its page named, instead of hanging the test.
AXE_LIMIT_MS = 120_000

# axe runs in the page's main frame only (``iframes: false``): frames (a PDF viewer, an
# embedded widget) never load axe here, and waiting for their answer could stall the run.
# It is started without awaiting it in ``evaluate`` and collected with a driver-side
# timeout, so a page that stops running scripts fails the test instead of hanging it.
_START = """(tags) => {
  window.__axeResult = undefined;
  axe.run(document, {iframes: false, runOnly: {type: "tag", values: tags}}).then(
    (result) => { window.__axeResult = {violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + "  " + n.failureSummary),
    }))}; },
    (error) => { window.__axeResult = {error: String(error)}; });
}"""


def accessibility_violations(page: Any) -> list[dict]:
    """The WCAG 2.1 A/AA violations axe finds on the page as it is now. A document that is
    not HTML (an image or PDF shown by the browser's own viewer) is not a page of ours, and
    axe never finishes there: it has none."""
    page.bring_to_front()
    if page.evaluate("() => document.contentType") != "text/html":
        return []
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    page.evaluate(_START, list(WCAG_TAGS))
    page.wait_for_function(
        "() => window.__axeResult !== undefined", timeout=AXE_LIMIT_MS, polling=250
    )
    result = page.evaluate("() => window.__axeResult")
    if "error" in result:
        raise AssertionError(f"axe failed on {page.url}: {result['error']}")
    return result["violations"]


def assert_accessible(page: Any, state: str = "") -> None:
    """Fail with axe's own explanation of every violation on the page as it is now."""
    violations = accessibility_violations(page)
    if violations:
        lines = [f"axe: {len(violations)} WCAG 2.1 A/AA violation(s) on {state or page.url}"]
        for v in violations:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"])
        raise AssertionError("\n".join(lines))
