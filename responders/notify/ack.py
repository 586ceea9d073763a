"""确认收到 links: signed, single-use, expiring, usable from a phone without logging in.

A link carries `alert.expiry.nonce.sig`: the nonce is random (128 bits) and stored
(AckToken), the signature (HMAC-SHA256 under notify.ack_secret, or a key kept in
YUQING_HOME) lets a forged or altered link be refused before any lookup, and the state-
checked UPDATE of used_at makes it single-use. The link acknowledges that one alert and
grants nothing else: no session, no other page.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.models import AckToken


class AckError(InputError):
    """A link that does not acknowledge anything, in words (shown on the phone)."""


@dataclass(frozen=True)
class Acked:
    alert_id: int
    person: str
    step: int


def key_from(secret: str, home: str) -> bytes:
    """The signing key: notify.ack_secret, else a random key made once in YUQING_HOME."""
    if secret:
        return secret.encode()
    path = Path(home) / "notify-ack.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def _sig(key: bytes, alert_id: int, expiry: int, nonce: str) -> str:
    msg = f"ack\n{alert_id}\n{expiry}\n{nonce}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def issue(session: Session, key: bytes, alert_id: int, *, step: int, person: str,
          now: datetime, lifetime: timedelta) -> str:
    """A new token (flushed); the caller puts it in the link."""
    nonce = secrets.token_urlsafe(16)
    expires = now + lifetime
    expiry = int(expires.timestamp())
    session.add(AckToken(nonce=nonce, alert_id=alert_id, step=step, person=person,
                         created_at=now, expires_at=expires))
    session.flush()
    return f"{alert_id}.{expiry}.{nonce}.{_sig(key, alert_id, expiry, nonce)}"


def check(key: bytes, token: str, now: datetime) -> tuple[int, str]:
    """Pure: (alert id, nonce) of a well-formed, correctly signed, unexpired token."""
    parts = token.split(".")
    if len(parts) != 4 or not (parts[0].isascii() and parts[0].isdigit()
                               and parts[1].isascii() and parts[1].isdigit()):
        raise AckError("这个确认链接不完整或已损坏 (the link is malformed)")
    alert_id, expiry, nonce, sig = int(parts[0]), int(parts[1]), parts[2], parts[3]
    if alert_id > 2**62 or expiry > 2**40:
        raise AckError("这个确认链接不完整或已损坏 (the link is malformed)")
    if not hmac.compare_digest(sig, _sig(key, alert_id, expiry, nonce)):
        raise AckError("这个确认链接无效 (the link's signature does not match)")
    if now.timestamp() >= expiry:
        raise AckError("这个确认链接已过期 (the link has expired)")
    return alert_id, nonce


def peek(session: Session, key: bytes, token: str, now: datetime) -> AckToken:
    """The token's row if the link is valid and unused (for the confirmation page)."""
    _, nonce = check(key, token, now)
    row = session.scalar(select(AckToken).where(AckToken.nonce == nonce))
    if row is None:
        raise AckError("这个确认链接无效 (unknown link)")
    if row.used_at is not None:
        raise AckError("这个确认链接已经用过 (the link was already used)")
    return row


def use(session: Session, key: bytes, token: str, now: datetime) -> Acked:
    """Spend the token (flush): exactly one of two concurrent uses wins."""
    row = peek(session, key, token, now)
    won = session.execute(
        update(AckToken).where(AckToken.id == row.id, AckToken.used_at.is_(None),
                               AckToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise AckError("这个确认链接已经用过 (the link was already used)")
    session.flush()
    return Acked(row.alert_id, row.person, row.step)


def acknowledged_at(session: Session, alert_id: int) -> datetime | None:
    return session.scalar(select(func.min(AckToken.used_at)).where(
        AckToken.alert_id == alert_id, AckToken.used_at.is_not(None)))


