"""Officers' corrections of an item's sentiment on the desk (issue 19), over HTTP against a
real, migrated database (SQLite, or PostgreSQL with YUQING_TEST_DATABASE_URL): the form on
the alert and event pages, one review per (item, officer) replaced by a second, the audit
entry, the verdict beside the model's label, and the refusals (CSRF, role, bad label, no
such item, an open redirect)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Event, Item
from responders.auth import Principal, add_user
from responders.models import Alert, AuditEntry, SentimentReview, User
from responders.sentiment_reviews import record_review, reviewed_items
from responders.workflow import RoleForbidden
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401


def _item_of(d: Desk, priority: str) -> int:
    with d.sessions() as s:
        return int(s.scalar(select(Alert.item_id).where(Alert.priority == priority)))


def _reviews(d: Desk) -> list[tuple[int, str, str, str | None]]:
    with d.sessions() as s:
        return [(r.item_id, s.get_one(User, r.user_id).name, r.label, r.model_version)
                for r in s.scalars(select(SentimentReview).order_by(SentimentReview.id))]


def _audits(d: Desk) -> list[AuditEntry]:
    with d.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sentiment_review")
                              .order_by(AuditEntry.id)))


def _review(d: Desk, csrf: str, item_id: int, label: str, back: str) -> int:
    r = d.client.post(f"/items/{item_id}/sentiment-review",
                      data={"csrf_token": csrf, "label": label, "next": back},
                      follow_redirects=False)
    if r.status_code == 303:
        assert r.headers["location"] == f"{back}#item-{item_id}"
    return r.status_code


def _sentiment_box(html: str) -> str:
    """The alert's own sentiment line: the model's label, the verdict, the form."""
    return html.split('id="alert-item-sentiment"', 1)[1].split("</div>", 1)[0]


def test_an_officers_correction_is_stored_audited_and_shown(desk: Desk) -> None:
    aid, item_id = alert_id(desk, "P2"), _item_of(desk, "P2")
    with desk.sessions() as s:
        s.execute(update(Item).where(Item.id == item_id).values(sentiment_engine="weibo"))
        s.commit()
    csrf = login(desk.client, "wang")
    page = desk.client.get(f"/alerts/{aid}").text
    box = _sentiment_box(page)
    assert re.search(r'id="item-sentiment"[^>]*>负面 \(0\.05\)</span>', box)
    assert 'id="review-form"' in box and "情感判断有误" in box and "已更正为" not in box

    assert _review(desk, csrf, item_id, "positive", f"/alerts/{aid}") == 303
    assert _reviews(desk) == [(item_id, "wang", "positive", "weibo")]
    box = _sentiment_box(desk.client.get(f"/alerts/{aid}").text)
    # the model's label stays as it was; the correction stands beside it
    assert re.search(r'id="item-sentiment"[^>]*>负面 \(0\.05\)</span>', box)
    assert re.search(r'id="item-review"[^>]*>已更正为 正面<small>（1 人）', box)
    assert 'value="positive" class="review-positive mine" aria-pressed="true"' in box

    # The same officer again: the review is replaced, not added; the audit says old → new.
    assert _review(desk, csrf, item_id, "neutral", f"/alerts/{aid}") == 303
    assert _reviews(desk) == [(item_id, "wang", "neutral", "weibo")]
    assert "已更正为 中性" in _sentiment_box(desk.client.get(f"/alerts/{aid}").text)
    # the same label once more changes and logs nothing
    assert _review(desk, csrf, item_id, "neutral", f"/alerts/{aid}") == 303
    audits = _audits(desk)
    assert [(a.actor, a.entity, a.entity_id, a.from_state, a.to_state) for a in audits] == [
        ("user:wang", "item", item_id, None, "positive"),
        ("user:wang", "item", item_id, "positive", "neutral")]
    assert audits[1].detail == {"old": "positive", "new": "neutral", "model_label": "negative",
                                "model_version": "weibo"}


def test_officers_who_disagree_are_shown_so_and_the_majority_exported(desk: Desk) -> None:
    aid, item_id = alert_id(desk, "P1"), _item_of(desk, "P1")
    back = f"/alerts/{aid}"
    assert _review(desk, login(desk.client, "wang"), item_id, "positive", back) == 303
    assert _review(desk, login(desk.client, "li"), item_id, "neutral", back) == 303
    box = _sentiment_box(desk.client.get(back).text)
    assert 'data-kind="split"' in box and "更正意见不一" in box and "已更正为" not in box
    with desk.sessions() as s:
        export = reviewed_items(s)
    assert (export.rows, export.ties) == ([], 1)  # one against one: no label
    assert _review(desk, login(desk.client, "admin"), item_id, "positive", back) == 303
    with desk.sessions() as s:
        export = reviewed_items(s)
    assert [(r.item_id, r.label, r.reviews) for r in export.rows] == [(item_id, "positive", 3)]
    assert export.rows[0].text.startswith("网传戒毒所学员被打致死")
    # An approver agreeing with the model is a confirmation, not a correction.
    other = _item_of(desk, "P3")
    assert _review(desk, login(desk.client, "li"), other, "negative", f"/alerts/"
                   f"{alert_id(desk, 'P3')}") == 303
    box = _sentiment_box(desk.client.get(f"/alerts/{alert_id(desk, 'P3')}").text)
    assert "人工确认为 负面" in box


def test_reviews_need_the_csrf_token_a_desk_role_and_a_known_label(desk: Desk) -> None:
    aid, item_id = alert_id(desk, "P2"), _item_of(desk, "P2")
    csrf = login(desk.client, "wang")
    url = f"/items/{item_id}/sentiment-review"
    assert desk.client.post(url, data={"label": "positive"}).status_code == 403
    assert desk.client.post(url, data={"label": "positive", "csrf_token": "nope"}
                            ).status_code == 403
    r = desk.client.post(url, data={"label": "happy", "csrf_token": csrf})
    assert r.status_code == 400 and "负面、中性、正面" in r.text
    assert desk.client.post("/items/999999/sentiment-review",
                            data={"label": "positive", "csrf_token": csrf}).status_code == 404
    # A bearer token is no page session: the page route sends it to the login form.
    desk.client.cookies.clear()
    r = desk.client.post(url, data={"label": "positive"}, headers=desk.bearer("wang"),
                         follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _reviews(desk) == [] and _audits(desk) == []

    # A person whose role is none of officer/approver/admin (a read-only role added to the
    # users table by hand, which `yuqing users` never makes) is refused on the server, and
    # is not offered the form.
    with desk.sessions() as s:
        add_user(s, "guest", "officer", "guest-pass-123", NOW)
        s.execute(update(User).where(User.name == "guest").values(role="viewer"))
        s.commit()
    desk.client.cookies.clear()
    csrf = login(desk.client, "guest", "guest-pass-123")
    assert 'id="review-form"' not in desk.client.get(f"/alerts/{aid}").text
    r = desk.client.post(url, data={"label": "positive", "csrf_token": csrf})
    assert r.status_code == 403
    assert _reviews(desk) == [] and _audits(desk) == []
    with desk.sessions() as s:
        nobody = Principal("token", 99, "viewer", "viewer", None)
        with pytest.raises(RoleForbidden):
            record_review(s, nobody, item_id, "positive", NOW)
        # a token acting for no person has no one to hold the review
        tokenish = Principal("token", 98, "t", "admin", None)
        with pytest.raises(RoleForbidden):
            record_review(s, tokenish, item_id, "positive", NOW)


def test_the_redirect_stays_on_the_site(desk: Desk) -> None:
    item_id = _item_of(desk, "P2")
    csrf = login(desk.client, "wang")
    r = desk.client.post(f"/items/{item_id}/sentiment-review",
                         data={"csrf_token": csrf, "label": "positive",
                               "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/#item-{item_id}"


def _event_of_two(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """The P1 alert's item and a second post in one event: (event id, first, second)."""
    with sessions() as s:
        first = s.scalars(select(Item).join(Alert, Alert.item_id == Item.id)
                          .where(Alert.priority == "P1")).one()
        second = Item(source_id=first.source_id, entry_id="e-rt", content_hash="h-rt",
                      title="转发：戒毒所的事有结果了吗",
                      text="转发：戒毒所的事有结果了吗，太气人了",
                      link="https://weibo.example/rt", published_at=NOW - timedelta(hours=1),
                      fetched_at=NOW - timedelta(minutes=30), sentiment_score=0.91,
                      sentiment_label="positive", sentiment_engine="weibo", topics=[])
        s.add(second)
        s.flush()
        event = Event(first_item_id=first.id, first_seen_at=NOW - timedelta(hours=1),
                      last_seen_at=NOW - timedelta(minutes=30), item_count=2, source_ids=[1],
                      reach=2)
        s.add(event)
        s.flush()
        s.execute(update(Item).where(Item.id.in_([first.id, second.id]))
                  .values(event_id=event.id))
        s.commit()
        return event.id, first.id, second.id


