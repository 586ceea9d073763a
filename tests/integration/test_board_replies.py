"""Board messages answered (issue: 已回复 raises no alert; a re-poll that brings the reply
closes the open alert as answered, by the system, audit-logged) through the real paths: a
board served twice on a loopback HTTP server and polled with `yuqing poll`, and the same
through `yuqing import --kind board` re-imported with the reply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Event, Item, Source
from responders.models import Alert, AuditEntry
from tasks.cli import main
from tests.support.fake_web import FakeWeb, fake_web  # noqa: F401  (fixture)

NOW_ISO = "2026-11-24 19:20:00"

# A citizen alleging misconduct (unanswered at first) and one already answered.
UNANSWERED: dict[str, Any] = {
    "tid": 19002301, "title": "开封某公证处工作人员推诿刁难，继承公证跑了五趟",
    "content": "开封市某公证处工作人员态度恶劣、推诿刁难，办理继承公证前后跑了五趟还不给办，"
               "要求提供的材料一次比一次多，投诉到司法局也没人管，请领导督促整改。",
    "fidName": "河南省 开封市", "domainName": "政法", "stateInfo": "未回复",
    "threadsCheckTime": "2026-11-18 09:12:00", "nickName": "网友2301",
    "threadUrl": "https://demo.example/liuyan/thread/19002301",
}
REPLY = {"content": "经核查，该公证处存在多次告知不一致的问题，已责令整改并对相关人员批评教育，"
                    "您的继承公证已于11月20日办结。", "replyTime": "2026-11-20 16:30:00",
         "unitName": "开封市司法局"}
ANSWERED: dict[str, Any] = {
    "tid": 19002302, "title": "法律援助中心拒绝受理讨薪案件，投诉无门",
    "content": "县法律援助中心以材料不全为由拒绝受理我们农民工讨薪的法律援助申请，投诉也没人管，"
               "工作人员推诿，乱收费，请求纠正。",
    "fidName": "河南省 周口市", "domainName": "政法", "stateInfo": "已回复",
    "threadsCheckTime": "2026-11-19 10:00:00", "nickName": "网友2302",
    "threadUrl": "https://demo.example/liuyan/thread/19002302",
    "reply": {"content": "已受理，免予经济困难审查。", "replyTime": "2026-11-21 09:00:00",
              "unitName": "周口市司法局"},
}


def _board(*threads: dict[str, Any]) -> bytes:
    return json.dumps({"result": {"data": list(threads)}}, ensure_ascii=False).encode()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, home: Path) -> None:
    monkeypatch.setenv("YUQING_HOME", str(home))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    monkeypatch.setenv("YUQING_BROKER_URL", "redis://127.0.0.1:1/0")  # nobody listens


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    got = json.loads(out)
    assert isinstance(got, dict)
    return got


def _alerts(sessions: sessionmaker[Session]) -> dict[str, tuple[int, str]]:
    """thread id → (alert id, state)."""
    with sessions() as s:
        rows = s.execute(select(Item.external_id, Alert.id, Alert.state)
                         .join(Alert, Alert.item_id == Item.id)).all()
    return {str(ext): (int(a), str(st)) for ext, a, st in rows}


def _check_closed(sessions: sessionmaker[Session], alert_id: int, unit: str) -> None:
    with sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.alert_id == alert_id)).all()
        assert [(e.actor, e.action, e.from_state, e.to_state) for e in entries] == [
            ("system:board", "answered", "new", "responded")]
        reason = entries[0].detail["reason"]
        assert reason.startswith("留言已回复（") and f"回复单位：{unit}" in reason
        item = s.scalars(select(Item).join(Alert, Alert.item_id == Item.id)
                         .where(Alert.id == alert_id)).one()
        # The board fields are the reply's; the citizen's words are untouched.
        assert item.extra["state"] == "已回复" and item.extra["reply_unit"] == unit
        assert item.extra["reply"].startswith("经核查")
        assert item.text == UNANSWERED["content"]
        event = s.get(Event, item.event_id)
        assert event is not None and event.priority is None


def test_repoll_with_the_reply_closes_the_alert(cli_env: None, fake_web: FakeWeb,
                                                sessions: sessionmaker[Session],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime
    with sessions() as s:
        s.add(Source(name="领导留言板·开封（接口）", url=fake_web.url("/board.json"), kind="board",
                     host="127.0.0.1", interval_s=600, allow_private=True,
                     created_at=datetime.now(UTC), failure_count=0, items_seen=0, config={}))
        s.commit()
    fake_web.add_feed("/board.json", _board(UNANSWERED, ANSWERED),
                      content_type="application/json", etag='"v1"', last_modified=None)
    first = _run(capsys, "poll", "领导留言板·开封（接口）", "--json")
    assert (first["new_items"], first["answered"]) == (2, 0)
    alerts = _alerts(sessions)
    # The answered message raises none, however harsh its words; the other one does.
    assert set(alerts) == {"19002301"}
    alert_id, state = alerts["19002301"]
    assert state == "new"

    answered = {**UNANSWERED, "stateInfo": "已回复", "reply": REPLY}
    fake_web.add_feed("/board.json", _board(answered, ANSWERED),
                      content_type="application/json", etag='"v2"', last_modified=None)
    second = _run(capsys, "poll", "领导留言板·开封（接口）", "--json")
    assert (second["new_items"], second["answered"]) == (0, 1)
    assert _alerts(sessions) == {"19002301": (alert_id, "responded")}
    _check_closed(sessions, alert_id, "开封市司法局")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 2  # no new item

    # A third poll of the same answered board changes nothing more.
    fake_web.add_feed("/board.json", _board(answered, ANSWERED),
                      content_type="application/json", etag='"v3"', last_modified=None)
    third = _run(capsys, "poll", "领导留言板·开封（接口）", "--json")
    assert (third["new_items"], third["answered"]) == (0, 0)
    _check_closed(sessions, alert_id, "开封市司法局")


def _post(thread: dict[str, Any], *, reply: dict[str, str] | None) -> str:
    row: dict[str, Any] = {"id": str(thread["tid"]), "title": thread["title"],
                           "text": thread["content"], "created_at": "2026-11-18T09:12:00+08:00",
                           "url": thread["threadUrl"], "region": thread["fidName"]}
    if reply is not None:
        row.update({"state": "已回复", "reply": reply["content"],
                    "reply_time": "2026-11-20T16:30:00+08:00", "reply_unit": reply["unitName"]})
    return json.dumps(row, ensure_ascii=False)


def test_reimport_with_the_reply_closes_the_alert(cli_env: None, tmp_path: Path,
                                                  sessions: sessionmaker[Session],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "board.jsonl"
    path.write_text(_post(UNANSWERED, reply=None) + "\n", encoding="utf-8")
    out = _run(capsys, "import", str(path), "--source", "留言板导入", "--kind", "board",
               "--json")
    assert (out["imported"], out["answered"]) == (1, 0)
    alert_id, state = _alerts(sessions)["19002301"]
    assert state == "new"

    # The reply arrives without a state: a reply present is enough.
    row = json.loads(_post(UNANSWERED, reply=REPLY))
    del row["state"]
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    again = _run(capsys, "import", str(path), "--source", "留言板导入", "--json")
    assert (again["imported"], again["duplicates"], again["answered"]) == (0, 1, 1)
    assert _alerts(sessions) == {"19002301": (alert_id, "responded")}
    _check_closed(sessions, alert_id, "开封市司法局")


def test_push_with_the_reply_closes_the_alert(settings: Any,
                                              sessions: sessionmaker[Session]) -> None:
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from monitor.analyze import analyze_items
    from monitor.event_store import EventSettings
    from monitor.flagging import FlagPolicy
    from monitor.importing import new_token, push_source
    from monitor.topics import Taxonomy
    from responders.alerts import open_alerts
    from responders.sla import SLA
    from responders.web import create_app
    from tests.support.scorers import AlwaysNegative
    from tests.support.settings import defaults, own_voice

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with sessions() as s:
        token = new_token(push_source(s, "留言板推送", now, kind="board"))
        s.commit()
    app = create_app(settings, lambda name, args: None)
    app.state.desk.clock = lambda: now
    auth = {"Authorization": f"Bearer {token}"}
    first = json.loads(_post(UNANSWERED, reply=None))
    with TestClient(app, base_url="http://testserver") as client:
        r = client.post("/api/v1/ingest", json=[first], headers=auth)
        assert r.status_code == 200 and r.json()["answered"] == 0
        config = Path(defaults().config_dir)
        with sessions() as s:
            analyses = analyze_items(
                s, r.json()["item_ids"], scorer=AlwaysNegative(),
                taxonomy=Taxonomy.from_files(config / "topics.yaml", config / "sensitive.yaml"),
                policy=FlagPolicy.from_section(defaults().flagging), now=now,
                events=EventSettings.from_section(defaults().events), own=own_voice())
            open_alerts(s, analyses, SLA.from_file(config / "sla.yaml"), now)
            s.commit()
        alert_id, state = _alerts(sessions)["19002301"]
        assert state == "new"
        again = client.post("/api/v1/ingest", json=[json.loads(_post(UNANSWERED, reply=REPLY))],
                            headers=auth)
        assert again.status_code == 200, again.text
        assert (again.json()["imported"], again.json()["answered"]) == (0, 1)
    assert _alerts(sessions) == {"19002301": (alert_id, "responded")}
    _check_closed(sessions, alert_id, "开封市司法局")


def test_an_unanswered_message_of_thanks_raises_no_alert(cli_env: None, tmp_path: Path,
                                                         sessions: sessionmaker[Session],
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """Praise on the board (未回复) is not a request waiting for its reply: no alert. A calm
    question beside it still is one (P3, 网民留言尚未回复)."""
    rows = [
        {"id": "19003001", "title": "点赞公证“最多跑一次”，在外地也能办学历公证",
         "text": "我在深圳工作，需要办学历公证出国用，本以为要请假回老家，结果在手机上就申请了，"
                 "三天后公证书寄到，太方便了！为河南公证点赞👍",
         "created_at": "2026-11-18T09:12:00+08:00", "state": "未回复",
         "url": "https://demo.example/liuyan/thread/19003001"},
        {"id": "19003002", "title": "社区矫正报到能否改在乡镇司法所",
         "text": "请问社区矫正报到能否改在乡镇司法所？每月去县城来回六十公里。",
         "created_at": "2026-11-18T10:00:00+08:00", "state": "未回复",
         "url": "https://demo.example/liuyan/thread/19003002"},
    ]
    path = tmp_path / "board.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    out = _run(capsys, "import", str(path), "--source", "留言板导入", "--kind", "board",
               "--json")
    assert out["imported"] == 2
    alerts = _alerts(sessions)
    assert set(alerts) == {"19003002"}
    with sessions() as s:
        alert = s.get_one(Alert, alerts["19003002"][0])
        assert alert.priority == "P3" and "网民留言尚未回复" in alert.reasons
