"""Each channel against a loopback server that speaks its platform's webhook format: the
request it accepts, its signature check, and its refusals in words (DingTalk 310000, WeCom
45009 and 93000, Feishu 19021); and the fetch rules (no private address unless allowed)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor import fetch as fetch_module
from responders.notify import channels
from responders.notify.message import Notice
from tests.support import fake_robots
from tests.support.fake_web import FakeWeb
from tests.support.servers import spare_port

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
ALLOW = channels.SendPolicy(timeout=3, allow_private=True, tz="Asia/Shanghai")
NOTICE = Notice(alert_id=17, priority="P1", title="网传某戒毒所学员在所内死亡",
                reasons=("负面情感", "涉羁押场所"), due_at=NOW + timedelta(hours=5),
                alert_url="https://yq.sft.example/alerts/17",
                ack_url="https://yq.sft.example/ack/17.1.n.s", mentions=("13800000001",))


def spec(name: str, url: str) -> channels.ChannelSpec:
    return channels.parse(name, url, env={})


def test_wecom_markdown_then_mentions_and_its_rate_limit(fake_web: FakeWeb) -> None:
    robot = fake_robots.wecom(fake_web, "K1", per_minute=2)
    ch = spec("wecom", f"wecombot://K1?base={fake_web.base_url}")
    quiet = Notice(**{**NOTICE.__dict__, "mentions": ()})
    assert channels.send(ch, quiet, NOW, ALLOW).outcome == "sent"
    assert robot.accepted[0]["msgtype"] == "markdown"
    assert "网传某戒毒所学员在所内死亡" in robot.accepted[0]["markdown"]["content"]
    assert "[确认收到](https://yq.sft.example/ack/17.1.n.s)" in robot.accepted[0][
        "markdown"]["content"]
    assert channels.send(ch, NOTICE, NOW, ALLOW).outcome == "sent"
    assert robot.accepted[1]["text"]["mentioned_mobile_list"] == ["13800000001"]
    limited = channels.send(ch, NOTICE, NOW, ALLOW)
    assert limited.outcome == "retry" and "45009" in limited.detail  # nothing delivered
    wrong = channels.send(spec("w", f"wecombot://nokey?base={fake_web.base_url}"), NOTICE,
                          NOW, ALLOW)
    assert wrong.outcome == "failed" and "93000" in wrong.detail


def test_dingtalk_signed_with_keyword(fake_web: FakeWeb) -> None:
    robot = fake_robots.dingtalk(fake_web, "T1", secret="SECxyz", keywords=("司法厅",))
    good = spec("d", f"dingtalk://T1?secret=SECxyz&keyword=司法厅&base={fake_web.base_url}")
    assert channels.send(good, NOTICE, NOW, ALLOW).outcome == "sent"
    body = robot.accepted[0]
    assert body["msgtype"] == "markdown" and body["at"]["atMobiles"] == ["13800000001"]
    assert "司法厅" in body["markdown"]["text"]
    # No keyword configured on our side: the robot refuses, and the words say why.
    bare = spec("d", f"dingtalk://T1?secret=SECxyz&base={fake_web.base_url}")
    r = channels.send(bare, NOTICE, NOW, ALLOW)
    assert r.outcome == "failed" and "310000" in r.detail and "keywords" in r.detail
    wrong = spec("d", f"dingtalk://T1?secret=other&keyword=司法厅&base={fake_web.base_url}")
    r = channels.send(wrong, NOTICE, NOW, ALLOW)
    assert r.outcome == "failed" and "sign not match" in r.detail
    assert len(robot.accepted) == 1


def test_feishu_signed_post(fake_web: FakeWeb) -> None:
    robot = fake_robots.feishu(fake_web, "hook9", secret="fsSEC")
    ok = spec("f", f"feishu://hook9?secret=fsSEC&base={fake_web.base_url}")
    assert channels.send(ok, NOTICE, NOW, ALLOW).outcome == "sent"
    post = robot.accepted[0]["content"]["post"]["zh_cn"]
    assert post["title"].startswith("【舆情预警】P1")
    assert {"tag": "a", "text": "详情", "href": "https://yq.sft.example/alerts/17"} in [
        cell for row in post["content"] for cell in row]
    r = channels.send(spec("f", f"lark://hook9?secret=bad&base={fake_web.base_url}"),
                      NOTICE, NOW, ALLOW)
    assert r.outcome == "failed" and "19021" in r.detail


def test_sms_gateway_per_person(fake_web: FakeWeb) -> None:
    robot = fake_robots.sms_gateway(fake_web, "/sms/send", "tok")
    base = fake_web.base_url.removeprefix("http://")
    ch = spec("sms", f"smsgw+http://{base}/sms/send?token=tok")
    who = channels.Contact("li", phone="13800000002")
    assert channels.send(ch, NOTICE, NOW, ALLOW, who).outcome == "sent"
    assert robot.accepted[0]["to"] == "13800000002"
    assert len(robot.accepted[0]["text"]) <= channels.SMS_LIMIT
    assert robot.accepted[0]["text"].startswith("【舆情预警】P1 紧急")
    r = channels.send(ch, NOTICE, NOW, ALLOW, channels.Contact("x"))
    assert r.outcome == "failed" and "mobile" in r.detail
    bad = spec("sms", f"smsgw+http://{base}/sms/send?token=wrong")
    assert channels.send(bad, NOTICE, NOW, ALLOW, who).outcome == "failed"


def test_generic_json_webhook_carries_the_text(fake_web: FakeWeb) -> None:
    fake_web.add("/hook", 204)
    r = channels.send(spec("h", fake_web.url("/hook")), NOTICE, NOW, ALLOW)
    assert r.outcome == "sent"
    body = json.loads(fake_web.requests_to("/hook")[0].body)
    assert body["alert_id"] == 17 and body["text"].startswith("【舆情预警】P1")


@pytest.fixture
def no_packets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every httpx client the channels open gets a MockTransport that records the request
    instead of sending it, and names resolve from a table (tests/unit/test_fetch.py's
    pattern): a refusal that failed would show up as a recorded URL, never as a packet to
    the metadata service or a private network."""
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(204)

    real_client = httpx.Client

    def client(*args: Any, **kwargs: Any) -> httpx.Client:
        return real_client(*args, **{**kwargs, "transport": httpx.MockTransport(record)})

    table = {"hooks.rebind.example": ["169.254.169.254"],
             "hooks.intranet.example": ["220.181.38.148", "10.0.0.5"],
             "hooks.public.example": ["220.181.38.148"]}

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in table[host]]

    monkeypatch.setattr(httpx, "Client", client)
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", getaddrinfo)
    return sent


