"""The `yuqing` command as a user runs it: a real process, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.feeds import sample_feed
from tests.support.sentiment_data import write_fake_sentiment_data

ROOT = Path(__file__).resolve().parents[2]


def yuqing(env: dict[str, str], *args: str, stdin: str | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasks.cli", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=ROOT, timeout=timeout,
    )


@pytest.fixture
def cli_env(db_url: str, home: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    e.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
              "YUQING_SENTIMENT_ENGINE": "snownlp"})
    return e


def test_init_is_idempotent_and_loads_a_sources_file(cli_env, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("sources:\n  - name: 甲\n    url: https://a.example/rss\n"
                 "  - name: 乙\n    url: https://b.example/atom\n    kind: weibo\n",
                 encoding="utf-8")
    first = yuqing(cli_env, "init", "--sources", str(f), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["sources_created"] == 2
    second = yuqing(cli_env, "init", "--sources", str(f), "--json")
    revision = json.loads(first.stdout)["revision"]
    assert revision
    assert json.loads(second.stdout) == {"revision": revision, "sources_created": 0,
                                         "sources_updated": 2}
    listed = json.loads(yuqing(cli_env, "sources", "list", "--json").stdout)
    assert [(s["name"], s["kind"], s["health"]) for s in listed] == [
        ("甲", "news", "never polled"), ("乙", "weibo", "never polled")]


def test_example_sources_file_loads(cli_env):
    r = yuqing(cli_env, "init", "--sources", str(ROOT / "config/sources.example.yaml"),
               "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sources_created"] >= 5


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sources", "add", "file:///etc/passwd"], "http(s) URL"),
        (["sources", "add", "ftp://x.example/f"], "http(s) URL"),
        (["sources", "add", "https://x.example/f", "--interval", "5"], "at least 60"),
        (["sources", "add", "https://x.example/f", "--kind", "tv"], "kind must be one of"),
        (["sources", "remove", "不存在"], "no source with id or name"),
        (["alerts", "list", "--priority", "P9"], "invalid choice"),
        (["alerts", "list", "--state", "bogus"], "invalid choice"),
        (["alerts", "list", "--limit", "0"], "must be at least 1"),
        (["alerts", "list", "--limit", "ten"], "not a whole number"),
        (["frobnicate"], "invalid choice"),
        (["init", "--sources", "/nonexistent.yaml"], "cannot read"),
    ],
)
def test_bad_usage_exits_2_with_one_sentence(cli_env, args, needle):
    yuqing(cli_env, "init")
    r = yuqing(cli_env, *args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_add_poll_list_remove(cli_env, fake_web):
    fake_web.add_feed("/feed.xml", sample_feed())
    yuqing(cli_env, "init")
    r = yuqing(cli_env, "sources", "add", fake_web.url("/feed.xml"), "--name", "本地源",
               "--allow-private", "--json")
    assert r.returncode == 0, r.stderr
    r = yuqing(cli_env, "poll", "本地源", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["new_items"] == 8 and out["alerts"] >= 3
    alerts = json.loads(yuqing(cli_env, "alerts", "list", "--json").stdout)
    assert len(alerts) == out["alerts"]
    order = [(a["priority"], a["due_at"]) for a in alerts]
    assert order == sorted(order)  # P1 before P2 before P3, nearest deadline first
    p1 = json.loads(yuqing(cli_env, "alerts", "list", "--priority", "P1", "--json").stdout)
    assert p1 and {a["priority"] for a in p1} == {"P1"}
    text = yuqing(cli_env, "alerts", "list").stdout
    assert "P1 重大" in text and "截止" in text
    opened = json.loads(yuqing(cli_env, "alerts", "list", "--state", "open", "--json").stdout)
    assert len(opened) == len(alerts)  # all still open
    none = yuqing(cli_env, "alerts", "list", "--state", "dismissed")
    assert none.returncode == 0 and "no alerts with state dismissed" in none.stdout
    # Issue 15/16: open by default, --limit cuts in SQL and the cut says how many there are.
    assert json.loads(yuqing(cli_env, "alerts", "list", "--state", "all", "--json")
                      .stdout) == alerts
    one = yuqing(cli_env, "alerts", "list", "--limit", "1")
    assert one.returncode == 0 and one.stdout.count("截止") == 1
    assert f"showing 1 of {len(alerts)}" in one.stdout
    # removing a source with items needs --purge; nothing is deleted by accident
    r = yuqing(cli_env, "sources", "remove", "本地源")
    assert r.returncode == 2 and "--purge" in r.stderr
    assert yuqing(cli_env, "sources", "remove", "本地源", "--purge").returncode == 0
    assert json.loads(yuqing(cli_env, "sources", "list", "--json").stdout) == []


def test_failing_source_is_visible_in_sources_list(cli_env, fake_web):
    fake_web.add("/gone.xml", 410, b"gone")
    yuqing(cli_env, "init")
    yuqing(cli_env, "sources", "add", fake_web.url("/gone.xml"), "--name", "失效源",
           "--allow-private")
    r = yuqing(cli_env, "poll", "失效源", "--json")
    assert r.returncode == 1
    assert "410" in json.loads(r.stdout)["error"]
    text = yuqing(cli_env, "sources", "list").stdout
    # 410 Gone: shown as gone (not just failing) until `yuqing sources enable` (issue 14).
    assert "GONE ×1" in text and "410" in text


def test_sentiment_score_reads_jsonl(cli_env):
    lines = [
        {"text": "法律援助中心的工作人员非常耐心，真心点赞！", "id": 1},
        {"text": "律所乱收费，投诉了三个月没人管，太气人了"},
        {"text": ""},
        {"text": "hello world"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    r = yuqing(cli_env, "sentiment", "score", stdin=stdin)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, None, None]
    assert out[0]["score"] > out[1]["score"]
    assert out[0]["label"] == "positive" and out[1]["label"] == "negative"
    assert out[2]["score"] is None and out[3]["label"] is None


def test_sentiment_score_reports_bad_lines_and_keeps_good_ones(cli_env):
    r = yuqing(cli_env, "sentiment", "score",
               stdin='{"text": "很好"}\nnot json\n{"txt": 1}\n{"text": "很差"}\n')
    assert r.returncode == 2
    assert len(r.stdout.splitlines()) == 2
    assert "line 2" in r.stderr and "line 3" in r.stderr


def test_unknown_engine_is_a_clear_error(cli_env):
    r = yuqing(cli_env, "sentiment", "score", "--engine", "nope", stdin="")
    assert r.returncode == 2 and "unknown sentiment engine 'nope'" in r.stderr


def test_json_times_are_in_the_office_zone(cli_env, fake_web):
    fake_web.add_feed("/feed.xml", sample_feed())
    yuqing(cli_env, "init")
    yuqing(cli_env, "sources", "add", fake_web.url("/feed.xml"), "--name", "时区源",
           "--allow-private")
    yuqing(cli_env, "poll", "时区源")
    alerts = json.loads(yuqing(cli_env, "alerts", "list", "--json").stdout)
    assert alerts
    for a in alerts:
        assert a["due_at"].endswith("+08:00") and a["created_at"].endswith("+08:00")
    # the fixture's pubDate is 08:00 +0800 on 20 Nov for the first item
    published = sorted(a["published_at"] for a in alerts)
    assert all(p.startswith("2026-11-20T") and p.endswith("+08:00") for p in published)


def test_sentiment_eval_on_the_justice_set(cli_env):
    r = yuqing(cli_env, "sentiment", "eval", str(ROOT / "tests/data/justice_sentiment.jsonl"),
               "--engine", "weibo", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] >= 200
    assert {"binary_accuracy", "binary_macro_f1", "three_class_macro_f1",
            "texts_per_s"} <= set(out)
    stock = json.loads(yuqing(cli_env, "sentiment", "eval",
                              str(ROOT / "tests/data/justice_sentiment.jsonl"),
                              "--engine", "snownlp", "--json").stdout)
    # the trained engine is the better judge of this office's texts, on three classes
    assert out["three_class_macro_f1"] > stock["three_class_macro_f1"]


def test_sentiment_eval_and_train_refuse_bad_input(cli_env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "很好", "label": "positive"}\n{"text": "差", "label": "meh"}\n',
                   encoding="utf-8")
    r = yuqing(cli_env, "sentiment", "eval", str(bad), "--json")
    assert r.returncode == 2 and ":2:" in r.stderr
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "none"),
               "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "is not a folder" in r.stderr


def test_sentiment_train_reports_its_stages_and_writes_a_loadable_model(cli_env, tmp_path):
    write_fake_sentiment_data(tmp_path / "data")
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"),
               "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)  # progress goes to stderr, so stdout stays one JSON object
    assert {"smp_usual_eval", "smp_virus_eval", "weibo_senti", "waimai"} <= set(metrics)
    stages = [line.split("] ", 1)[1] for line in r.stderr.splitlines() if "] " in line]
    assert stages[0].startswith("reading ") and stages[-1].startswith("wrote ")
    assert any(s.startswith("fitting the polarity head") for s in stages)
    from monitor.sentiment.weibo import WeiboModel

    labels, _ = WeiboModel.load(tmp_path / "m").predict(["推诿扯皮不作为", "律师很负责谢谢"])
    assert labels == ["negative", "positive"]


def test_a_sources_file_that_is_not_utf8_is_a_clear_error(cli_env, tmp_path):
    f = tmp_path / "gbk.yaml"
    f.write_bytes("sources:\n  - name: 甲\n    url: https://a.example/rss\n".encode("gbk"))
    r = yuqing(cli_env, "init", "--sources", str(f))
    assert r.returncode == 2
    assert "not UTF-8" in r.stderr and "Traceback" not in r.stderr


def test_tokens_act_for_the_user_given_or_only_read(cli_env, db_url):
    """`yuqing tokens create … --user NAME` makes a token acting for NAME (a role above
    theirs refused in words); without --user it is read-only, and the command says so."""
    from sqlalchemy import text

    from monitor.db import make_engine

    r = yuqing(cli_env, "users", "add", "wang", "--role", "officer", stdin="officer-pass-1\n")
    assert r.returncode == 0, r.stderr
    r = yuqing(cli_env, "tokens", "create", "ci", "--role", "officer", "--user", "wang")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("yq_") and "acts for no user" not in r.stderr
    r = yuqing(cli_env, "tokens", "create", "up", "--role", "admin", "--user", "wang")
    assert r.returncode != 0
    assert "cannot have the higher role admin" in r.stderr
    r = yuqing(cli_env, "tokens", "create", "reader", "--role", "officer")
    assert r.returncode == 0 and "acts for no user: it may read" in r.stderr
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT t.name, u.name FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id"
        )).all())
    engine.dispose()
    assert rows == {"ci": "wang", "reader": None}
