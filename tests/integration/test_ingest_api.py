"""POST /api/v1/ingest over HTTP (FastAPI TestClient, a real migrated database): push tokens,
malformed and oversized batches, per-item errors with nothing stored, a good batch stored and
handed to analysis (then analysed in process, as a worker would), and a replay stored once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.flagging import FlagPolicy
from monitor.importing import new_token, push_source
from monitor.models import Event, Item
from monitor.settings import Settings
from monitor.topics import Taxonomy
from responders.auth import create_token
from responders.web import create_app
from tests.support.scorers import AlwaysNegative
from tests.support.settings import defaults, own_voice

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
STORY = ("郑州市某区法律援助中心工作人员态度生硬，群众申请法律援助被要求反复补交材料，"
         "跑了三趟仍未受理，网友质疑便民承诺落空。")

POSTS = [
    {"id": "vx-1001", "text": STORY, "author": "中原观察者", "created_at":
     "2026-11-20T11:20:00+08:00", "url": "https://vendor.example.cn/p/1001", "reposts": 35,
     "comments": "12", "likes": "1.2万"},
    {"id": "vx-1002", "text": "转发微博", "repost_of": "vx-1001", "author": "郑州小陈",
     "reposts": 0},
    {"id": "vx-1003", "text": "【转】" + STORY.replace("态度生硬", "态度冷淡"),
     "author": "法治热点"},
    {"id": "vx-1004", "text": "转发微博", "repost_of": "vx-1001", "author": "豫东网友"},
]


@dataclass
class Push:
    client: TestClient
    sessions: sessionmaker[Session]
    token: str
    desk_token: str
    enqueued: list[tuple[str, list[Any]]] = field(default_factory=list)

    def post(self, body: Any, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if isinstance(body, bytes):
            return self.client.post("/api/v1/ingest", content=body,
                                    headers={**headers, "Content-Type": "application/json"},
                                    **kw)
        return self.client.post("/api/v1/ingest", json=body, headers=headers, **kw)

    def items(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Item)) or 0)


def _client(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Push]:
    with sessions() as s:
        token = new_token(push_source(s, "舆情服务商·推送", NOW))
        desk_token = create_token(s, "script", "officer", NOW)
        s.commit()
    push = Push(client=None, sessions=sessions, token=token,  # type: ignore[arg-type]
                desk_token=desk_token)
    app = create_app(settings, lambda name, args: push.enqueued.append((name, args)))
    app.state.desk.clock = lambda: NOW
    with TestClient(app, base_url="http://testserver") as client:
        push.client = client
        yield push


@pytest.fixture
def push(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Push]:
    yield from _client(settings, sessions)


# ---------------------------------------------------------------- tokens

@pytest.mark.parametrize(("header", "status", "says"), [
    (None, 401, "push token is required"),
    ("Basic dXNlcjpwYXNz", 401, "push token is required"),
    ("Bearer yqp_not-a-real-token", 401, "invalid or replaced"),
])
def test_missing_or_unknown_token_is_401(push: Push, header: str | None, status: int,
                                         says: str) -> None:
    headers = {"Authorization": header} if header else {}
    r = push.client.post("/api/v1/ingest", json=POSTS, headers=headers)
    assert r.status_code == status
    assert says in r.json()["error"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert push.items() == 0 and push.enqueued == []


def test_a_desk_token_is_403(push: Push) -> None:
    r = push.post(POSTS, token=push.desk_token)
    assert r.status_code == 403
    assert "desk API token" in r.json()["error"]
    assert push.items() == 0


def test_a_replaced_token_stops_working(push: Push) -> None:
    with push.sessions() as s:
        source = push_source(s, "舆情服务商·推送", NOW)
        fresh = new_token(source)
        s.commit()
    assert push.post(POSTS[:1]).status_code == 401
    assert push.post(POSTS[:1], token=fresh).status_code == 200


def test_a_session_cookie_cannot_push(push: Push) -> None:
    """Only the bearer push token authorises a push: no cookie path, hence no CSRF risk."""
    push.client.cookies.set("yq_session", "anything")
    r = push.client.post("/api/v1/ingest", json=POSTS)
    assert r.status_code == 401
    assert push.items() == 0


# ---------------------------------------------------------------- malformed batches

@pytest.mark.parametrize(("body", "status", "says"), [
    (b"{not json", 400, "not JSON"),
    (b"\xff\xfe\x00", 400, "not UTF-8"),
    (json.dumps({"items": POSTS}).encode(), 400, "expected a JSON list of posts"),
    (b"[]", 400, "empty"),
    (json.dumps([{"text": "法律援助"}] * 1001).encode(), 413, "at most 1000"),
])
def test_malformed_batches(push: Push, body: bytes, status: int, says: str) -> None:
    r = push.post(body)
    assert r.status_code == status
    assert says in r.json()["error"]
    assert push.items() == 0 and push.enqueued == []


def test_per_item_errors_and_nothing_stored(push: Push) -> None:
    batch = [POSTS[0],
             {"id": "b1", "author": "无正文"},
             {"id": "b2", "text": "律师收费", "likes": "很多"},
             {"id": "b3", "text": "公证", "content": "多余的字段"},
             {"id": "b4", "text": "社区矫正", "created_at": "昨天下午"},
             "不是对象"]
    r = push.post({"posts": batch})
    assert r.status_code == 422
    body = r.json()
    assert "5 of 6 posts are invalid; nothing was stored" in body["error"]
    errors = {e["index"]: e["error"] for e in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5]
    assert "'text' is required" in errors[1]
    assert "'likes' must be a number" in errors[2]
    assert "unknown field(s) content" in errors[3]
    assert "'created_at' is not a date" in errors[4]
    assert "expected a JSON object" in errors[5]
    # The valid first post was not kept: the client resends the fixed batch whole.
    assert push.items() == 0 and push.enqueued == []


def test_a_body_over_the_byte_limit_is_413(settings: Settings,
                                           sessions: sessionmaker[Session]) -> None:
    small = Settings(raw={**settings.raw, "web": {**settings.raw["web"],
                                                  "ingest_max_bytes": 2000}},
                     config_dir=settings.config_dir)
    for push in _client(small, sessions):
        r = push.post([{"text": "法律援助" * 300}])
        assert r.status_code == 413
        assert "larger than 2000 bytes" in r.json()["error"]
        assert push.post([{"text": "法律援助"}]).status_code == 200


# ---------------------------------------------------------------- good batch, replay


def test_good_batch_is_stored_analysed_and_a_replay_stores_nothing(push: Push) -> None:
    r = push.post({"posts": POSTS})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["imported"], out["duplicates"], out["analysis"]) == (4, 0, "queued")
    # Both bare "转发微博" reposts are kept: they are different posts (their own ids).
    assert push.items() == 4
    assert push.enqueued == [("monitor.analyze_items", [out["item_ids"]])]

    # What a worker does with the enqueued task.
    taxonomy = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    with push.sessions() as s:
        analyze_items(s, push.enqueued[0][1][0], scorer=AlwaysNegative(), taxonomy=taxonomy,
                      policy=FlagPolicy.from_section(defaults().flagging), now=NOW,
                      events=EventSettings.from_section(defaults().events), own=own_voice())
        s.commit()
        [event] = s.scalars(select(Event)).all()
        assert event.item_count == 4  # reposts by link, the light edit by similarity
        assert event.reach == 35 + 12 + 12_000
        ext = s.scalars(select(Item.external_id).where(Item.event_id == event.id)).all()
        assert sorted(ext) == ["vx-1001", "vx-1002", "vx-1003", "vx-1004"]

    again = push.post({"posts": POSTS})
    assert again.status_code == 200
    assert (again.json()["imported"], again.json()["duplicates"]) == (0, 4)
    assert again.json()["analysis"] == "none"
    assert push.items() == 4
    assert len(push.enqueued) == 1  # nothing new to analyse


def test_large_batch_is_enqueued_in_chunks(push: Push, settings: Settings) -> None:
    size = settings.analyze.batch_size  # items per analysis task
    posts = [{"id": f"c{i}", "text": f"第{i}条：司法所调解邻里纠纷，群众满意度较高。"}
             for i in range(2 * size + 20)]
    r = push.post(posts)
    assert r.status_code == 200 and r.json()["imported"] == len(posts)
    chunks = [args[0] for name, args in push.enqueued if name == "monitor.analyze_items"]
    assert [len(c) for c in chunks] == [size, size, 20]
    assert sum(chunks, []) == r.json()["item_ids"]


def test_broker_down_keeps_the_posts(settings: Settings,
                                     sessions: sessionmaker[Session]) -> None:
    def broken(name: str, args: list[Any]) -> None:
        raise ConnectionError("broker unreachable")

    with sessions() as s:
        token = new_token(push_source(s, "推送", NOW))
        s.commit()
    app = create_app(settings, broken)
    with TestClient(app) as client:
        r = client.post("/api/v1/ingest", json=POSTS[:1],
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["analysis"] == "deferred"
    with sessions() as s:
        # Stored and never analysed: the beat's sweep of such items picks it up.
        assert s.scalar(select(func.count()).select_from(Item).where(
            Item.analyzed_at.is_(None))) == 1


# ---------------------------------------------------------------- hostile input (issue 14)

@pytest.mark.parametrize(("body", "says"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'[{"text": "\xe6\xb3\x95", "likes": NaN}]', "NaN is not a number JSON allows"),
    (b'[{"text": "\xe6\xb3\x95", "likes": 1e999}]', "out of range"),
    (b'[{"text": "\xe6\xb3\x95", "id": ' + b"7" * 4301 + b"}]", "more digits than allowed"),
    (b'[{"text": "\xe6\xb3\x95", "reposts": -Infinity}]', "-Infinity is not a number"),
])
def test_hostile_json_is_a_400_in_words(push: Push, body: bytes, says: str) -> None:
    r = push.post(body)
    assert r.status_code == 400, r.text
    assert says in r.json()["error"]
    assert push.items() == 0


def test_bad_counts_ids_and_characters_are_that_posts_errors(push: Push) -> None:
    batch = [
        {"id": "c0", "text": "法律援助", "reposts": 10**30},  # 30 digits
        {"id": "c1", "text": "法律援助", "likes": "inf"},
        {"id": "c2\u0000x", "text": "法律援助"},
        {"id": "c3", "text": "法律援助", "url": "https://a.example/\ud800"},
        {"id": "9" * 300, "text": "法律援助"},
        {"id": "c5", "text": "法律援助", "bad\ud800field": 1},
        {"id": int("7" * 4300), "text": "法律援助"},  # as many digits as Python converts
    ]
    r = push.post(json.dumps({"posts": batch}).encode())  # ASCII escapes: "\ud800" travels
    assert r.status_code == 422, r.text
    errors = {e["index"]: e["error"] for e in r.json()["errors"]}
    assert "'reposts' is larger than 2147483647" in errors[0]
    assert "'likes' must be a number" in errors[1]
    assert errors[2] == "'id' contains a control character (U+0000); remove it"
    assert errors[3] == "'url' contains a lone surrogate (U+D800); remove it"
    assert "'id' is longer than 200 characters" in errors[4]
    assert "unknown field(s) bad\\ud800field" in errors[5]
    assert "'id' is longer than 200 characters" in errors[6]
    assert push.items() == 0


def test_nul_control_characters_and_lone_surrogates_in_text_are_cleaned(push: Push) -> None:
    """As the feed path cleans (monitor.text): stored without them, on SQLite and on
    PostgreSQL (which refuses NUL in text outright)."""
    batch = [{"id": "n1", "text": "法律\u0000援助\u0007被拒\ud800了", "title": "标\u0000题",
              "author": "网\u0000友\x1b", "comments": "12"},
             {"id": "n2", "text": "第二条\u0000正常入库"}]
    r = push.post(json.dumps(batch).encode())
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 2
    with push.sessions() as s:
        rows = s.execute(select(Item.text, Item.title, Item.author)
                         .order_by(Item.id)).all()
    assert [tuple(row) for row in rows] == [("法律援助被拒了", "标题", "网友"),
                                            ("第二条正常入库", "", None)]
