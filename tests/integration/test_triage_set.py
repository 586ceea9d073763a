"""The labelled triage set (tests/data/triage, policy in its README) as a regression test:
the real pipeline (import → analyse → events → alerts, batch by batch in fetch order, as the
worker runs it) on 300+ hand-written posts, measured against the labels.

Run with -s to see the table, the false alerts and the missed stories (for tuning).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings
from tests.support.triage import (
    KINDS,
    PRIORITIES,
    Story,
    TriageResult,
    fetched,
    load_posts,
    load_stories,
    measure,
    published,
    report,
    run_triage,
)

# raised by the integrator as the analysis improves; targets: pairwise precision ≥ 0.90,
# recall ≥ 0.85, alert precision ≥ 0.85, recall ≥ 0.90, P1 recall 1.0 (every P1 story
# alerted, at P1), no alert from an own post, ≤ 1.2 alerts per alerted story; and
# (ours, not the maintainers') every alerted story at its labelled priority.
# Set to what main achieved when the set was added (measured figures in the comments),
# rounded down a little so that noise does not fail the test but a regression does.
FLOORS = {
    "pairwise_precision": 0.95,   # 0.975 (matter signatures, 319 posts); 0.972; was 1.000
    "pairwise_recall": 0.88,      # 0.902; 0.901 (follow-ups, matter tags, outages); 0.810
    "alert_precision": 0.93,      # 0.962 (51 of 53); 0.960; 0.889; was 0.552
    "alert_recall": 0.97,         # 1.000 (51 of 51: 被指 is a complaint word); 0.980
    "p1_recall_alerted": 1.0,     # 1.000 (7 of 7)
    "p1_recall_at_p1": 1.0,       # 1.000; was 0.857
    "priority_exact": 0.60,       # 0.667; was 0.604
}
CEILINGS = {
    "own_post_alerts": 0,              # 0; was 16
    "alerts_per_alerted_story": 1.10,  # 1.038 (55 alerts on 53 stories); 1.040; was 1.954
    "priority_under": 6,               # 5; was 6
}

REQUIRED = ("id", "source", "kind", "text", "published_at", "fetched_delay_min", "url",
            "story", "own")
OPTIONAL = ("author", "title", "reposts", "comments", "likes", "repost_of", "state", "reply",
            "reply_time", "region")
OWN_ACCOUNTS = {"河南省司法厅", "河南司法行政在线", "河南司法", "河南省戒毒管理局",
                "河南省监狱管理局"}


# ---- the data itself ----

def test_every_post_has_the_schema() -> None:
    posts = load_posts()
    assert len(posts) >= 300
    ids = [p["id"] for p in posts]
    assert len(set(ids)) == len(ids), "post ids are unique"
    kinds: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        assert set(REQUIRED) <= set(post), post["id"]
        assert set(post) <= set(REQUIRED) | set(OPTIONAL), post["id"]
        assert post["kind"] in KINDS, post["id"]
        assert post["text"].strip(), post["id"]
        assert post["url"].startswith("https://"), post["id"]
        assert isinstance(post["own"], bool) and isinstance(post["story"], str), post["id"]
        assert post["own"] == (post["source"] in OWN_ACCOUNTS), post["id"]
        assert isinstance(post["fetched_delay_min"], int) and post["fetched_delay_min"] >= 0
        when = published(post)
        assert when.utcoffset() is not None, f"{post['id']}: published_at has a zone"
        assert datetime(2026, 10, 1, tzinfo=when.tzinfo) <= when <= fetched(post)
        for name in ("reposts", "comments", "likes"):
            assert isinstance(post.get(name, 0), int), post["id"]
        board_fields = {"state", "reply", "reply_time", "region"} & set(post)
        if post["kind"] == "board":
            assert post.get("title") and post["state"] in ("已回复", "未回复"), post["id"]
            assert bool(post.get("reply")) == (post["state"] == "已回复"), post["id"]
            if post.get("reply_time"):
                assert datetime.fromisoformat(post["reply_time"]) > when, post["id"]
        else:
            assert not board_fields, f"{post['id']}: board fields on a {post['kind']} post"
        kinds[post["source"]].add(post["kind"])
    # One source, one kind: the pipeline creates one Source per name.
    assert all(len(k) == 1 for k in kinds.values()), kinds


def test_reposts_name_an_earlier_post_of_their_story() -> None:
    posts = {p["id"]: p for p in load_posts()}
    reposts = [p for p in posts.values() if p.get("repost_of")]
    assert len(reposts) >= 20
    for post in reposts:
        original = posts.get(post["repost_of"])
        assert original is not None, post["id"]
        assert original["story"] == post["story"], post["id"]
        assert published(original) <= published(post), post["id"]
    bare = [p for p in reposts if p["text"] == "转发微博"]
    assert len(bare) >= 5


def test_stories_are_told_by_several_sources_and_labelled() -> None:
    posts, stories = load_posts(), load_stories()
    sources: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        sources[post["story"]].add(post["source"])
    multi = [s for s, names in sources.items() if len(names) >= 3]
    assert len(multi) >= 25
    for sid in sources:
        # Every S-story is labelled; X-stories are single posts, listed only when alerted.
        if sid.startswith("S"):
            assert sid in stories, sid
            assert len(sources[sid]) >= 3, sid
        else:
            assert sid.startswith("X") and sum(p["story"] == sid for p in posts) == 1, sid
    for story in stories.values():
        assert story.id in sources, f"{story.id} is labelled but has no post"
        assert story.summary
        assert (story.priority in PRIORITIES) if story.alert else story.priority is None
    assert not any(stories[p["story"]].alert for p in posts
                   if p["own"] and p["story"] in stories and p["story"].startswith("X"))
    alerted = [s for s in stories.values() if s.alert]
    assert {s.priority for s in alerted} == set(PRIORITIES)
    assert sum(not s.alert for s in stories.values()) >= 10


def test_the_set_has_the_cases_the_policy_names() -> None:
    posts = load_posts()
    own = [p for p in posts if p["own"]]
    assert len(own) >= 30 and {p["source"] for p in own} == OWN_ACCOUNTS
    board = [p for p in posts if p["kind"] == "board"]
    assert sum(p["state"] == "已回复" for p in board) >= 10
    assert sum(p["state"] == "未回复" for p in board) >= 10
    assert sum(p["fetched_delay_min"] > 72 * 60 for p in posts) >= 3, "backfill cases"
    days = {published(p).date() for p in posts}
    assert (max(days) - min(days)).days >= 20


# ---- the pipeline on the set ----

@pytest.fixture
def triage(settings: Settings, sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return run_triage(sessions, load_posts(), settings)


def test_triage_figures_meet_the_floors(triage) -> None:  # type: ignore[no-untyped-def]
    print("\n" + report(triage))
    m = triage.metrics
    assert m["posts"] == len(load_posts())
    below = {k: (m[k], floor) for k, floor in FLOORS.items() if m[k] < floor}
    above = {k: (m[k], ceiling) for k, ceiling in CEILINGS.items() if m[k] > ceiling}
    assert not below and not above, f"below floor: {below}; above ceiling: {above}"


def test_measure_maps_alerts_to_majority_stories() -> None:
    """The arithmetic on a hand-made result: an alert counts for the majority story of its
    event, a second alert on one story counts against alerts-per-story, an own post's alert
    is counted, and a deserving story without an alert is listed as missed."""
    def post(pid: str, story: str, own: bool = False) -> dict[str, object]:
        return {"id": pid, "source": "河南省司法厅" if own else "大河报·法治", "kind": "news",
                "text": f"正文{pid}", "published_at": "2026-10-12T08:00:00+08:00",
                "fetched_delay_min": 10, "url": "https://x.test/", "story": story, "own": own}

    posts = [post("A1", "S1"), post("A2", "S1"), post("A3", "S2"), post("B1", "S2"),
             post("B2", "S2"), post("C1", "X9", own=True), post("D1", "S3")]
    stories = {"S1": Story("S1", "一", True, "P1"), "S2": Story("S2", "二", True, "P2"),
               "S3": Story("S3", "三", True, "P3")}
    # Events: {A1, A2, A3} (majority S1), {B1, B2}, {C1}, {D1}.
    event_of: dict[str, int | None] = {"A1": 1, "A2": 1, "A3": 1, "B1": 2, "B2": 2, "C1": 3,
                                       "D1": 4}
    alerts = [(1, "P2", "A1"), (2, "P2", "B1"), (3, "P3", "C1"), (4, "P3", "A3")]
    result = TriageResult(posts, stories, event_of, alerts)  # type: ignore[arg-type]
    measure(result)
    m = result.metrics
    # Pairs: predicted {A1A2, A1A3, A2A3, B1B2}; true {A1A2, A3B1, A3B2, B1B2}.
    assert (m["pairwise_precision"], m["pairwise_recall"]) == (0.5, 0.5)
    assert m["alerted_stories"] == 3                    # S1 (twice), S2, X9
    assert m["alert_precision"] == round(2 / 3, 3)
    assert m["alert_recall"] == round(2 / 3, 3)         # S3 missed
    assert (m["p1_recall_alerted"], m["p1_recall_at_p1"]) == (1.0, 0.0)
    assert m["own_post_alerts"] == 1
    assert m["alerts_per_alerted_story"] == round(4 / 3, 3)
    assert len(result.false_alerts) == 1 and "X9 (own post)" in result.false_alerts[0]
    assert len(result.missed) == 1 and result.missed[0].startswith("S3 P3")