STRICT = channels.SendPolicy(timeout=3, allow_private=False, tz="Asia/Shanghai")


@pytest.mark.parametrize(("url", "policy", "words"), [
    ("http://127.0.0.1:9/hook", STRICT, "loopback"),
    ("http://10.1.2.3/hook", STRICT, "private network"),
    ("http://hooks.intranet.example/hook", STRICT, "10.0.0.5 is a private network address"),
    # The metadata service is refused even when private addresses are allowed, by address
    # and by a name that resolves to it.
    ("http://169.254.169.254/latest/meta-data/", ALLOW, "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", ALLOW, "metadata"),
    ("http://hooks.rebind.example/hook", ALLOW, "metadata"),
])
def test_private_and_metadata_addresses_are_refused_without_a_packet(
        no_packets: list[str], url: str, policy: channels.SendPolicy, words: str) -> None:
    r = channels.send(spec("h", url), NOTICE, NOW, policy)
    assert r.outcome == "failed" and words in r.detail, r.detail
    assert no_packets == []


def test_the_guard_itself_would_see_a_request(no_packets: list[str]) -> None:
    """The stand-in transport does intercept what the channels send: a public host's
    request is recorded there (and goes nowhere), so an empty record above means refused."""
    channels.send(spec("h", "http://hooks.public.example/hook"), NOTICE, NOW, STRICT)
    assert no_packets == ["http://hooks.public.example/hook"]


def test_a_connection_never_made_is_retry_a_lost_answer_unknown(fake_web: FakeWeb) -> None:
    closed = spec("h", f"http://127.0.0.1:{spare_port()}/hook")
    assert channels.send(closed, NOTICE, NOW, ALLOW).outcome == "retry"
    fake_web.add_never_answering("/slow")
    quick = channels.SendPolicy(timeout=0.5, allow_private=True, tz="Asia/Shanghai")
    r = channels.send(spec("h", fake_web.url("/slow")), NOTICE, NOW, quick)
    assert r.outcome == "unknown" and "not resent" in r.detail


def test_a_server_that_closes_after_answering_and_the_demo_fakes(tmp_path: Path) -> None:
    """http.server's HTTP/1.0 answer closes the connection: the peer is checked while it is
    open (a check after reading the body failed with EBADF). The demo's fake robots."""
    from tasks.notify_fakes import FakeRobots

    robots = FakeRobots(tmp_path / "fake.jsonl", port=0).start()
    try:
        ch = spec("w", f"wecombot://DEMO?base={robots.base_url}")
        assert channels.send(ch, NOTICE, NOW, ALLOW).outcome == "sent"
        host = robots.base_url.removeprefix("http://")
        sms = spec("s", f"smsgw+http://{host}/sms/send")
        r = channels.send(sms, NOTICE, NOW, ALLOW, channels.Contact("li", phone="13800000002"))
        assert r.outcome == "sent"
    finally:
        robots.stop()
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "fake.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert kinds == ["wecom", "sms"]
    assert robots.received[1]["text"].startswith("→ 13800000002: 【舆情预警】P1")

