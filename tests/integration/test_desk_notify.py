"""The desk's side of issue 17 over HTTP: the roster page (admins only, CSRF, audit-logged,
CSV import that replaces the lines, a bad CSV changing nothing), the 确认收到 link (no login,
GET changes nothing, POST once, a tampered or cross-site request refused, nothing else
reachable), and the alert page listing each delivery and its outcome."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from monitor.models import Item
from responders.models import AckToken, AuditEntry, NotifyDelivery, RosterShift
from responders.notify import service
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401

CSV = """when,start,end,role,person,display_name,phone,email,channels
周六,18:00,08:30,duty,wang,王强,13800000004,,sms
2024-05-06,08:00,18:00,duty,zhao,赵敏,13800000007,,sms;wecom
mon,00:00,24:00,leader,li,李主任,13800000003,,sms
"""


def _lines(d: Desk) -> int:
    with d.sessions() as s:
        return len(s.scalars(select(RosterShift)).all())


def test_roster_is_admin_only_and_needs_csrf(desk: Desk) -> None:  # noqa: F811
    csrf = login(desk.client, "wang")
    assert desk.client.get("/admin/roster").status_code == 403
    r = desk.client.post("/admin/roster/import", data={"csrf_token": csrf, "csv": CSV})
    assert r.status_code == 403 and _lines(desk) == 0
    desk.client.post("/logout", data={"csrf_token": csrf})
    login(desk.client, "admin")
    assert desk.client.post("/admin/roster/import", data={"csv": CSV}).status_code == 403
    assert _lines(desk) == 0


def test_roster_import_edit_and_who_is_on_duty(desk: Desk) -> None:  # noqa: F811
    csrf = login(desk.client, "admin")
    r = desk.client.post("/admin/roster/import", data={"csrf_token": csrf, "csv": CSV},
                         follow_redirects=False)
    assert r.status_code == 303 and _lines(desk) == 3
    page = desk.client.get("/admin/roster").text
    # 2024-05-06 09:00 UTC is a Monday 17:00 in Shanghai: the dated line's zhao, leader li.
    on_duty = re.search(r'<ul id="on-duty">(.*?)</ul>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "值班员: zhao" in on_duty and "带班领导: li" in on_duty
    r = desk.client.post("/admin/roster/lines", data={
        "csrf_token": csrf, "when": "周一", "start": "18:00", "end": "08:00", "role": "duty",
        "person": "wang"}, follow_redirects=False)
    assert r.status_code == 303 and _lines(desk) == 4
    bad = desk.client.post("/admin/roster/import", data={
        "csrf_token": csrf, "csv": "when,start,end,role,person\n周八,1,2,duty,x\n"})
    assert bad.status_code == 400 and "line 2" in bad.text
    assert _lines(desk) == 4  # a bad file changes nothing
    with desk.sessions() as s:
        line = s.scalars(select(RosterShift).order_by(RosterShift.id.desc())).first()
        assert line is not None
        line_id = line.id
    r = desk.client.post(f"/admin/roster/lines/{line_id}/remove",
                         data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and _lines(desk) == 3
    with desk.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity == "roster").order_by(AuditEntry.id))]
    assert actions == ["roster_import", "roster_add", "roster_remove"]


def _issue(d: Desk, priority: str = "P1") -> tuple[int, str]:
    cfg = service.Config.from_settings(d.client.app.state.desk.settings, need_key=True)
    aid = alert_id(d, priority)
    with d.sessions() as s:
        from responders.notify import ack
        token = ack.issue(s, cfg.key, aid, step=0, person="wang", now=NOW,
                          lifetime=timedelta(hours=24))
        s.add(NotifyDelivery(key=f"t{aid}", alert_id=aid, priority=priority, step=0,
                             rule="urgent", channel="wecom", person="", mentions=[],
                             ack_token=token, state="sent", attempts=1, detail="accepted (200)",
                             created_at=NOW, send_after=NOW, finished_at=NOW))
        s.add(NotifyDelivery(key=f"u{aid}", alert_id=aid, priority=priority, step=1,
                             rule="escalation", channel="sms", person="li", mentions=[],
                             ack_token="", state="unknown", attempts=1,
                             detail="ReadTimeout; not resent automatically",
                             created_at=NOW, send_after=NOW, finished_at=NOW))
        s.commit()
    return aid, token


def test_the_ack_link_works_once_without_login(desk: Desk) -> None:  # noqa: F811
    aid, token = _issue(desk)
    page = desk.client.get(f"/ack/{token}")
    assert page.status_code == 200 and 'id="ack-button"' in page.text
    with desk.sessions() as s:
        assert s.scalar(select(AckToken.used_at)) is None  # a GET (a link preview) is no ack
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert desk.client.post(f"/ack/{tampered}").status_code == 410
    cross = desk.client.post(f"/ack/{token}", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    r = desk.client.post(f"/ack/{token}")
    assert r.status_code == 200 and 'id="ack-done"' in r.text
    assert "yq_session" not in r.headers.get("set-cookie", "")
    again = desk.client.post(f"/ack/{token}")
    assert again.status_code == 410 and "已经用过" in again.text
    # The token opened nothing else.
    assert desk.client.get(f"/alerts/{aid}", follow_redirects=False).status_code == 303
    with desk.sessions() as s:
        acks = s.scalars(select(AuditEntry).where(AuditEntry.action == "notify_ack")).all()
    assert [(a.alert_id, a.actor) for a in acks] == [(aid, "ack:wang")]


def test_an_expired_link_is_refused(desk: Desk) -> None:  # noqa: F811
    _, token = _issue(desk)
    desk.clock[0] = NOW + timedelta(hours=25)
    r = desk.client.post(f"/ack/{token}")
    assert r.status_code == 410 and "过期" in r.text


def test_the_alert_page_shows_each_delivery(desk: Desk) -> None:  # noqa: F811
    aid, _ = _issue(desk)
    login(desk.client, "wang")
    page = desk.client.get(f"/alerts/{aid}").text
    table = re.search(r'<table id="deliveries">(.*?)</table>', page, re.S)
    assert table is not None
    assert "首次通知" in table.group(1) and "已送达" in table.group(1)
    assert "第1次升级" in table.group(1) and "结果未知" in table.group(1)
    assert "sms → li" in table.group(1)
    with desk.sessions() as s:
        assert s.get(Item, 1) is not None
