"""The weekly digest end to end: a realistic week in the database, real mail to a real SMTP
server on loopback (aiosmtpd), the parts, the images and the figures checked; the CLI; the
weekly Celery task run twice by a real worker; the annual and monthly reports.

The seeded week is 2026-W47 (Monday 16 – Sunday 22 November 2026, Asia/Shanghai), with
2026-W46 before it. Every figure asserted below is worked out by hand in the comments.
"""
# ruff: noqa: E501  (the seeded items are a table, one row per line)

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Event, Item, Source
from monitor.settings import load_settings
from responders.digest import IsoWeek, digest_for, send_digest
from responders.models import Alert, MailLog, Output, Publication
from tests.integration.conftest import wait_until
from tests.integration.test_mail import ScriptedHandler, SmtpServer, smtp_server  # noqa: F401

pytestmark = pytest.mark.integration

SH = ZoneInfo("Asia/Shanghai")
W47 = IsoWeek(2026, 47)
SENT_AT = datetime(2026, 11, 23, 8, 0, tzinfo=SH)


def t(day: int, hh: int, mm: int = 0) -> datetime:
    """Local time on November `day`, 2026."""
    return datetime(2026, 11, day, hh, mm, tzinfo=SH)


SOURCES = {
    "news": ("河南法治网", "https://www.hnfzw.example/rss"),
    "weibo": ("微博·河南司法话题", "https://m.weibo.example/search?q=河南司法"),
    "board": ("人民网领导留言板·河南", "https://liuyan.people.example/henan"),
    "wechat": ("河南司法行政在线", "https://mp.weixin.example/hnsfxz"),
    "government": ("河南省司法厅门户网站", "https://sft.henan.example/rss"),
}

# key, local time, source kind, title, topics, label, score (one row per line, for reading)
THIS_WEEK = [
    ("i1", t(16, 9), "weibo", "网传某戒毒所学员被打，家属探视被拒", ["drug_rehab"], "negative", 0.05),
    ("i2", t(16, 10, 30), "weibo", "转发：戒毒所学员被打一事有无调查结果", ["drug_rehab"], "negative", 0.08),
    ("i3", t(16, 15), "news", "省戒毒管理局回应网传戒毒学员被打一事", ["drug_rehab"], "neutral", 0.50),
    ("i4", t(17, 8, 20), "board", "申请法律援助七天无人答复，请问找谁", ["legal_aid"], "negative", 0.12),
    ("i5", t(17, 11), "news", "我省法律援助惠及群众数量创新高", ["legal_aid"], "positive", 0.90),
    ("i6", t(17, 20), "weibo", "律师收费不透明，代理费说涨就涨", ["lawyers"], "negative", 0.20),
    ("i7", t(18, 9, 10), "wechat", "“宪法宣传周”普法活动在全省启动", ["legal_education"], "positive", 0.88),
    ("i8", t(18, 14), "board", "办理继承公证要求提供的证明太多", ["notary"], "negative", 0.10),
    ("i9", t(19, 10), "news", "社区矫正对象管理办法修订公开征求意见", ["community_corrections"], "neutral", 0.55),
    ("i10", t(19, 16, 40), "weibo", "戒毒所打人事件后续：家属称仍未见到人", ["drug_rehab"], "negative", 0.03),
    ("i11", t(20, 9, 30), "government", "《河南省法律援助条例》政策解读", ["legal_aid"], "neutral", 0.60),
    ("i12", t(20, 18), "weibo", "律师事务所收费标准在哪里能查到", ["lawyers"], "neutral", 0.45),
    ("i13", t(21, 12), "board", "邻里纠纷找调解员，调解员不作为", ["mediation"], "negative", 0.15),
    ("i14", t(22, 21), "news", "冬季道路交通安全出行提示", [], "positive", 0.70),
    ("i15", t(22, 22, 30), "weibo", "监狱会见预约系统升级的通知", ["prisons"], None, None),
]
PREVIOUS_WEEK = [
    ("p1", t(9, 10), "weibo", "戒毒人员家属反映探视难", ["drug_rehab"], "negative", 0.10),
    ("p2", t(10, 9), "news", "全省戒毒场所开放日活动举行", ["drug_rehab"], "positive", 0.80),
    ("p3", t(11, 15), "board", "法律援助律师不尽责怎么投诉", ["legal_aid"], "negative", 0.09),
    ("p4", t(12, 10), "board", "法律援助申请材料被退回三次", ["legal_aid"], "negative", 0.07),
    ("p5", t(13, 11), "news", "法律援助工作站进驻乡镇", ["legal_aid"], "positive", 0.85),
    ("p6", t(13, 16), "weibo", "律师执业年度考核结果公布", ["lawyers"], "neutral", 0.50),
    ("p7", t(14, 9), "wechat", "公证服务“最多跑一次”清单发布", ["notary"], "positive", 0.90),
    ("p8", t(15, 20), "news", "监狱系统开展安全大检查", ["prisons"], "neutral", 0.52),
]


