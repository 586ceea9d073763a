"""Pure parts of responders.notify: channel URL forms and signatures, platform answers,
routing with quiet hours and cooldown, the roster, ack links, escalation decisions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.settings_schema import NotifyRuleSection
from responders.notify import ack, channels, escalation, message, roster, routing

TZ = "Asia/Shanghai"
# Saturday 2026-12-05 22:40 in Shanghai.
NIGHT = datetime(2026, 12, 5, 14, 40, tzinfo=UTC)


def rule(**kw: object) -> NotifyRuleSection:
    base: dict[str, object] = dict(name="r", priorities=(), topics=(), source_kinds=(),
                                   hours="", channels=("wecom",), people=("duty",),
                                   quiet_hours="")
    base.update(kw)
    return NotifyRuleSection(**base)  # type: ignore[arg-type]


def facts(priority: str = "P1", topics: tuple[str, ...] = ("drug_rehab",),
          kind: str = "weibo", event: int | None = 7) -> routing.AlertFacts:
    return routing.AlertFacts(1, event, priority, topics, kind)


# ---------------------------------------------------------------- channels

@pytest.mark.parametrize(("url", "kind", "endpoint"), [
    ("wecombot://abc", "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),
    ("wecom://abc?base=http://127.0.0.1:9/", "wecom",
     "http://127.0.0.1:9/cgi-bin/webhook/send?key=abc"),
    ("dingtalk://tok?secret=S", "dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=tok"),
    ("feishu://hook-1", "feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/hook-1"),
    ("lark://hook-1", "lark", "https://open.larksuite.com/open-apis/bot/v2/hook/hook-1"),
    ("https://hooks.example.cn/x?y=1", "json", "https://hooks.example.cn/x?y=1"),
    ("smsgw+https://sms.example.cn/send?token=T&sign=sft", "sms",
     "https://sms.example.cn/send?sign=sft"),
    ("mailto:", "email", ""),
])
def test_channel_url_forms(url: str, kind: str, endpoint: str) -> None:
    spec = channels.parse("c", url, env={})
    assert (spec.kind, spec.endpoint) == (kind, endpoint)


def test_channel_secrets_come_from_the_environment_and_are_not_shown() -> None:
    spec = channels.parse("d", "dingtalk://${DT_TOKEN}?secret=${DT_SECRET}&keyword=舆情",
                          env={"DT_TOKEN": "t0k", "DT_SECRET": "SECabc"})
    assert spec.secret == "SECabc" and spec.keyword == "舆情" and "t0k" in spec.endpoint
    assert "t0k" not in spec.shown() and "SEC" not in spec.shown()
    with pytest.raises(channels.ChannelSpecError, match=r"\$\{DT_TOKEN\}"):
        channels.parse("d", "dingtalk://${DT_TOKEN}", env={})
    with pytest.raises(channels.ChannelSpecError, match="unknown kind"):
        channels.parse("x", "telegram://abc", env={})


def test_signatures_follow_the_platforms_recipes() -> None:
    # DingTalk: key = secret, message = "ts\nsecret".
    want = base64.b64encode(hmac.new(b"SEC1", b"1700000000000\nSEC1", hashlib.sha256)
                            .digest()).decode()
    assert channels.dingtalk_sign("SEC1", 1700000000000) == want
    # Feishu: key = "ts\nsecret", empty message.
    want = base64.b64encode(hmac.new(b"1700000000\nfs", b"", hashlib.sha256).digest()).decode()
    assert channels.feishu_sign("fs", 1700000000) == want


@pytest.mark.parametrize(("kind", "status", "payload", "outcome", "says"), [
    ("wecom", 200, {"errcode": 0, "errmsg": "ok"}, "sent", "accepted"),
    ("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, "retry", "45009"),
    ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "failed", "93000"),
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "keywords not in content"}, "failed",
     "关键词"),
    ("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"}, "retry", "太频繁"),
    ("feishu", 200, {"code": 19021, "msg": "sign match fail"}, "failed", "19021"),
    ("feishu", 200, {"StatusCode": 0, "StatusMessage": "success"}, "sent", "accepted"),
    ("json", 204, None, "sent", "204"),
    ("json", 500, None, "failed", "500"),
    ("sms", 429, None, "retry", "429"),
])
def test_platform_answers(kind: str, status: int, payload: object, outcome: str,
                          says: str) -> None:
    r = channels.judge(kind, status, payload)
    assert r.outcome == outcome and says in r.detail


def test_dingtalk_body_carries_the_keyword_and_mentions() -> None:
    spec = channels.parse("d", "dingtalk://t?keyword=司法厅", env={})
    n = message.Notice(1, "P1", "网传某戒毒所学员死亡", ("负面情感", "涉羁押场所"),
                       NIGHT + timedelta(hours=5), "https://yq.example/alerts/1",
                       mentions=("13800000001",))
    body = channels.body_for(spec, n, NIGHT, TZ)
    text = body["markdown"]["text"]
    assert text.startswith("司法厅 ") and "@13800000001" in text
    # A keyword already in the text is not added again.
    kept = channels.body_for(channels.parse("d", "dingtalk://t?keyword=舆情", env={}), n,
                             NIGHT, TZ)
    assert kept["markdown"]["text"].startswith("**【舆情预警】")
    assert body["at"]["atMobiles"] == ["13800000001"]


def test_message_is_short_chinese_with_clock_and_links() -> None:
    n = message.Notice(9, "P1", "网传某戒毒所学员死亡", ("负面情感",),
                       NIGHT + timedelta(hours=5), "https://yq.example/alerts/9",
                       ack_url="https://yq.example/ack/x")
    text = message.plain_text(n, NIGHT + timedelta(minutes=100), TZ)
    assert text.splitlines()[0] == "【舆情预警】P1 紧急：网传某戒毒所学员死亡"
    assert "还剩 3小时20分" in text and "12-06 03:40" in text
    assert "详情：https://yq.example/alerts/9" in text
    assert "确认收到：https://yq.example/ack/x" in text
    assert message.time_left(NIGHT, NIGHT + timedelta(minutes=15)) == "已超时 15分"
    sms = message.plain_text(message.Notice(9, "P2", "长" * 300, (), NIGHT, ""), NIGHT, TZ,
                             limit=channels.SMS_LIMIT)
    assert len(sms) <= channels.SMS_LIMIT


# ---------------------------------------------------------------- routing

def test_rules_match_priority_topic_kind_and_hours() -> None:
    r = rule(priorities=("p1", "p2"), topics=("drug_rehab",), source_kinds=("weibo",))
    assert routing.route(facts(), [r], NIGHT, TZ)
    assert not routing.route(facts(priority="P3"), [r], NIGHT, TZ)
    assert not routing.route(facts(topics=("legal_aid",)), [r], NIGHT, TZ)
    assert not routing.route(facts(kind="news"), [r], NIGHT, TZ)
    office = rule(hours="08:30-17:30")
    assert not routing.route(facts(), [office], NIGHT, TZ)  # 22:40 is outside
    assert routing.route(facts(), [office], NIGHT - timedelta(hours=10), TZ)  # 12:40


def test_quiet_hours_hold_p3_until_morning_never_p1() -> None:
    r = rule(quiet_hours="22:00-08:00")
    (p1,) = routing.route(facts("P1"), [r], NIGHT, TZ)
    assert p1.send_after == NIGHT
    (p3,) = routing.route(facts("P3"), [r], NIGHT, TZ)
    assert p3.send_after == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    # After midnight, still the same morning.
    (late,) = routing.route(facts("P3"), [r], NIGHT + timedelta(hours=3), TZ)
    assert late.send_after == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    (day,) = routing.route(facts("P3"), [r], NIGHT - timedelta(hours=6), TZ)
    assert day.send_after == NIGHT - timedelta(hours=6)


def test_cooldown_per_event_unless_the_priority_rose() -> None:
    r = rule()
    cool = timedelta(minutes=30)
    earlier = [routing.Sent("r", "P2", NIGHT - timedelta(minutes=10))]
    assert not routing.route(facts("P2"), [r], NIGHT, TZ, earlier=earlier, cooldown=cool)
    assert not routing.route(facts("P3"), [r], NIGHT, TZ, earlier=earlier, cooldown=cool)
    assert routing.route(facts("P1"), [r], NIGHT, TZ, earlier=earlier, cooldown=cool)
    assert routing.route(facts("P2"), [r], NIGHT + timedelta(minutes=21), TZ,
                         earlier=earlier, cooldown=cool)


# ---------------------------------------------------------------- roster

CSV = """when,start,end,role,person,display_name,phone,email,channels
周六,08:30,18:00,duty,zhang,张伟,13800000001,zhang@sft.example,sms;wecom
6,18:00,08:30,duty,li,李娜,13800000002,,sms
sat,00:00,24:00,leader,zhao,赵主任,13800000003,,sms
2026-12-05,18:00,08:30,duty,wang,王强,13800000004,,sms
sun,00:00,24:00,head,chen,陈处长,13800000005,,
"""


def test_roster_weekly_pattern_dated_exception_and_overnight() -> None:
    people, shifts = roster.read_csv(CSV)
    assert {p.name for p in people} == {"zhang", "li", "zhao", "wang", "chen"}
    assert next(p for p in people if p.name == "zhang").channels == ("sms", "wecom")
    # Sat 2026-12-05 22:40: the dated line (wang) replaces the weekly evening (li) — and,
    # being a dated line for duty, the weekly day line too.
    assert roster.on_duty(NIGHT, shifts, TZ) == ["wang"]
    # The next Saturday follows the weekly pattern.
    assert roster.on_duty(NIGHT + timedelta(days=7), shifts, TZ) == ["li"]
    assert roster.on_duty(NIGHT + timedelta(days=7, hours=-10), shifts, TZ) == ["zhang"]
    # Sun 03:00: the overnight shift that began on Saturday evening.
    assert roster.on_duty(NIGHT + timedelta(hours=4, minutes=20), shifts, TZ) == ["wang"]
    assert roster.on_duty(NIGHT, shifts, TZ, "leader") == ["zhao"]
    assert roster.on_duty(NIGHT + timedelta(hours=2), shifts, TZ, "head") == ["chen"]


@pytest.mark.parametrize(("line", "says"), [
    ("周八,08:00,18:00,duty,x", "line 2"),
    ("1,8am,18:00,duty,x", "not a time"),
    ("1,08:00,18:00,boss,x", "role"),
    ("1,08:00,18:00,duty,", "no person"),
])
def test_roster_csv_errors_name_the_line(line: str, says: str) -> None:
    with pytest.raises(roster.RosterError, match=says):
        roster.read_csv("when,start,end,role,person\n" + line + "\n")


# ---------------------------------------------------------------- ack and escalation

def test_ack_tokens_are_signed_and_expire() -> None:
    key = b"k" * 32
    expiry = int((NIGHT + timedelta(hours=24)).timestamp())
    nonce = "n0nce"
    sig = ack._sig(key, 5, expiry, nonce)
    good = f"5.{expiry}.{nonce}.{sig}"
    assert ack.check(key, good, NIGHT) == (5, nonce)
    with pytest.raises(ack.AckError, match="signature"):
        ack.check(key, f"6.{expiry}.{nonce}.{sig}", NIGHT)  # another alert
    with pytest.raises(ack.AckError, match="signature"):
        ack.check(b"other", good, NIGHT)
    with pytest.raises(ack.AckError, match="expired"):
        ack.check(key, good, NIGHT + timedelta(hours=24))
    with pytest.raises(ack.AckError, match="malformed"):
        ack.check(key, "５.1.x.y", NIGHT)


def test_escalation_waits_the_minutes_then_walks_the_chain() -> None:
    chain, minutes = ("leader", "head"), {"P1": 15.0, "P2": 60.0}
    sent = [escalation.StepRow(0, "sent", NIGHT)]

    def decide(at: datetime, rows: list[escalation.StepRow], **kw: object
               ) -> escalation.Decision | None:
        args: dict[str, object] = dict(priority="P1", state="new", acked_at=None)
        args.update(kw)
        return escalation.next_step(at, rows=rows, chain=chain, ack_minutes=minutes,
                                    **args)  # type: ignore[arg-type]

    assert decide(NIGHT + timedelta(minutes=14), sent) is None
    assert decide(NIGHT + timedelta(minutes=15), sent) == escalation.Decision(1, "leader")
    assert decide(NIGHT + timedelta(minutes=15), sent, acked_at=NIGHT) is None
    assert decide(NIGHT + timedelta(minutes=15), sent, state="responded") is None
    assert decide(NIGHT + timedelta(hours=9), sent, priority="P3") is None
    assert decide(NIGHT + timedelta(minutes=59), sent, priority="P2") is None
    two = [*sent, escalation.StepRow(1, "failed", NIGHT + timedelta(minutes=15))]
    assert decide(NIGHT + timedelta(minutes=29), two) is None
    assert decide(NIGHT + timedelta(minutes=30), two) == escalation.Decision(2, "head")
    three = [*two, escalation.StepRow(2, "sent", NIGHT + timedelta(minutes=30))]
    assert decide(NIGHT + timedelta(hours=3), three) is None  # the chain is spent
    held = [escalation.StepRow(0, "pending", None)]
    assert decide(NIGHT + timedelta(hours=1), held) is None  # nothing went out yet
    assert roster.lines_for(date(2026, 12, 5), "duty", []) == []


def test_settings_refuse_unknown_channel_kinds_and_names_at_load() -> None:
    from monitor.errors import ConfigError
    from monitor.settings import load_settings
    from monitor.settings_schema import _CHANNEL_SCHEMES

    assert set(_CHANNEL_SCHEMES) == set(channels._SCHEMES)
    with pytest.raises(ConfigError, match="telegram"):
        load_settings(env={}, overrides={"notify": {"channels": {"t": "telegram://x"}}})
    bad_rule = {"name": "r", "priorities": ["P1"], "topics": [], "source_kinds": [],
                "hours": "", "channels": ["nope"], "people": ["duty"], "quiet_hours": "22-8"}
    with pytest.raises(ConfigError) as err:
        load_settings(env={}, overrides={"notify": {"rules": [bad_rule]}})
    assert "no channel 'nope'" in str(err.value) or "22-8" in str(err.value)
    assert "quiet_hours" in str(err.value)



def test_a_long_sms_keeps_the_ack_link_before_the_desk_link() -> None:
    n = message.Notice(9, "P1", "洛阳一社区矫正对象剪断定位腕带脱管 警方已介入", ("涉社区矫正",),
                       NIGHT + timedelta(hours=5), "https://yq.sft.example/alerts/9",
                       ack_url="https://yq.sft.example/ack/9.1796326886.FHVKgIvGpp5KZNjbXJc84A."
                               "2be3f6a233e00456931f398e28d1fe08")
    sms = message.plain_text(n, NIGHT, TZ, limit=channels.SMS_LIMIT)
    assert len(sms) <= channels.SMS_LIMIT
    assert "确认收到：https://yq.sft.example/ack/9." in sms and "详情：" not in sms
    assert "洛阳一社区矫正对象剪断定位腕带脱管 警方已介入" in sms


def test_reasons_are_few_and_short_in_a_message() -> None:
    reasons = ("涉及话题：社区矫正、基层法律服务、司法行政队伍与作风、已有处置：落网、收监执行",
               "合并：预警 #7 与本预警为同一事件", "含重大敏感词：脱管", "含敏感词：质疑、失联",
               "情感负面（正面概率 0.23）", "含重大敏感词：脱管")
    text = message.reason_text(reasons)
    assert text.startswith("涉及话题：社区矫正、基层法律服务、司法行政队伍…；含重大敏感词：脱管；")
    assert "合并" not in text and text.endswith(" 等4项")
    assert message.reason_text(()) == "—"


def test_feishu_keyword_goes_into_the_title() -> None:
    n = message.Notice(1, "P1", "网传某戒毒所学员死亡", (), NIGHT, "")
    body = channels.body_for(channels.parse("f", "feishu://t?keyword=司法厅", env={}), n,
                             NIGHT, TZ)
    assert body["content"]["post"]["zh_cn"]["title"].startswith("司法厅 【舆情预警】")
