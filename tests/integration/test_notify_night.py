"""A night at the press office, in travelled time, on a real database with loopback WeCom
and SMS servers: a P1 at 22:40 on a Saturday reaches the group and the person on duty, is
not acknowledged, and escalates to the duty leader and then the office head at the
configured minutes; a P3 raised at 23:00 waits for 08:00; an acknowledged P2 stops there.
The drain (tasks.jobs.drain_outbox) is called in this process, its clock moved by hand."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings, load_settings
from responders import outbox
from responders.desk import history
from responders.models import AckToken, Alert, NotifyDelivery
from responders.notify import ack, roster, service
from tasks import jobs
from tasks import runtime as runtime_mod
from tasks.runtime import Runtime, build_runtime
from tests.integration.test_reminders import add_alert
from tests.support import fake_robots
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration

SAT_2240 = datetime(2026, 12, 5, 14, 40, tzinfo=UTC)  # Saturday 22:40 in Shanghai
ROSTER = """when,start,end,role,person,display_name,phone,email,channels
sat,08:30,18:00,duty,zhang,张伟,13800000001,,sms;wecom
sat,18:00,08:30,duty,wang,王强,13800000004,,sms;wecom
sat,00:00,24:00,leader,zhao,赵主任,13800000003,,sms
sun,00:00,24:00,leader,zhao,赵主任,13800000003,,sms
sat,00:00,24:00,head,chen,陈处长,13800000005,,sms;wecom
sun,00:00,24:00,head,chen,陈处长,13800000005,,sms;wecom
"""


def notify_settings(db_url: str, home: Path, web: FakeWeb) -> Settings:
    host = web.base_url.removeprefix("http://")
    return load_settings(
        env={"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
             "YUQING_NOTIFY_TIMEOUT": "3"},
        overrides={
            "web": {"base_url": "https://yq.sft.example"},
            "notify": {
                "allow_private": True,  # the loopback fakes
                "ack_minutes": {"P1": 15, "P2": 60},
                "chain": ["leader", "head"],
                "channels": {"wecom": f"wecombot://GROUPKEY?base={web.base_url}",
                             "sms": f"smsgw+http://{host}/sms/send?token=${{YUQING_SMS_TOKEN}}"},
                "rules": [
                    {"name": "urgent", "priorities": ["P1", "P2"], "topics": [],
                     "source_kinds": [], "hours": "", "channels": ["wecom", "sms"],
                     "people": ["assignee"], "quiet_hours": "22:00-08:00"},
                    {"name": "routine", "priorities": ["P3"], "topics": [],
                     "source_kinds": [], "hours": "", "channels": ["wecom"],
                     "people": ["duty"], "quiet_hours": "22:00-08:00"},
                ]}})


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def night(fake_web: FakeWeb, db_url: str, home: Path, sessions: sessionmaker[Session],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    clock = Clock(SAT_2240)
    monkeypatch.setenv("YUQING_SMS_TOKEN", "sms-token")  # ${…} in a channel URL
    monkeypatch.setattr(jobs, "_now", clock)
    rt = build_runtime(notify_settings(db_url, home, fake_web))
    monkeypatch.setattr(runtime_mod, "_current", rt)
    group = fake_robots.wecom(fake_web, "GROUPKEY")
    sms = fake_robots.sms_gateway(fake_web, "/sms/send", "sms-token")
    with sessions() as s:
        people, shifts = roster.read_csv(ROSTER)
        roster.replace_all(s, people, shifts)
        s.commit()
    yield {"clock": clock, "group": group, "sms": sms, "rt": rt}
    rt.engine.dispose()


def raise_alert(sessions: sessionmaker[Session], title: str, priority: str,
                at: datetime) -> int:
    with sessions() as s:
        alert_id = add_alert(s, title, raised=at, priority=priority, assignee=None)
        outbox.add_alerts(s, [alert_id], at)
        s.commit()
    return alert_id


def drain_at(night: dict[str, Any], at: datetime) -> dict[str, int]:
    night["clock"].at = at
    return jobs.drain_outbox()


def test_a_p1_at_2240_escalates_and_a_p3_waits_for_morning(
        night: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    group, sms = night["group"], night["sms"]
    p1 = raise_alert(sessions, "网传某强制隔离戒毒所学员在所内死亡", "P1", SAT_2240)
    drain_at(night, SAT_2240)
    # Unassigned P1 → the person on duty tonight (wang): the group with an @, and an SMS.
    assert len(group.accepted) == 1
    assert group.accepted[0]["text"]["mentioned_mobile_list"] == ["13800000004"]
    assert [m["to"] for m in sms.accepted] == ["13800000004"]
    assert "确认收到：https://yq.sft.example/ack/" in sms.accepted[0]["text"]

    drain_at(night, SAT_2240 + timedelta(minutes=14))
    assert (len(group.accepted), len(sms.accepted)) == (1, 1)  # not yet

    drain_at(night, SAT_2240 + timedelta(minutes=15, seconds=5))
    assert [m["to"] for m in sms.accepted] == ["13800000004", "13800000003"]  # 带班领导
    assert "【升级提醒】" in sms.accepted[1]["text"]
    assert len(group.accepted) == 1  # zhao is reached by SMS only (his channels)

    p3 = raise_alert(sessions, "律师事务所收费标准咨询", "P3", SAT_2240 + timedelta(minutes=20))
    drain_at(night, SAT_2240 + timedelta(minutes=20))
    assert len(group.accepted) == 1  # the P3 is held for the morning

    drain_at(night, SAT_2240 + timedelta(minutes=30, seconds=10))
    assert [m["to"] for m in sms.accepted][-1] == "13800000005"  # 办公室主任
    assert len(group.accepted) == 2  # chen is @-ed in the group too
    assert group.accepted[1]["text"]["mentioned_mobile_list"] == ["13800000005"]

    drain_at(night, SAT_2240 + timedelta(hours=3))
    assert len(sms.accepted) == 3  # the chain is spent: nothing more, nothing twice

    morning = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)  # Sunday 08:00 in Shanghai
    drain_at(night, morning - timedelta(minutes=1))
    assert len(group.accepted) == 2
    drain_at(night, morning)
    assert len(group.accepted) == 3
    assert "【舆情预警】P3 一般：律师事务所收费标准咨询" in group.texts()[2]
    drain_at(night, morning + timedelta(minutes=5))
    assert len(group.accepted) == 3 and len(sms.accepted) == 3

    with sessions() as s:
        actions = [(e.action, (e.detail or {}).get("step")) for e in history(s, p1)]
        rows = service.deliveries(s, p1)
        held = [e.action for e in history(s, p3)]
    assert actions.count(("notify_escalate", 1)) == 1
    assert actions.count(("notify_escalate", 2)) == 1
    assert {(r.step, r.channel, r.person, r.state) for r in rows} == {
        (0, "wecom", "", "sent"), (0, "sms", "wang", "sent"),
        (1, "sms", "zhao", "sent"), (2, "wecom", "", "sent"), (2, "sms", "chen", "sent")}
    assert "notify_held" in held


def test_an_acknowledged_alert_does_not_escalate_and_the_link_works_once(
        night: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    sms, group = night["sms"], night["group"]
    p2 = raise_alert(sessions, "某监狱会见室排队时间过长被投诉", "P2",
                     SAT_2240 - timedelta(hours=10))  # 12:40, outside quiet hours
    drain_at(night, SAT_2240 - timedelta(hours=10))
    # An unassigned P2 goes to the group only (only a P1 falls to the person on duty).
    assert sms.accepted == [] and len(group.accepted) == 1
    with sessions() as s:
        assert "notify_nobody" in [e.action for e in history(s, p2)]
    link = re.search(r"\[确认收到\]\((\S+)\)", group.texts()[0])
    assert link is not None
    token = link.group(1).rsplit("/ack/", 1)[1]
    rt = night["rt"]
    cfg = service.Config.from_settings(rt.settings)
    with sessions() as s:
        done = service.acknowledge(s, cfg, token, SAT_2240 - timedelta(hours=9, minutes=50))
        s.commit()
    assert (done.alert_id, done.person) == (p2, "")
    with sessions() as s, pytest.raises(ack.AckError, match="already used"):
        service.acknowledge(s, cfg, token, SAT_2240 - timedelta(hours=9, minutes=40))
    drain_at(night, SAT_2240 - timedelta(hours=8))
    assert sms.accepted == [] and len(group.accepted) == 1  # acknowledged: no escalation
    with sessions() as s:
        assert [e.actor for e in history(s, p2) if e.action == "notify_ack"] == ["ack:group"]
        assert s.scalar(select(AckToken.used_at).where(AckToken.alert_id == p2)) is not None


def test_a_delivery_left_sending_is_never_resent(
        night: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    """A worker killed between the claim and the outcome leaves the row `sending`: shown,
    never sent again by a later drain."""
    p1 = raise_alert(sessions, "网传看守所在押人员非正常死亡", "P1", SAT_2240)
    rt = night["rt"]
    cfg = service.Config.from_settings(rt.settings)
    with sessions() as s:
        service.plan_alert(s, cfg, p1, SAT_2240)
        s.commit()
    with sessions() as s:
        claim = service.claim_next(s, SAT_2240)  # … and the worker dies here
    assert claim is not None
    drain_at(night, SAT_2240 + timedelta(minutes=1))
    with sessions() as s:
        row = s.get(NotifyDelivery, claim.id)
        assert row is not None and row.state == "sending"
    sent_to = [m["to"] for m in night["sms"].accepted] + [
        "group" for _ in night["group"].accepted]
    assert sent_to.count("13800000004") + sent_to.count("group") == 1


def test_an_alert_that_rose_to_p1_starts_its_clock_at_the_p1_message(
        night: dict[str, Any], sessions: sessionmaker[Session]) -> None:
    group, sms = night["group"], night["sms"]
    noon = SAT_2240 - timedelta(hours=10, minutes=40)
    a = raise_alert(sessions, "某司法所调解员态度差被投诉", "P3", noon)
    drain_at(night, noon)
    assert len(group.accepted) == 1 and sms.accepted == []
    with sessions() as s:  # the story grew: the alert is now a P1
        alert = s.get(Alert, a)
        assert alert is not None
        alert.priority = "P1"
        outbox.add_alerts(s, [a], SAT_2240)
        s.commit()
    drain_at(night, SAT_2240)
    assert len(sms.accepted) == 1  # the P1 message to the person on duty
    drain_at(night, SAT_2240 + timedelta(minutes=1))
    assert len(sms.accepted) == 1  # not escalated on the strength of the noon P3 message
    drain_at(night, SAT_2240 + timedelta(minutes=15, seconds=1))
    assert [m["to"] for m in sms.accepted] == ["13800000004", "13800000003"]
