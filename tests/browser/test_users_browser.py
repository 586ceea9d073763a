"""In a real browser (Debian's chromium): an admin disables a user and that user's open
session is refused at its very next click; and a draft submitted with a template's
【待填写：…】 still in it is refused on the editor, the officer's text kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_desk_walk import log_in

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = pytest.mark.browser


def test_a_disabled_users_open_session_is_refused_at_the_next_click(desk_url: str,
                                                                   browser: Any) -> None:
    wang = browser.new_context(locale="zh-CN").new_page()
    log_in(wang, desk_url, "wang")
    expect(wang.locator("#queue-rows tr")).to_have_count(3)

    admin = browser.new_context(locale="zh-CN").new_page()
    log_in(admin, desk_url, "admin")
    admin.goto(desk_url + "/admin/users")
    row = admin.locator("#user-wang")
    assert row.get_attribute("data-active") == "yes"
    row.locator("button.disable-user").click()
    admin.wait_for_selector("#admin-notice")
    assert admin.locator("#user-wang").get_attribute("data-active") == "no"
    expect(admin.locator("#user-wang .user-disabled")).to_have_text("已停用")

    # wang's page is still open; the next click lands on the login page.
    wang.locator("#queue-rows tr.p1 a.alert-link").click()
    wang.wait_for_selector("#login-submit")
    assert "/login" in wang.url
    assert wang.locator("#alert-state").count() == 0
    # and logging in again is refused while disabled
    wang.fill("#username", "wang")
    wang.fill("#password", "officer-pass-1")
    wang.click("#login-submit")
    wang.wait_for_selector("#login-submit")
    assert wang.locator("#me-name").count() == 0


def test_a_draft_with_a_placeholder_left_is_refused_on_the_editor(desk_url: str,
                                                                 browser: Any) -> None:
    page = browser.new_context(locale="zh-CN").new_page()
    log_in(page, desk_url, "zhao")
    page.click("#queue-rows tr.p1 a.alert-link")
    page.wait_for_selector("#alert-state")
    page.select_option("#draft-kind", "政策解读")
    page.locator("label.policy").first.locator("input").check()
    page.click("#act-draft")
    page.wait_for_selector("#output-state[data-state=draft]")
    # The side panel: the post and the cited document beside the editor.
    expect(page.locator("#side-post-text")).to_contain_text("戒毒所")
    expect(page.locator("#side-policies details").first).to_contain_text("豫戒〔2019〕27号")

    body = page.input_value("#output-body")
    assert "【待填写" in body
    page.fill("#output-body", body + "\n（经办人补充的一句。）")
    page.click("#act-submit")
    page.wait_for_selector("#output-error")
    expect(page.locator("#output-error")).to_contain_text("待填写")
    assert page.get_attribute("#output-state", "data-state") == "draft"
    assert page.input_value("#output-body").endswith("（经办人补充的一句。）")
