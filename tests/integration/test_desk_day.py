"""The desk for a day's work (issue 16) over HTTP against a real, migrated database: the
queue's filters, sort and page in the URL, bulk actions with per-alert outcomes, the
overview, the events pages and search."""

from __future__ import annotations

import re
from datetime import timedelta

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
