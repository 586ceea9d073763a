"""Each social source kind through the real HTTP path: the fixture served by the loopback
server, fetched by monitor.fetch, parsed by the kind's parser, stored and grouped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.fetch import FetchPolicy
from monitor.models import Item, Source
from monitor.polling import PollReport, PollSettings
from tests.support.fake_web import FakeWeb
from tests.support.polling import poll_once
from tests.support.settings import defaults, poll_settings

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "social"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FETCH = FetchPolicy.from_section(defaults().fetch)
MAPPING = {"items": "data.results", "id": "post_id", "text": "content", "time": "publish_time",
           "author": "author.nickname", "url": "share_url", "reposts": "stats.forward",
           "comments": "stats.comment", "likes": "stats.like"}


def _add(sessions: sessionmaker[Session], url: str, kind: str,
         config: dict[str, object] | None = None, interval: int = 600) -> int:
    with sessions() as s:
        src = Source(name=f"{kind}-{url}", url=url, kind=kind, host="127.0.0.1",
                     interval_s=interval, allow_private=True, created_at=NOW,
                     failure_count=0, items_seen=0, config=config or {})
        s.add(src)
        s.commit()
        return src.id


def _poll(sessions: sessionmaker[Session], sid: int, now: datetime = NOW,
          waits: list[float] | None = None) -> list[Item]:
    report = poll_once(sessions, sid, policy=FETCH, cfg=poll_settings(), now=now,
                       sleep=(waits.append if waits is not None else lambda _: None))
    assert report is not None and report.ok, report
    with sessions() as s:
        return list(s.scalars(select(Item).where(Item.source_id == sid).order_by(Item.id)))


@pytest.mark.parametrize(("kind", "fixture", "ctype", "config", "expect"), [
    ("weibo", "weibo_search.json", "application/json", None,
     {"5101234567890456": ("5101234567890123", 4), "5101234567890123": (None, 6665)}),
    ("weibo", "weibo_bridge.xml", "application/rss+xml", None,
     {"P3xQrStUv": (None, 741)}),
    ("wechat", "wechat_bridge.xml", "application/rss+xml", None, {}),
    ("board", "board_threads.json", "application/json", None, {"18823456": (None, 0)}),
    ("news", "vendor_api.json", "application/json", {"mapping": MAPPING},
     {"dy_7391002": (None, 24622)}),
])
def test_source_kind_over_http(fake_web: FakeWeb, sessions: sessionmaker[Session], kind: str,
                               fixture: str, ctype: str, config: dict[str, object] | None,
                               expect: dict[str, tuple[str | None, int]]) -> None:
    fake_web.add("/" + fixture, 200, (FIX / fixture).read_bytes(), {"Content-Type": ctype})
    sid = _add(sessions, fake_web.url("/" + fixture), kind, config)
    items = _poll(sessions, sid)
    assert items
    by_ext = {i.external_id: i for i in items}
    for ext, (repost_of, reach) in expect.items():
        item = by_ext[ext]
        assert item.repost_of == repost_of
        assert sum(n or 0 for n in (item.reposts, item.comments, item.likes)) == reach
    if kind == "board":
        assert all(i.extra["message"] for i in items)
        assert {i.extra["state"] for i in items} == {"未回复", "已回复", "办理中"}
    if kind == "wechat":
        assert {i.author for i in items} == {"河南司法行政在线"}
        assert items[0].extra["reads"] == 100000
    # A second poll stores nothing twice.
    assert len(_poll(sessions, sid, NOW + timedelta(minutes=20))) == len(items)


def test_politeness_waits_between_requests_to_one_host(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:
    body = (FIX / "weibo_timeline.json").read_bytes()
    fake_web.add("/a.json", 200, body, {"Content-Type": "application/json"})
    fake_web.add("/b.json", 200, body, {"Content-Type": "application/json"})
    a = _add(sessions, fake_web.url("/a.json"), "weibo")
    b = _add(sessions, fake_web.url("/b.json"), "weibo")
    waits: list[float] = []
    cfg = poll_settings(host_intervals={"127.0.0.1": 0.5})
    for sid in (a, b):
        poll_once(sessions, sid, policy=FETCH, cfg=cfg, now=NOW + timedelta(seconds=0.1
                  * (sid == b)), sleep=waits.append)
    assert waits == [0.0, pytest.approx(0.4)]


def test_a_productive_source_that_goes_quiet_is_reported(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:
    fake_web.add("/w.json", 200, (FIX / "weibo_timeline.json").read_bytes(),
                  {"Content-Type": "application/json"})
    sid = _add(sessions, fake_web.url("/w.json"), "weibo", interval=600)
    _poll(sessions, sid)

    def poll(minutes: int) -> PollReport | None:
        return poll_once(sessions, sid, policy=FETCH, cfg=poll_settings(),
                         now=NOW + timedelta(minutes=minutes), sleep=lambda _: None)

    quiet = poll(30)
    assert quiet is not None and not quiet.went_silent  # 3 intervals: not yet
    late = poll(41)
    assert late is not None and late.went_silent
    again = poll(60)
    assert again is not None and not again.went_silent  # reported once, not every poll
    with sessions() as s:
        source = s.get(Source, sid)
        assert source is not None and source.silent_since is not None
        assert "源可能已失效" in (source.last_warning or "")
    fake_web.add("/w.json", 200, json.dumps({"statuses": [{
        "id": 9, "text": "新的一条", "created_at": "Sat Nov 21 20:00:00 +0800 2026"}]}).encode(),
        {"Content-Type": "application/json"})
    _poll(sessions, sid, NOW + timedelta(minutes=80))
    with sessions() as s:
        source = s.get(Source, sid)
        assert source is not None and source.silent_since is None


def test_config_from_a_sources_file_drives_the_json_api(
        fake_web: FakeWeb, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """The mapping written in YAML reaches the parser: load → upsert → poll over HTTP."""
    from monitor.sources import IntervalRules, load_specs, upsert_source

    fake_web.add("/vendor.json", 200, (FIX / "vendor_api.json").read_bytes(),
                 {"Content-Type": "application/json"})
    path = tmp_path / "sources.yaml"
    lines = [f"      {k}: {v}" for k, v in MAPPING.items()]
    path.write_text("sources:\n  - name: 舆情服务商\n    url: " + fake_web.url("/vendor.json")
                    + "\n    allow_private: true\n    config:\n      mapping:\n"
                    + "\n".join("  " + line for line in lines) + "\n", encoding="utf-8")
    [spec] = load_specs(path, IntervalRules.from_section(defaults().poll))
    with sessions() as s:
        source, created = upsert_source(s, spec, NOW)
        assert created and source.config == {"mapping": MAPPING}
        s.commit()
        sid = source.id
    items = _poll(sessions, sid)
    by_ext = {i.external_id: i for i in items}
    assert by_ext["dy_7391002"].author == "南阳身边事"
    assert by_ext["dy_7391002"].likes == 23000

    # Re-loading a spec without config (e.g. `sources add` on the same name) keeps it.
    from dataclasses import replace

    with sessions() as s:
        source, created = upsert_source(s, replace(spec, config=None), NOW)
        assert not created and source.config == {"mapping": MAPPING}
        source, _ = upsert_source(s, replace(spec, config={}), NOW)
        assert source.config == {}
