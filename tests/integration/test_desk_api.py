"""The press desk over HTTP (FastAPI TestClient against a real, migrated database): every
transition allowed and refused, role boundaries, CSRF, 401s, sessions, the full path from
alert to output log, and a hostile post rendering inert."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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
        tokens = {name: create_token(session, f"t-{name}", role, NOW, user=name)
                  for name, role in ROLES.items()}
        # A token made for nobody (as every token was before desk_0006): read-only.
        tokens["nobody"] = create_token(session, "t-nobody", "admin", NOW)
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
    # A token acts for its person: the author's own token may not approve either (issue 14),
    # nor may the author logged in.
    assert r.status_code == 403
    assert "own output" in r.json()["error"]
    out = _output_for(desk, "admin")
    _set_state(desk, "output", out, "submitted")
    csrf = login(desk.client, "admin")
    r = desk.client.post(f"/outputs/{out}/approve", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert r.status_code == 403


def test_a_token_cannot_draft_submit_and_approve_its_own_text(desk: Desk) -> None:
    """The reported bypass: an admin token drafted, submitted and approved its own draft."""
    a = alert_id(desk, "P2")
    r = desk.client.post(f"/api/v1/alerts/{a}/outputs", headers=desk.bearer("admin"),
                         json={"kind": "回应", "title": "t", "body": "自己写的正文"})
    assert r.status_code == 201 and r.json()["author"] == "admin"
    out = r.json()["id"]
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/submit", headers=desk.bearer("admin"),
                         json={})
    assert r.status_code == 200
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/approve", headers=desk.bearer("admin"),
                         json={})
    assert r.status_code == 403
    # Someone else approves: li through li's token, recorded as li.
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/approve", headers=desk.bearer("li"),
                         json={})
    assert r.status_code == 200 and r.json()["approver"] == "li"


def test_a_browser_draft_is_not_approved_by_its_authors_token(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    csrf = login(desk.client, "admin")
    r = desk.client.post(f"/api/v1/alerts/{a}/outputs", headers={"X-CSRF-Token": csrf},
                         json={"kind": "回应", "title": "t", "body": "浏览器里写的"})
    out = r.json()["id"]
    assert desk.client.post(f"/api/v1/outputs/{out}/actions/submit",
                            headers={"X-CSRF-Token": csrf}, json={}).status_code == 200
    desk.client.cookies.clear()
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/approve", headers=desk.bearer("admin"),
                         json={})
    assert r.status_code == 403
    with desk.sessions() as s:
        assert s.scalar(select(Output.state).where(Output.id == out)) == "submitted"


def test_a_token_for_nobody_may_read_but_not_act(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    assert desk.client.get("/api/v1/alerts", headers=desk.bearer("nobody")).status_code == 200
    assert desk.client.get(f"/api/v1/alerts/{a}",
                           headers=desk.bearer("nobody")).status_code == 200
    writes = [
        ("post", f"/api/v1/alerts/{a}/actions/assign", {"assignee": "wang"}),
        ("post", f"/api/v1/alerts/{a}/outputs", {"kind": "回应"}),
        ("post", "/api/v1/users", {"name": "x1", "role": "admin", "password": "a-long-pass"}),
        ("post", "/api/v1/sources", {"name": "s", "url": "https://example.org/rss"}),
    ]
    for method, path, body in writes:
        r = desk.client.request(method, path, headers=desk.bearer("nobody"), json=body)
        assert r.status_code == 403, path
        assert "acts for no user" in r.json()["error"]
    with desk.sessions() as s:
        assert s.scalar(select(Alert.state).where(Alert.id == a)) == "new"
        assert s.scalar(text("select count(*) from users where name = 'x1'")) == 0


def test_a_token_never_has_more_rights_than_its_person(desk: Desk) -> None:
    from monitor.errors import InputError

    with desk.sessions() as s:
        with pytest.raises(InputError, match="cannot have the higher role admin"):
            create_token(s, "t-up", "admin", NOW, user="wang")
        with pytest.raises(InputError, match="no active user"):
            create_token(s, "t-ghost", "officer", NOW, user="ghost")
        # li is demoted to officer: li's approver token is an officer token from now on.
        s.execute(text("update users set role = 'officer' where name = 'li'"))
        s.commit()
    out = _output_for(desk, "zhao")
    _set_state(desk, "output", out, "submitted")
    r = desk.client.post(f"/api/v1/outputs/{out}/actions/approve", headers=desk.bearer("li"),
                         json={})
    assert r.status_code == 403
    with desk.sessions() as s:  # and a disabled person's token stops working
        s.execute(text("update users set active = false where name = 'li'"))
        s.commit()
    assert desk.client.get("/api/v1/alerts", headers=desk.bearer("li")).status_code == 401


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


def _try_login(client: TestClient, name: str, password: str,
               headers: dict[str, str] | None = None) -> Any:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, headers=headers or {},
                       follow_redirects=False)


def test_login_throttled_after_repeated_failures(desk: Desk) -> None:
    for _ in range(5):
        assert _try_login(desk.client, "wang", "wrong-guess").status_code == 401
    r = _try_login(desk.client, "wang", PASSWORDS["wang"])
    assert r.status_code == 429  # even the right password, for a moment
    assert "秒后再试" in r.text and r.headers["retry-after"] == "1"
    # A colleague behind the same address is not slowed by wang's typos.
    login(desk.client, "li")
    desk.client.cookies.clear()
    # Growing delays, never a lock: after the wait the right password works.
    desk.clock[0] = NOW + timedelta(seconds=2)
    login(desk.client, "wang")


def test_failing_on_purpose_cannot_lock_an_account_out(desk: Desk) -> None:
    """An attacker failing as admin forever: each failure waits longer, up to the cap
    (web.login_max_delay_seconds, 60 s); tries during a wait are refused uncounted. The
    admin's right password works whenever the wait has passed — never 15 minutes of lock."""
    for _ in range(4):  # the free attempts: no wait at all
        assert _try_login(desk.client, "admin", "attacker-guess").status_code == 401
    t, waits = NOW, []
    for _ in range(10):
        assert _try_login(desk.client, "admin", "attacker-guess").status_code == 401
        # During the wait even the right password is refused, without being checked or
        # counted; Retry-After says how long.
        r = _try_login(desk.client, "admin", PASSWORDS["admin"])
        assert r.status_code == 429
        waits.append(int(r.headers["retry-after"]))
        t += timedelta(seconds=waits[-1])
        desk.clock[0] = t
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    login(desk.client, "admin")  # the wait has passed: the admin is in