def test_the_event_page_offers_the_form_per_item(desk: Desk) -> None:
    event_id, first, second = _event_of_two(desk.sessions)
    csrf = login(desk.client, "zhao")
    page = desk.client.get(f"/events/{event_id}").text
    assert f'id="item-sentiment-{second}"' in page and f'id="review-form-{second}"' in page
    assert f'id="item-sentiment-{first}"' in page
    # sarcasm the model read as positive: 太气人了
    assert _review(desk, csrf, second, "negative", f"/events/{event_id}") == 303
    page = desk.client.get(f"/events/{event_id}").text
    line = page.split(f'id="item-{second}"', 1)[1].split("</li>", 1)[0]
    assert re.search(rf'id="item-sentiment-{second}"[^>]*>正面 \(0\.91\)</span>', line)
    assert "已更正为 负面" in line
    other = page.split(f'id="item-{first}"', 1)[1].split("</li>", 1)[0]
    assert "已更正为" not in other
    # and the alert page shows the same verdict on the event's item list
    aid = alert_id(desk, "P1")
    alert_page = desk.client.get(f"/alerts/{aid}").text
    assert f'id="item-review-{second}"' in alert_page
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SentimentReview)) == 1


def test_the_audit_entry_names_the_alert_or_event_page_the_review_came_from(
        desk: Desk) -> None:
    event_id, first, second = _event_of_two(desk.sessions)
    aid, other_aid = alert_id(desk, "P1"), alert_id(desk, "P2")
    csrf = login(desk.client, "wang")
    # The forms say which page they are on.
    alert_page = desk.client.get(f"/alerts/{aid}").text
    form = alert_page.split(f'id="review-form-{second}"', 1)[1].split("</form>", 1)[0]
    assert f'<input type="hidden" name="alert_id" value="{aid}">' in form
    event_page = desk.client.get(f"/events/{event_id}").text
    form = event_page.split(f'id="review-form-{second}"', 1)[1].split("</form>", 1)[0]
    assert f'<input type="hidden" name="event_id" value="{event_id}">' in form

    def post(item_id: int, label: str, **page: int) -> int:
        return desk.client.post(f"/items/{item_id}/sentiment-review",
                                data={"csrf_token": csrf, "label": label, **page},
                                follow_redirects=False).status_code

    # From the alert page: its own item and a later post of its event.
    assert post(first, "positive", alert_id=aid) == 303
    assert post(second, "negative", alert_id=aid) == 303
    # From the event page.
    assert post(second, "neutral", event_id=event_id) == 303
    # A page that does not show the item is refused, and nothing is stored or logged.
    assert post(first, "neutral", alert_id=other_aid) == 400
    assert post(first, "neutral", event_id=event_id + 1000) == 400
    assert post(first, "neutral", alert_id=999999) == 400
    assert [(a.entity_id, a.to_state, a.detail.get("alert_id"), a.detail.get("event_id"))
            for a in _audits(desk)] == [(first, "positive", aid, None),
                                        (second, "negative", aid, None),
                                        (second, "neutral", None, event_id)]
    assert [(i, label) for i, _, label, _ in _reviews(desk)] == [(first, "positive"),
                                                                (second, "neutral")]


