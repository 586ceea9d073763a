"""Sending mail robustly: SMTP outcomes classified, and each (key, recipient) sent at most once.

`send` speaks SMTP and never raises for what the server or the network does; it says what
happened in a `Delivery`:

- sent       — the server answered 250 to the end of DATA;
- temporary  — a 4xx reply, or the connection failed before the message was complete: the
               server cannot have accepted it, so trying again later is safe;
- permanent  — a 5xx reply (bad address, refused login, policy): trying again will not help;
- unknown    — the whole message went out but the connection died before the server's
               reply. The server may well have queued it; resending could duplicate it, so it
               is recorded for a person to check, never resent by itself.

`deliver_once` adds the mail log (responders.models.MailLog): the (key, recipient) row is
claimed — inserted, or moved from a due `temporary` state — and committed *before* the SMTP
conversation, so a second beat, a re-run or a redelivered task finds the claim and sends
nothing. No web or Celery imports: the desk, the tasks and the CLI all use this module.
"""

from __future__ import annotations

import copy
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.settings import Settings
from responders.models import MailLog

# The values monitor.settings_schema accepts for smtp.security.
Security = Literal["none", "starttls", "tls"]
Status = Literal["sent", "temporary", "permanent", "unknown"]

# Retry schedule for temporary failures: 2, 4, 8 … minutes, capped at an hour; after this
# many attempts the mail is given up (recorded as permanent, with the last reply).
MAX_ATTEMPTS = 8
_FIRST_DELAY = timedelta(minutes=2)
_MAX_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    user: str | None
    password: str | None
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        """From the `smtp:` section (YUQING_SMTP_*) and `digest.from` (YUQING_DIGEST_FROM),
        checked when the settings were loaded (monitor.settings_schema)."""
        smtp = settings.smtp
        security = cast(Security, smtp.security.strip().lower())
        sender = settings.digest.from_.strip()
        if not sender:
            # A From is required by RFC 5322; a local default keeps a dev setup working.
            sender = f"yuqing@{socket.getfqdn() or 'localhost'}"
        return cls(host=smtp.host, port=smtp.port, security=security, user=smtp.user or None,
                   password=smtp.password or None, sender=sender, timeout=smtp.timeout)


@dataclass(frozen=True)
class Delivery:
    status: Status
    code: int | None
    detail: str
    # True when nothing was sent this time because the mail log already holds an outcome (or
    # another process holds the claim); status and code are then the recorded ones.
    skipped: bool = False


def _classify(code: int, text: str) -> Delivery:
    if 200 <= code < 300:
        return Delivery("sent", code, text)
    if 400 <= code < 500:
        return Delivery("temporary", code, text)
    if 500 <= code < 600:
        return Delivery("permanent", code, text)
    # Not a valid final reply: treat as a hiccup before acceptance.
    return Delivery("temporary", code, text or "unexpected reply")


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


def envelope_recipients(message: EmailMessage) -> list[str]:
    """Addresses from To, Cc and Bcc (Bcc is not sent as a header)."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [addr for _, addr in getaddresses(fields) if addr]


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF lines, Bcc dropped, leading dots doubled."""
    msg = message
    if msg.get_all("Bcc"):
        msg = copy.deepcopy(message)
        del msg["Bcc"]
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    conn: smtplib.SMTP
    if smtp.security == "tls":
        conn = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    conn.ehlo_or_helo_if_needed()
    if smtp.security == "starttls":
        # Raises SMTPNotSupportedError when the server does not offer it: we never fall back
        # to sending the password and the text in the clear.
        conn.starttls(context=context)
        conn.ehlo()
    if smtp.user:
        conn.login(smtp.user, smtp.password or "")
    return conn


