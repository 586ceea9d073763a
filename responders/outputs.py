"""The output log: every published output, one row per channel — what the office counts
from at the end of the year — and its CSV/JSON export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import extract, select
from sqlalchemy.orm import Session, joinedload

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


def output_log(session: Session, *, year: int | None = None, channel: str | None = None,
               kind: str | None = None) -> list[LogRow]:
    q = (select(Publication).join(Publication.output)
         .options(joinedload(Publication.output).joinedload(Output.author),
                  joinedload(Publication.output).joinedload(Output.approver))
         .order_by(Publication.published_at.desc(), Publication.id.desc()))
    if year:
        q = q.where(extract("year", Publication.published_at) == year)
    if channel:
        q = q.where(Publication.channel == channel)
    if kind:
        q = q.where(Output.kind == kind)
    pubs = session.scalars(q).unique().all()
    # Who approved, from the audit log: an API token approves as "token:NAME", with no
    # person behind it to put in approver_id.
    approved_by: dict[int, str] = {
        entity_id: actor for entity_id, actor in session.execute(
            select(AuditEntry.entity_id, AuditEntry.actor)
            .where(AuditEntry.entity == "output", AuditEntry.action == "approve",
                   AuditEntry.entity_id.in_({p.output_id for p in pubs}))
            .order_by(AuditEntry.id))}
    rows = []
    for p in pubs:
        o = p.output
        approver = o.approver.name if o.approver else approved_by.get(o.id)
        rows.append(LogRow(p.id, p.published_at, p.channel, p.link, o.kind, o.title, o.id,
                           o.alert_id, o.author.name if o.author else None, approver,
                           p.recorded_by))
    return rows


def row_dict(row: LogRow, tz: str) -> dict[str, Any]:
    d = {c: getattr(row, c) for c in COLUMNS}
    d["published_at"] = row.published_at.astimezone(ZoneInfo(tz)).isoformat()
    return d


def to_csv(rows: Sequence[LogRow], tz: str) -> str:
    """UTF-8 CSV with a BOM so Excel (what the office opens it in) shows Chinese correctly."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
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