def test_a_long_event_page_draws_review_forms_fifty_at_a_time(desk: Desk) -> None:
    from responders.web.events_pages import REVIEW_FORMS

    event_id, first, second = _event_of_two(desk.sessions)
    with desk.sessions() as s:
        src = s.get_one(Item, first).source_id
        for n in range(118):  # 120 posts in all: windows of 50, 50 and 20
            s.add(Item(source_id=src, entry_id=f"e-many-{n}", content_hash=f"h-many-{n}",
                       title=f"转发 {n}", text=f"转发：戒毒所的事 {n}", event_id=event_id,
                       published_at=NOW - timedelta(minutes=20 - n / 10),
                       fetched_at=NOW - timedelta(minutes=5), sentiment_score=0.3,
                       sentiment_label="negative", sentiment_engine="weibo", topics=[]))
        s.commit()
        order = [i.id for i in sorted(s.scalars(select(Item).where(Item.event_id == event_id)),
                                      key=lambda i: (i.published_at or i.fetched_at, i.id))]
    assert REVIEW_FORMS == 50 and len(order) == 120
    csrf = login(desk.client, "zhao")

    def forms_on(html: str) -> list[int]:
        return [int(m) for m in re.findall(r'id="review-form-(\d+)"', html)]

    page = desk.client.get(f"/events/{event_id}").text
    assert forms_on(page) == order[:50]
    # every post still shows its label; only the window has buttons
    assert len(re.findall(r'id="item-sentiment-\d+"', page)) == 120
    assert "更正按钮显示在第 1–50 条上（共 120 条）" in page
    assert 'id="review-window-prev"' not in page
    assert f'href="/events/{event_id}?forms=2#item-{order[50]}"' in page
    page = desk.client.get(f"/events/{event_id}?forms=3").text
    assert forms_on(page) == order[100:] and "第 101–120 条" in page
    assert 'id="review-window-next"' not in page and 'id="review-window-prev"' in page
    assert forms_on(desk.client.get(f"/events/{event_id}?forms=9").text) == order[100:]
    assert desk.client.get(f"/events/{event_id}?forms=x").status_code == 400
    # A form in the second window sends the reader back to that window.
    page = desk.client.get(f"/events/{event_id}?forms=2").text
    form = page.split(f'id="review-form-{order[60]}"', 1)[1].split("</form>", 1)[0]
    back = re.search(r'name="next" value="([^"]+)"', form)
    assert back is not None and back.group(1) == f"/events/{event_id}?forms=2"
    assert _review(desk, csrf, order[60], "positive", back.group(1)) == 303