def send(message: EmailMessage, smtp: SmtpSettings,
         recipients: Sequence[str] | None = None) -> Delivery:
    """Send one message; never raises for SMTP or network outcomes (see the module doc).

    `recipients` is the envelope (default: To, Cc and Bcc). With several recipients, any
    refused one makes the whole delivery fail: deliver_once sends to one at a time.
    """
    rcpts = list(recipients) if recipients is not None else envelope_recipients(message)
    if not rcpts:
        return Delivery("permanent", None, "no recipient address")
    if message["From"] is None:
        message["From"] = smtp.sender
    sender = getaddresses([str(message["From"])])[0][1] or smtp.sender
    data_sent = False
    conn: smtplib.SMTP | None = None
    try:
        conn = _connect(smtp)
        # Headers are RFC 2047-encoded by the email package, so no SMTPUTF8 is needed.
        code, resp = conn.mail(sender)
        if code != 250:
            return _classify(code, f"MAIL FROM refused: {_reply_text(resp)}")
        for rcpt in rcpts:
            code, resp = conn.rcpt(rcpt)
            if code not in (250, 251):
                return _classify(code, f"RCPT TO <{rcpt}> refused: {_reply_text(resp)}")
        code, resp = conn.docmd("DATA")
        if code != 354:
            return _classify(code, f"DATA refused: {_reply_text(resp)}")
        conn.send(_wire_bytes(message))
        # From here the server holds the whole message; losing the reply leaves it unknown.
        data_sent = True
        code, resp = conn.getreply()
        return _classify(code, _reply_text(resp))
    except smtplib.SMTPServerDisconnected as exc:
        if data_sent:
            return Delivery("unknown", None, f"connection lost after the message was sent, "
                            f"before the server's answer ({exc}); not resent automatically")
        return Delivery("temporary", None, f"connection lost before the message was "
                        f"accepted: {exc}")
    except smtplib.SMTPNotSupportedError as exc:
        return Delivery("permanent", None, f"the server does not offer STARTTLS: {exc}")
    except smtplib.SMTPResponseException as exc:  # connect, STARTTLS or login replies
        return _classify(exc.smtp_code, _reply_text(exc.smtp_error))
    except ssl.SSLCertVerificationError as exc:
        return Delivery("permanent", None, f"the server's TLS certificate is not trusted: "
                        f"{exc.verify_message}")
    except smtplib.SMTPException as exc:  # e.g. no AUTH method both sides know: settings
        return Delivery("permanent", None, f"SMTP error: {exc}")
    except OSError as exc:
        if data_sent:
            return Delivery("unknown", None, f"connection failed after the message was sent: "
                            f"{exc}; not resent automatically")
        what = exc.strerror or str(exc)
        return Delivery("temporary", None, f"cannot reach {smtp.host}:{smtp.port}: "
                        f"{what or type(exc).__name__}")
    finally:
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


# ---------------------------------------------------------------- at most once per recipient


