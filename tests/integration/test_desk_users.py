"""The admin's desk pages for people, gone sources and undelivered notifications, over HTTP
against a real database: a user disabled, demoted or given a new password — audit-logged,
CSRF-checked, admin only, effective at the person's next request (their open session and
token refused); the last active admin kept; a gone source re-enabled; a failed notification
sent again and an unknown one never offered."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.models import Item, Source
from responders.models import AuditEntry, OutboxMessage, Output, Policy, User
from tests.integration.test_desk_api import (  # noqa: F401
    NOW,
    Desk,
    alert_id,
    desk,
    login,
)


def _uid(d: Desk, name: str) -> int:
    with d.sessions() as s:
        return int(s.scalar(select(User.id).where(User.name == name)))


def _user(d: Desk, name: str) -> tuple[str, bool]:
    with d.sessions() as s:
        u = s.scalars(select(User).where(User.name == name)).one()
        return u.role, u.active


def _audit(d: Desk, entity: str) -> list[tuple[str, str, str | None, str | None]]:
    with d.sessions() as s:
        return [(e.actor, e.action, e.from_state, e.to_state) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id))]


def _second(d: Desk) -> TestClient:
    """Another browser (its own cookies) on the same app."""
    return TestClient(d.client.app, base_url="http://testserver")


def test_disable_ends_the_users_open_session_and_token(desk: Desk) -> None:
    wang = _second(desk)
    login(wang, "wang")
    assert wang.get("/").status_code == 200
    assert desk.client.get("/api/v1/alerts", headers=desk.bearer("wang")).status_code == 200
    csrf = login(desk.client, "admin")
    r = desk.client.post(f"/admin/users/{_uid(desk, 'wang')}/disable",
                         data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?notice=disabled"
    assert _user(desk, "wang") == ("officer", False)
    # The very next click of wang's open session goes to the login page; the token is 401.
    r = wang.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert desk.client.get("/api/v1/alerts", headers=desk.bearer("wang")).status_code == 401
    page = desk.client.get("/admin/users").text
    assert 'id="user-wang" data-active="no"' in page and "已停用" in page
    # Enabled again, wang logs in anew.
    desk.client.post(f"/admin/users/{_uid(desk, 'wang')}/enable", data={"csrf_token": csrf})
    login(wang, "wang")
    assert _audit(desk, "user")[-2:] == [("user:admin", "disable", "active", "disabled"),
                                         ("user:admin", "enable", "disabled", "active")]


def test_role_change_counts_at_the_next_request(desk: Desk) -> None:
    li = _second(desk)
    login(li, "li")
    assert li.get("/admin/users").status_code == 403
    csrf = login(desk.client, "admin")
    r = desk.client.post(f"/admin/users/{_uid(desk, 'li')}/role",
                         data={"csrf_token": csrf, "role": "admin"}, follow_redirects=False)
    assert r.status_code == 303
    assert li.get("/admin/users").status_code == 200       # the same session, now admin
    r = desk.client.post(f"/admin/users/{_uid(desk, 'li')}/role",
                         data={"csrf_token": csrf, "role": "boss"})
    assert r.status_code == 400 and "角色 &#39;boss&#39; 不存在" in r.text
    assert _user(desk, "li") == ("admin", True)
    assert _audit(desk, "user")[-1] == ("user:admin", "set_role", "approver", "admin")


def test_the_last_active_admin_cannot_be_disabled_or_demoted(desk: Desk) -> None:
    csrf = login(desk.client, "admin")
    me = _uid(desk, "admin")
    for path, data in [(f"/admin/users/{me}/disable", {}),
                       (f"/admin/users/{me}/role", {"role": "officer"})]:
        r = desk.client.post(path, data={"csrf_token": csrf, **data})
        assert r.status_code == 400
        assert "last active admin" in r.text and 'id="admin-error"' in r.text
    assert _user(desk, "admin") == ("admin", True)
    assert [a for a in _audit(desk, "user") if a[1] != "create"] == []


def test_password_reset_typed_or_generated(desk: Desk) -> None:
    wang = _second(desk)
    login(wang, "wang")
    csrf = login(desk.client, "admin")
    uid = _uid(desk, "wang")
    r = desk.client.post(f"/admin/users/{uid}/password",
                         data={"csrf_token": csrf, "password": "short"})
    assert r.status_code == 400 and "密码至少需要 10 个字符" in r.text
    r = desk.client.post(f"/admin/users/{uid}/password",
                         data={"csrf_token": csrf, "password": "wang-new-pass-1"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert wang.get("/", follow_redirects=False).status_code == 303   # the old session ended
    login(wang, "wang", "wang-new-pass-1")
    r = desk.client.post(f"/admin/users/{uid}/password",
                         data={"csrf_token": csrf, "generate": "1"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    shown = re.search(r'id="generated-password">[^<]*<code>([^<]+)</code>', r.text)
    assert shown is not None
    login(_second(desk), "wang", shown.group(1))
    assert [a[1] for a in _audit(desk, "user")].count("passwd") == 2
    with desk.sessions() as s:
        assert all(shown.group(1) not in str(e.detail) for e in s.scalars(select(AuditEntry)))


@pytest.mark.parametrize("who", ["wang", "li"])
def test_user_changes_are_admin_only_and_need_csrf(desk: Desk, who: str) -> None:
    uid = _uid(desk, "zhao")
    csrf = login(desk.client, who)
    for action, data in [("disable", {}), ("role", {"role": "admin"}),
                         ("password", {"password": "zhao-new-pass-1"})]:
        r = desk.client.post(f"/admin/users/{uid}/{action}", data={"csrf_token": csrf, **data})
        assert r.status_code == 403
    csrf = login(desk.client, "admin")
    assert desk.client.post(f"/admin/users/{uid}/disable", data={}).status_code == 403
    assert desk.client.post(f"/admin/users/{uid}/disable",
                            data={"csrf_token": "nope"}).status_code == 403
    assert desk.client.post("/admin/users/999/disable",
                            data={"csrf_token": csrf}).status_code == 404
    assert _user(desk, "zhao") == ("officer", True)
    assert [a for a in _audit(desk, "user") if a[1] != "create"] == []


def test_add_user_refusal_is_shown_on_the_page(desk: Desk) -> None:
    csrf = login(desk.client, "admin")
    r = desk.client.post("/admin/users", data={"csrf_token": csrf, "name": "wang",
                                               "role": "officer", "password": "long-enough-1"})
    assert r.status_code == 400 and 'id="users"' in r.text
    assert "用户 &#39;wang&#39; 已存在" in r.text


# ---------------------------------------------------------------- gone sources

def test_a_gone_source_shows_a_badge_and_an_admin_enables_it(desk: Desk) -> None:
    with desk.sessions() as s:
        src = s.scalars(select(Source)).one()
        src.last_status, src.failure_count = 410, 1
        src.last_error = "源已下线（HTTP 410 Gone）"
        s.commit()
        sid = src.id
    csrf = login(desk.client, "admin")
    page = desk.client.get("/admin/sources").text
    assert 'class="tag failing source-gone">已失效<' in page
    assert f'action="/admin/sources/{sid}/enable"' in page
    assert desk.client.post(f"/admin/sources/{sid}/enable", data={}).status_code == 403
    r = desk.client.post(f"/admin/sources/{sid}/enable", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert r.status_code == 303
    with desk.sessions() as s:
        src = s.get(Source, sid)
        assert (src.last_status, src.failure_count, src.next_check_at) == (None, 0, None)
    assert desk.enqueued[-1] == ("monitor.poll_source", [sid])
    assert _audit(desk, "source") == [("user:admin", "enable", "gone", "active")]
    page = desk.client.get("/admin/sources?notice=enabled").text
    assert "已失效" not in page and "已重新启用信息源" in page
    # not gone any more: nothing to enable, in words
    r = desk.client.post(f"/admin/sources/{sid}/enable", data={"csrf_token": csrf})
    assert r.status_code == 400 and "未被标记为已失效（HTTP 410）" in r.text
    # an officer may not
    csrf = login(desk.client, "wang")
    assert desk.client.post(f"/admin/sources/{sid}/enable",
                            data={"csrf_token": csrf}).status_code == 403


# ---------------------------------------------------------------- 通知投递

def _outbox(d: Desk) -> dict[str, int]:
    with d.sessions() as s:
        rows = [OutboxMessage(key=f"alert:{i}:P1", kind="alert", ref=str(i), state=state,
                              attempts=n, detail=detail, created_at=NOW,
                              finished_at=NOW + timedelta(minutes=1))
                for i, (state, n, detail) in enumerate([
                    ("failed", 1, "webhook answered 500"),
                    ("unknown", 1, "webhook: ReadTimeout; not resent automatically"),
                    ("sent", 1, "")], 1)]
        s.add_all(rows)
        s.commit()
        return {r.state: r.id for r in rows}


def test_undelivered_notifications_are_listed_and_only_failed_resent(desk: Desk) -> None:
    ids = _outbox(desk)
    csrf = login(desk.client, "admin")
    page = desk.client.get("/admin/sources").text
    assert "通知投递" in page and "webhook answered 500" in page and "ReadTimeout" in page
    assert f'id="outbox-{ids["sent"]}"' not in page
    assert f'action="/admin/outbox/{ids["failed"]}/resend"' in page
    assert f'action="/admin/outbox/{ids["unknown"]}/resend"' not in page
    # an unknown row is refused even when posted by hand: it may have arrived
    r = desk.client.post(f"/admin/outbox/{ids['unknown']}/resend", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert desk.client.post(f"/admin/outbox/{ids['failed']}/resend",
                            data={}).status_code == 403
    r = desk.client.post(f"/admin/outbox/{ids['failed']}/resend", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert r.status_code == 303
    with desk.sessions() as s:
        row = s.get(OutboxMessage, ids["failed"])
        assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 0, None)
        assert s.get(OutboxMessage, ids["unknown"]).state == "unknown"
    assert desk.enqueued[-1] == ("responders.drain_outbox", [])
    assert _audit(desk, "outbox") == [("user:admin", "resend", "failed", "pending")]
    # twice is refused: it is pending now, not failed
    r = desk.client.post(f"/admin/outbox/{ids['failed']}/resend", data={"csrf_token": csrf})
    assert r.status_code == 409
    csrf = login(desk.client, "li")
    assert desk.client.post(f"/admin/outbox/{ids['failed']}/resend",
                            data={"csrf_token": csrf}).status_code == 403


# ---------------------------------------------------------------- the editor's side panel

def _draft(d: Desk, csrf: str, priority: str = "P2") -> tuple[int, str]:
    """A 政策解读 drafted from the page, citing the first suggested document."""
    a = alert_id(d, priority)
    sug = d.client.get(f"/api/v1/alerts/{a}/policies", headers=d.bearer("wang")).json()
    r = d.client.post(f"/alerts/{a}/draft", data={"csrf_token": csrf, "kind": "政策解读",
                                                  "policy": str(sug[0]["id"])},
                      follow_redirects=False)
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("/", 1)[1]), sug[0]["doc_number"]


def test_the_editor_shows_the_post_and_the_cited_policy_texts(desk: Desk) -> None:
    with desk.sessions() as s:
        src_name = s.scalars(select(Source)).one().name  # the seed's only source
        post = s.scalars(select(Item).where(Item.title.like("法律援助%"))).one()
        post.author = "豫东小李"
        s.commit()
    csrf = login(desk.client, "wang")
    oid, doc = _draft(desk, csrf)
    page = desk.client.get(f"/outputs/{oid}").text
    side = page[page.index('id="editor-side"'):]
    assert f"来源: {src_name}" in side and "作者: 豫东小李" in side
    assert "发布时间: 2024-05-06 15:00" in side          # published_at, in Shanghai time
    assert "申请法律援助被拒绝，多久答复？" in side       # the post's text
    with desk.sessions() as s:
        policy = s.scalars(select(Policy).where(Policy.doc_number == doc)).one()
        excerpt = policy.text.strip().splitlines()[0][:20]
    assert f"（{doc}）</summary>" in side and excerpt in side
    # Nothing cited: said in words, not an empty box.
    with desk.sessions() as s:
        s.get(Output, oid).cited_policy_ids = []
        s.commit()
    side = desk.client.get(f"/outputs/{oid}").text
    assert 'id="side-no-policy"' in side and "</details>" not in side


def test_a_submit_with_a_placeholder_left_is_refused_and_keeps_the_typed_text(
        desk: Desk) -> None:
    csrf = login(desk.client, "wang")
    oid, _ = _draft(desk, csrf)
    with desk.sessions() as s:
        stored = s.get(Output, oid).body
    assert "【待填写" in stored
    typed = stored.replace("【待填写", "经核实【待填写", 1) + "\n（新增的一句）"
    r = desk.client.post(f"/outputs/{oid}/edit", data={
        "csrf_token": csrf, "title": "关于法律援助的说明", "body": typed, "then": "submit"})
    assert r.status_code == 400
    assert 'id="output-error"' in r.text and "草稿还有待填写的内容" in r.text
    assert "（新增的一句）" in r.text and 'value="关于法律援助的说明"' in r.text
    with desk.sessions() as s:
        out = s.get(Output, oid)
        assert (out.state, out.body) == ("draft", stored)   # nothing stored, not submitted


# ---------------------------------------------------------------- the catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "responders" / "web" / "templates"


@pytest.mark.parametrize("name", ["users.html", "sources.html", "output.html"])
def test_every_string_of_these_pages_is_in_the_catalogue(name: str) -> None:
    from responders.web.i18n import MESSAGES

    text = (TEMPLATES / name).read_text(encoding="utf-8")
    keys = set(re.findall(r"t\('([a-z0-9_]+)'\s*[,)]", text))
    assert keys and not keys - MESSAGES.keys()
    # and the keys a page builds from a value
    built = {f"us_notice_{n}" for n in ("added", "role", "disabled", "enabled", "password")}
    built |= {f"us_src_notice_{n}" for n in ("enabled", "resent")}
    built |= {f"us_ob_kind_{k}" for k in ("alert", "reminder", "digest")}
    built |= {f"us_ob_state_{s}" for s in ("failed", "unknown", "sending")}
    assert not built - MESSAGES.keys()


def test_the_users_page_in_english(desk: Desk) -> None:
    login(desk.client, "admin")
    page = desk.client.get("/admin/users?lang=en").text
    assert "Disable" in page and "Reset password" in page and "停用" not in page
