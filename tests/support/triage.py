"""The labelled triage set (tests/data/triage): load it, run it through the real pipeline the
way the worker does, and measure clustering and alerting against the labels.

`run_triage` is the one place that calls the pipeline: when `analyze_items` or `open_alerts`
gain parameters (the office's own accounts, …), adapt it here and nothing else changes.
Everything after it reads the database only, so the figures describe what a press officer
would see in the queue, not what some function returned.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.events import pairwise_scores
from monitor.flagging import FlagPolicy
from monitor.importing import push_source, store_posts
from monitor.models import Item
from monitor.office import OwnVoice
from monitor.sentiment import build_scorer
from monitor.settings import Settings
from monitor.topics import Taxonomy
from responders.alerts import open_alerts
from responders.models import Alert
from responders.sla import SLA

DATA = Path(__file__).resolve().parents[1] / "data" / "triage"
POSTS = DATA / "posts.jsonl"
STORIES = DATA / "stories.yaml"

KINDS = ("news", "government", "weibo", "wechat", "board")
PRIORITIES = ("P1", "P2", "P3")
# Posts fetched within one slot of this length are stored and analysed as one batch, as a
# poll (or a pushed batch) brings several posts at once.
SLOT = timedelta(minutes=30)
# The import's post fields that a triage post maps onto (the rest are labels).
_BOARD_FIELDS = ("state", "reply", "reply_time", "region")


@dataclass(frozen=True)
class Story:
    id: str
    summary: str
    alert: bool
    priority: str | None


def load_posts(path: Path = POSTS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_stories(path: Path = STORIES) -> dict[str, Story]:
    """The labelled stories: every S-story, and the X-stories (singletons) that deserve an
    alert. A story not listed deserves none (see tests/data/triage/README.md)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]
    return {sid: Story(sid, str(v["summary"]), bool(v["alert"]), v.get("priority"))
            for sid, v in raw.items()}


def published(post: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(post["published_at"]))


def fetched(post: Mapping[str, Any]) -> datetime:
    return published(post) + timedelta(minutes=int(post["fetched_delay_min"]))


def batches(posts: Sequence[Mapping[str, Any]]) -> list[tuple[datetime, list[Mapping[str, Any]]]]:
    """Posts in order of fetch, grouped by SLOT; each batch with the time it is analysed
    (its last fetch: the worker analyses a batch right after storing it)."""
    ordered = sorted(posts, key=lambda p: (fetched(p), p["id"]))
    groups: list[list[Mapping[str, Any]]] = []
    for post in ordered:
        if not groups or fetched(post) - fetched(groups[-1][0]) >= SLOT:
            groups.append([])
        groups[-1].append(post)
    return [(fetched(group[-1]), group) for group in groups]


def as_import(post: Mapping[str, Any]) -> dict[str, Any]:
    """The post as `yuqing import` / the push API receive it."""
    raw: dict[str, Any] = {"id": post["id"], "text": post["text"],
                           "created_at": post["published_at"], "url": post["url"]}
    for name in ("title", "author", "reposts", "comments", "likes", "repost_of"):
        if post.get(name) not in (None, ""):
            raw[name] = post[name]
    if post["kind"] == "board":
        for name in _BOARD_FIELDS:
            if post.get(name) not in (None, ""):
                raw[name] = post[name]
    return raw


@dataclass
class TriageResult:
    posts: list[dict[str, Any]]
    stories: dict[str, Story]
    event_of: dict[str, int | None]          # post id → its item's event id
    alerts: list[tuple[int, str, str]]       # (alert id, priority, post id of its item)
    batches: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    false_alerts: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    misjudged: list[str] = field(default_factory=list)  # alerted, at another priority


