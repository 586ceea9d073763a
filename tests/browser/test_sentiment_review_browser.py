"""In a real browser (Debian's chromium): an officer marks an alert's sentiment wrong
(情感判断有误 → 正面), the page comes back with "已更正为 正面" beside the model's label, and
a second officer who disagrees turns it into "更正意见不一" (issue 19)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from responders.models import AuditEntry, SentimentReview
from tests.browser.test_desk_walk import log_in

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = pytest.mark.browser


def test_an_officer_corrects_the_sentiment_in_the_browser(
        desk_url: str, browser: Any, sessions: sessionmaker[Session]) -> None:
    wang = browser.new_context(locale="zh-CN").new_page()
    log_in(wang, desk_url, "wang")
    wang.click("#queue-rows tr.p1 a.alert-link")
    wang.wait_for_selector("#alert-state")
    expect(wang.locator("#item-sentiment")).to_have_text("负面 (0.05)")
    expect(wang.locator("#item-review")).to_have_count(0)
    expect(wang.locator("#review-form")).to_contain_text("情感判断有误")
    wang.click("#review-form button[value=positive]")
    wang.wait_for_selector("#item-review")
    expect(wang.locator("#item-review")).to_contain_text("已更正为 正面")
    expect(wang.locator("#item-sentiment")).to_have_text("负面 (0.05)")  # the model's, kept
    expect(wang.locator("#review-form button[value=positive]")).to_have_attribute(
        "aria-pressed", "true")
    with sessions() as s:
        assert [r.label for r in s.scalars(select(SentimentReview))] == ["positive"]
        audit = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "sentiment_review")).one()
        assert (audit.actor, audit.entity, audit.to_state) == ("user:wang", "item", "positive")

    li = browser.new_context(locale="zh-CN").new_page()
    log_in(li, desk_url, "li")
    li.goto(wang.url.split("#", 1)[0])
    li.wait_for_selector("#item-review")
    expect(li.locator("#item-review")).to_contain_text("已更正为 正面")
    li.click("#review-form button[value=neutral]")
    li.wait_for_selector("#item-review[data-kind=split]")
    expect(li.locator("#item-review")).to_contain_text("更正意见不一")
