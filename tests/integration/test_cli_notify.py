"""`yuqing notify test` and `yuqing roster …` as a person runs them (a real process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import cli_env, yuqing  # noqa: F401 (fixture)
from tests.support import fake_robots
from tests.support.fake_web import FakeWeb
from tests.support.servers import spare_port

pytestmark = pytest.mark.integration

ROSTER = """when,start,end,role,person,display_name,phone,email,channels
sat,08:30,18:00,duty,zhang,张伟,13800000001,zhang@sft.example,sms;wecom
sat,18:00,08:30,duty,wang,王强,13800000004,,sms
2026-12-05,18:00,08:30,duty,liu,刘洋,13800000006,,sms
sat,00:00,24:00,leader,zhao,赵主任,13800000003,,sms
"""


def test_notify_test_exit_codes(cli_env: dict[str, str], fake_web: FakeWeb) -> None:  # noqa: F811
    fake_web.add("/hook", 204)
    env = {**cli_env, "YUQING_NOTIFY_ALLOW_PRIVATE": "true"}
    r = yuqing(env, "notify", "test", fake_web.url("/hook"))
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stdout
    body = json.loads(fake_web.requests_to("/hook")[0].body)
    assert body["test"] is True and body["text"].startswith("【测试】P1 紧急")

    robot = fake_robots.dingtalk(fake_web, "T", keywords=("司法厅",))
    r = yuqing(env, "notify", "test", f"dingtalk://T?base={fake_web.base_url}",
               "--priority", "P2")
    assert r.returncode == 1 and "310000" in r.stderr and "keywords" in r.stderr
    assert robot.accepted == []

    # Loopback without the allow setting: refused in words, nothing sent.
    r = yuqing(cli_env, "notify", "test", fake_web.url("/hook"))
    assert r.returncode == 1 and "loopback" in r.stderr
    assert fake_web.hits("/hook") == 1
    r = yuqing(env, "notify", "test", f"http://127.0.0.1:{spare_port()}/x")
    assert r.returncode == 1 and "unreachable" in r.stderr
    r = yuqing(env, "notify", "test", "telegram://abc")
    assert r.returncode == 2 and "unknown kind" in r.stderr


def test_roster_import_list_who(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert yuqing(cli_env, "init").returncode == 0
    f = tmp_path / "roster.csv"
    f.write_text(ROSTER, encoding="utf-8")
    r = yuqing(cli_env, "roster", "import", str(f))
    assert r.returncode == 0, r.stderr
    assert "4 lines, 4 people" in r.stdout
    assert yuqing(cli_env, "roster", "import", str(f)).returncode == 0  # same roster again
    listed = json.loads(yuqing(cli_env, "roster", "list", "--json").stdout)
    assert len(listed["shifts"]) == 4
    r = yuqing(cli_env, "roster", "who", "--at", "2026-12-05T22:40", "--json")
    who = json.loads(r.stdout)
    assert who["duty"] == ["liu"] and who["leader"] == ["zhao"] and who["head"] == []
    r = yuqing(cli_env, "roster", "who", "--at", "2026-12-12 22:40")
    assert "值班员: wang" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("when,start,end,role,person\n周八,08:00,18:00,duty,x\n", encoding="utf-8")
    r = yuqing(cli_env, "roster", "import", str(bad))
    assert r.returncode == 2 and "line 2" in r.stderr
    assert yuqing(cli_env, "roster", "who", "--at", "soon").returncode == 2
