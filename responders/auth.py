"""People and credentials: argon2id passwords, API tokens (hash only), server-side web
sessions with idle expiry, and a login throttle. Flushes, never commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.errors import InputError, NotFound
from responders.errors import DeskError
from responders.models import ROLES, ApiToken, AuditEntry, User, WebSession
from responders.models import LoginFailure as ThrottleRow

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
    # The person behind it: the user, or the user a token acts for. None only for a token
    # made for nobody (before desk_0006, or without --user), which may read but not act.
    user_id: int | None
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


# ---------------------------------------------------------------- managing people
# An admin's changes to a person (issue 16): each flushes its audit entry with the change, in
# the caller's transaction. Nothing here caches a person: every request reads the user's row
# (principal_for_session / principal_for_token), so a role change or a disable counts from
# the very next request, for the web session and every API token alike.


class LastAdmin(DeskError):
    """The change would leave the desk with no active admin: nobody could then manage users,
    sources or topics from the desk."""


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise NotFound(f"no user named {name.strip()!r}")
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse when `user` is the last active admin. The admins' rows are locked first
    (FOR UPDATE on PostgreSQL; SQLite serialises writers), so two admins demoting each other
    at once cannot both pass the check and leave none."""
    if user.role != "admin" or not user.active:
        return
    admins = session.scalars(select(User.id).where(User.role == "admin", User.active)
                             .with_for_update()).all()
    if not [i for i in admins if i != user.id]:
        raise LastAdmin(f"{user.name} is the last active admin: make another user admin "
                        "first (yuqing users set-role NAME admin)")


def _end_sessions(session: Session, user: User) -> int:
    result = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_role(session: Session, name: str, role: str, now: datetime, *,
             actor: str = "cli") -> tuple[str, str]:
    """The person's new role, from their next request on (sessions and tokens read it each
    time; a token keeps the lower of its own role and theirs). Returns (before, after); the
    same role again changes and logs nothing."""
    _check_role(role)
    user = find_user(session, name)
    before = user.role
    if before == role:
        return before, role
    if role != "admin":
        _keep_an_admin(session, user)
    user.role = role
    session.add(AuditEntry(at=now, actor=actor, entity="user", entity_id=user.id,
                           action="set_role", from_state=before, to_state=role,
                           detail={"name": user.name}))
    session.flush()
    return before, role


def set_active(session: Session, name: str, active: bool, now: datetime, *,
               actor: str = "cli") -> bool:
    """Disable or enable a person; False when they already were. Disabling ends their web
    sessions (deleted: enabling again does not revive them) and refuses their API tokens
    while disabled (principal_for_token checks the person on every request)."""
    user = find_user(session, name)
    if user.active == active:
        return False
    ended = 0
    if not active:
        _keep_an_admin(session, user)
        ended = _end_sessions(session, user)
    user.active = active
    session.add(AuditEntry(at=now, actor=actor, entity="user", entity_id=user.id,
                           action="enable" if active else "disable",
                           from_state="disabled" if active else "active",
                           to_state="active" if active else "disabled",
                           detail={"name": user.name, "sessions_ended": ended}))
    session.flush()
    return True


def set_password(session: Session, name: str, password: str, now: datetime, *,
                 actor: str = "cli") -> User:
    """A new password (an admin's reset, or the recovery of a lost one from the CLI). The
    person's open sessions end: whoever held the old password is logged out. The audit entry
    records who reset it, never the password."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters")
    user = find_user(session, name)
    user.password_hash = hash_password(password)
    ended = _end_sessions(session, user)
    session.add(AuditEntry(at=now, actor=actor, entity="user", entity_id=user.id,
                           action="passwd", detail={"name": user.name,
                                                    "sessions_ended": ended}))
    session.flush()
    return user


def generate_password() -> str:
    """A password to hand over once: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


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


def _rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def create_token(session: Session, name: str, role: str, now: datetime,
                 actor: str = "cli", *, user: str | None = None) -> str:
    """A new token; the plain value is returned once and never stored.

    `user` names the person the token acts for: every rule that holds for them holds for the
    token (responders.desk checks the person, not the credential), so its role may not be
    above theirs. Without one the token may read the desk but not act on it."""
    _check_role(role)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise InputError(f"a token named {name!r} exists already")
    owner: User | None = None
    if user is not None:
        owner = session.scalar(select(User).where(User.name == user.strip()))
        if owner is None or not owner.active:
            raise InputError(f"no active user {user!r} for the token to act for")
        if _rank(role) > _rank(owner.role):
            raise InputError(f"a token acting for {owner.name} ({owner.role}) cannot have "
                             f"the higher role {role}")
    plain = "yq_" + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=hash_secret(plain), created_at=now,
                     user_id=owner.id if owner else None)
    session.add(token)
    session.flush()
    session.add(AuditEntry(at=now, actor=actor, entity="token", entity_id=token.id,
                           action="create", to_state=role,
                           detail={"name": name, "user": owner.name if owner else None}))
    return plain