def _address_threshold(desk: Desk, free: int) -> None:
    throttle = desk.client.app.state.desk.throttle  # type: ignore[attr-defined]
    assert throttle.policy.address_free == 100  # the shipped default, far above 5 per name
    throttle.policy = replace(throttle.policy, address_free=free)


def test_many_failures_from_one_address_slow_that_address_only(desk: Desk) -> None:
    """Per address the threshold is much higher (web.login_address_attempts, 100; 12 here,
    as every try costs an argon2 check): a scan of many names from one address is slowed,
    other addresses are not."""
    _address_threshold(desk, 12)
    other = TestClient(desk.client.app, base_url="http://testserver", client=("10.9.9.9", 1))
    for n in range(12):
        desk.clock[0] = NOW + timedelta(seconds=n)
        assert _try_login(desk.client, f"user{n}", "guess").status_code == 401
    r = _try_login(desk.client, "wang", PASSWORDS["wang"])
    assert r.status_code == 429
    login(other, "wang")  # from another address: no wait
    with desk.sessions() as s:  # one row per name tried and per address, nothing more
        assert s.scalar(text("select count(*) from login_throttle")) == 13


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(desk: Desk) -> None:
    ctx = desk.client.app.state.desk  # type: ignore[attr-defined]
    proxy = TestClient(desk.client.app, base_url="http://testserver", client=("10.0.0.5", 1))
    stranger = TestClient(desk.client.app, base_url="http://testserver", client=("10.7.7.7", 1))
    spoof = {"X-Forwarded-For": "203.0.113.9"}
    _address_threshold(desk, 12)
    # Untrusted: the header is ignored, the failures count against the stranger's address.
    for n in range(12):
        assert _try_login(stranger, f"a{n}", "guess", spoof).status_code == 401
    assert _try_login(stranger, "wang", PASSWORDS["wang"], {"X-Forwarded-For": "1.2.3.4"}
                      ).status_code == 429
    with desk.sessions() as s:
        keys = set(s.scalars(text("select key from login_throttle where key like 'addr:%'")))
    assert keys == {"addr:10.7.7.7"}
    # Trusted (named in web.trusted_proxies): the client is the address the proxy saw.
    ctx.trusted_proxies = (ipaddress.ip_network("10.0.0.0/29"),)
    for n in range(3):
        assert _try_login(proxy, f"b{n}", "guess",
                          {"X-Forwarded-For": "1.1.1.1, 198.51.100.7"}).status_code == 401
    with desk.sessions() as s:
        rows = dict(s.execute(text("select key, failures from login_throttle "
                                   "where key like 'addr:%'")).all())
    assert rows == {"addr:10.7.7.7": 12, "addr:198.51.100.7": 3}


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
    assert rows[0]["approver"] == "li"  # through li's API token, which acts for li
    login(desk.client, "li")
    exported = json.loads(desk.client.get("/log.json").text)
    assert len(exported) == 2
    # The desk's CSV speaks the reader's language in its header row; the API's keeps the
    # column names scripts read (above).
    page_csv = desk.client.get("/log.csv").text.lstrip("\ufeff")
    header = page_csv.splitlines()[0].split(",")
    assert header[:3] == ["发布记录编号", "发布时间", "发布渠道"] and "审核人" in header
    rows = list(csv.DictReader(io.StringIO(page_csv)))
    assert sorted(r["发布渠道"] for r in rows) == ["微信公众号", "门户网站"]
    english = desk.client.get("/log.csv?lang=en").text.lstrip("\ufeff").splitlines()[0]
    assert english.startswith("Publication id,Published at,Channel")


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
    assert scripts == [[("src", "/static/htmx.min.js"), ("defer", None)],  # ours only
                       [("src", "/static/desk.js"), ("defer", None)]]
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
    assert not any(tag in ("img", "svg", "iframe") for tag, _ in parser.tags)
    assert "点我看真相" in r.text  # the words stay, the link does not
    assert "alert(\"x\")" not in r.text


