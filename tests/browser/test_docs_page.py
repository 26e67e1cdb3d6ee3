"""``/docs`` in Chromium: Swagger UI from the app itself, under a policy with no inline script."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, expect

from tests.toro_dev import Dev

RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_docs_render_every_operation_from_the_app_alone(browser: Browser, dev: Dev) -> None:
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(f"{dev.api_url}/docs")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/login")).to_be_visible()
        operations = page.locator(".opblock").count()
        assert operations >= 12, operations
        # Open one operation: its parameters and responses, 429 among them, render too.
        page.locator(".opblock-summary", has_text="/api/v1/auth/login").first.click()
        expect(page.locator(".opblock-body .response-col_status", has_text="429")).to_be_visible()
        violations = page.evaluate("window.violations")
    finally:
        context.close()
    assert violations == []
    assert errors == []
    origin = urlsplit(dev.api_url).netloc
    elsewhere = [url for url in requested if not url.startswith("data:")]
    assert all(urlsplit(url).netloc == origin for url in elsewhere), elsewhere