def principal_for_token(session: Session, plain: str, now: datetime) -> Principal | None:
    """The token's principal: its person's id, and the lower of the token's role and the
    person's role today (a demoted person's old token is demoted with them). None for an
    unknown or revoked token, or one whose person was disabled."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(plain)))
    if token is None or token.revoked_at is not None:
        return None
    role = token.role
    owner = token.user
    if owner is not None:
        if not owner.active:
            return None
        role = min(role, owner.role, key=_rank)
    elif token.user_id is not None:  # the person's row is gone: act for nobody
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
    return Principal("token", token.id, token.name, role, owner.id if owner else None)


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


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed logins slow down further tries (from settings.web)."""

    free: int  # failures per account before the delays start (web.login_attempts)
    address_free: int  # failures per client address before its delays start, much higher
    window: timedelta  # a key's failures are forgotten this long after its last one
    max_delay: timedelta  # the longest wait one failure can impose


def delay_after(failures: int, free: int, max_delay: timedelta) -> timedelta:
    """Pure: the wait imposed by the `failures`-th failure in a row of one key — none while
    within the free attempts, then 1 s, 2 s, 4 s … up to `max_delay`. Never a lock: the
    right password works again after at most `max_delay`, so nobody can shut an account
    (or an office behind one NAT address) out by failing on purpose."""
    if failures < free:
        return timedelta(0)
    exponent = min(failures - free, 40)  # 2**40 s is far past any cap; keeps the float sane
    return min(max_delay, timedelta(seconds=2**exponent))


class LoginThrottle:
    """Failed logins per account ("name:…") and per client address ("addr:…"), in the
    `login_throttle` table so that every web process sees the same counts.

    Each failure adds one to its keys' counts (reset when the last failure is older than the
    window) and sets a wait from `delay_after`: the account's after `free` failures, the
    address's after the much higher `address_free`, so a colleague's typos never slow
    another user of the same office address. A try during a wait is refused without being
    counted and without checking the password, so failing on purpose can keep an account
    waiting at most `max_delay` at a time, never lock it. Success clears the account's key,
    not the address's.

    The caller gives a session and commits it on its own: a failed login's answer rolls the
    request back, and the failure must be kept all the same."""

    def __init__(self, policy: ThrottlePolicy) -> None:
        self.policy = policy

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str]:
        return f"name:{name.strip().casefold()}"[:200], f"addr:{address}"[:200]

    def wait(self, session: Session, name: str, address: str, now: datetime) -> timedelta:
        """How long before this name may try again from this address (zero: now)."""
        rows = session.scalars(select(ThrottleRow).where(
            ThrottleRow.key.in_(self.keys(name, address)))).all()
        waits = [r.wait_until - now for r in rows if r.wait_until is not None
                 and r.wait_until > now and now - r.last_failed_at <= self.policy.window]
        return max(waits, default=timedelta(0))

    def failed(self, session: Session, name: str, address: str, now: datetime) -> None:
        # Rows whose last failure left the window are dead weight: dropped here, so the
        # table holds only the failures of one window (a scan of made-up names included).
        session.execute(delete(ThrottleRow).where(
            ThrottleRow.last_failed_at < now - self.policy.window))
        name_key, addr_key = self.keys(name, address)
        for key, free in ((name_key, self.policy.free), (addr_key, self.policy.address_free)):
            # Insert-or-ignore, then update under a row lock (PostgreSQL; SQLite serialises
            # writers): two processes failing the same key at once both count.
            session.execute(insert_ignore(session, ThrottleRow).values(
                key=key, failures=0, last_failed_at=now))
            row = session.scalars(select(ThrottleRow).where(ThrottleRow.key == key)
                                  .with_for_update()).one()
            stale = now - row.last_failed_at > self.policy.window
            row.failures = 1 if stale else row.failures + 1
            row.last_failed_at = now
            delay = delay_after(row.failures, free, self.policy.max_delay)
            row.wait_until = now + delay if delay else None
        session.flush()

    def succeeded(self, session: Session, name: str) -> None:
        session.execute(delete(ThrottleRow).where(
            ThrottleRow.key == self.keys(name, "")[0]))

    @staticmethod
    def tracked(session: Session) -> int:
        """How many keys have failures on record (what the table's size is about)."""
        return len(session.scalars(select(ThrottleRow.key)).all())
