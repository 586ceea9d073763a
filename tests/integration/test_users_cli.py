"""`yuqing users …` as an admin runs it (a real process): list, add, set-role, disable,
enable, passwd (from stdin, or --generate), the last active admin kept, exit codes by the
contract, and every change in the audit log. Also what the desk's credentials do after each
change (responders.auth): a disabled user's sessions and tokens stop, a role change counts
at the next request, a reset password ends the old sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from responders import auth
from responders.models import AuditEntry, User, WebSession
from tests.integration.test_cli import cli_env, yuqing  # noqa: F401

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
IDLE = {"idle": timedelta(hours=8), "absolute": timedelta(hours=24)}


def _audit(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None, str | None]]:
    with sessions() as s:
        return [(e.actor, e.action, e.from_state, e.to_state) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "user").order_by(AuditEntry.id))]


def test_users_commands_walk(cli_env, sessions):  # noqa: F811
    r = yuqing(cli_env, "users", "add", "admin", "--role", "admin", stdin="admin-pass-123\n")
    assert r.returncode == 0, r.stderr
    r = yuqing(cli_env, "users", "add", "wang", "--role", "officer", stdin="officer-pass-1\n")
    assert r.returncode == 0, r.stderr

    r = yuqing(cli_env, "users", "set-role", "wang", "approver")
    assert r.returncode == 0 and "officer → approver" in r.stdout
    r = yuqing(cli_env, "users", "disable", "wang")
    assert r.returncode == 0 and "disabled wang" in r.stdout
    r = yuqing(cli_env, "users", "disable", "wang")   # nothing to do is not an error
    assert r.returncode == 0 and "already" in r.stdout
    r = yuqing(cli_env, "users", "list")
    assert r.stdout.splitlines() == ["admin\tadmin\tactive", "wang\tapprover\tdisabled"]
    r = yuqing(cli_env, "users", "enable", "wang")
    assert r.returncode == 0

    # The last active admin: neither disabled nor demoted, in words, exit 2, nothing changed.
    for args in (("disable", "admin"), ("set-role", "admin", "officer")):
        r = yuqing(cli_env, "users", *args)
        assert r.returncode == 2, r.stderr
        assert "last active admin" in r.stderr and "Traceback" not in r.stderr
    r = yuqing(cli_env, "users", "set-role", "wang", "root")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = yuqing(cli_env, "users", "disable", "nobody")
    assert r.returncode == 2 and "no user named 'nobody'" in r.stderr

    # The lost first-admin password: reset from stdin, or made up and printed last.
    r = yuqing(cli_env, "users", "passwd", "admin", stdin="short\n")
    assert r.returncode == 2 and "at least 10" in r.stderr
    r = yuqing(cli_env, "users", "passwd", "admin", stdin="a-new-admin-pass\n")
    assert r.returncode == 0, r.stderr
    with sessions() as s:
        assert auth.authenticate(s, "admin", "a-new-admin-pass") is not None
        assert auth.authenticate(s, "admin", "admin-pass-123") is None
    r = yuqing(cli_env, "users", "passwd", "admin", "--generate")
    assert r.returncode == 0, r.stderr
    generated = r.stdout.splitlines()[-1]
    assert len(generated) >= 16
    with sessions() as s:
        assert auth.authenticate(s, "admin", generated) is not None

    assert _audit(sessions) == [
        ("cli", "create", None, "admin"), ("cli", "create", None, "officer"),
        ("cli", "set_role", "officer", "approver"), ("cli", "disable", "active", "disabled"),
        ("cli", "enable", "disabled", "active"), ("cli", "passwd", None, None),
        ("cli", "passwd", None, None)]


@pytest.fixture
def people(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions() as s:
        auth.add_user(s, "admin", "admin", "admin-pass-123", NOW)
        auth.add_user(s, "wang", "officer", "officer-pass-1", NOW)
        s.commit()
    return sessions


def _open(sessions: sessionmaker[Session], name: str) -> str:
    with sessions() as s:
        plain = auth.open_session(s, auth.find_user(s, name), NOW)
        s.commit()
    return plain


def test_disable_stops_sessions_and_tokens_at_once(people):
    cookie = _open(people, "wang")
    with people() as s:
        token = auth.create_token(s, "t-wang", "officer", NOW, user="wang")
        s.commit()
    with people() as s:
        assert auth.principal_for_session(s, cookie, NOW, **IDLE) is not None
        assert auth.principal_for_token(s, token, NOW) is not None
        assert auth.set_active(s, "wang", False, NOW, actor="user:admin")
        s.commit()
    with people() as s:
        assert auth.principal_for_session(s, cookie, NOW, **IDLE) is None
        assert auth.principal_for_token(s, token, NOW) is None
        assert auth.authenticate(s, "wang", "officer-pass-1") is None
        assert s.scalars(select(WebSession)).all() == []
        auth.set_active(s, "wang", True, NOW)
        s.commit()
    with people() as s:
        # Enabled again: the old session stays ended (deleted); the token acts again.
        assert auth.principal_for_session(s, cookie, NOW, **IDLE) is None
        assert auth.principal_for_token(s, token, NOW) is not None


def test_role_change_counts_at_the_next_request(people):
    cookie = _open(people, "wang")
    with people() as s:
        token = auth.create_token(s, "t-wang", "officer", NOW, user="wang")
        auth.set_role(s, "wang", "approver", NOW)
        s.commit()
    with people() as s:
        assert auth.principal_for_session(s, cookie, NOW, **IDLE).role == "approver"
        assert auth.principal_for_token(s, token, NOW).role == "officer"  # the lower one
        auth.set_role(s, "wang", "officer", NOW)
        s.commit()
    with people() as s:
        assert auth.principal_for_session(s, cookie, NOW, **IDLE).role == "officer"


def test_password_reset_ends_the_old_sessions(people):
    cookie = _open(people, "wang")
    with people() as s:
        auth.set_password(s, "wang", "a-fresh-password", NOW, actor="user:admin")
        s.commit()
    with people() as s:
        assert auth.principal_for_session(s, cookie, NOW, **IDLE) is None
        assert auth.authenticate(s, "wang", "a-fresh-password") is not None


def test_the_last_active_admin_is_kept(people):
    with people() as s:
        with pytest.raises(auth.LastAdmin):
            auth.set_active(s, "admin", False, NOW)
        with pytest.raises(auth.LastAdmin):
            auth.set_role(s, "admin", "officer", NOW)
        # With a second active admin either may go; then the other is the last.
        auth.set_role(s, "wang", "admin", NOW)
        auth.set_active(s, "admin", False, NOW)
        with pytest.raises(auth.LastAdmin):
            auth.set_role(s, "wang", "approver", NOW)
        s.commit()
    with people() as s:
        assert {u.name: (u.role, u.active) for u in s.scalars(select(User))} == {
            "admin": ("admin", False), "wang": ("admin", True)}