def run_triage(session_factory: Callable[[], Session], posts: Sequence[Mapping[str, Any]],
               settings: Settings, stories: Mapping[str, Story] | None = None
               ) -> TriageResult:
    """Store the posts batch by batch in fetch order, one Source per source name (a push
    source, `push:NAME`, of the post's kind), and after each batch analyse it and open
    alerts, then commit — the call shape of tasks.jobs.analyze_items. Then measure."""
    config = Path(settings.config_dir)
    scorer = build_scorer(settings.sentiment)
    taxonomy = Taxonomy.from_files(config / "topics.yaml", config / "sensitive.yaml")
    policy = FlagPolicy.from_section(settings.flagging)
    events = EventSettings.from_section(settings.events)
    sla = SLA.from_file(config / "sla.yaml")
    own = OwnVoice.from_section(settings.office_voice)
    plan = batches(posts)
    for now, batch in plan:
        with session_factory() as session:
            ids: list[int] = []
            for post in batch:
                source = push_source(session, str(post["source"]), now, kind=str(post["kind"]))
                stored = store_posts(session, source, [(1, as_import(post))], fetched(post))
                if stored.errors:
                    raise ValueError(f"{post['id']}: {stored.errors[0].error}")
                ids.extend(stored.item_ids)
            analyses = analyze_items(session, ids, scorer=scorer, taxonomy=taxonomy,
                                     policy=policy, now=now, events=events, own=own)
            open_alerts(session, analyses, sla, now)
            session.commit()
    with session_factory() as session:
        event_of = {str(ext): eid for ext, eid in session.execute(
            select(Item.external_id, Item.event_id))}
        alerts = [(int(aid), str(pr), str(ext)) for aid, pr, ext in session.execute(
            select(Alert.id, Alert.priority, Item.external_id)
            .join(Item, Item.id == Alert.item_id).order_by(Alert.id))]
    result = TriageResult(list(map(dict, posts)), dict(stories or load_stories()), event_of,
                          alerts, batches=len(plan))
    measure(result)
    return result


def measure(result: TriageResult) -> None:
    """Fill result.metrics, false_alerts and missed from the stored events and alerts."""
    posts, stories = result.posts, result.stories
    by_id = {p["id"]: p for p in posts}
    story_of = {p["id"]: str(p["story"]) for p in posts}
    # A post left without an event (should not happen) is its own cluster.
    labels = [result.event_of.get(p["id"]) or -(n + 1) for n, p in enumerate(posts)]
    precision, recall = pairwise_scores(labels, [story_of[p["id"]] for p in posts])

    members: dict[int, list[str]] = defaultdict(list)
    for pid, eid in result.event_of.items():
        if eid is not None:
            members[eid].append(pid)
    # An alert stands for the majority story of its event's posts; a tie goes to the story
    # of the post the alert sits on.
    alert_story: dict[int, str] = {}
    for aid, _, pid in result.alerts:
        eid = result.event_of.get(pid)
        votes = Counter(story_of[m] for m in members.get(eid, [pid])) if eid else Counter()
        best = max(votes.values(), default=0)
        tied = [s for s, n in votes.items() if n == best]
        alert_story[aid] = story_of[pid] if story_of[pid] in tied or not tied else sorted(tied)[0]

    deserving = {s.id for s in stories.values() if s.alert}
    alerted = set(alert_story.values())
    p1 = {s.id for s in stories.values() if s.alert and s.priority == "P1"}
    at_p1 = {alert_story[aid] for aid, pr, _ in result.alerts if pr == "P1"}
    own_alerts = [aid for aid, _, pid in result.alerts if by_id[pid]["own"]]
    good = alerted & deserving
    # A story's priority in the queue is the highest of its alerts'.
    top: dict[str, str] = {}
    for aid, pr, _ in result.alerts:
        sid = alert_story[aid]
        top[sid] = min(top.get(sid, pr), pr, key=PRIORITIES.index)
    rank = {sid: PRIORITIES.index(str(stories[sid].priority)) for sid in good}
    exact = sum(PRIORITIES.index(top[sid]) == rank[sid] for sid in good)
    under = sum(PRIORITIES.index(top[sid]) > rank[sid] for sid in good)
    result.metrics = {
        "posts": len(posts),
        "stories": len(set(story_of.values())),
        "events": len(set(labels)),
        "pairwise_precision": round(precision, 3),
        "pairwise_recall": round(recall, 3),
        "alerts": len(result.alerts),
        "alerted_stories": len(alerted),
        "deserving_stories": len(deserving),
        "alert_precision": round(len(good) / len(alerted), 3) if alerted else 1.0,
        "alert_recall": round(len(good) / len(deserving), 3) if deserving else 1.0,
        "p1_stories": len(p1),
        "p1_recall_alerted": round(len(p1 & alerted) / len(p1), 3) if p1 else 1.0,
        "p1_recall_at_p1": round(len(p1 & at_p1) / len(p1), 3) if p1 else 1.0,
        # Of the deserving stories alerted: at their labelled priority, and below it.
        "priority_exact": round(exact / len(good), 3) if good else 1.0,
        "priority_under": under,
        "own_post_alerts": len(own_alerts),
        "alerts_per_alerted_story": (round(len(result.alerts) / len(alerted), 3)
                                     if alerted else 0.0),
    }

    def first_text(sid: str) -> str:
        post = min((p for p in posts if p["story"] == sid), key=published)
        return f"{post['id']} {post['source']}: {(post.get('title') or post['text'])[:60]}"

    result.false_alerts = [
        f"alert {aid} {pr} on {pid} → {alert_story[aid]}"
        f"{' (own post)' if by_id[pid]['own'] else ''}: "
        f"{(by_id[pid].get('title') or by_id[pid]['text'])[:60]}"
        for aid, pr, pid in result.alerts if alert_story[aid] not in deserving]
    result.misjudged = [
        f"{sid} labelled {stories[sid].priority}, alerted {top[sid]}: {stories[sid].summary}"
        for sid in sorted(good) if PRIORITIES.index(top[sid]) != rank[sid]]
    result.missed = [f"{sid} {stories[sid].priority}: {stories[sid].summary} | {first_text(sid)}"
                     for sid in sorted(deserving - alerted)]


