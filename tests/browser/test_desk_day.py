"""A day at the desk in Debian's chromium (issue 16): the overview an officer lands on and
its numbers as links to the filtered queue, the filters kept in the address across a reload,
the keyboard shortcuts, a bulk dismiss with one alert in a wrong state, an event page and a
search. Skipped with a reason when chromium or playwright is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Event, Item
from responders.models import Alert
from tests.browser.test_desk_walk import log_in

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = pytest.mark.browser


def _login_landing(page: Any, url: str) -> None:
    from tests.integration.test_desk_api import PASSWORDS
    page.goto(url + "/login")
    page.fill("#username", "wang")
    page.fill("#password", PASSWORDS["wang"])
    page.click("#login-submit")
    page.wait_for_selector("#ov-counts")


def test_overview_to_queue_and_a_bulk_dismiss(desk_url: str, browser: Any,
                                              sessions: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    with sessions() as s:
        p3 = s.scalar(select(Alert.id).where(Alert.priority == "P3"))
        s.execute(update(Alert).where(Alert.id == p3).values(state="dismissed"))
        s.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login_landing(page, desk_url)
    assert page.inner_text("#ov-open-p1") == "1"
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    # A number is a link to the queue showing what it counted, and the view is in the URL.
    page.click("#ov-open-p1")
    page.wait_for_selector("#queue-rows")
    assert "priority=P1" in page.url
    expect(page.locator("#queue-rows tr[data-alert]")).to_have_count(1)
    page.reload()
    expect(page.locator("#queue-rows tr[data-alert]")).to_have_count(1)
    assert page.input_value("select[name=priority]") == "P1"
    # Changing a filter updates the table in place and the address with it.
    page.select_option("select[name=priority]", "")
    page.select_option("select[name=state]", "all")
    expect(page.locator("#queue-rows tr[data-alert]")).to_have_count(3)
    page.wait_for_url("**/?state=all")
    page.reload()
    expect(page.locator("#queue-rows tr[data-alert]")).to_have_count(3)

    # Shortcuts: ? shows the list, j moves, x selects; "a"/"d" pick the bulk action.
    page.locator("body").press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.locator("body").press("?")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.locator("body").press("j")
    expect(page.locator("#queue-rows tr.current")).to_have_count(1)
    page.locator("body").press("x")
    assert page.locator("#queue-rows tr.current input.pick").is_checked()
    page.locator("body").press("j")
    page.locator("body").press("k")
    page.locator("body").press("x")  # the same row again: unpicked
    assert page.locator("#queue-rows input.pick:checked").count() == 0
    page.locator("#select-all").check()
    assert page.locator("#queue-rows input.pick:checked").count() == 3
    page.locator("body").press("d")
    assert page.input_value("#bulk-action") == "dismiss"
    page.keyboard.type("与本单位职责无关")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-summary")
    assert "成功 2 条，未执行 1 条" in page.inner_text("#bulk-summary")
    assert "当前状态不允许此操作" in page.inner_text(f"#bulk-outcomes tr[data-alert='{p3}']")
    page.click("#back-to-queue")
    page.wait_for_selector("#queue-rows")
    assert "state=all" in page.url
    with sessions() as s:
        assert set(s.scalars(select(Alert.state))) == {"dismissed"}
    # / goes to the search box from any page.
    page.locator("body").press("/")
    page.keyboard.type("戒毒所")
    page.keyboard.press("Enter")
    page.wait_for_selector("#se-items")
    assert page.locator("#se-items li[data-item]").count() >= 1
    assert "戒毒所" in page.inner_text("#se-items mark")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_event_page_from_an_alert(desk_url: str, browser: Any,
                                  sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with sessions() as s:
        lead = s.scalar(select(Alert).where(Alert.priority == "P1"))
        assert lead is not None
        item = s.get(Item, lead.item_id)
        assert item is not None
        ev = Event(first_item_id=item.id, item_count=3, source_ids=[item.source_id],
                   reach=300, first_seen_at=now - timedelta(hours=4), last_seen_at=now,
                   priority="P1")
        s.add(ev)
        s.flush()
        item.event_id = ev.id
        item.author = "知情网友"
        for i, hours in enumerate((2, 1)):
            s.add(Item(source_id=item.source_id, entry_id=f"b{i}", content_hash=f"b{i}",
                       title=f"戒毒所探视追踪{i}", text="家属继续追问", author=f"网友{i}",
                       published_at=now - timedelta(hours=hours), fetched_at=now,
                       reposts=10 * (i + 1), comments=2, likes=5, event_id=ev.id,
                       topics=["drug_rehab"], sentiment_label="negative",
                       sentiment_score=0.1))
        s.commit()
    page = browser.new_page()
    log_in(page, desk_url, "wang")
    page.click("#queue-rows tr.p1 a.alert-link")
    page.wait_for_selector("#alert-author")
    assert page.inner_text("#alert-author") == "知情网友"
    page.click("#event-link")
    page.wait_for_selector("#timeline")
    items = page.locator("#timeline li")
    assert items.count() == 3
    assert "知情网友" in items.nth(0).inner_text()  # the first published comes first
    assert "转发 20" in items.nth(2).inner_text()
    assert page.locator("#event-chart rect").count() > 3
    page.goto(desk_url + "/events")
    expect(page.locator("#events tr[data-event]")).to_have_count(1)
