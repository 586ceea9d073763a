"""ORM models (SQLAlchemy 2, typed). API schemas never live here.

Times are stored in UTC (aware on the way in and out, via UTCDateTime) and shown in
Asia/Shanghai at the edges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out — SQLite keeps no zone, PostgreSQL does."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a zone first")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A feed or account we poll. Poller state lives on the row (DESIGN principle 7)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    # news | government | weibo | wechat | board | push (filled by import/push, never polled)
    kind: Mapped[str] = mapped_column(String(20), default="news")
    host: Mapped[str] = mapped_column(String(255), default="")
    # Seconds between polls: given by the source's definition (else poll.default_interval).
    interval_s: Mapped[int] = mapped_column(Integer)
    # Explicit per-source permission to fetch a loopback/private address (e.g. the demo
    # server or an intranet crawler); off by default so a pasted URL cannot reach the LAN.
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(String(500), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    # A recoverable oddity of the last successful poll (e.g. a wrong declared encoding).
    last_warning: Mapped[str | None] = mapped_column(Text, default=None)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()
    # Kind-specific settings: a JSON API's field mapping, a Weibo search query (see
    # monitor/social and docs/sources.md). Empty for plain feeds.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # sha256 of the push token for POST /api/v1/ingest; the token itself is never stored.
    ingest_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set when a source that usually yields items has gone quiet for several intervals
    # (bridges break silently); cleared by the next poll that brings new items.
    silent_since: Mapped[datetime | None] = mapped_column(default=None)

    # The database cascades deletes to items and their alerts (ON DELETE CASCADE).
    items: Mapped[list[Item]] = relationship(back_populates="source", passive_deletes=True)


class Item(Base):
    """One entry or post. (source, entry_id) and (source, content_hash) are unique so a re-poll
    or a redelivered task stores nothing twice. content_hash is the content dedup key: the
    text's hash, with the platform's post id mixed in when there is one (monitor.ingest)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source_id", "entry_id", name="uq_items_source_entry"),
        UniqueConstraint("source_id", "content_hash", name="uq_items_source_hash"),
        Index("ix_items_unanalyzed", "analyzed_at", "fetched_at"),
        # a platform's post id across sources (monitor.ingest.PLATFORM_IDS)
        Index("ix_items_entry_id", "entry_id"),
        # Issue 15 (reads): the daily chart, the digest and retention read items by first
        # sight (core_0006).
        Index("ix_items_fetched_at", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(2000), default=None)
    author: Mapped[str | None] = mapped_column(String(300), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    fetched_at: Mapped[datetime] = mapped_column()
    analyzed_at: Mapped[datetime | None] = mapped_column(default=None)
    # How many analyses were committed for this item: stays 1 when redelivery is idempotent.
    analysis_runs: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), default=None)
    sentiment_engine: Mapped[str | None] = mapped_column(String(40), default=None)
    # The three classes' probabilities from an engine that has a neutral class (None from a
    # binary engine, and for items analysed before core_0010): their means are a period's
    # class shares, and p_positive − p_negative its balance (monitor.sentiment.base).
    sentiment_p_negative: Mapped[float | None] = mapped_column(Float, default=None)
    sentiment_p_neutral: Mapped[float | None] = mapped_column(Float, default=None)
    sentiment_p_positive: Mapped[float | None] = mapped_column(Float, default=None)
    # The model version that scored it (monitor.sentiment.registry: "shipped" or a
    # registered version), so a retrain's effect can be told item by item; None from an
    # engine without versions and for items analysed before core_0011.
    sentiment_model: Mapped[str | None] = mapped_column(String(60), default=None)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    # Events (issue 3): the near-duplicate cluster this item belongs to, set at analysis.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL", use_alter=True), default=None,
        index=True)
    # The id the platform gave the post (Weibo id, an imported row's `id`); entry_id may be
    # a link or a hash, this is what a press officer can look up.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    reposts: Mapped[int | None] = mapped_column(Integer, default=None)
    comments: Mapped[int | None] = mapped_column(Integer, default=None)
    likes: Mapped[int | None] = mapped_column(Integer, default=None)
    # A repost names its original (the platform's id) so it joins the original's event even
    # when it adds no text of its own ("转发微博").
    repost_of: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    original_link: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Bottom-k MinHash sketch of the normalised text (monitor.events.signature).
    signature: Mapped[list[Any] | None] = mapped_column(default=None)
    # Kind-specific fields kept as given: a board message's region, domain, reply state …
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source: Mapped[Source] = relationship(back_populates="items")


