"""/api/docs in a real browser with every host but the desk cut off: Swagger UI renders the
desk's operations from the desk's own files, under its Content-Security-Policy (issue 14:
with the CDN page the CSP left a blank page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = pytest.mark.browser


def test_api_docs_render_offline_under_the_csp(desk_url: str, browser: Any) -> None:
    desk_host = urlsplit(desk_url).netloc
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_the_desk(route: Any) -> None:
        if urlsplit(route.request.url).netloc == desk_host:
            route.continue_()
        else:  # a CDN, a validator badge …: refused, and remembered for the assertion
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_desk)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(desk_url + "/api/docs")
    # Swagger UI built the page: the title and the desk's operations are there.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("yuqing press desk")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/alerts/{alert_id}").first
           ).to_be_visible()
    assert page.locator(".opblock").count() >= 15
    assert elsewhere == []
    assert not [p for p in problems if "Content Security Policy" in p], problems
    context.close()