def seed_week(session: Session) -> dict[str, int]:
    """The seeded week. Returns alert ids by name (A1 … A6)."""
    sources = {}
    for kind, (name, url) in SOURCES.items():
        src = Source(interval_s=600, name=name, url=url, kind=kind, host=url.split("/")[2],
                     created_at=t(1, 0))
        session.add(src)
        sources[kind] = src
    session.flush()
    items = {}
    for key, at, kind, title, topics, label, score in THIS_WEEK + PREVIOUS_WEEK:
        item = Item(source_id=sources[kind].id, entry_id=key, content_hash=f"h-{key}",
                    title=title, text=title, link=f"https://example.cn/{key}", published_at=at,
                    fetched_at=at + timedelta(minutes=3), analyzed_at=at + timedelta(minutes=4),
                    sentiment_score=score, sentiment_label=label, topics=topics)
        session.add(item)
        items[key] = item
    session.flush()
    alerts: dict[str, int] = {}
    # name, item, priority, state, created, due, state changed, reach, items in event
    plan = [
        ("A1", "i1", "P1", "responded", t(16, 9, 5), t(16, 14, 5), t(16, 13), 12000, 3),
        ("A2", "i4", "P2", "responded", t(17, 8, 25), t(19, 8, 25), t(18, 10), 300, 1),
        ("A3", "i6", "P3", "dismissed", t(17, 20, 5), t(19, 20, 5), t(18, 9), 800, 1),
        ("A4", "i8", "P2", "responded", t(18, 14, 5), t(20, 14, 5), t(21, 10), 50, 1),
        ("A5", "i13", "P3", "new", t(21, 12, 5), t(23, 12, 5), None, 20, 1),
        ("A6", "p4", "P2", "assigned", t(12, 10, 5), t(14, 10, 5), t(12, 11), 40, 1),
    ]
    for name, key, prio, state, created, due, changed, reach, count in plan:
        item = items[key]
        board = item.source_id == sources["board"].id
        event = Event(first_item_id=item.id, item_count=count, source_ids=[item.source_id],
                      reach=reach, negative_count=count, scored_count=count,
                      negative_share=1.0, topics=item.topics, signature=[],
                      first_seen_at=created, last_seen_at=created, priority=prio,
                      kind="message" if board else "event")
        session.add(event)
        session.flush()
        item.event_id = event.id
        if name == "A1":
            items["i2"].event_id = items["i10"].event_id = event.id
        alert = Alert(item_id=item.id, priority=prio, state=state, reasons=["含敏感词"],
                      topics=item.topics, sla_rule="r", milestones=[], created_at=created,
                      due_at=due, state_changed_at=changed)
        session.add(alert)
        session.flush()
        alerts[name] = alert.id
    # Outputs and where they were published (the output log).
    published = [
        (alerts["A1"], "回应", "关于网传某戒毒所学员被打一事的情况通报",
         [("政务微博", t(16, 13)), ("门户网站", t(16, 13, 30))]),
        (alerts["A2"], "回应", "关于法律援助申请答复时限的回复", [("留言板回复", t(18, 10))]),
        (alerts["A4"], "回应", "关于继承公证所需材料的回复", [("留言板回复", t(21, 10))]),
        (None, "政策解读", "《河南省法律援助条例》政策解读",
         [("门户网站", t(20, 9, 30)), ("微信公众号", t(20, 10))]),
    ]
    for alert_id, kind, title, pubs in published:
        out = Output(alert_id=alert_id, kind=kind, title=title, body=title, state="published",
                     created_at=pubs[0][1] - timedelta(hours=1), updated_at=pubs[0][1])
        session.add(out)
        session.flush()
        for channel, at in pubs:
            session.add(Publication(output_id=out.id, channel=channel, published_at=at,
                                    link=f"https://sft.henan.example/{out.id}",
                                    recorded_by="user:wang", recorded_at=at))
    session.flush()
    return alerts


@pytest.fixture
def seeded(sessions: Any) -> dict[str, int]:
    with sessions() as s:
        ids = seed_week(s)
        s.commit()
    return ids


