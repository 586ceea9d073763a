"""The desk's tables: alerts (the events flagged for press officers, with their workflow
state), people, credentials, the audit log, outputs and where they were published (the output
log), the policy library, reminders and the mail log. They share the core's metadata
(monitor.models.Base), refer to its items, and are created by the desk's own migration branch
(responders/migrations). Nothing in monitor/ knows these tables.

API schemas never live here (see responders/web/schemas.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.models import Base, Item

ROLES = ("officer", "approver", "admin")
OUTPUT_KINDS = ("回应", "政策解读")
# The channels the office reports on in its annual disclosure report; free text is allowed
# too (e.g. a county portal), these are the ones offered first.
# The open workflow states (responders.workflow.OPEN_ALERT_STATES, which a test keeps equal),
# as the partial queue index's condition.
OPEN_STATES_SQL = "state IN ('new', 'assigned', 'drafting', 'escalated')"
CHANNELS = ("门户网站", "政务微博", "微信公众号", "新闻发布会", "留言板回复", "媒体采访")


class Alert(Base):
    """An event flagged for a press officer: one alert per event, on the event's first item
    (item_id), so alert → item → item.event_id finds the event and its later items."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), unique=True
    )
    priority: Mapped[str] = mapped_column(String(2), index=True)  # P1 | P2 | P3
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    sla_rule: Mapped[str] = mapped_column(String(40))
    # Every deadline of the rule, e.g. first release at +5 h and press conference at +24 h,
    # each with the document it comes from; due_at is the earliest still to meet.
    milestones: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column()  # first sight: when the alert was raised
    due_at: Mapped[datetime] = mapped_column(index=True)
    # When the deadlines run from (responders.sla.SLA.clock): the story's publication time,
    # or first sight. NULL on alerts raised before issue 12, whose clock is created_at.
    clock_from: Mapped[datetime | None] = mapped_column(default=None)
    # The story's earliest usable publication time, shown beside first sight; None unknown.
    story_published_at: Mapped[datetime | None] = mapped_column(default=None)
    # 回溯: first seen more than sla.backfill_hours after publication, so no emergency clock.
    backfill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Press-desk workflow (responders.workflow): who holds the alert and when its state last
    # changed.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    state_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    item: Mapped[Item] = relationship()

    # Issue 15 (reads, desk_0008): the queue is read a page at a time in the order
    # (priority, due_at, id) — P1 < P2 < P3 sorts as text — for one state, for any state, or
    # for the open states (a partial index: a few thousand open rows among a year's alerts);
    # reports and the digest read alerts by when they were raised or last changed state.
    __table_args__ = (
        Index("ix_alerts_queue", "priority", "due_at", "id"),
        Index("ix_alerts_state_queue", "state", "priority", "due_at", "id"),
        Index("ix_alerts_open_queue", "priority", "due_at", "id",
              postgresql_where=text(OPEN_STATES_SQL), sqlite_where=text(OPEN_STATES_SQL)),
        Index("ix_alerts_created_at", "created_at"),
        Index("ix_alerts_state_changed_at", "state_changed_at"),
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    # argon2id encoded hash ($argon2id$v=19$...): parameters travel with the hash.
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    """A bearer token for scripts. Only its SHA-256 is stored: a leaked database leaks no
    usable token (tokens are long random strings, so a plain hash is enough)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # The person the token acts for (issue 14): every rule that holds for them — their role,
    # nobody approves their own text — holds for the token. NULL: a token made before
    # desk_0006, or without --user, which may read the desk but not act on it.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    user: Mapped[User | None] = relationship()


class LoginFailure(Base):
    """Failed logins per key ("name:…" or "addr:…"), shared by every web process: the desk
    may run several, and an in-memory count would let each process grant its own allowance.
    Rows stay small and few: one per name or address that failed within the window, dropped
    when a success or the window clears them (responders.auth.LoginThrottle)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column()
    # No login for this key before then: the growing delay after the free attempts.
    wait_until: Mapped[datetime | None] = mapped_column(default=None)


class WebSession(Base):
    """Server-side browser sessions: logout and role changes take effect at once, and idle
    expiry is decided from last_seen_at. The cookie holds a random token; we keep its hash."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """Append-only (the migration installs triggers refusing UPDATE and DELETE). No foreign
    keys on purpose: the history outlives the rows it describes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "user:wang" or "token:ci"
    entity: Mapped[str] = mapped_column(String(20))  # alert | output | user | source | token
    entity_id: Mapped[int] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20), default=None)
    to_state: Mapped[str | None] = mapped_column(String(20), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Issue 15 (reads, desk_0008): who approved the outputs of a page of the output log.
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


class Output(Base):
    """A response (回应) or policy interpretation (政策解读), drafted from an alert."""

    __tablename__ = "outputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(60), default=None)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    cited_policy_ids: Mapped[list[Any]] = mapped_column(default=list)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    approver_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    review_comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    # Set when the output is the office's own post, recorded in the log from the alert page
    # (responders.voice): unique, so the post is logged once however often it is clicked.
    # No foreign key: the output log outlives the item (a source removed deletes its items).
    own_item_id: Mapped[int | None] = mapped_column(Integer, default=None, unique=True,
                                                    index=True)

    alert: Mapped[Alert | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    publications: Mapped[list[Publication]] = relationship(
        back_populates="output", order_by="Publication.published_at"
    )


class Publication(Base):
    """One row of the output log: an approved output released on one channel."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("output_id", "channel", name="uq_publications_output_channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(60))
    link: Mapped[str | None] = mapped_column(String(2000), default=None)
    published_at: Mapped[datetime] = mapped_column(index=True)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column()

    output: Mapped[Output] = relationship(back_populates="publications")


class Policy(Base):
    """A document of the policy library; the 文号 is the natural key (re-import updates)."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_number: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date | None] = mapped_column(Date, default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)
    source_file: Mapped[str | None] = mapped_column(String(500), default=None)
    imported_at: Mapped[datetime] = mapped_column()


class MailLog(Base):
    """One row per (key, recipient) ever sent, e.g. ("digest:2026-W47", addr): the unique pair
    is the claim that keeps a re-run, a second beat or a retry from sending a second copy
    (responders.mail.deliver_once). States: sending → sent | temporary | permanent | unknown;
    temporary → sending again once next_attempt_at has passed."""

    __tablename__ = "mail_log"
    __table_args__ = (UniqueConstraint("key", "recipient", name="uq_mail_log_key_recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20), default="sending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(300), default=None)
    subject: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    claimed_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)


class Reminder(Base):
    """A deadline reminder, one row per (alert, milestone, recipient): the row is claimed
    before anything is sent, so a repeated beat tick or a redelivered task finds it and sends
    nothing twice. `recipient` is "user:NAME" (e-mail) or "webhook" (the office's generic
    webhook, one per milestone: it is one endpoint, not a person)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("alert_id", "milestone", "recipient",
                         name="uq_reminders_alert_milestone_recipient"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    milestone: Mapped[str] = mapped_column(String(40))
    milestone_name: Mapped[str] = mapped_column(String(100), default="")
    due_at: Mapped[datetime] = mapped_column()
    recipient: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20))        # webhook | email
    address: Mapped[str | None] = mapped_column(String(2000), default=None)
    # pending → sending → sent | failed. "sending" that never finished (the worker died
    # mid-send) stays so: a reminder may be lost then, but is never sent twice; the alert
    # page shows it as "outcome not confirmed", not as queued.
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxMessage(Base):
    """Something to tell people, written in the same transaction as what caused it (a new
    alert, a planned reminder, the week's digest) and sent by responders.drain_outbox
    (responders.outbox): a broker down between the commit and the enqueue loses nothing.
    `key` is unique ("alert:17:P1", "reminder:5:<planned at>", "digest:2026-W47"), so writing
    it twice stores one row. States: pending → sending → sent | failed | unknown; pending
    again (with next_attempt_at) only when nothing can have reached the other side. A row
    left in `sending` (its worker died mid-send) is never sent again by itself."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("key", name="uq_outbox_key"),
                      Index("ix_outbox_due", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))      # alert | reminder | digest
    ref: Mapped[str] = mapped_column(String(100))      # the alert/reminder id, or the week
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class SentimentReview(Base):
    """An officer's judgement of an item's sentiment (issue 19), one per (item, officer): a
    second review by the same person replaces the first. responders.sentiment_reviews owns
    the rows; the desk shows them beside the model's label and `yuqing sentiment
    export-labels` turns the officers' majority into labelled data (migration desk_0014)."""

    __tablename__ = "sentiment_reviews"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id", name="uq_sentiment_reviews_item_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The review goes with its item (a source purged) and with its person: it is a label,
    # not history; the audit log keeps the history.
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(10))  # negative | neutral | positive
    # The engine the item was scored with when reviewed (items.sentiment_engine), if known:
    # corrections of one model are not evidence against the next.
    model_version: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(index=True)


# The disclosure register's tables (issue 20) share this metadata; importing them here makes
# every user of the desk's models see them (migrations, the schema check).
from responders.register.models import (  # noqa: E402,F401
    DisclosureCase,
    DisclosureRequest,
    RequestDocument,
)

# ---------------------------------------------------------------- issue 17: reaching people
# (responders.notify; migration desk_0011)


class NotifyPerson(Base):
    """Someone the notifications reach: a name the roster and the routing rules use, a mobile
    number (SMS, and @-mentions in WeCom/DingTalk groups), an e-mail address, and the names of
    the channels (notify.channels) that reach this person; empty: every channel of the rule."""

    __tablename__ = "notify_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    channels: Mapped[list[Any]] = mapped_column(default=list)


class RosterShift(Base):
    """One line of the on-call roster (值班表): a weekly line (weekday 1 = Monday … 7) or a
    dated exception (on_date), from start to end in the office's zone (end ≤ start: until
    `end` the next morning), for a role in the chain: duty (值班员), leader (带班领导), head
    (办公室主任). Dated lines for a day and role replace that day's weekly lines for the role."""

    __tablename__ = "roster_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)
    on_date: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    start: Mapped[str] = mapped_column(String(5))  # HH:MM
    end: Mapped[str] = mapped_column(String(5))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("notify_people.id", ondelete="CASCADE"), index=True)

    person: Mapped[NotifyPerson] = relationship()