def retry_delay(attempts: int) -> timedelta | None:
    """Pure: the wait before attempt `attempts + 1` after a temporary failure, or None when
    `attempts` is the last one allowed."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(_FIRST_DELAY * (1 << max(attempts - 1, 0)), _MAX_DELAY)


def stable_message_id(key: str, recipient: str, domain: str = "yuqing.local") -> str:
    """The same Message-ID for the same (key, recipient): should a person resend an
    `unknown` mail, the receiving side can tell it is the same message."""
    digest = hashlib.sha256(f"{key}\n{recipient}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _recorded(row: MailLog, skipped: bool = True) -> Delivery:
    status = row.state if row.state in ("sent", "temporary", "permanent") else "unknown"
    detail = row.detail
    if row.state == "sending":
        detail = ("another process claimed this mail at "
                  f"{row.claimed_at.isoformat()} and has not recorded an outcome")
    return Delivery(cast(Status, status), row.code, detail, skipped=skipped)


@dataclass(frozen=True)
class _Claim:
    """The mail log row we hold in state `sending`, as plain values: after the claim's commit
    the session is not touched again until the SMTP conversation is over."""

    id: int
    attempts: int  # including this attempt


def _claim(session: Session, key: str, recipient: str, subject: str, message_id: str,
           now: datetime) -> _Claim | None:
    """Take the (key, recipient) claim and commit it; None when it is not ours to send (the
    read that tells is left open for the caller to report from)."""
    session.execute(insert_ignore(session, MailLog.__table__).values(
        key=key, recipient=recipient, state="claiming", attempts=0, detail="",
        subject=subject, created_at=now, claimed_at=now))
    session.commit()
    # Columns, not the ORM row: a MailLog already in this session's identity map would not be
    # refreshed by the SELECT, and its stale state would misjudge whether the mail is due.
    row = session.execute(select(MailLog.id, MailLog.state, MailLog.attempts,
                                 MailLog.next_attempt_at)
                          .where(MailLog.key == key, MailLog.recipient == recipient)).one()
    due = row.state == "claiming" or (
        row.state == "temporary" and row.next_attempt_at is not None
        and row.next_attempt_at <= now)
    if not due:
        return None
    # State-checked: of two processes that both read "claiming" or a due "temporary", the
    # UPDATE lets exactly one through (attempts is part of the check).
    won = session.execute(
        update(MailLog)
        .where(MailLog.id == row.id, MailLog.state == row.state,
               MailLog.attempts == row.attempts)
        .values(state="sending", attempts=row.attempts + 1, claimed_at=now,
                next_attempt_at=None, message_id=message_id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    if won != 1:
        return None
    return _Claim(id=row.id, attempts=row.attempts + 1)


def _outcome_values(delivery: Delivery, attempts: int,
                    now: datetime) -> tuple[Delivery, dict[str, object]]:
    """Pure: the mail log's columns after `delivery`, and the delivery as reported (a
    temporary failure on the last allowed attempt is given up as permanent)."""
    values: dict[str, object] = {"code": delivery.code, "detail": delivery.detail[:2000],
                                 "finished_at": now, "state": delivery.status}
    if delivery.status == "temporary":
        wait = retry_delay(attempts)
        if wait is None:
            detail = f"gave up after {attempts} attempts; last: {values['detail']}"
            values.update(state="permanent", detail=detail)
            delivery = replace(delivery, status="permanent", detail=detail)
        else:
            values["next_attempt_at"] = now + wait
    return delivery, values


def deliver_once(session: Session, *, key: str, recipient: str, message: EmailMessage,
                 smtp: SmtpSettings, now: datetime,
                 transport: Callable[[EmailMessage, SmtpSettings, Sequence[str]], Delivery]
                 = send) -> Delivery:
    """Send `message` to `recipient` unless the mail log says (key, recipient) was already
    sent, failed for good, is in doubt, or waits for its retry time.

    This function commits `session`: the claim before talking to the server, the outcome
    after, in a transaction of its own. A mail that went out cannot be rolled back, so its
    record must not depend on the caller's commit; and no transaction is open during the
    SMTP conversation (up to smtp.timeout per reply), so a slow server holds no database
    locks or snapshot. Call it with no unrelated changes pending; it returns with no
    transaction open.
    """
    subject = str(message["Subject"] or "")
    message_id = str(message["Message-ID"] or stable_message_id(key, recipient))
    claim = _claim(session, key, recipient, subject, message_id, now)
    if claim is None:
        existing = session.scalars(select(MailLog).where(
            MailLog.key == key, MailLog.recipient == recipient)
            .execution_options(populate_existing=True)).one()
        recorded = _recorded(existing)
        session.commit()  # end the read: the caller may go on to talk to a server
        return recorded
    if message["Message-ID"] is None:
        message["Message-ID"] = message_id
    delivery = transport(message, smtp, [recipient])
    delivery, values = _outcome_values(delivery, claim.attempts, now)
    session.execute(update(MailLog).where(MailLog.id == claim.id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()
    return delivery


def next_retry_at(session: Session, key: str) -> datetime | None:
    """The earliest time a temporary failure under `key` may be retried (None: none waits)."""
    return session.scalar(select(MailLog.next_attempt_at).where(
        MailLog.key == key, MailLog.state == "temporary").order_by(MailLog.next_attempt_at))


def mail_log(session: Session, *, key_prefix: str | None = None,
             limit: int = 200) -> list[MailLog]:
    """Newest first: what was sent, what failed and why (shown by `yuqing digest log`)."""
    q = select(MailLog).order_by(MailLog.claimed_at.desc(), MailLog.id.desc()).limit(limit)
    if key_prefix:
        q = q.where(MailLog.key.startswith(key_prefix, autoescape=True))
    return list(session.scalars(q).all())