def test_the_history_reads_in_chinese(desk: Desk) -> None:
    a = alert_id(desk, "P2")
    assert desk.client.post(f"/api/v1/alerts/{a}/actions/assign", headers=desk.bearer("wang"),
                            json={"assignee": "zhao"}).status_code == 200
    login(desk.client, "wang")
    page = desk.client.get(f"/alerts/{a}").text
    history = page[page.index('id="history"'):]
    history = history[:history.index("</ol>")]
    assert "预警 分配 新预警 → 已分配" in history
    assert "assign" not in history and "new →" not in history
    en = desk.client.get(f"/alerts/{a}?lang=en").text
    assert "alert assigned New → Assigned" in en


# ---------------------------------------------------------------- hostile input (issue 14)

BIG = "99999999999999999999999"  # beyond 64 bits


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", f"/api/v1/alerts/{BIG}", None),
    ("get", f"/api/v1/alerts/{2**63}", None),
    ("get", "/api/v1/alerts/0", None),
    ("get", f"/api/v1/alerts?source_id={BIG}", None),
    ("get", f"/api/v1/alerts?limit={BIG}", None),
    ("get", f"/api/v1/alerts/{BIG}/policies", None),
    ("post", f"/api/v1/alerts/{BIG}/actions/assign", {"assignee": "wang"}),
    ("post", f"/api/v1/alerts/{BIG}/outputs", {"kind": "回应"}),
    ("get", f"/api/v1/outputs/{BIG}", None),
    ("put", f"/api/v1/outputs/{BIG}", {"title": "t", "body": "b"}),
    ("post", f"/api/v1/outputs/{BIG}/actions/submit", {}),
    ("post", f"/api/v1/outputs/{BIG}/publications", {"publications": [{"channel": "门户网站"}]}),
    ("get", f"/api/v1/output-log?year={BIG}", None),
    ("get", "/api/v1/output-log?year=²", None),
    ("get", f"/api/v1/policies?limit={BIG}", None),
    ("delete", f"/api/v1/sources/{BIG}", None),
    ("post", "/api/v1/sources", {"name": "s", "url": "https://example.org/rss",
                                 "interval": 10**30}),
    ("post", "/api/v1/alerts/1/outputs", {"kind": "回应", "cited_policy_ids": [10**30]}),
    ("post", "/api/v1/alerts/1/actions/dismiss", {"reason": "原因\ud800"}),
    ("post", "/api/v1/alerts/1/actions/dismiss", {"reason": "原因\u0000"}),
])
def test_hostile_api_input_is_a_4xx_with_a_sentence(desk: Desk, method: str, path: str,
                                                    body: Any) -> None:
    kw: dict[str, Any] = {"headers": {**desk.bearer("admin"), "Content-Type": "application/json"}}
    if body is not None:
        kw["content"] = json.dumps(body)  # ASCII escapes: a lone surrogate travels as sent
    r = desk.client.request(method, path, **kw)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    error = r.json()["error"]
    assert isinstance(error, str) and len(error) > 10