def parts(msg: EmailMessage) -> tuple[str, str, dict[str, bytes]]:
    """(plain text, HTML, {Content-ID: image bytes})."""
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    images = {str(p["Content-ID"]).strip("<>"): p.get_content()
              for p in msg.walk() if p.get_content_type() == "image/png"}
    return text, html, images


# ---------------------------------------------------------------- the mail itself


def test_digest_mail_has_text_html_and_inline_charts(seeded: dict[str, int], sessions: Any,
                                                     settings: Any,
                                                     smtp_server: SmtpServer) -> None:
    smtp = smtp_server.settings()
    with sessions() as s:
        d = digest_for(s, W47, settings)
        report = send_digest(s, d, ["chief@sft.example.gov.cn", "press@sft.example.gov.cn"],
                             smtp, SENT_AT)
    assert report.as_dict() == {"sent": 2, "skipped": 0, "failed": 0}
    msgs = smtp_server.handler.messages()
    assert sorted(m["To"] for m in msgs) == ["chief@sft.example.gov.cn",
                                             "press@sft.example.gov.cn"]
    msg = msgs[0]
    assert msg["Subject"] == "河南省司法厅舆情周报（2026年第47周，2026年11月16日至11月22日）"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain",
                                                                "multipart/related"]
    text, html, images = parts(msg)

    # Volume: 15 items against 8 (+88%); 戒毒 4 against 2; 法律援助 3 against 3.
    assert "本周共监测到 15 条信息，上周 8 条（+88%）" in text
    assert "戒毒：4 / 2 / +100%" in text and "法律援助：3 / 3 / 持平" in text
    assert "普法：1 / 0 / 新出现" in text and "未归类：1 / 0 / 新出现" in text
    assert "微博：6 / 2 / +200%" in text and "留言板：3 / 2 / +50%" in text
    # Sentiment of the 14 scored: 7 negative (50%), 4 neutral (29%), 3 positive (21%).
    assert "已评分 14 条：负面 50%，中性 29%，正面 21%" in text
    assert "11月16日：2 / 1 / 0" in text and "11月22日：0 / 0 / 1" in text
    # Most negative topics (≥ 3 scored items): 戒毒 3 of 4, then 法律援助 1 of 3.
    assert text.index("戒毒：负面 3 / 4 条（75%）") < text.index("法律援助：负面 1 / 3 条（33%）")
    # Top alerts: P1 first, then P2 by reach (A2 300 before A4 50), then P3 (A3 800, A5 20).
    order = [text.index(f"/alerts/{seeded[a]}\n") for a in ("A1", "A2", "A4", "A3", "A5")]
    assert order == sorted(order)
    assert f"/alerts/{seeded['A6']}\n" not in text  # raised the week before
    # Response record: 5 opened, 4 closed (3 responded, 1 dismissed), A6 overdue; of the 3
    # due this week (A1, A2, A4; A3 was dismissed) A1 and A2 were answered in time.
    assert "新增预警 5 条，办结 4 条（已回应 3，无需回应 1），周末仍超期未办 1 条" in text
    assert "本周到期 3 条，按时回应 2 条（67%）" in text
    assert "发布回应 4 篇、政策解读 2 篇" in text
    assert "留言板回复：2 / 0" in text and "门户网站：1 / 1" in text

    # HTML: the same figures, links to the desk, and each image referenced by its cid.
    assert f"http://127.0.0.1:8000/alerts/{seeded['A1']}" in html
    assert "网传某戒毒所学员被打，家属探视被拒" in html
    assert len(images) == 2
    for cid, png in images.items():
        assert f'src="cid:{cid}"' in html
        img = Image.open(BytesIO(png))
        assert img.format == "PNG" and img.size[0] == 1200
        # Not a blank canvas: the trend's negative bars are the desk's red, the topic bars
        # this week's blue.
        colours = {c for _, c in img.convert("RGB").getcolors(1 << 20) or []}
        assert ((192, 57, 43) if cid.startswith("trend.") else (46, 109, 164)) in colours


def test_second_run_sends_no_second_copy(seeded: dict[str, int], sessions: Any,
                                         settings: Any, smtp_server: SmtpServer) -> None:
    smtp = smtp_server.settings()
    to = ["chief@sft.example.gov.cn"]
    with sessions() as s:
        first = send_digest(s, digest_for(s, W47, settings), to, smtp, SENT_AT)
    with sessions() as s:
        second = send_digest(s, digest_for(s, W47, settings), to, smtp,
                             SENT_AT + timedelta(hours=1))
    assert first.as_dict() == {"sent": 1, "skipped": 0, "failed": 0}
    assert second.as_dict() == {"sent": 0, "skipped": 1, "failed": 0}
    assert len(smtp_server.handler.received) == 1


