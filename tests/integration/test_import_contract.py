"""The import contract of issue 12: `yuqing import --kind`, board fields in the import schema,
imported sources never polled whatever their kind, and the links of `alerts list --json` and
`events list --json`. In process: no broker listens, so the import analyses here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.db import make_engine, make_sessionmaker
from monitor.models import Event, Item, Source
from monitor.polling import claim_due
from monitor.social.board import parse_board_json
from tasks.cli import main


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, home: Path) -> None:
    monkeypatch.setenv("YUQING_HOME", str(home))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    monkeypatch.setenv("YUQING_BROKER_URL", "redis://127.0.0.1:1/0")  # nobody listens


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def _write(path: Path, posts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts),
                    encoding="utf-8")
    return path


ANSWERED = {"id": "m-1", "title": "公证费收费标准咨询",
            "text": "请问办理继承公证的收费标准是多少？", "author": "网友甲",
            "created_at": "2026-11-10 09:00:00",
            "url": "https://liuyan.example.cn/thread/m-1", "region": "信阳市",
            "domain": "司法", "state": "已答复", "reply": "您好！继承公证按标的额分段收费……",
            "reply_time": "2026-11-16 10:05:00", "reply_unit": "信阳市司法局"}
UNANSWERED = {"id": "m-2", "title": "申请法律援助被拒",
              "text": "申请法律援助被拒，理由不清楚，希望给个说法。",
              "created_at": "2026-11-19 21:14:07", "region": "周口市",
              "url": "https://liuyan.example.cn/thread/m-2"}


def _as_thread(post: dict[str, Any]) -> dict[str, Any]:
    """The same message as a board's thread list writes it (monitor.social.board)."""
    thread = {"tid": post["id"], "title": post["title"], "content": post["text"],
              "fidName": post.get("region"), "domainName": post.get("domain"),
              "stateInfo": post.get("state"), "createDateTime": post["created_at"]}
    if post.get("reply"):
        thread["reply"] = {"content": post["reply"], "replyTime": post["reply_time"],
                           "unitName": post.get("reply_unit")}
    return thread


def test_import_kind_board_keeps_messages_as_the_board_parser_does(
        cli_env: None, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "board.jsonl", [ANSWERED, UNANSWERED,
                                             {"id": "m-3", "text": "x", "state": 1}])
    out = _run(capsys, "import", str(path), "--source", "留言板导入", "--kind", "board",
               "--json")
    assert (out["imported"], out["duplicates"]) == (2, 0)
    assert out["errors"] == [{"line": 3, "error": "'state' must be a string, got 1"}]

    polled = parse_board_json(json.dumps(
        {"result": {"data": [_as_thread(ANSWERED), _as_thread(UNANSWERED)]}},
        ensure_ascii=False).encode())
    expected = {e.external_id: dict(e.extra) for e in polled.entries}  # type: ignore[attr-defined]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        source = s.scalars(select(Source).where(Source.name == "留言板导入")).one()
        assert (source.kind, source.interval_s) == ("board", 0)
        items = {i.external_id: i for i in s.scalars(select(Item))}
        assert {k: i.extra for k, i in items.items()} == expected
        assert items["m-1"].extra["state"] == "已回复"  # 已答复 read as the board reads it
        assert items["m-1"].extra["reply_at"] == "2026-11-16T10:05:00+08:00"
        assert items["m-2"].extra["state"] == "未回复" and items["m-2"].extra["reply"] is None
        # Analysed as messages: each its own event of kind "message", whatever the text.
        kinds = {i.external_id: s.get(Event, i.event_id).kind  # type: ignore[union-attr]
                 for i in items.values()}
        assert kinds == {"m-1": "message", "m-2": "message"}
    engine.dispose()

    alerts = _run(capsys, "alerts", "list", "--json")
    unanswered = [a for a in alerts if a["link"] == UNANSWERED["url"]]
    assert unanswered and "网民留言尚未回复（周口市）" in unanswered[0]["reasons"]


def test_board_fields_need_a_board_source(cli_env: None, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "mixed.jsonl", [UNANSWERED, {"id": "w-1", "text": "普通微博"}])
    out = _run(capsys, "import", str(path), "--source", "微博导入", "--kind", "weibo",
               "--json")
    assert out["imported"] == 1
    [err] = out["errors"]
    assert err["line"] == 1 and "message-board fields" in err["error"]
    assert "--kind board" in err["error"]