@pytest.mark.parametrize("year", [1, 9999])
def test_the_log_of_a_year_at_either_end_of_the_calendar_is_empty_not_a_500(
        desk: Desk, year: int) -> None:
    """Year 1 in Asia/Shanghai begins before datetime's range in UTC, 9999 has no next year
    (schemathesis found the first)."""
    r = desk.client.get(f"/api/v1/output-log?year={year}", headers=desk.bearer("li"))
    assert r.status_code == 200 and r.json() == []
    login(desk.client, "li")
    assert desk.client.get(f"/log?year={year}").status_code == 200


@pytest.mark.parametrize("path", [
    "/?source=²", "/?source=" + BIG, "/queue/rows?source=٣", "/log?year=²",
    "/log?year=" + BIG, "/log.csv?year=²", "/log.json?year=99999", f"/alerts/{BIG}",
    f"/outputs/{BIG}", "/alerts/²",
])
def test_hostile_page_parameters_are_a_4xx_with_a_sentence(desk: Desk, path: str) -> None:
    login(desk.client, "wang")
    r = desk.client.get(path, follow_redirects=False)
    assert 400 <= r.status_code < 500, (path, r.status_code)
    assert "whole number" in r.text or "less than or equal" in r.text or \
        "valid integer" in r.text or "greater than" in r.text


def test_a_draft_citing_a_superscript_policy_is_refused_in_words(desk: Desk) -> None:
    a = alert_id(desk, "P2")
    csrf = login(desk.client, "wang")
    r = desk.client.post(f"/alerts/{a}/draft", data={"csrf_token": csrf, "kind": "回应",
                                                     "policy": ["1", "²"]},
                         follow_redirects=False)
    assert r.status_code == 400
    assert "policy must be a whole number" in r.text
    with desk.sessions() as s:
        assert s.scalar(select(Output.id).where(Output.alert_id == a)) is None


# ---------------------------------------------------------------- caching and the API docs

@pytest.mark.parametrize("path", ["/", "/queue/rows", "/admin/users", "/admin/sources",
                                  "/admin/topics", "/log", "/log.csv"])
def test_authenticated_pages_are_never_stored(desk: Desk, path: str) -> None:
    login(desk.client, "admin")
    r = desk.client.get(path)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"


def test_api_answers_are_never_stored_but_static_assets_may_be(desk: Desk) -> None:
    r = desk.client.get("/api/v1/alerts", headers=desk.bearer("li"))
    assert r.headers["cache-control"] == "no-store"
    assert "cache-control" not in desk.client.get("/static/desk.css").headers


def test_api_docs_are_served_from_the_desk_itself(desk: Desk) -> None:
    """The page and every file it loads come from the desk (no CDN), nothing inline that
    the desk's CSP would block, and the OpenAPI document it points at is there."""
    r = desk.client.get("/api/docs")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert "//" not in page.replace("<!DOCTYPE html>", "")  # no other host, no protocol
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(refs) == 3
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = desk.client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 100, ref
    assert re.search(r"<script>", page) is None  # only <script src=…>: no inline script
    spec = desk.client.get(re.search(r'data-openapi="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "yuqing press desk"


@pytest.mark.parametrize("query", ["topic=%00", "assignee=%00", "state=%00x",
                                   "sentiment=%00", "priority=%00"])
def test_nul_in_a_filter_is_never_a_500(desk: Desk, query: str) -> None:
    """SQLite compares NUL like any character (no match); PostgreSQL refuses it in text,
    which answers a sentence, not a 500."""
    r = desk.client.get(f"/api/v1/alerts?{query}", headers=desk.bearer("li"))
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert "NUL" in r.json()["error"] or "state" in r.json()["error"]
    else:
        assert r.json() == []
