"""ORM models (SQLAlchemy 2, typed). API schemas never live here.

Times are stored in UTC (aware on the way in and out, via UTCDateTime) and shown in
Asia/Shanghai at the edges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
    kind: Mapped[str] = mapped_column(String(20), default="news")  # news|government|weibo|wechat|board
    host: Mapped[str] = mapped_column(String(255), default="")
    interval_s: Mapped[int] = mapped_column(Integer, default=600)
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

    # The database cascades deletes to items and their alerts (ON DELETE CASCADE).
    items: Mapped[list[Item]] = relationship(back_populates="source", passive_deletes=True)


class Item(Base):
    """One entry or post. (source, entry_id) and (source, content_hash) are unique so a re-poll
    or a redelivered task stores nothing twice."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source_id", "entry_id", name="uq_items_source_entry"),
        UniqueConstraint("source_id", "content_hash", name="uq_items_source_hash"),
        Index("ix_items_unanalyzed", "analyzed_at", "fetched_at"),
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
    topics: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)

    source: Mapped[Source] = relationship(back_populates="items")


class Alert(Base):
    """An item flagged for a press officer. One alert per item for now (events come later)."""

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
    created_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column(index=True)

    item: Mapped[Item] = relationship()