class Event(Base):
    """One story as a press officer sees it: near-duplicate items (reposts, rewrites by
    other outlets) grouped, with their reach and whether they are bursting."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"), unique=True, default=None)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    source_ids: Mapped[list[Any]] = mapped_column(default=list)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)
    negative_count: Mapped[int] = mapped_column(Integer, default=0)
    scored_count: Mapped[int] = mapped_column(Integer, default=0)
    negative_share: Mapped[float] = mapped_column(Float, default=0.0)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    signature: Mapped[list[Any]] = mapped_column(default=list)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    burst: Mapped[bool] = mapped_column(Boolean, default=False)
    burst_reason: Mapped[str | None] = mapped_column(Text, default=None)
    priority: Mapped[str | None] = mapped_column(String(2), default=None, index=True)
    # The highest priority of its items' own flagging decisions, before escalation: kept so
    # a burst raises the priority once, not once more with every batch that arrives.
    base_priority: Mapped[str | None] = mapped_column(String(2), default=None)
    # "event" for stories; "message" for a citizen's message on a board, which needs a reply;
    # "merged" for an event a bridging post showed to be part of another (merged_into).
    kind: Mapped[str] = mapped_column(String(20), default="event")
    # The story profile (monitor.stories): term → weight, the sum of its posts' vectors.
    story_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # The attach batch that last wrote the event (monitor.event_store.attach, under its
    # lock, so the numbers grow in commit order): a worker that read the candidate index
    # before taking the lock re-reads only the events written since (core_0012).
    changed_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0",
                                             index=True)

    first_item: Mapped[Item | None] = relationship(foreign_keys=[first_item_id])


class EventTerm(Base):
    """The candidate index: an event filed under its profile's strongest terms, with its
    last sighting, so a new post is compared only with events that share a term and are
    recent (monitor.event_store), never with every stored event."""

    __tablename__ = "event_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)  # a hashtag may be long
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True)
    last_seen_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_event_terms_term_last_seen_at", "term", "last_seen_at"),)


class BurstCount(Base):
    """Items per hour of one event or one topic (monitor.counters): the burst test's
    baselines, kept incrementally so that no analysis scans stored items."""

    __tablename__ = "burst_counts"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "event" | "topic"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)   # event id or topic id
    hour: Mapped[datetime] = mapped_column(primary_key=True)         # UTC, start of the hour
    count: Mapped[int] = mapped_column(Integer, default=0)


# -- Evidence (issue 18) -------------------------------------------------------------------


class ItemRaw(Base):
    """The raw body an item was parsed from (the feed entry's XML, the Weibo status JSON, the
    board thread JSON), written at ingest for new items only, in a side table so the hot
    `items` table keeps its width. Read when an item becomes part of an alert
    (responders.evidence); never updated."""

    __tablename__ = "item_raw"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(60))  # application/xml | application/json
    body: Mapped[str] = mapped_column(Text)


class ItemGone(Base):
    """An item found deleted (已删除) by a re-check of an alerted item's link, with when it
    was noticed and what said so (HTTP 404/410, the platform's 已被发布者删除 page)."""

    __tablename__ = "item_gone"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300))


class CoverageGap(Base):
    """A span when a source could not be watched (监测盲区): `failing` from its last good
    poll until the next, `silent` from when it went quiet until it brought items again.
    Open while ended_at is null. Written by monitor.coverage from apply_poll."""

    __tablename__ = "coverage_gaps"
    __table_args__ = (Index("ix_coverage_gaps_source_open", "source_id", "ended_at"),
                      Index("ix_coverage_gaps_started_at", "started_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # failing | silent
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
