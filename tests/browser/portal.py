"""Helpers for browser tests of the client portal: sign in, check a page with axe-core,
keep a screenshot of each page under var/screenshots/portal/, and fail on any
Content-Security-Policy violation (an inline script or style the policy refused)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots" / "portal"
SERIOUS = {"serious", "critical"}


def watch_csp(page: Any) -> list[str]:
    """Collect the page's CSP violations (console errors chromium writes for them)."""
    violations: list[str] = []

    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", seen)
    return violations


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now. axe runs through
    the DevTools protocol, which the page's CSP does not apply to."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]


def check_page(page: Any, name: str, csp: list[str] | None = None) -> None:
    """Keep a screenshot of the page and fail on accessibility or CSP problems."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=True)
    problems = axe_violations(page)
    assert not problems, f"{name}: {json.dumps(problems, indent=1)}"
    if csp is not None:
        assert not csp, f"{name}: CSP refused {csp}"


def client_sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/client/")


def choose_language(page: Any, language: str) -> None:
    """Pick the page language from the header's list (the page sends itself) and wait for the
    page in that language."""
    with page.expect_navigation():
        page.locator("#language-select").select_option(language)
    assert page.locator("html").get_attribute("lang") == language