def report(result: TriageResult) -> str:
    """The figures as a readable table, the lists for tuning, and one JSON line."""
    m = result.metrics
    rows = [
        ("posts / stories / events", f"{m['posts']} / {m['stories']} / {m['events']}"),
        ("clustering pairwise precision", f"{m['pairwise_precision']:.3f}"),
        ("clustering pairwise recall", f"{m['pairwise_recall']:.3f}"),
        ("alerts / alerted stories / deserving",
         f"{m['alerts']} / {m['alerted_stories']} / {m['deserving_stories']}"),
        ("alert precision (story level)", f"{m['alert_precision']:.3f}"),
        ("alert recall (story level)", f"{m['alert_recall']:.3f}"),
        ("P1 stories alerted at all", f"{m['p1_recall_alerted']:.3f} of {m['p1_stories']}"),
        ("P1 stories alerted at P1", f"{m['p1_recall_at_p1']:.3f} of {m['p1_stories']}"),
        ("priority as labelled (alerted stories)", f"{m['priority_exact']:.3f}"),
        ("alerted below their priority", str(m["priority_under"])),
        ("alerts raised by own posts", str(m["own_post_alerts"])),
        ("alerts per alerted story", f"{m['alerts_per_alerted_story']:.3f}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["triage set", *(f"  {k.ljust(width)}  {v}" for k, v in rows)]
    lines.append(f"false alerts ({len(result.false_alerts)}):")
    lines.extend(f"  {x}" for x in result.false_alerts)
    lines.append(f"alerted at another priority ({len(result.misjudged)}):")
    lines.extend(f"  {x}" for x in result.misjudged)
    lines.append(f"missed stories ({len(result.missed)}):")
    lines.extend(f"  {x}" for x in result.missed)
    lines.append("TRIAGE " + json.dumps(m, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)