class NotifyDelivery(Base):
    """One message to one channel (and person) about one alert at one step of its chain (0:
    the routed message, 1…: escalations). `key` is unique, so planning twice stores one row.
    States: pending (send_after: quiet hours) → sending → sent | failed | unknown; pending
    again only when the connection was never made. A row left `sending` is never resent."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (UniqueConstraint("key", name="uq_notify_deliveries_key"),
                      Index("ix_notify_deliveries_due", "state", "send_after"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    event_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    priority: Mapped[str] = mapped_column(String(2))
    step: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(100))
    person: Mapped[str] = mapped_column(String(100), default="")  # "" a group, no one person
    mentions: Mapped[list[Any]] = mapped_column(default=list)     # mobiles to @ in a group
    ack_token: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    send_after: Mapped[datetime] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AckToken(Base):
    """A 确认收到 link's token: random, signed (responders.notify.ack), single-use (used_at
    is set by a state-checked UPDATE), expiring. Acknowledging needs no login; the token
    allows that one act and nothing else."""

    __tablename__ = "ack_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    person: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
class Snapshot(Base):
    """Evidence (issue 18): a body kept for an alert's item — `raw` (what the parser saw:
    the entry's XML, the post's JSON) or `page` (the item's link fetched once through the
    safe fetcher) — content-addressed in the evidence store by sha256, with when it was
    fetched and the HTTP status. Written once per (item, kind), never updated: a page that
    could not be fetched is a row with `error` and no hash. No foreign keys, like the audit
    log: evidence outlives the rows it describes."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("item_id", "kind", name="uq_snapshots_item_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # raw | page
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    media_type: Mapped[str | None] = mapped_column(String(120), default=None)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    fetched_at: Mapped[datetime] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text, default=None)