def test_a_week_without_data_still_sends_a_short_digest(sessions: Any, settings: Any,
                                                        smtp_server: SmtpServer) -> None:
    with sessions() as s:
        d = digest_for(s, IsoWeek(2026, 30), settings)
        assert d.empty
        report = send_digest(s, d, ["chief@sft.example.gov.cn"], smtp_server.settings(),
                             SENT_AT)
    assert report.sent == 1
    (msg,) = smtp_server.handler.messages()
    text, html, images = parts(msg)
    assert "本周（2026年7月20日至7月26日）没有监测到信息" in text
    assert "没有监测到信息" in html and images == {}


# ---------------------------------------------------------------- the CLI


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tasks.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_env(db_url: str, home: Path, smtp_server: SmtpServer) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    e.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
              "YUQING_SMTP_HOST": "127.0.0.1", "YUQING_SMTP_PORT": str(smtp_server.port),
              "YUQING_SMTP_TIMEOUT": "5", "YUQING_DIGEST_FROM": "yuqing@sft.example.gov.cn",
              "YUQING_DIGEST_TO": "chief@sft.example.gov.cn, press@sft.example.gov.cn"})
    return e


def test_cli_send_twice_then_log(seeded: dict[str, int], cli_env: dict[str, str],
                                 smtp_server: SmtpServer) -> None:
    r = _cli(cli_env, "digest", "send", "--week", "2026-W47", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"sent": 2, "skipped": 0, "failed": 0}
    r = _cli(cli_env, "digest", "send", "--week", "2026-W47", "--json")
    assert json.loads(r.stdout) == {"sent": 0, "skipped": 2, "failed": 0}
    assert len(smtp_server.handler.received) == 2
    r = _cli(cli_env, "digest", "log", "--json")
    assert {(row["recipient"], row["state"]) for row in json.loads(r.stdout)} == {
        ("chief@sft.example.gov.cn", "sent"), ("press@sft.example.gov.cn", "sent")}


def test_cli_send_reports_a_permanent_failure(seeded: dict[str, int], cli_env: dict[str, str],
                                              smtp_server: SmtpServer) -> None:
    smtp_server.handler.data = ["550 5.1.1 mailbox unavailable"]
    r = _cli(cli_env, "digest", "send", "--week", "2026-W47", "--to",
             "nobody@sft.example.gov.cn", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"sent": 0, "skipped": 0, "failed": 1}
    assert "nobody@sft.example.gov.cn: permanent 550" in r.stderr


@pytest.mark.parametrize("week", ["2026-47", "W47", "2026-W54", "2026-W00", "下周"])
def test_cli_malformed_week_exits_2(cli_env: dict[str, str], week: str) -> None:
    for cmd in ("preview", "send"):
        r = _cli(cli_env, "digest", cmd, "--week", week)
        assert r.returncode == 2
        assert "2026-W47" in r.stderr and r.stderr.startswith("yuqing: error:")


