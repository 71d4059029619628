"""Swagger UI at /api/v1/docs renders the API under the strict CSP, from this site only.

The page watch of conftest fails the test on any CSP violation, JavaScript error or request
to another host.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import LiveServer


def test_swagger_ui_renders_every_dispatch_operation(page, live_server: LiveServer):
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Motorpool API")
    expect(page.locator(".opblock-summary-path").filter(has_text="/api/v1/dispatches/{number}/transitions")).to_be_visible()
    assert page.locator(".opblock").count() >= 11
