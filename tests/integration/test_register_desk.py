"""The register's desk pages over HTTP: login required, CSRF on every change, reopening for
approvers only, a token for nobody refused, every change in the audit log, a refused change
leaving nothing, documents downloaded as attachments, the pages in Chinese and English."""

from __future__ import annotations

import re

from sqlalchemy import select

from responders.models import AuditEntry
from responders.register.models import DisclosureCase, DisclosureRequest, RequestDocument
from tests.integration.test_desk_api import NOW, Desk, desk, login  # noqa: F401

NEW = {"number": "2024-015", "received_on": "2024-04-22", "channel": "网络",
       "applicant_type": "法律服务机构", "applicant": "某律师事务所",
       "subject": "2023年度律师事务所年度检查考核结果"}


def _audit(d: Desk) -> list[tuple[str, str]]:
    with d.sessions() as s:
        return [(a.entity, a.action) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(("request", "case")))
            .order_by(AuditEntry.id))]


def _request(d: Desk) -> DisclosureRequest | None:
    with d.sessions() as s:
        row = s.scalar(select(DisclosureRequest))
        if row is not None:
            s.expunge(row)
        return row


def test_pages_need_login(desk: Desk) -> None:
    r = desk.client.get("/register", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_change_without_csrf_is_refused_and_stores_nothing(desk: Desk) -> None:
    login(desk.client, "wang")
    r = desk.client.post("/register", data=NEW)
    assert r.status_code == 403
    assert _request(desk) is None and _audit(desk) == []


def test_officer_registers_steps_and_replies_with_audit(desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    r = desk.client.post("/register", data={**NEW, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    row = _request(desk)
    assert row is not None
    # 4/22 + 20 working days over 劳动节 2024 (5/1–5/5 off, Sunday 4/28 and Saturday 5/11 worked)
    assert row.due_on.isoformat() == "2024-05-21"
    page = desk.client.get(f"/register/{row.id}")
    assert page.status_code == 200 and "答复期限" in page.text and "第三十三条" in page.text
    r = desk.client.post(f"/register/{row.id}/steps", data={
        "csrf_token": csrf, "step": "pause", "on": "2024-04-29", "until": "2024-04-30"})
    assert r.status_code == 200  # followed the redirect
    assert _request(desk).due_on.isoformat() == "2024-05-23"
    # A bad reply is refused whole: 400 with the reason, nothing changed, nothing audited.
    before = _audit(desk)
    r = desk.client.post(f"/register/{row.id}/outcome", data={
        "csrf_token": csrf, "outcome": "已答复", "answered_on": "2024-05-10"})
    assert r.status_code == 400 and "国办公开办函〔2021〕30号" in r.text
    assert _request(desk).state == "open" and _audit(desk) == before
    r = desk.client.post(f"/register/{row.id}/outcome", data={
        "csrf_token": csrf, "outcome": "部分公开", "answered_on": "2024-05-10", "fee_yuan": "0"})
    assert r.status_code == 200 and "已答复" in r.text
    assert (_request(desk).state, _request(desk).outcome) == ("answered", "部分公开")
    # The same reply again: the state has moved (409), no second entry.
    r = desk.client.post(f"/register/{row.id}/outcome", data={
        "csrf_token": csrf, "outcome": "部分公开", "answered_on": "2024-05-10"})
    assert r.status_code == 409
    # Officers may not reopen.
    r = desk.client.post(f"/register/{row.id}/reopen", data={"csrf_token": csrf,
                                                             "reason": "答复有误"})
    assert r.status_code == 403
    files = {"file": ("答复书<script>.html", b"<script>alert(1)</script>", "text/html")}
    r = desk.client.post(f"/register/{row.id}/documents", data={"csrf_token": csrf,
                                                                "kind": "答复书"}, files=files)
    assert r.status_code == 200
    with desk.sessions() as s:
        doc_id = s.scalar(select(RequestDocument.id))
    got = desk.client.get(f"/register/documents/{doc_id}")
    assert got.status_code == 200 and got.content == b"<script>alert(1)</script>"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    r = desk.client.post(f"/register/{row.id}/cases", data={
        "csrf_token": csrf, "number": "豫政复〔2024〕0311号", "kind": "复议", "route": "",
        "filed_on": "2024-06-03", "body": "河南省人民政府"})
    assert r.status_code == 200 and "豫政复〔2024〕0311号" in r.text
    with desk.sessions() as s:
        case_id = s.scalar(select(DisclosureCase.id))
    r = desk.client.post(f"/register/cases/{case_id}/decide", data={
        "csrf_token": csrf, "outcome": "维持", "decided_on": "2024-07-20"})
    assert r.status_code == 200
    assert _audit(desk) == [("request", "create"), ("request", "pause"), ("request", "answer"),
                            ("request", "attach"), ("case", "create"), ("case", "decide")]
    with desk.sessions() as s:
        actors = set(s.scalars(select(AuditEntry.actor).where(AuditEntry.entity == "request")))
    assert actors == {"user:wang"}


def test_approver_reopens_and_the_list_marks_overdue(desk: Desk) -> None:
    csrf = login(desk.client, "li")
    desk.client.post("/register", data={**NEW, "received_on": "2024-03-01",
                                        "csrf_token": csrf})
    row = _request(desk)
    listing = desk.client.get("/register")
    # received 3/1, due 3/29; the desk's clock reads 2024-05-06
    assert re.search(rf'<tr id="request-{row.id}" class="overdue">', listing.text)
    assert "已逾期" in listing.text
    assert "Overdue" in desk.client.get("/register?lang=en").text
    desk.client.post(f"/register/{row.id}/outcome", data={
        "csrf_token": csrf, "outcome": "予以公开", "answered_on": "2024-04-01"})
    r = desk.client.post(f"/register/{row.id}/reopen", data={"csrf_token": csrf,
                                                             "reason": "漏附材料"})
    assert r.status_code == 200 and _request(desk).state == "open"
    assert desk.client.get("/register?year=20x").status_code == 400


def test_pages_take_no_bearer_token(desk: Desk) -> None:
    """Pages are for browser sessions (CSRF-checked); a token there is no login."""
    r = desk.client.post("/register", data=NEW, headers=desk.bearer("wang"),
                         follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _request(desk) is None
