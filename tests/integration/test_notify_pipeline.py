"""Issue 17's end to end: a P1 raised through the real pipeline (a worker process polls a
feed, analyses, raises the alert with its outbox row, drains it) reaches a loopback WeCom
group and an SMS gateway, each once, with the 确认收到 link, and the alert's deliveries are
recorded as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from monitor.models import Item
from monitor.sources import SourceSpec, upsert_source
from responders.models import Alert, NotifyDelivery
from responders.notify import roster
from tests.integration.conftest import wait_until
from tests.support import fake_robots
from tests.support.feeds import sample_feed

DEATH = "戒毒所学员死亡传闻引关注，家属要求公开调查"
ROSTER = "when,start,end,role,person,display_name,phone,email,channels\n" + "".join(
    f"{d},00:00,24:00,duty,wang,王强,13800000004,,sms;wecom\n" for d in range(1, 8))


def test_a_p1_reaches_the_wecom_group_and_the_sms_gateway(
        fake_web, sessions, app, start_worker, env, tmp_path: Path) -> None:
    fake_web.add_feed("/news.xml", sample_feed())
    group = fake_robots.wecom(fake_web, "DEMOKEY")
    sms = fake_robots.sms_gateway(fake_web, "/sms/send", "sms-secret")
    site = tmp_path / "site.yaml"
    host = fake_web.base_url.removeprefix("http://")
    site.write_text(yaml.safe_dump({"web": {"base_url": "https://yq.sft.example"}, "notify": {
        "allow_private": True,
        "channels": {"wecom": f"wecombot://DEMOKEY?base={fake_web.base_url}",
                     "sms": f"smsgw+http://{host}/sms/send?token=${{SMS_TOKEN}}"},
        "rules": [{"name": "urgent", "priorities": ["P1"], "topics": [], "source_kinds": [],
                   "hours": "", "channels": ["wecom", "sms"], "people": ["assignee"],
                   "quiet_hours": ""}]}}, allow_unicode=True), encoding="utf-8")
    env["YUQING_CONFIG"] = str(site)
    env["SMS_TOKEN"] = "sms-secret"
    with sessions() as s:
        people, shifts = roster.read_csv(ROSTER)
        roster.replace_all(s, people, shifts)
        src, _ = upsert_source(s, SourceSpec(name="测试新闻源", url=fake_web.url("/news.xml"),
                                             allow_private=True, interval_s=600),
                               datetime.now(UTC))
        s.commit()
        sid = src.id
    start_worker()
    app.send_task("monitor.poll_source", args=[sid], queue="poll")

    def p1() -> int | None:
        with sessions() as s:
            return s.scalar(select(Alert.id).join(Item, Alert.item_id == Item.id)
                            .where(Item.title == DEATH, Alert.priority == "P1"))
    wait_until(lambda: p1() is not None, 120, "the P1 alert")
    alert = p1()
    link = f"https://yq.sft.example/alerts/{alert}"

    def reached() -> tuple[list[str], list[dict[str, str]]]:
        return ([t for t in group.texts() if link in t],
                # An SMS keeps the ack link (it names the alert) before the desk's link.
                [b for b in sms.accepted if f"/ack/{alert}." in b["text"]])
    wait_until(lambda: all(reached()), 60, "the WeCom group and the SMS gateway")
    wait_until(lambda: _states(sessions, alert) == {("wecom", "sent"), ("sms", "sent")}, 30,
               "both deliveries recorded as sent")
    texts, texts_sms = reached()
    assert len(texts) == 1 and len(texts_sms) == 1  # each once
    assert texts[0].startswith(f"【舆情预警】P1 紧急：{DEATH}")
    (mentioned,) = [b["text"]["mentioned_mobile_list"] for b in group.accepted
                    if link in b["text"]["content"]]
    assert mentioned == ["13800000004"]  # an unassigned P1: the person on duty
    assert texts_sms[0]["to"] == "13800000004"
    assert "确认收到：https://yq.sft.example/ack/" in texts_sms[0]["text"]


def _states(sessions, alert_id: int) -> set[tuple[str, str]]:
    with sessions() as s:
        return {(d.channel, d.state) for d in s.scalars(select(NotifyDelivery).where(
            NotifyDelivery.alert_id == alert_id))}
