"""The output log: every published output, one row per channel — what the office counts
from at the end of the year — and its CSV/JSON export."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session, joinedload

from monitor.errors import InputError
from monitor.models import UTCDateTime
from responders.models import AuditEntry, Output, Publication


@dataclass(frozen=True)
class LogRow:
    publication_id: int
    published_at: datetime
    channel: str
    link: str | None
    kind: str
    title: str
    output_id: int
    alert_id: int | None
    author: str | None
    approver: str | None
    recorded_by: str


COLUMNS = ("publication_id", "published_at", "channel", "link", "kind", "title",
           "output_id", "alert_id", "author", "approver", "recorded_by")


@dataclass(frozen=True)
class LogCursor:
    """Where a page of the log ends (newest first): its last row's published_at and id."""

    published_at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.published_at.timestamp() * 1_000_000)}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> LogCursor:
        try:
            micros, ident = (text or "").split("_")
            cursor = cls(datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(ident))
        except ValueError:
            raise InputError(f"not a log position: {text!r} (use the next-page link)") from None
        if cursor.id < 1:
            raise InputError(f"not a log position: {text!r} (use the next-page link)")
        return cursor


def _log_query(q: Any, year: int | None, channel: str | None, kind: str | None,
               tz: str) -> Any:
    if year:
        # The office's year, as a range on the indexed column (not EXTRACT, which scans).
        zone = ZoneInfo(tz)
        # Year 1 in the office's zone begins before datetime's range in UTC, and year 9999
        # has no next year: those ends stay open (a 400 is for what cannot be read, and
        # these are only years without publications).
        lo = (datetime(year, 1, 1, tzinfo=zone) if year > MINYEAR
              else datetime.min.replace(tzinfo=UTC))
        hi = (datetime(year + 1, 1, 1, tzinfo=zone) if year < MAXYEAR
              else datetime.max.replace(tzinfo=UTC))
        q = q.where(Publication.published_at >= lo, Publication.published_at < hi)
    if channel:
        q = q.where(Publication.channel == channel)
    if kind:
        q = q.where(Output.kind == kind)
    return q


def output_log(session: Session, *, year: int | None = None, channel: str | None = None,
               kind: str | None = None, limit: int | None = None,
               after: LogCursor | None = None, tz: str = "Asia/Shanghai") -> list[LogRow]:
    """The log, newest first: every row (the exports), or a page of `limit` rows after
    `after` (the log page), cut in SQL along ix_publications_published_at."""
    q = _log_query(select(Publication).join(Publication.output)
                   .options(joinedload(Publication.output).joinedload(Output.author),
                            joinedload(Publication.output).joinedload(Output.approver)),
                   year, channel, kind, tz)
    if after is not None:
        q = q.where(tuple_(Publication.published_at, Publication.id)
                    < tuple_(literal(after.published_at, UTCDateTime()), literal(after.id)))
    q = q.order_by(Publication.published_at.desc(), Publication.id.desc())
    if limit is not None:
        q = q.limit(limit)
    pubs = session.scalars(q).unique().all()
    # Who approved, from the audit log: an API token approves as "token:NAME", with no
    # person behind it to put in approver_id.
    approved_by: dict[int, str] = {}
    ids = sorted({p.output_id for p in pubs})
    for start in range(0, len(ids), 900):  # under any database's limit of bound parameters
        approved_by.update(session.execute(
            select(AuditEntry.entity_id, AuditEntry.actor)
            .where(AuditEntry.entity == "output", AuditEntry.action == "approve",
                   AuditEntry.entity_id.in_(ids[start:start + 900]))
            .order_by(AuditEntry.id)).all())
    rows = []
    for p in pubs:
        o = p.output
        approver = o.approver.name if o.approver else approved_by.get(o.id)
        rows.append(LogRow(p.id, p.published_at, p.channel, p.link, o.kind, o.title, o.id,
                           o.alert_id, o.author.name if o.author else None, approver,
                           p.recorded_by))
    return rows


def next_log_cursor(rows: Sequence[LogRow], limit: int) -> LogCursor | None:
    return (LogCursor(rows[-1].published_at, rows[-1].publication_id)
            if rows and len(rows) >= limit else None)


def log_counts(session: Session, *, year: int | None = None, channel: str | None = None,
               kind: str | None = None, tz: str = "Asia/Shanghai") -> dict[str, dict[str, int]]:
    """channel → kind → count over the whole filtered log, counted by the database (the
    log page shows a page of rows but the year's table)."""
    q = _log_query(select(Publication.channel, Output.kind, func.count())
                   .join(Output, Output.id == Publication.output_id), year, channel, kind, tz)
    out: dict[str, dict[str, int]] = {}
    for ch, k, n in session.execute(q.group_by(Publication.channel, Output.kind)
                                    .order_by(Publication.channel, Output.kind)):
        out.setdefault(ch, {})[k] = int(n)
    return out


def row_dict(row: LogRow, tz: str) -> dict[str, Any]:
    d = {c: getattr(row, c) for c in COLUMNS}
    d["published_at"] = row.published_at.astimezone(ZoneInfo(tz)).isoformat()
    return d


def to_csv(rows: Sequence[LogRow], tz: str, headers: Mapping[str, str] | None = None) -> str:
    """UTF-8 CSV with a BOM so Excel (what the office opens it in) shows Chinese correctly.
    `headers`: the header row's words by column (the desk's export, in the reader's
    language); without it the column names (the API's export, stable for scripts)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    if headers is None:
        writer.writeheader()
    else:
        writer.writerow({c: headers.get(c, c) for c in COLUMNS})
    for row in rows:
        d = row_dict(row, tz)
        # A cell starting with = + - @ is a formula to a spreadsheet: neutralise it.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in d.items()})
    return buf.getvalue()


def counts_by_channel(rows: Sequence[LogRow]) -> dict[str, dict[str, int]]:
    """channel → kind → count: the annual report's table."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r.channel, {}).setdefault(r.kind, 0)
        out[r.channel][r.kind] += 1
    return out
