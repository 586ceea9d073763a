"""People and credentials: argon2id passwords, API tokens (hash only), server-side web
sessions with idle expiry, and a login throttle. Flushes, never commits."""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.models import ROLES, ApiToken, AuditEntry, User, WebSession

# argon2-cffi's defaults are argon2id with RFC 9106's "low memory" profile (64 MiB, t=3).
_HASHER = PasswordHasher()
MIN_PASSWORD = 10

# A session's or token's last-use time is written at most this often: otherwise every page
# a reader opens would be a write (a commit, a row lock on PostgreSQL, a WAL frame on
# SQLite). Idle expiry counts from the last recorded use, so a session may end up to this
# much before `idle` has passed since its very last request, never later.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a logged-in person or an API token. `actor` goes into the audit log."""

    kind: str  # user | token
    id: int
    name: str
    role: str
    user_id: int | None  # the person behind it (None for tokens)
    csrf_token: str | None = None  # browser sessions only

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")


def add_user(session: Session, name: str, role: str, password: str, now: datetime, *,
             display_name: str = "", email: str | None = None, actor: str = "cli") -> User:
    _check_role(role)
    name = name.strip()
    if not name:
        raise InputError("a user needs a name")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise InputError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=hash_password(password), active=True,
                display_name=display_name or name, email=email, created_at=now)
    session.add(user)
    session.flush()
    session.add(AuditEntry(at=now, actor=actor, entity="user", entity_id=user.id,
                           action="create", to_state=role, detail={"name": name}))
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None or not user.active:
        # Spend the same time as a real check so a name cannot be probed by timing.
        check_password(_DUMMY_HASH, password)
        return None
    if not check_password(user.password_hash, password):
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


_DUMMY_HASH = _HASHER.hash("not-a-real-password-only-for-timing")


def create_token(session: Session, name: str, role: str, now: datetime,
                 actor: str = "cli") -> str:
    """A new token; the plain value is returned once and never stored."""
    _check_role(role)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise InputError(f"a token named {name!r} exists already")
    plain = "yq_" + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=hash_secret(plain), created_at=now)
    session.add(token)
    session.flush()
    session.add(AuditEntry(at=now, actor=actor, entity="token", entity_id=token.id,
                           action="create", to_state=role, detail={"name": name}))
    return plain


def principal_for_token(session: Session, plain: str, now: datetime) -> Principal | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(plain)))
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
    return Principal("token", token.id, token.name, token.role, None)


def open_session(session: Session, user: User, now: datetime) -> str:
    plain = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_secret(plain), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           last_seen_at=now))
    session.flush()
    return plain


def principal_for_session(session: Session, plain: str, now: datetime, *,
                          idle: timedelta, absolute: timedelta) -> Principal | None:
    """The person behind a session cookie, sliding its idle timer (at most once per
    TOUCH_EVERY); None when expired, and the expired row is deleted."""
    row = session.get(WebSession, hash_secret(plain))
    if row is None:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > absolute or not row.user.active:
        session.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    user = row.user
    return Principal("user", user.id, user.name, user.role, user.id, row.csrf_token)


def close_session(session: Session, plain: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_secret(plain)))


class LoginThrottle:
    """At most `limit` failed logins per key (name, and client address) within `window`;
    then refuse until the window has passed. In memory: one web process holds the desk; a
    restart forgets, which costs an attacker a restart we would notice.

    Memory stays bounded by the failures of the last window: checking a key stores nothing,
    and keys whose failures have all expired are dropped (otherwise every made-up user
    name tried would stay in the table for the life of the process).
    """

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._last_sweep: datetime | None = None

    def _expire(self, q: deque[datetime], now: datetime) -> deque[datetime]:
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def _sweep(self, now: datetime) -> None:
        # At most once per window, so a flood of failures costs O(keys) only now and then.
        if self._last_sweep is not None and now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in [k for k, q in self._failures.items() if not self._expire(q, now)]:
            del self._failures[key]

    def blocked(self, keys: list[str], now: datetime) -> bool:
        return any(
            len(self._expire(self._failures.get(k, deque()), now)) >= self.limit for k in keys
        )

    def failed(self, keys: list[str], now: datetime) -> None:
        self._sweep(now)
        for k in keys:
            self._expire(self._failures.setdefault(k, deque()), now).append(now)

    def tracked(self) -> int:
        """How many keys have failures on record (what the memory bound is about)."""
        return len(self._failures)

    def succeeded(self, keys: list[str]) -> None:
        for k in keys:
            self._failures.pop(k, None)