def test_cli_preview_writes_a_page_with_inlined_charts(seeded: dict[str, int],
                                                       cli_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    out = tmp_path / "digest.html"
    r = _cli(cli_env, "digest", "preview", "--week", "2026-W47", "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2 and "cid:" not in page
    text = _cli(cli_env, "digest", "preview", "--week", "2026-W47").stdout
    assert "本周共监测到 15 条信息" in text


def test_cli_reports(seeded: dict[str, int], cli_env: dict[str, str]) -> None:
    r = _cli(cli_env, "report", "annual", "--year", "2026", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    # 6 publication rows of 3 responses and 1 interpretation; 6 alerts in 2026; the board
    # messages A2 (in time), A4 (late), A5 and A6 (no reply yet).
    assert data["publications"]["total"] == 6
    assert (data["responses"], data["interpretations"]) == (3, 1)
    assert data["publications"]["by_channel"][0] == {"channel": "门户网站", "回应": 1,
                                                     "政策解读": 1}
    assert data["alerts"]["total"] == 6
    assert data["messages"] == {"received": 4, "replied": 2, "within_time_limit": 1,
                                "late": 1, "pending": 2}
    md = _cli(cli_env, "report", "annual", "--year", "2026").stdout
    for heading in ("## 一、主动公开政府信息情况", "## 二、政策解读", "## 三、回应社会关切",
                    "## 四、留言办理"):
        assert heading in md
    assert "通过门户网站解读 1 次，通过微信公众号解读 1 次" in md
    assert "| 戒毒 | 1 | 0 | 0 | 1 |" in md
    month = json.loads(_cli(cli_env, "report", "monthly", "--month", "2026-10",
                            "--format", "json").stdout)
    assert month["publications"]["total"] == 0 and month["period"]["label"] == "2026年10月"
    bad = _cli(cli_env, "report", "monthly", "--month", "2026-13")
    assert bad.returncode == 2 and "2026-11" in bad.stderr


# ---------------------------------------------------------------- the weekly task


def test_weekly_task_run_twice_by_a_worker_sends_one_copy(
        seeded: dict[str, int], env: dict[str, str], start_worker: Any, app: Any,
        sessions: Any, smtp_server: SmtpServer) -> None:
    env.update({"YUQING_SMTP_HOST": "127.0.0.1", "YUQING_SMTP_PORT": str(smtp_server.port),
                "YUQING_SMTP_TIMEOUT": "5", "YUQING_DIGEST_TO": "chief@sft.example.gov.cn"})
    # The first delivery is greylisted (451): the task retries itself after the backoff.
    smtp_server.handler.data = ["451 4.7.1 greylisted, try again later"]
    start_worker("--concurrency", "1", "--queues", "notify")

    def state() -> list[tuple[str, int]]:
        with sessions() as s:
            return [(r.state, r.attempts) for r in s.scalars(select(MailLog))]

    app.send_task("responders.send_digest", kwargs={"week": "2026-W47"}, queue="notify")
    wait_until(lambda: state() == [("temporary", 1)], 60, "the greylisted first attempt")
    # Bring the retry forward instead of waiting two minutes: the row says when it is due.
    with sessions() as s:
        row = s.scalars(select(MailLog)).one()
        row.next_attempt_at = row.claimed_at
        s.commit()
    app.send_task("responders.send_digest", kwargs={"week": "2026-W47"}, queue="notify")
    wait_until(lambda: state() == [("sent", 2)], 60, "the retried delivery")
    # Beat fires again (a second beat process, or a re-run): nothing more goes out.
    app.send_task("responders.send_digest", kwargs={"week": "2026-W47"}, queue="notify")
    app.send_task("responders.send_digest", kwargs={"week": "2026-W47"}, queue="notify")
    # The two extra runs leave no trace when they do nothing; give them time to run.
    time.sleep(3)
    assert len(smtp_server.handler.received) == 1
    assert state() == [("sent", 2)]


def test_settings_reach_the_digest(tmp_path: Path) -> None:
    s = load_settings(env={"YUQING_DIGEST_TO": "a@x.example,b@x.example",
                           "YUQING_DIGEST_HOUR": "7"})
    assert s.digest.to == ("a@x.example", "b@x.example")
    assert s.digest.hour == 7


def test_digest_names_topics_as_the_admins_edited_them(seeded: dict[str, int], sessions: Any,
                                                       settings: Any) -> None:
    """The desk's topic editor writes $YUQING_HOME/topics.yaml; the digest follows it."""
    import yaml

    from monitor.settings import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "config" / "topics.yaml").read_text("utf-8"))
    for topic in data["topics"]:
        if topic["id"] == "drug_rehab":
            topic["name"] = "戒毒（已改名）"
    (settings.home / "topics.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                               encoding="utf-8")
    with sessions() as s:
        d = digest_for(s, W47, settings)
    assert "戒毒（已改名）" in {row.name for row in d.by_topic}


def test_an_untitled_post_is_named_by_its_opening_words(seeded: dict[str, int], sessions: Any,
                                                        settings: Any) -> None:
    """Most Weibo posts have no title: the digest names their alert by the post's opening
    words, as the queue does, not as （无标题）."""
    from sqlalchemy import select as select_

    from monitor.models import Item
    from responders.models import Alert

    with sessions() as s:
        before = digest_for(s, W47, settings)
        first = before.top_alerts[0]
        item = s.scalars(select_(Item).join(Alert, Alert.item_id == Item.id)
                         .where(Alert.id == first.id)).one()
        item.title = ""
        s.commit()
        after = digest_for(s, W47, settings)
        named = next(a for a in after.top_alerts if a.id == first.id)
        assert "无标题" not in named.title
        assert named.title.rstrip("…")[:20] == item.text[:20]
