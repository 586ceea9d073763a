"""The press desk over HTTP (FastAPI TestClient against a real, migrated database): every
transition allowed and refused, role boundaries, CSRF, 401s, sessions, the full path from
alert to output log, and a hostile post rendering inert."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from monitor.settings import Settings
from responders.auth import add_user, create_token
from responders.models import Alert, AuditEntry, Output
from responders.policies import import_policies, read_policies
from responders.web import create_app
from responders.workflow import ALERT_STATES, OUTPUT_STATES
from tests.unit.test_workflow import EXPECTED

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
PASSWORDS = {"wang": "officer-pass-1", "zhao": "officer-pass-2", "li": "approver-pass-1",
             "admin": "admin-pass-123"}
ROLES = {"wang": "officer", "zhao": "officer", "li": "approver", "admin": "admin"}
HOSTILE = ('网友爆料<script>alert("x")</script>某所收费<img src=x onerror=alert(1)>'
           '<a href="javascript:alert(2)">点我看真相</a><svg onload=alert(3)></svg>')


@dataclass
class Desk:
    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str]
    enqueued: list[tuple[str, list[Any]]] = field(default_factory=list)
    clock: list[datetime] = field(default_factory=lambda: [NOW])

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def seed(session: Session, now: datetime = NOW) -> None:
    """Three alerts (P1 戒毒, P2 法律援助, P3 a hostile post), four users, the policy
    library. `now` anchors the times (the browser test uses the real clock)."""
    NOW = now  # noqa: N806 (the module constant's name, shadowed on purpose)
    source = Source(interval_s=600, name="河南法治网", url="https://example.com/rss", kind="news",
                    host="example.com", created_at=NOW)
    session.add(source)
    session.flush()
    rows = [
        ("P1", "网传戒毒所学员被打致死，家属不让探视",
         "听说某戒毒所有学员被打死了，家属都不让见人。", ["drug_rehab"], "https://weibo.example/1"),
        ("P2", "法律援助申请被拒，七天了没有答复", "申请法律援助被拒绝，多久答复？", ["legal_aid"],
         "https://bbs.example/2"),
        ("P3", "律师收费不透明", HOSTILE, ["lawyers"], "javascript:alert(4)"),
    ]
    for i, (prio, title, body, topics, link) in enumerate(rows, 1):
        item = Item(source_id=source.id, entry_id=f"e{i}", content_hash=f"h{i}", title=title,
                    text=body, link=link, published_at=NOW - timedelta(hours=2),
                    fetched_at=NOW - timedelta(hours=1), sentiment_score=0.05,
                    sentiment_label="negative", topics=topics)
        session.add(item)
        session.flush()
        session.add(Alert(item_id=item.id, priority=prio, state="new", reasons=["测试原因"],
                          topics=topics, sla_rule="r", milestones=[], created_at=NOW,
                          due_at=NOW + timedelta(hours=5 if prio == "P1" else 48)))
    for name, role in ROLES.items():
        add_user(session, name, role, PASSWORDS[name], NOW)
    import_policies(session, read_policies(ROOT / "config" / "policies"), NOW)


@pytest.fixture
def desk(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Desk]:
    with sessions() as session:
        seed(session)
        tokens = {name: create_token(session, f"t-{name}", role, NOW)
                  for name, role in ROLES.items()}
        session.commit()
    d = Desk(client=None, sessions=sessions, tokens=tokens)  # type: ignore[arg-type]
    app = create_app(settings, lambda name, args: d.enqueued.append((name, args)))
    app.state.desk.clock = lambda: d.clock[0]
    with TestClient(app, base_url="http://testserver") as client:
        d.client = client
        yield d


def login(client: TestClient, name: str, password: str | None = None) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": name, "password": password or PASSWORDS[name],
                                    "csrf_token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


def alert_id(d: Desk, priority: str) -> int:
    with d.sessions() as s:
        return int(s.scalar(select(Alert.id).where(Alert.priority == priority)))


# ---------------------------------------------------------------- credentials

def test_healthz_without_login(desk: Desk) -> None:
    r = desk.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer yq_not-a-token"}])
def test_api_needs_credentials(desk: Desk, headers: dict[str, str]) -> None:
    r = desk.client.get("/api/v1/alerts", headers=headers)
    assert r.status_code == 401
    assert "error" in r.json()


def test_pages_redirect_to_login(desk: Desk) -> None:
    r = desk.client.get("/alerts/1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_alert_list_sorted_by_priority_then_deadline(desk: Desk) -> None:
    r = desk.client.get("/api/v1/alerts", headers=desk.bearer("wang"))
    assert r.status_code == 200
    assert [a["priority"] for a in r.json()] == ["P1", "P2", "P3"]
    only = desk.client.get("/api/v1/alerts?topic=legal_aid", headers=desk.bearer("wang")).json()
    assert [a["topics"] for a in only] == [["legal_aid"]]


# ---------------------------------------------------------------- role boundaries

@pytest.mark.parametrize(("who", "status"), [("wang", 403), ("li", 403), ("admin", 201)])
def test_add_source_is_admin_only(desk: Desk, who: str, status: int) -> None:
    r = desk.client.post("/api/v1/sources", headers=desk.bearer(who),
                         json={"name": "新来源", "url": "https://news.example/feed.xml"})
    assert r.status_code == status
    if status == 201:
        assert desk.enqueued == [("monitor.poll_source", [r.json()["id"]])]
    else:
        assert desk.enqueued == []


@pytest.mark.parametrize(("who", "status"), [("wang", 403), ("li", 403), ("admin", 200)])
def test_users_api_is_admin_only(desk: Desk, who: str, status: int) -> None:
    assert desk.client.get("/api/v1/users", headers=desk.bearer(who)).status_code == status
    r = desk.client.post("/api/v1/users", headers=desk.bearer(who),
                         json={"name": f"new-{who}", "role": "officer",
                               "password": "a-long-password"})
    assert r.status_code == (201 if status == 200 else 403)


@pytest.mark.parametrize(("who", "status"), [("wang", 403), ("li", 403), ("admin", 200)])
def test_users_page_is_admin_only(desk: Desk, who: str, status: int) -> None:
    login(desk.client, who)
    assert desk.client.get("/admin/users").status_code == status


def _set_state(d: Desk, entity: str, ident: int, state: str) -> None:
    model = Alert if entity == "alert" else Output
    with d.sessions() as s:
        s.execute(update(model).where(model.id == ident).values(state=state))
        s.commit()


def _output_for(d: Desk, author: str) -> int:
    with d.sessions() as s:
        author_id = s.execute(text("select id from users where name = :n"), {"n": author}).scalar()
        out = Output(alert_id=None, kind="回应", title="t", body="正文", state="draft",
                     author_id=author_id, created_at=NOW, updated_at=NOW)
        s.add(out)
        s.commit()
        return out.id


def _call(d: Desk, entity: str, action: str, ident: int, who: str) -> int:
    headers = d.bearer(who)
    if entity == "alert":
        if action == "draft":
            return d.client.post(f"/api/v1/alerts/{ident}/outputs", headers=headers,
                                 json={"kind": "回应"}).status_code
        return d.client.post(f"/api/v1/alerts/{ident}/actions/{action}", headers=headers,
                             json={"reason": "理由", "assignee": who}).status_code
    if action == "edit":
        return d.client.put(f"/api/v1/outputs/{ident}", headers=headers,
                            json={"title": "新标题", "body": f"改过的正文 {who}"}).status_code
    if action == "publish":
        return d.client.post(f"/api/v1/outputs/{ident}/publications", headers=headers,
                             json={"publications": [{"channel": f"渠道-{uuid.uuid4().hex[:8]}"}]}
                           ).status_code
    return d.client.post(f"/api/v1/outputs/{ident}/actions/{action}", headers=headers,
                         json={"comment": "意见"}).status_code


USER_ROWS = [key for key in EXPECTED if key not in (("alert", "respond"), ("alert", "answered"))]


@pytest.mark.parametrize(("entity", "action"), USER_ROWS)
def test_every_transition_over_http(desk: Desk, entity: str, action: str) -> None:
    """Each (state, role) of one action: 2xx and the expected state and one audit entry when
    allowed; 403 for a wrong role (whatever the state); 409 from a wrong state."""
    sources, target, roles = EXPECTED[(entity, action)]
    states = ALERT_STATES if entity == "alert" else OUTPUT_STATES
    # The author is zhao, so wang/li/admin approving is not self-approval.
    ident = alert_id(desk, "P2") if entity == "alert" else _output_for(desk, "zhao")
    model = Alert if entity == "alert" else Output
    for state in states:
        for who in ("wang", "li", "admin"):
            _set_state(desk, entity, ident, state)
            with desk.sessions() as s:
                before = s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
            status = _call(desk, entity, action, ident, who)
            with desk.sessions() as s:
                now_state = s.scalar(select(model.state).where(model.id == ident))
                new_audit = s.scalars(select(AuditEntry).where(AuditEntry.id > (before or 0))
                                      ).all()
            where = f"{entity}.{action} from {state} as {ROLES[who]}"
            if ROLES[who] not in roles:
                assert status == 403, where
                assert now_state == state and not new_audit, where
            elif state not in sources:
                assert status == 409, where
                assert now_state == state and not new_audit, where
            else:
                assert status in (200, 201), where
                assert now_state == (target or state), where
                assert new_audit, where
                entry = new_audit[0]
                assert (entry.actor, entry.from_state) == (f"token:t-{who}", state), where


def test_refused_actions_that_are_not_buttons(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    r = desk.client.post(f"/api/v1/alerts/{a}/actions/respond", headers=desk.bearer("admin"),
                         json={})
    assert r.status_code == 404  # "respond" follows from publishing, never from a request


def test_repeated_assign_changes_nothing(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    for _ in range(2):
        r = desk.client.post(f"/api/v1/alerts/{a}/actions/assign", headers=desk.bearer("wang"),
                             json={"assignee": "zhao"})
        assert r.status_code == 200 and r.json()["assignee"] == "zhao"
    with desk.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.alert_id == a)).all()
    assert [(e.action, e.detail["assignee"]) for e in entries] == [("assign", "zhao")]


def test_reason_required_for_dismiss(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    r = desk.client.post(f"/api/v1/alerts/{a}/actions/dismiss", headers=desk.bearer("wang"),
                         json={"reason": "  "})
    assert r.status_code == 400


def test_nobody_approves_their_own_output(desk: Desk) -> None:
    out = _output_for(desk, "admin")
    _set_state(desk, "output", out, "submitted")
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/approve", headers=desk.bearer("admin"),
                         json={})
    # Tokens act for no person, so a token may approve; a logged-in author may not.
    assert r.status_code == 200
    out = _output_for(desk, "admin")
    _set_state(desk, "output", out, "submitted")
    csrf = login(desk.client, "admin")
    r = desk.client.post(f"/outputs/{out}/approve", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert r.status_code == 403


# ---------------------------------------------------------------- CSRF and sessions

def test_csrf_required_on_every_browser_write(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    csrf = login(desk.client, "wang")
    r = desk.client.post(f"/alerts/{a}/assign", data={"assignee": "wang"},
                         follow_redirects=False)
    assert r.status_code == 403
    r = desk.client.post(f"/alerts/{a}/assign", data={"assignee": "wang",
                                                       "csrf_token": "wrong"},
                         follow_redirects=False)
    assert r.status_code == 403
    r = desk.client.post(f"/api/v1/alerts/{a}/actions/assign", json={"assignee": "wang"})
    assert r.status_code == 403  # the session works for the API, but writes need the header
    with desk.sessions() as s:
        assert s.scalar(select(Alert.state).where(Alert.id == a)) == "new"
    r = desk.client.post(f"/api/v1/alerts/{a}/actions/assign", json={"assignee": "wang"},
                         headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["state"] == "assigned"
    r = desk.client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403


def test_login_form_needs_its_csrf_token(desk: Desk) -> None:
    r = desk.client.post("/login", data={"username": "wang", "password": PASSWORDS["wang"],
                                         "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403


def test_no_state_change_by_get(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    login(desk.client, "wang")
    assert desk.client.get(f"/alerts/{a}/assign").status_code == 405
    with desk.sessions() as s:
        assert s.scalar(select(Alert.state).where(Alert.id == a)) == "new"


def test_session_cookie_flags(desk: Desk) -> None:
    page = desk.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = desk.client.post("/login", data={"username": "wang", "password": PASSWORDS["wang"],
                                         "csrf_token": token}, follow_redirects=False)
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("yq_session=")][0]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on loopback
    https = TestClient(desk.client.app, base_url="https://testserver")
    page = https.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = https.post("/login", data={"username": "wang", "password": PASSWORDS["wang"],
                                   "csrf_token": token}, follow_redirects=False)
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("yq_session=")][0]
    assert "secure" in cookie.lower()


def test_idle_session_expires(desk: Desk) -> None:
    login(desk.client, "wang")
    assert desk.client.get("/", follow_redirects=False).status_code == 200
    desk.clock[0] = NOW + timedelta(minutes=29)
    assert desk.client.get("/", follow_redirects=False).status_code == 200  # slides
    desk.clock[0] = NOW + timedelta(minutes=29 + 31)
    r = desk.client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_throttled_after_repeated_failures(desk: Desk) -> None:
    for _ in range(5):
        page = desk.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = desk.client.post("/login", data={"username": "wang", "password": "wrong-guess",
                                             "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 401
    page = desk.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = desk.client.post("/login", data={"username": "wang", "password": PASSWORDS["wang"],
                                         "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 429  # even the right password, until the window passes
    desk.clock[0] = NOW + timedelta(minutes=16)
    login(desk.client, "wang")


# ---------------------------------------------------------------- the whole path

def test_alert_to_output_log(desk: Desk) -> None:
    a = alert_id(desk, "P2")
    sug = desk.client.get(f"/api/v1/alerts/{a}/policies", headers=desk.bearer("wang")).json()
    assert sug[0]["doc_number"] == "豫司〔2021〕58号"  # the legal-aid notice
    assert desk.client.post(f"/api/v1/alerts/{a}/actions/assign", headers=desk.bearer("wang"),
                            json={"assignee": "zhao"}).json()["assignee"] == "zhao"
    r = desk.client.post(f"/api/v1/alerts/{a}/outputs", headers=desk.bearer("wang"),
                         json={"kind": "政策解读", "cited_policy_ids": [sug[0]["id"]]})
    assert r.status_code == 201
    out = r.json()
    assert sug[0]["citation"] in out["body"] and out["state"] == "draft"
    assert out["title"].startswith("政策解读")  # the legal_aid template, not the default
    oid = out["id"]
    # The template's places for the officer are marked; nothing is submitted with one left.
    assert "【待填写" in out["body"]
    r = desk.client.post(f"/api/v1/outputs/{oid}/actions/submit", headers=desk.bearer("wang"),
                         json={})
    assert r.status_code == 400 and "待填写" in r.json()["error"]
    filled = re.sub(r"【待填写[^】]*】", "经核实，已按规定办理。", out["body"])
    assert desk.client.put(f"/api/v1/outputs/{oid}", headers=desk.bearer("wang"),
                           json={"title": out["title"], "body": filled}).status_code == 200
    for who, path, body in [
        ("wang", f"/api/v1/outputs/{oid}/actions/submit", {}),
        ("li", f"/api/v1/outputs/{oid}/actions/return", {"comment": "请补充办理时限"}),
        ("wang", f"/api/v1/outputs/{oid}/actions/submit", {}),
        ("li", f"/api/v1/outputs/{oid}/actions/approve", {}),
    ]:
        assert desk.client.post(path, headers=desk.bearer(who), json=body).status_code == 200
    pubs = {"publications": [
        {"channel": "门户网站", "link": "https://sft.henan.gov.cn/2024/05/06/1.html",
         "published_at": "2024-05-06T18:00:00+08:00"},
        {"channel": "微信公众号", "published_at": "2024-05-06T18:30:00+08:00"}]}
    r = desk.client.post(f"/api/v1/outputs/{oid}/publications", headers=desk.bearer("wang"),
                         json=pubs)
    assert r.status_code == 200 and r.json()["state"] == "published"
    # Again: idempotent, nothing doubled.
    r = desk.client.post(f"/api/v1/outputs/{oid}/publications", headers=desk.bearer("wang"),
                         json=pubs)
    assert len(r.json()["publications"]) == 2
    detail = desk.client.get(f"/api/v1/alerts/{a}", headers=desk.bearer("li")).json()
    assert detail["state"] == "responded"
    assert [h["action"] for h in detail["history"]] == [
        "assign", "draft", "edit", "submit", "return", "submit", "approve", "publish", "respond"]
    log = desk.client.get("/api/v1/output-log", headers=desk.bearer("li")).json()
    assert sorted(r["channel"] for r in log) == ["微信公众号", "门户网站"]
    assert {r["kind"] for r in log} == {"政策解读"}
    assert log[0]["published_at"] == "2024-05-06T18:30:00+08:00"
    raw = desk.client.get("/api/v1/output-log?format=csv", headers=desk.bearer("li")).text
    rows = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))
    assert [r["channel"] for r in rows] == ["微信公众号", "门户网站"]
    assert rows[0]["approver"] == "token:t-li"  # approved through li's API token
    login(desk.client, "li")
    exported = json.loads(desk.client.get("/log.json").text)
    assert len(exported) == 2


def test_audit_log_is_append_only(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    desk.client.post(f"/api/v1/alerts/{a}/actions/assign", headers=desk.bearer("wang"),
                     json={})
    with desk.sessions() as s, pytest.raises(Exception, match="append-only"):
        s.execute(text("UPDATE audit_log SET actor = 'someone else'"))
        s.commit()
    with desk.sessions() as s, pytest.raises(Exception, match="append-only"):
        s.execute(text("DELETE FROM audit_log"))
        s.commit()


# ---------------------------------------------------------------- hostile post

class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_hostile_post_renders_inert(desk: Desk) -> None:
    a = alert_id(desk, "P3")
    login(desk.client, "wang")
    r = desk.client.get(f"/alerts/{a}")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    parser = _Elements()
    parser.feed(r.text)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [[("src", "/static/htmx.min.js"), ("defer", None)]]  # ours only
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
    assert not any(tag in ("img", "svg", "iframe") for tag, _ in parser.tags)
    assert "点我看真相" in r.text  # the words stay, the link does not
    assert "alert(\"x\")" not in r.text