def test_kind_of_an_existing_source_is_kept(cli_env: None, db_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    first = _write(tmp_path / "a.jsonl", [{"id": "a1", "text": "律师执业许可办理进度查询"}])
    _run(capsys, "import", str(first), "--source", "厂商", "--json")  # kind push
    second = _write(tmp_path / "b.jsonl", [UNANSWERED])
    assert main(["import", str(second), "--source", "厂商", "--kind", "board", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "exists with kind 'push'" in captured.err and "--kind board" in captured.err
    assert main(["import", str(first), "--source", "新源", "--kind", "forum"]) == 2
    assert "kind must be one of news, government, weibo, wechat, board" in \
        capsys.readouterr().err
    # Same kind again, or no --kind: the import goes in.
    again = _run(capsys, "import", str(first), "--source", "厂商", "--json")
    assert (again["imported"], again["duplicates"]) == (0, 1)
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 1  # nothing else stored
        assert [r.name for r in s.scalars(select(Source))] == ["厂商"]
    engine.dispose()


def test_imported_source_of_any_kind_is_never_claimed(
        cli_env: None, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "news.jsonl", [{"id": "n1", "text": "省司法厅发布公共法律服务新举措"}])
    _run(capsys, "import", str(path), "--source", "新闻导入", "--kind", "news", "--json")
    _run(capsys, "import", str(path), "--source", "推送", "--json")
    assert main(["sources", "add", "https://news.example.cn/rss", "--name", "门户",
                 "--json"]) == 0
    capsys.readouterr()
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        ids = {r.name: r.id for r in s.scalars(select(Source))}
        assert s.get(Source, ids["新闻导入"]).kind == "news"  # type: ignore[union-attr]
        later = datetime.now(UTC) + timedelta(days=365)
        claimed = claim_due(s, later, batch_size=100, per_host=10, lease_s=60)
        assert claimed == [ids["门户"]]
    engine.dispose()
    # Nor polled by hand: `yuqing poll` refuses in words and writes nothing on the source.
    assert main(["poll", "新闻导入"]) == 2
    assert "never polled" in capsys.readouterr().err
    with make_sessionmaker(engine)() as s:
        src = s.get(Source, ids["新闻导入"])
        assert src is not None and src.last_error is None and src.last_checked_at is None
    engine.dispose()


def test_alerts_and_events_list_carry_their_links(cli_env: None, db_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    story = ("南阳市法律援助中心拒绝受理农民工讨薪申请，当事人多次投诉无人回应，"
             "网友质疑法律援助形同虚设")
    posts = [{"id": f"s{n}", "text": story + "！" * n, "reposts": 3000,
              "created_at": f"2026-11-20T0{9 - n}:00:00+08:00",
              "url": f"https://weibo.example.cn/s{n}"} for n in range(4)]
    posts.append({"id": "s9", "text": story, "repost_of": "s0"})  # no link of its own
    path = _write(tmp_path / "story.jsonl", posts)
    _run(capsys, "import", str(path), "--source", "微博导入", "--kind", "weibo", "--json")

    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        event_ids = set(s.scalars(select(Item.event_id)))
    engine.dispose()
    assert len(event_ids) == 1
    # Oldest first: s3 was posted at 06:00, s0 at 09:00; the repost without a link is left out.
    links = [f"https://weibo.example.cn/s{n}" for n in (3, 2, 1, 0)]

    events = _run(capsys, "events", "list", "--json")
    assert [(e["id"], e["links"]) for e in events] == [(event_ids.pop(), links)]
    alerts = _run(capsys, "alerts", "list", "--json")
    assert alerts, "a story with this reach raises an alert"
    assert [(a["event_id"], a["links"]) for a in alerts] == [(events[0]["id"], links)]


def test_event_links_is_one_query_for_the_listed_events(
        cli_env: None, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import event

    from responders.queue import event_links

    topics = "律师 公证 仲裁 调解 社区矫正".split()
    posts = [{"id": f"p{n}", "text": f"第{n}条：{topics[n]}相关问题咨询{n * 7}号",
              "url": f"https://example.cn/p{n}"} for n in range(5)]
    _run(capsys, "import", str(_write(tmp_path / "p.jsonl", posts)), "--json")
    engine = make_engine(db_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    with make_sessionmaker(engine)() as s:
        ids = list(s.scalars(select(Event.id)))
        statements.clear()
        links = event_links(s, ids)
    engine.dispose()
    assert len(statements) == 1
    assert sorted(link for group in links.values() for link in group) == \
        sorted(p["url"] for p in posts)


def test_push_api_takes_board_fields_for_a_board_source(settings: Any, db_url: str) -> None:
    from fastapi.testclient import TestClient

    from monitor.importing import new_token, push_source
    from responders.web import create_app

    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        board_token = new_token(push_source(s, "留言板推送", now, kind="board"))
        push_token = new_token(push_source(s, "厂商推送", now))
        s.commit()
    app = create_app(settings, lambda name, args: None)
    with TestClient(app, base_url="http://testserver") as client:
        def post(token: str, body: Any) -> Any:
            return client.post("/api/v1/ingest", json=body,
                               headers={"Authorization": f"Bearer {token}"})

        # Board fields into a source that is not a board: refused, whole batch, in words.
        r = post(push_token, [UNANSWERED])
        assert r.status_code == 422
        assert "message-board fields" in r.json()["errors"][0]["error"]
        r = post(board_token, {"posts": [ANSWERED, UNANSWERED]})
        assert r.status_code == 200 and r.json()["imported"] == 2
    with sessions() as s:
        extra = {i.external_id: i.extra for i in s.scalars(select(Item))}
    engine.dispose()
    assert (extra["m-1"]["state"], extra["m-1"]["reply_unit"]) == ("已回复", "信阳市司法局")
    assert (extra["m-2"]["state"], extra["m-2"]["region"]) == ("未回复", "周口市")
    assert extra["m-2"]["message"] is True