def test_the_alert_page_says_which_model_version_scored_each_item(desk: Desk) -> None:
    event_id, first, second = _event_of_two(desk.sessions)
    version = "20261203T101500Z-0123456789"
    with desk.sessions() as s:
        s.execute(update(Item).where(Item.id == first)
                  .values(sentiment_engine="weibo", sentiment_model=version))
        s.execute(update(Item).where(Item.id == second)
                  .values(sentiment_engine="snownlp-fast", sentiment_model=None))
        s.commit()
    login(desk.client, "wang")
    aid = alert_id(desk, "P1")
    page = desk.client.get(f"/alerts/{aid}").text
    box = _sentiment_box(page)
    assert re.search(rf'id="item-model"[^>]*data-version="{version}"[^>]*>'
                     rf'模型 weibo {version}</small>', box)
    # the event's later post, scored by an engine without versions: the engine's name
    assert re.search(rf'id="item-model-{second}"[^>]*data-version=""[^>]*>'
                     r"模型 snownlp-fast</small>", page)
    assert f'id="item-model-{first}"' in page  # the alert's own item in the event list too
    # an item never scored names no model
    with desk.sessions() as s:
        s.execute(update(Item).where(Item.id == second)
                  .values(sentiment_engine=None, sentiment_label=None, sentiment_score=None))
        s.commit()
    page = desk.client.get(f"/alerts/{aid}").text
    assert f'id="item-model-{second}"' not in page and f'id="item-sentiment-{second}"' in page
    # the English desk says the same
    en = desk.client.get(f"/alerts/{aid}?lang=en").text
    assert f"model weibo {version}</small>" in _sentiment_box(en)
