"""Retention (issue 15): old items that nothing refers to go, in bounded batches, with their
events' counts kept; items an alert or an output refers to stay; `yuqing prune --dry-run`
tells what would go and deletes nothing. SQLite by default, PostgreSQL when
YUQING_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from monitor.db import make_engine
from monitor.models import Event, EventTerm, Item, Source
from monitor.retention import cutoff, plan, prune_batch
from responders.kept_items import referenced
from responders.models import Alert, Output
from responders.schema import migrate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=3)


def _fill(session) -> dict[str, int]:
    """Event 甲: two old posts (one negative) and one recent; event 乙: one old post on
    which an alert was raised; event 丙: two old posts only; an old post the office recorded
    as its own output; a recent post of no event."""
    src = Source(name="河南法治网", url="https://fz.example.cn/rss", kind="news",
                 host="fz.example.cn", interval_s=600, created_at=OLD)
    session.add(src)
    session.flush()
    n = 0

    def item(at: datetime, label: str | None = "neutral") -> Item:
        nonlocal n
        n += 1
        it = Item(source_id=src.id, entry_id=f"e{n}", content_hash=f"h{n}",
                  title=f"社区矫正对象管理情况通报（{n}）", text="某县司法局通报社区矫正工作。",
                  fetched_at=at, published_at=at - timedelta(minutes=5),
                  sentiment_label=label, sentiment_score=0.2 if label == "negative" else 0.5)
        session.add(it)
        session.flush()
        return it

    def event(items: list[Item], negative: int) -> Event:
        e = Event(item_count=len(items), negative_count=negative, scored_count=len(items),
                  negative_share=negative / len(items), first_seen_at=items[0].fetched_at,
                  last_seen_at=items[-1].fetched_at, first_item_id=items[0].id)
        session.add(e)
        session.flush()
        for it in items:
            it.event_id = e.id
        session.add(EventTerm(term="社区矫正", event_id=e.id, last_seen_at=e.last_seen_at))
        return e

    jia = event([item(OLD, "negative"), item(OLD + timedelta(hours=1)), item(RECENT)], 1)
    alerted = item(OLD)
    yi = event([alerted], 0)
    bing = event([item(OLD), item(OLD + timedelta(hours=2))], 0)
    own = item(OLD)
    item(RECENT, None)
    session.add(Alert(item_id=alerted.id, priority="P2", state="responded", sla_rule="default",
                      created_at=OLD, due_at=OLD + timedelta(hours=48)))
    session.add(Output(kind="回应", title="关于社区矫正工作的情况说明", state="published",
                       created_at=OLD, updated_at=OLD, own_item_id=own.id))
    session.commit()
    return {"jia": jia.id, "yi": yi.id, "bing": bing.id, "alerted": alerted.id, "own": own.id}


def test_cutoff_is_pure_and_null_keeps_everything():
    assert cutoff(NOW, None) is None
    assert cutoff(NOW, 30) == NOW - timedelta(days=30)


def test_prune_deletes_only_old_unreferenced_items_and_keeps_event_counts(sessions):
    with sessions() as s:
        ids = _fill(s)
        p = plan(s, NOW, 90, referenced)
        assert (p.prunable, p.kept) == (4, 2)   # 甲's two old, 丙's two; alert + own kept
        assert plan(s, NOW, None, referenced).prunable == 0
        # Bounded batches: three items per transaction, then the rest.
        first = prune_batch(s, NOW, 90, referenced, batch_size=3)
        s.commit()
        assert first.items == 3 and not first.done
        second = prune_batch(s, NOW, 90, referenced, batch_size=3)
        s.commit()
        assert second.items == 1 and second.done
        # A repeated run finds nothing more: idempotent.
        assert prune_batch(s, NOW, 90, referenced, batch_size=3).items == 0
    with sessions() as s:
        left = set(s.scalars(select(Item.id)))
        assert ids["alerted"] in left and ids["own"] in left
        assert s.scalar(select(func.count(Item.id))) == 4
        jia = s.get(Event, ids["jia"])
        assert jia is not None
        # 甲 keeps its recent post: one item, scored, not negative (the negative one went).
        assert (jia.item_count, jia.scored_count, jia.negative_count, jia.negative_share) == (
            1, 1, 0, 0.0)
        assert s.get(Event, ids["yi"]) is not None
        # 丙 lost every post: the event and its candidate terms are gone too.
        assert s.get(Event, ids["bing"]) is None
        assert not s.scalars(select(EventTerm).where(EventTerm.event_id == ids["bing"])).all()


def test_yuqing_prune_dry_run_tells_and_deletes_nothing(db_url: str, home: Path, sessions):
    with sessions() as s:
        _fill(s)
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
                "YUQING_RETENTION_ITEMS_DAYS": "90"})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tasks.cli", "prune", *args],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    r = run("--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["dry_run"] and out["items_days"] == 90 and out["prunable"] >= 4
    text = run("--dry-run")
    assert "would delete" in text.stdout
    with sessions() as s:
        assert s.scalar(select(func.count(Item.id))) == 8  # nothing went
    r = run("--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["deleted"] == out["prunable"]
    # Null (the default): everything is kept and the command says so.
    env.pop("YUQING_RETENTION_ITEMS_DAYS")
    assert "nothing to prune" in run("--dry-run").stdout
