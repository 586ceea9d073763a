"""responders.mail against a real SMTP server on loopback (aiosmtpd, started by the test):
each outcome class, and at most one copy per (key, recipient) whatever happens."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from monitor.settings import load_settings
from responders.mail import (
    MAX_ATTEMPTS,
    Delivery,
    SmtpSettings,
    deliver_once,
    retry_delay,
    send,
    stable_message_id,
)
from responders.models import MailLog
from tests.support.transactions import TransactionWatch

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ScriptedHandler:
    """Replies to the end of DATA from a script: "250 …", "451 …", "550 …", or "drop" (the
    message is taken, then the connection is closed before any reply). `rcpt` scripts the
    RCPT replies the same way, with "drop" closing the connection before DATA."""

    data: list[str] = field(default_factory=list)
    rcpt: list[str] = field(default_factory=list)
    received: list[Any] = field(default_factory=list)   # envelopes the server kept
    data_attempts: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        act = self.rcpt.pop(0) if self.rcpt else "250 OK"
        if act == "drop":
            server.transport.close()
            return "250 OK"
        if act.startswith("250"):
            envelope.rcpt_tos.append(address)
        return act

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        act = self.data.pop(0) if self.data else "250 2.0.0 queued"
        if act == "drop":
            # The server has the message (it would deliver it); the client never hears so.
            self.received.append(envelope)
            server.transport.close()
            return "250 OK"
        if act.startswith("250"):
            self.received.append(envelope)
        return act

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content, policy=policy.default)  # type: ignore[misc]
                for e in self.received]


@dataclass
class SmtpServer:
    handler: ScriptedHandler
    port: int

    def settings(self, **kw: Any) -> SmtpSettings:
        base = {"host": "127.0.0.1", "port": self.port, "security": "none", "user": None,
                "password": None, "sender": "yuqing@sft.example.gov.cn", "timeout": 5.0}
        base.update(kw)
        return SmtpSettings(**base)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()


def message(to: str = "chief@sft.example.gov.cn") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "舆情周报 2026-W47"
    msg["From"] = "河南省司法厅舆情 <yuqing@sft.example.gov.cn>"
    msg["To"] = to
    msg.set_content("本周舆情概况：共 120 条。\n.以点开头的一行\n")
    return msg


def log_rows(sessions: Any) -> list[MailLog]:
    with sessions() as s:
        return list(s.scalars(select(MailLog).order_by(MailLog.id)).all())


# ---------------------------------------------------------------- send(): outcome classes


def test_send_delivers_the_message_intact(smtp_server: SmtpServer) -> None:
    d = send(message(), smtp_server.settings())
    assert d.status == "sent" and d.code == 250
    (got,) = smtp_server.handler.messages()
    assert got["Subject"] == "舆情周报 2026-W47"
    # A line starting with a dot survives SMTP's dot-stuffing.
    assert got.get_content().replace("\r\n", "\n") == "本周舆情概况：共 120 条。\n.以点开头的一行\n"
    assert smtp_server.handler.received[0].rcpt_tos == ["chief@sft.example.gov.cn"]


def test_bcc_is_an_envelope_recipient_but_not_a_header(smtp_server: SmtpServer) -> None:
    msg = message()
    msg["Bcc"] = "archive@sft.example.gov.cn"
    assert send(msg, smtp_server.settings()).status == "sent"
    env = smtp_server.handler.received[0]
    assert env.rcpt_tos == ["chief@sft.example.gov.cn", "archive@sft.example.gov.cn"]
    assert "archive@" not in env.original_content.decode()


@pytest.mark.parametrize(("script", "status", "code"), [
    (["451 4.7.1 greylisted, try again later"], "temporary", 451),
    (["550 5.1.1 mailbox unavailable"], "permanent", 550),
    (["drop"], "unknown", None),
])
def test_reply_to_data_is_classified(smtp_server: SmtpServer, script: list[str], status: str,
                                     code: int | None) -> None:
    smtp_server.handler.data = list(script)
    d = send(message(), smtp_server.settings())
    assert (d.status, d.code) == (status, code)


def test_refused_recipient_is_permanent_and_no_data_is_sent(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt = ["550 5.1.1 no such user"]
    d = send(message(), smtp_server.settings())
    assert (d.status, d.code) == ("permanent", 550)
    assert "RCPT" in d.detail and smtp_server.handler.data_attempts == 0


def test_drop_before_data_is_temporary(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt = ["drop"]
    d = send(message(), smtp_server.settings())
    assert d.status == "temporary"
    assert smtp_server.handler.received == []


def test_nothing_listening_is_temporary() -> None:
    smtp = SmtpSettings("127.0.0.1", free_port(), "none", None, None, "a@b.example", 3.0)
    d = send(message(), smtp)
    assert d.status == "temporary" and "cannot reach" in d.detail


def test_starttls_required_but_not_offered_is_permanent(smtp_server: SmtpServer) -> None:
    # Never fall back to clear text when the settings ask for STARTTLS.
    d = send(message(), smtp_server.settings(security="starttls"))
    assert d.status == "permanent" and "STARTTLS" in d.detail
    assert smtp_server.handler.received == []


# ---------------------------------------------------------------- deliver_once(): one copy


def test_451_then_success_sends_one_copy(smtp_server: SmtpServer, sessions: Any) -> None:
    smtp_server.handler.data = ["451 4.7.1 greylisted"]
    smtp = smtp_server.settings()
    kw = {"key": "digest:2026-W47", "recipient": "chief@sft.example.gov.cn", "smtp": smtp}
    with sessions() as s:
        first = deliver_once(s, message=message(), now=NOW, **kw)
    assert first.status == "temporary" and not first.skipped
    (row,) = log_rows(sessions)
    assert row.state == "temporary" and row.next_attempt_at == NOW + retry_delay(1)

    with sessions() as s:  # too early: waits for its retry time, sends nothing
        early = deliver_once(s, message=message(), now=NOW + timedelta(seconds=30), **kw)
    assert early.skipped and early.status == "temporary"
    assert smtp_server.handler.data_attempts == 1

    later = NOW + timedelta(minutes=5)
    with sessions() as s:
        second = deliver_once(s, message=message(), now=later, **kw)
    assert second.status == "sent" and not second.skipped
    with sessions() as s:  # and never again
        third = deliver_once(s, message=message(), now=later + timedelta(days=1), **kw)
    assert third.skipped and third.status == "sent"
    assert len(smtp_server.handler.received) == 1
    (row,) = log_rows(sessions)
    assert (row.state, row.attempts, row.code) == ("sent", 2, 250)
    got = smtp_server.handler.messages()[0]
    assert got["Message-ID"] == stable_message_id("digest:2026-W47", "chief@sft.example.gov.cn")


def test_550_is_recorded_and_not_retried(smtp_server: SmtpServer, sessions: Any) -> None:
    smtp_server.handler.data = ["550 5.7.1 rejected by policy"]
    kw = {"key": "digest:2026-W47", "recipient": "chief@sft.example.gov.cn",
          "smtp": smtp_server.settings()}
    with sessions() as s:
        d = deliver_once(s, message=message(), now=NOW, **kw)
    assert (d.status, d.code) == ("permanent", 550)
    with sessions() as s:
        again = deliver_once(s, message=message(), now=NOW + timedelta(days=2), **kw)
    assert again.skipped and again.status == "permanent" and again.code == 550
    assert smtp_server.handler.data_attempts == 1
    (row,) = log_rows(sessions)
    assert row.state == "permanent" and "rejected by policy" in row.detail
    assert row.next_attempt_at is None


def test_drop_after_data_is_unknown_and_never_resent(smtp_server: SmtpServer,
                                                     sessions: Any) -> None:
    smtp_server.handler.data = ["drop"]
    kw = {"key": "digest:2026-W47", "recipient": "chief@sft.example.gov.cn",
          "smtp": smtp_server.settings()}
    with sessions() as s:
        d = deliver_once(s, message=message(), now=NOW, **kw)
    assert d.status == "unknown"
    for hours in (1, 24, 24 * 30):
        with sessions() as s:
            again = deliver_once(s, message=message(), now=NOW + timedelta(hours=hours), **kw)
        assert again.skipped and again.status == "unknown"
    assert smtp_server.handler.data_attempts == 1
    assert len(smtp_server.handler.received) == 1   # the one copy the server did take
    (row,) = log_rows(sessions)
    assert row.state == "unknown" and "not resent" in row.detail


def test_each_recipient_and_key_is_its_own_claim(smtp_server: SmtpServer,
                                                 sessions: Any) -> None:
    smtp = smtp_server.settings()
    pairs = [("digest:2026-W47", "a@x.example"), ("digest:2026-W47", "b@x.example"),
             ("digest:2026-W48", "a@x.example")]
    for _ in range(2):
        for key, rcpt in pairs:
            with sessions() as s:
                deliver_once(s, key=key, recipient=rcpt, message=message(rcpt), smtp=smtp,
                             now=NOW)
    assert len(smtp_server.handler.received) == 3


def test_a_claim_held_by_another_process_is_not_sent(sessions: Any) -> None:
    calls: list[str] = []

    def transport(msg: EmailMessage, smtp: SmtpSettings, rcpts: Any) -> Delivery:
        calls.append(rcpts[0])
        # While "we" talk to the server, a second beat runs the same delivery.
        with sessions() as other:
            inner = deliver_once(other, key="k", recipient="a@x.example", message=message(),
                                 smtp=smtp, now=NOW)
        assert inner.skipped and inner.status == "unknown"
        assert "another process" in inner.detail
        return Delivery("sent", 250, "ok")

    smtp = SmtpSettings("127.0.0.1", 25, "none", None, None, "a@b.example", 3.0)
    with sessions() as s:
        d = deliver_once(s, key="k", recipient="a@x.example", message=message(), smtp=smtp,
                         now=NOW, transport=transport)
    assert d.status == "sent" and calls == ["a@x.example"]


def test_no_transaction_is_open_while_talking_to_the_server(sessions: Any) -> None:
    """The claim is committed before the SMTP conversation and the outcome written after it
    in a transaction of its own; deliver_once returns with none open, whatever it did."""
    seen: list[tuple[int, bool]] = []

    def transport(msg: EmailMessage, smtp: SmtpSettings, rcpts: Any) -> Delivery:
        seen.append((watch.open_now(), s.in_transaction()))
        return Delivery("temporary", 451, "4.7.1 greylisted") if len(seen) == 1 else \
            Delivery("sent", 250, "ok")

    smtp = SmtpSettings("127.0.0.1", 25, "none", None, None, "a@b.example", 3.0)
    kw: dict[str, Any] = {"key": "k", "recipient": "a@x.example", "smtp": smtp,
                          "transport": transport}
    with TransactionWatch(sessions.kw["bind"]) as watch, sessions() as s:
        # A read already open in the caller's session (as digest_for leaves one).
        s.scalars(select(MailLog)).all()
        assert deliver_once(s, message=message(), now=NOW, **kw).status == "temporary"
        assert not s.in_transaction()
        waiting = deliver_once(s, message=message(), now=NOW + timedelta(seconds=1), **kw)
        assert waiting.skipped and not s.in_transaction()
        retried = deliver_once(s, message=message(), now=NOW + timedelta(hours=1), **kw)
        assert retried.status == "sent" and not s.in_transaction()
    assert seen == [(0, False), (0, False)]
    (row,) = log_rows(sessions)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.message_id == stable_message_id("k", "a@x.example")


def test_temporary_failures_give_up_after_the_last_attempt(sessions: Any) -> None:
    attempts = 0

    def transport(msg: EmailMessage, smtp: SmtpSettings, rcpts: Any) -> Delivery:
        nonlocal attempts
        attempts += 1
        return Delivery("temporary", 421, "4.3.2 service not available")

    smtp = SmtpSettings("127.0.0.1", 25, "none", None, None, "a@b.example", 3.0)
    now = NOW
    results = []
    for _ in range(MAX_ATTEMPTS + 3):
        with sessions() as s:
            results.append(deliver_once(s, key="k", recipient="a@x.example",
                                        message=message(), smtp=smtp, now=now,
                                        transport=transport))
        now += timedelta(hours=2)
    assert attempts == MAX_ATTEMPTS
    assert results[MAX_ATTEMPTS - 1].status == "permanent"
    assert "gave up after" in results[-1].detail and results[-1].skipped


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 2), (2, 4), (3, 8), (6, 60), (7, 60)])
def test_retry_delay_doubles_up_to_an_hour(attempts: int, minutes: int) -> None:
    assert retry_delay(attempts) == timedelta(minutes=minutes)


def test_retry_delay_stops_at_the_last_attempt() -> None:
    assert retry_delay(MAX_ATTEMPTS) is None


# ---------------------------------------------------------------- settings


def test_smtp_settings_from_env(tmp_path: Any) -> None:
    s = load_settings(env={"YUQING_SMTP_HOST": "mail.example.gov.cn", "YUQING_SMTP_PORT": "465",
                           "YUQING_SMTP_SECURITY": "tls", "YUQING_SMTP_USER": "yq",
                           "YUQING_SMTP_PASSWORD": "pw", "YUQING_DIGEST_FROM": "yq@example.gov.cn",
                           "YUQING_DIGEST_TO": "a@x.example, b@x.example"})
    smtp = SmtpSettings.from_settings(s)
    assert smtp == SmtpSettings("mail.example.gov.cn", 465, "tls", "yq", "pw",
                                "yq@example.gov.cn", 30.0)
    assert s.digest.to == ("a@x.example", "b@x.example")


def test_smtp_settings_refuse_an_unknown_security() -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="starttls"):
        SmtpSettings.from_settings(load_settings(env={"YUQING_SMTP_SECURITY": "ssl"}))
