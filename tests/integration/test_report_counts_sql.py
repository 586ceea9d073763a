"""The periodic report counts alerts in SQL (groups, not rows): on a real database, the
figures must equal those counted row by row in Python, board messages answered on time, late
and pending included, and alerts outside the period left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import Event, Item, Source
from responders.models import Alert, Output, Publication
from responders.reports import AlertRow, as_json, build_report, load_period, month_period

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _seed(session: Any) -> list[AlertRow]:
    """Alerts of every kind the report tells apart; returns the rows a per-row count reads."""
    board = Source(interval_s=600, name="人民网领导留言板", url="https://liuyan.example/b",
                   kind="board", host="liuyan.example", created_at=T0)
    news = Source(interval_s=600, name="大河网", url="https://dahe.example/rss", kind="news",
                  host="dahe.example", created_at=T0)
    session.add_all([board, news])
    session.flush()
    # (source, priority, state, topics, raised, hours to deadline, first reply after h or None)
    cases: list[tuple[Source, str, str, list[str], datetime, int, float | None]] = [
        (board, "P3", "responded", ["legal_aid"], T0 + timedelta(days=1), 48, 10),   # on time
        (board, "P3", "responded", ["legal_aid"], T0 + timedelta(days=2), 48, 60),   # late
        (board, "P2", "assigned", ["notary"], T0 + timedelta(days=3), 24, None),     # pending
        (board, "P3", "dismissed", [], T0 + timedelta(days=4), 48, None),            # not due
        (news, "P1", "responded", ["prisons", "drug_rehab"], T0 + timedelta(days=5), 5, 3),
        (news, "P1", "responded", ["prisons", "drug_rehab"], T0 + timedelta(days=6), 5, 7),
        (news, "P2", "new", ["lawyers"], T0 + timedelta(days=7), 48, None),
        (news, "P2", "new", ["lawyers"], T0 + timedelta(days=8), 48, None),          # alike
        (news, "P2", "new", ["lawyers"], T0 + timedelta(days=40), 48, None),         # December
        (news, "P2", "responded", ["lawyers"], T0 - timedelta(days=2), 48, 20),      # October
    ]
    rows = []
    for n, (src, prio, state, topics, raised, hours, reply) in enumerate(cases):
        item = Item(source_id=src.id, entry_id=f"e{n}", content_hash=f"h{n}", title=f"帖子{n}",
                    text=f"帖子{n}", link=f"https://x.example/{n}", published_at=raised,
                    fetched_at=raised, analyzed_at=raised, topics=topics)
        session.add(item)
        session.flush()
        event = Event(first_item_id=item.id, item_count=1, source_ids=[src.id], reach=0,
                      negative_count=0, scored_count=1, negative_share=0.0, topics=topics,
                      signature=[], first_seen_at=raised, last_seen_at=raised, priority=prio,
                      kind="message" if src.kind == "board" else "near_dup")
        session.add(event)
        session.flush()
        item.event_id = event.id
        due = raised + timedelta(hours=hours)
        alert = Alert(item_id=item.id, priority=prio, state=state, reasons=["r"], topics=topics,
                      sla_rule="r", milestones=[], created_at=raised, due_at=due,
                      state_changed_at=raised)
        session.add(alert)
        session.flush()
        first = None
        if reply is not None:
            first = raised + timedelta(hours=reply)
            out = Output(alert_id=alert.id, kind="回应", title="回应", body="回应",
                         state="published", created_at=first, updated_at=first)
            session.add(out)
            session.flush()
            # two channels: the first publication is what counts against the deadline
            for k, channel in enumerate(("门户网站", "政务微博")):
                at = first + timedelta(hours=30 * k)
                session.add(Publication(output_id=out.id, channel=channel, published_at=at,
                                        link=f"https://sft.example/{out.id}/{k}",
                                        recorded_by="user:wang", recorded_at=at))
        rows.append(AlertRow(alert.id, prio, state, tuple(topics), raised, due,
                             src.kind == "board", first))
    session.flush()
    return rows


def test_sql_groups_count_as_rows_do(sessions: Any) -> None:
    period = month_period("2026-11")
    with sessions() as session:
        rows = _seed(session)
        session.commit()
        pubs, groups = load_period(session, period, "Asia/Shanghai")
    names = {"legal_aid": "法律援助", "prisons": "监狱", "lawyers": "律师"}
    by_sql = as_json(build_report(period, pubs, groups, topic_names=names))
    by_rows = as_json(build_report(period, pubs, rows, topic_names=names))
    assert by_sql == by_rows
    # and the figures are the ones the cases above were written for
    assert by_sql["messages"] == {"received": 4, "replied": 2, "within_time_limit": 1,
                                  "late": 1, "pending": 1}
    assert by_sql["alerts"]["total"] == 8 and by_sql["alerts"]["answerable"] == 7
    assert by_sql["alerts"]["answered_within_deadline"] == 2  # board 10 h, news 3 h
    topics = {t["topic"]: (t["P1"], t["P2"], t["P3"]) for t in by_sql["alerts"]["by_topic"]}
    assert topics == {"法律援助": (0, 0, 2), "notary": (0, 1, 0), "未归类": (0, 0, 1),
                      "监狱": (2, 0, 0), "drug_rehab": (2, 0, 0), "律师": (0, 2, 0)}
    # the year's groups are far fewer than its alerts would be: alike alerts fold together
    assert sum(g.n for g in groups) == 8 and len(groups) == 7
