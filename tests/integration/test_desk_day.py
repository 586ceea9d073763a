"""The desk for a day's work (issue 16) over HTTP against a real, migrated database: the
queue's filters, sort and page in the URL, bulk actions with per-alert outcomes, the
overview, the events pages and search."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from responders.models import Alert, AuditEntry
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401


def _rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="[^"]*" data-alert="(\d+)"', html)]


def _ids(d: Desk) -> dict[str, int]:
    return {p: alert_id(d, p) for p in ("P1", "P2", "P3")}


# ---------------------------------------------------------------- URL filters

def test_filters_sort_and_page_live_in_the_url(desk: Desk) -> None:
    login(desk.client, "wang")
    ids = _ids(desk)
    page = desk.client.get("/?priority=P2")
    assert _rows(page.text) == [ids["P2"]]
    assert 'value="P2" selected' in page.text  # a reload shows the filter it came with
    # htmx's partial pushes the same view's address, so the address bar can be shared.
    part = desk.client.get("/queue/rows?priority=P2&sort=due")
    assert part.headers["HX-Push-Url"] == "/?priority=P2&sort=due"
    assert _rows(part.text) == [ids["P2"]]
    newest = desk.client.get("/?sort=newest")
    assert _rows(newest.text) == sorted(ids.values(), reverse=True)


def test_due_filters_follow_the_clock(desk: Desk) -> None:
    login(desk.client, "wang")
    ids = _ids(desk)
    # P1 is due at NOW+5h, the others at NOW+48h.
    assert _rows(desk.client.get("/?due=soon").text) == []
    desk.clock[0] = NOW + timedelta(hours=3, minutes=30)
    login(desk.client, "wang")  # the session idled out meanwhile
    assert _rows(desk.client.get("/?due=soon").text) == [ids["P1"]]
    desk.clock[0] = NOW + timedelta(hours=6)
    login(desk.client, "wang")
    assert _rows(desk.client.get("/?due=overdue").text) == [ids["P1"]]
    assert _rows(desk.client.get("/?due=soon").text) == []


def test_paging_by_url(desk: Desk) -> None:
    from responders.web import queue_views
    login(desk.client, "wang")
    ids = _ids(desk)
    old = queue_views.PAGE_SIZE
    queue_views.PAGE_SIZE = 2
    try:
        first = desk.client.get("/")
        assert _rows(first.text) == [ids["P1"], ids["P2"]]
        assert 'href="/?page=2"' in first.text
        second = desk.client.get("/?page=2")
        assert _rows(second.text) == [ids["P3"]]
        assert 'href="/?"' in second.text or 'id="prev-page"' in second.text
        assert 'id="next-page"' not in second.text
    finally:
        queue_views.PAGE_SIZE = old


def test_bad_filter_values_are_refused_in_words(desk: Desk) -> None:
    login(desk.client, "wang")
    for query, word in (("priority=P9", "priority"), ("sort=bogus", "sort"),
                        ("state=bogus", "state"), ("page=0", "page"), ("due=later", "due")):
        r = desk.client.get("/?" + query)
        assert r.status_code == 400, query
        assert word in r.text


# ---------------------------------------------------------------- bulk

def _bulk(d: Desk, csrf: str, ids: list[int], action: str, **form: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf, "action": action, "alert": [str(i) for i in ids],
            "back": "priority=P1&sort=due", **form}
    return d.client.post("/queue/bulk", data=data)


def test_bulk_dismiss_reports_each_alert_and_audits_each(desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    ids = _ids(desk)
    # P3 is already dismissed: a wrong state for dismiss; the others go on.
    assert _bulk(desk, csrf, [ids["P3"]], "dismiss", reason="重复信息").status_code == 200
    r = _bulk(desk, csrf, [ids["P1"], ids["P2"], ids["P3"]], "dismiss", reason="与本单位无关")
    assert r.status_code == 200
    assert "成功 2 条，未执行 1 条" in r.text
    row = re.search(rf'data-alert="{ids["P3"]}">.*?</tr>', r.text, re.S)
    assert row and "当前状态不允许此操作" in row.group(0)
    assert 'href="/?priority=P1&amp;sort=due"' in r.text
    with desk.sessions() as s:
        states = dict(s.execute(select(Alert.id, Alert.state)).all())
        assert {states[ids[p]] for p in ("P1", "P2", "P3")} == {"dismissed"}
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "dismiss")).all()
        reasons = sorted((e.entity_id, (e.detail or {}).get("reason")) for e in entries)
    assert reasons == sorted([(ids["P3"], "重复信息"), (ids["P1"], "与本单位无关"),
                              (ids["P2"], "与本单位无关")])


def test_bulk_assign_to_a_colleague(desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    ids = _ids(desk)
    r = _bulk(desk, csrf, [ids["P1"], ids["P2"]], "assign", assignee="zhao")
    assert "成功 2 条" in r.text
    assert _rows(desk.client.get("/?assignee=zhao").text) == [ids["P1"], ids["P2"]]


def test_bulk_needs_csrf_a_reason_and_a_known_action(desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    ids = _ids(desk)
    assert _bulk(desk, "wrong", [ids["P1"]], "dismiss", reason="x").status_code == 403
    assert _bulk(desk, csrf, [ids["P1"]], "dismiss").status_code == 400
    assert _bulk(desk, csrf, [ids["P1"]], "publish").status_code == 400
    assert _bulk(desk, csrf, [], "escalate").status_code == 400
    with desk.sessions() as s:
        assert s.scalar(select(Alert.state).where(Alert.id == ids["P1"])) == "new"
        assert s.scalars(select(AuditEntry).where(AuditEntry.entity == "alert")).all() == []


def test_bulk_escalate_goes_on_past_a_missing_alert(desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    ids = _ids(desk)
    r = _bulk(desk, csrf, [ids["P2"], 999_999, ids["P2"]], "escalate", reason="需领导研判")
    assert r.status_code == 200 and "成功 1 条，未执行 1 条" in r.text  # the repeat dropped
    assert "预警不存在" in r.text
    with desk.sessions() as s:
        assert s.scalar(select(Alert.state).where(Alert.id == ids["P2"])) == "escalated"


# ---------------------------------------------------------------- search

def _add_items(d: Desk, rows: list[tuple[str, str]]) -> list[int]:
    from monitor.models import Item, Source
    with d.sessions() as s:
        source = s.scalar(select(Source))
        assert source is not None
        made = []
        for i, (title, body) in enumerate(rows):
            item = Item(source_id=source.id, entry_id=f"s{i}", content_hash=f"s{i}",
                        title=title, text=body, fetched_at=NOW, published_at=NOW,
                        author="网友甲", topics=[])
            s.add(item)
            s.flush()
            made.append(item.id)
        s.commit()
        return made


def test_search_finds_chinese_substrings_and_keeps_the_index_in_step(desk: Desk) -> None:
    login(desk.client, "wang")
    a, b = _add_items(desk, [
        ("郑州某律所风险代理收费引质疑", "当事人称律师事务所收取高额风险代理费"),
        ("社区矫正对象违规外出", "某县司法局通报社区矫正工作情况")])
    page = desk.client.get("/search", params={"q": "风险代理"})
    assert page.status_code == 200
    assert f'data-item="{a}"' in page.text and f'data-item="{b}"' not in page.text
    assert "<mark>风险代理</mark>" in page.text
    # Every word must appear (no spaces in Chinese, so words are substrings).
    both = desk.client.get("/api/v1/search", params={"q": "司法局 社区矫正"},
                           headers=desk.bearer("wang")).json()
    assert [i["id"] for i in both["items"]] == [b] and both["short_only"] is False
    # Traditional characters are read as Simplified, as stored posts are.
    trad = desk.client.get("/api/v1/search", params={"q": "社區矯正"},
                           headers=desk.bearer("wang")).json()
    assert [i["id"] for i in trad["items"]] == [b]
    # An edited text leaves the index in step (the trigger), and so does a deleted row.
    from monitor.models import Item
    with desk.sessions() as s:
        item = s.get(Item, a)
        assert item is not None
        item.text = "更正：该所已退还全部费用"
        s.delete(s.get(Item, b))
        s.commit()
    got = desk.client.get("/api/v1/search", params={"q": "风险代理费"},
                          headers=desk.bearer("wang")).json()
    assert got["items"] == []
    again = desk.client.get("/api/v1/search", params={"q": "退还全部"},
                            headers=desk.bearer("wang")).json()
    assert [i["id"] for i in again["items"]] == [a]
    gone = desk.client.get("/api/v1/search", params={"q": "社区矫正"},
                           headers=desk.bearer("wang")).json()
    assert gone["items"] == []


def test_search_short_words_fall_back_and_say_so(desk: Desk) -> None:
    login(desk.client, "wang")
    (a,) = _add_items(desk, [("律师", "执业律师被投诉")])
    r = desk.client.get("/api/v1/search", params={"q": "律师"}, headers=desk.bearer("wang"))
    body = r.json()
    assert a in [i["id"] for i in body["items"]] and body["short_only"] is True
    page = desk.client.get("/search", params={"q": "律师"})
    assert 'id="short-note"' in page.text
    # A short word beside a long one filters what the index found.
    mixed = desk.client.get("/api/v1/search", params={"q": "被投诉 执业"},
                            headers=desk.bearer("wang")).json()
    assert [i["id"] for i in mixed["items"]] == [a] and mixed["short_only"] is False
    none = desk.client.get("/api/v1/search", params={"q": "被投诉 戒毒"},
                           headers=desk.bearer("wang")).json()
    assert none["items"] == []


def test_search_treats_wildcards_and_quotes_as_text(desk: Desk) -> None:
    login(desk.client, "wang")
    (a,) = _add_items(desk, [("收费100%退还", '所谓"内部文件"')])
    for q, want in (("100%", [a]), ("%", [a]), ('"内部文件"', [a]), ("_", []),
                    ("内部文件 OR 戒毒", [])):
        got = desk.client.get("/api/v1/search", params={"q": q},
                              headers=desk.bearer("wang")).json()
        assert [i["id"] for i in got["items"]] == want, q
    assert desk.client.get("/api/v1/search", params={"q": " "},
                           headers=desk.bearer("wang")).status_code == 400


def test_search_finds_events_through_their_items_and_outputs(desk: Desk) -> None:
    from monitor.models import Event, Item
    from responders.models import Output
    login(desk.client, "wang")
    ids = _add_items(desk, [("戒毒所探视制度调整", "戒毒所暂停家属探视"),
                            ("戒毒所探视问题追踪", "网友追问戒毒所探视何时恢复")])
    with desk.sessions() as s:
        ev = Event(first_item_id=ids[0], item_count=2, first_seen_at=NOW, last_seen_at=NOW)
        s.add(ev)
        s.flush()
        for i in ids:
            s.get(Item, i).event_id = ev.id  # type: ignore[union-attr]
        s.add(Output(alert_id=None, kind="回应", title="关于戒毒所探视安排的说明",
                     body="经核查……", state="draft", created_at=NOW, updated_at=NOW))
        s.commit()
        event_id = ev.id
    got = desk.client.get("/api/v1/search", params={"q": "戒毒所探视"},
                          headers=desk.bearer("wang")).json()
    assert [e["id"] for e in got["events"]] == [event_id] and got["events"][0]["hits"] == 2
    assert [o["title"] for o in got["outputs"]] == ["关于戒毒所探视安排的说明"]


# ---------------------------------------------------------------- overview

def test_overview_counts_link_to_the_filtered_queue(desk: Desk) -> None:
    from monitor.models import Source
    login(desk.client, "wang")
    ids = _ids(desk)
    with desk.sessions() as s:
        s.add(Source(interval_s=600, name="某县司法局门户", url="https://x.example/rss",
                     kind="news", host="x.example", created_at=NOW, failure_count=3,
                     last_error="连接超时"))
        s.commit()
    desk.clock[0] = NOW + timedelta(hours=3, minutes=30)  # P1 due within 2 hours
    login(desk.client, "wang")
    page = desk.client.get("/overview")
    assert page.status_code == 200
    link = re.search(r'id="ov-open-p1" href="([^"]+)">(\d+)<', page.text)
    assert link and link.group(2) == "1"
    # Every number is a link to the queue showing exactly what it counted.
    queue = desk.client.get(link.group(1).replace("&amp;", "&"))
    assert _rows(queue.text) == [ids["P1"]]
    soon = re.search(r'id="ov-due-soon" href="([^"]+)">(\d+)<', page.text)
    assert soon and soon.group(2) == "1"
    assert _rows(desk.client.get(soon.group(1).replace("&amp;", "&")).text) == [ids["P1"]]
    overdue = re.search(r'id="ov-overdue" href="([^"]+)">(\d+)<', page.text)
    assert overdue and overdue.group(2) == "0"
    unassigned = re.search(r'id="ov-unassigned" href="([^"]+)">(\d+)<', page.text)
    assert unassigned and unassigned.group(2) == "3"
    assert "某县司法局门户" in page.text and "连接超时" in page.text
    # The 48-hour chart is by hour.
    chart = page.text[page.text.index('id="ov-chart-48h"'):]
    assert "时</text>" in chart[:20000]


def test_overview_topics_compare_with_the_day_before(desk: Desk) -> None:
    from responders.web.overview import topic_trends
    rows = [(NOW - timedelta(hours=1), ["legal_aid", "lawyers"]),
            (NOW - timedelta(hours=2), ["legal_aid"]),
            (NOW - timedelta(hours=30), ["lawyers"]),
            (NOW - timedelta(hours=31), ["lawyers"]),
            (NOW - timedelta(days=40), ["legal_aid"])]  # found lately, published long ago
    trends = {t.topic: (t.count, t.change) for t in topic_trends(rows, NOW)}
    assert trends == {"legal_aid": (2, 2), "lawyers": (1, -1)}


# ---------------------------------------------------------------- events

def _event(d: Desk) -> tuple[int, list[int]]:
    from monitor.models import Event, Item, Source
    with d.sessions() as s:
        source = s.scalar(select(Source))
        assert source is not None
        items = []
        # Fetched all at once (06:51), published over three hours: the timeline follows
        # publication.
        for i, (hours, author, reposts) in enumerate([(3, "网友甲", 12), (1, "河南日报", None),
                                                       (2, "网友乙", 5)]):
            item = Item(source_id=source.id, entry_id=f"ev{i}", content_hash=f"ev{i}",
                        title=f"戒毒所探视问题第{i}条", text="家属反映探视难", author=author,
                        published_at=NOW - timedelta(hours=hours), fetched_at=NOW,
                        reposts=reposts, comments=3 if reposts else None, likes=None,
                        topics=["drug_rehab"], sentiment_label="negative",
                        sentiment_score=0.1)
            s.add(item)
            s.flush()
            items.append(item.id)
        ev = Event(first_item_id=items[0], item_count=3, source_ids=[source.id], reach=20,
                   first_seen_at=NOW, last_seen_at=NOW, priority="P2")
        s.add(ev)
        s.flush()
        for i in items:
            s.get(Item, i).event_id = ev.id  # type: ignore[union-attr]
        s.commit()
        return ev.id, items


def test_event_page_timeline_by_publication_with_author_and_reach(desk: Desk) -> None:
    login(desk.client, "wang")
    event_id, items = _event(desk)
    page = desk.client.get(f"/events/{event_id}")
    assert page.status_code == 200
    order = [int(x) for x in re.findall(r'<li data-item="(\d+)"', page.text)]
    assert order == [items[0], items[2], items[1]]  # 3 h, 2 h, 1 h before NOW
    assert "作者：网友甲" in page.text and "转发 12 · 评论 3 · 点赞 0" in page.text
    assert 'id="event-chart"' in page.text
    assert desk.client.get("/events/999999").status_code == 404
    listing = desk.client.get("/events?days=7")
    assert f'data-event="{event_id}"' in listing.text
    assert f'data-event="{event_id}"' in desk.client.get("/events?q=探视问题").text
    assert f'data-event="{event_id}"' not in desk.client.get("/events?q=律师收费").text
    assert f'data-event="{event_id}"' not in desk.client.get("/events?priority=P1").text
    assert desk.client.get("/events?days=5").status_code == 400


def test_alert_page_shows_author_and_reach(desk: Desk) -> None:
    from monitor.models import Item
    login(desk.client, "wang")
    a = alert_id(desk, "P1")
    with desk.sessions() as s:
        alert = s.get(Alert, a)
        assert alert is not None
        item = s.get(Item, alert.item_id)
        assert item is not None
        item.author, item.reposts, item.comments, item.likes = "家属代言人", 240, 51, 1300
        s.commit()
    page = desk.client.get(f"/alerts/{a}")
    assert '<span id="alert-author">家属代言人</span>' in page.text
    assert "转发 240 · 评论 51 · 点赞 1300" in page.text


def test_search_newest_first_past_the_dense_window(desk: Desk,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL reads the newest DENSE_WINDOW items first and asks the trigram index for
    # the rest: with a window of one item, both halves are used and the order holds.
    from responders import search as search_mod
    monkeypatch.setattr(search_mod, "DENSE_WINDOW", 1)
    ids = _add_items(desk, [("公证处排队", "公证处排队三小时"), ("无关", "天气很好"),
                            ("公证处回应", "公证处增加窗口"), ("公证处", "公证处延长办公")])
    got = desk.client.get("/api/v1/search", params={"q": "公证处", "limit": 3},
                          headers=desk.bearer("wang")).json()
    assert [i["id"] for i in got["items"]] == [ids[3], ids[2], ids[0]]


def test_bulk_over_the_api(desk: Desk) -> None:
    ids = _ids(desk)
    r = desk.client.post("/api/v1/alerts/bulk", headers=desk.bearer("wang"),
                         json={"alert_ids": [ids["P1"], ids["P2"]], "action": "dismiss",
                               "reason": "与本单位无关"})
    assert r.status_code == 200 and r.json()["done"] == 2
    again = desk.client.post("/api/v1/alerts/bulk", headers=desk.bearer("wang"),
                             json={"alert_ids": [ids["P1"], ids["P3"]], "action": "dismiss",
                                   "reason": "重复"}).json()
    assert again["done"] == 1
    assert [(x["alert_id"], x["ok"], x["outcome"]) for x in again["results"]] == [
        (ids["P1"], False, "wrong_state"), (ids["P3"], True, "done")]
    # A token acting for nobody may read, not act.
    assert desk.client.post("/api/v1/alerts/bulk", headers=desk.bearer("nobody"),
                            json={"alert_ids": [ids["P1"]], "action": "assign"}
                            ).status_code == 403
    assert desk.client.post("/api/v1/alerts/bulk", headers=desk.bearer("wang"),
                            json={"alert_ids": [], "action": "assign"}).status_code == 422


def test_overview_largest_events_are_stories_not_stray_posts(desk: Desk) -> None:
    """今日最大事件 lists events with an alert or at least two posts; a single post that
    raised nothing is not an event of the day, however recent."""
    from zoneinfo import ZoneInfo

    from monitor.models import Event, Item, Source
    from responders.web.overview import todays_events
    with desk.sessions() as s:
        source = s.scalar(select(Source))
        assert source is not None
        alerted = s.scalar(select(Alert).where(Alert.priority == "P2"))
        assert alerted is not None
        made: dict[str, int] = {}
        for name, count, item_id in [("stray", 1, None), ("story", 2, None),
                                     ("alerted", 1, alerted.item_id)]:
            ev = Event(item_count=count, source_ids=[source.id], first_seen_at=NOW,
                       last_seen_at=NOW, signature=[], story_terms={}, topics=[])
            s.add(ev)
            s.flush()
            made[name] = ev.id
            if item_id is None:
                for i in range(count):
                    s.add(Item(source_id=source.id, entry_id=f"ov-{name}-{i}",
                               content_hash=f"ov-{name}-{i}", title=name, text=name,
                               published_at=NOW, fetched_at=NOW, event_id=ev.id))
            else:
                item = s.get(Item, item_id)
                assert item is not None
                item.event_id = ev.id
        s.commit()
        listed = [e.id for e in todays_events(s, NOW, ZoneInfo("Asia/Shanghai"))]
    assert made["story"] in listed and made["alerted"] in listed
    assert made["stray"] not in listed
