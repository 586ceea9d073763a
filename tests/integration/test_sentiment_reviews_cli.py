"""`yuqing sentiment export-labels`, `eval --reviews` and `train --reviews` (issue 19) as a
user runs them: a real process over a real database (SQLite, or PostgreSQL with
YUQING_TEST_DATABASE_URL) holding officers' reviews. The export is read back by the same
loader `sentiment eval FILE` uses; training on the reviews changes the model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from monitor.sentiment.evaluate import load_labelled
from monitor.sentiment.weibo import WeiboModel
from responders.auth import Principal, add_user
from responders.sentiment_reviews import record_review
from tests.integration.test_cli import cli_env, yuqing  # noqa: F401
from tests.support.model_versions import flip_labels
from tests.support.sentiment_data import write_fake_sentiment_data

# Reviewed on 2026-11-30 and 2026-12-02 (Asia/Shanghai): --since tells them apart.
EARLY = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
TEXTS = {
    "praise": ("点赞", "司法所调解员连夜上门，纠纷当场化解，点赞"),
    "complaint": ("", "公证处窗口排队三小时，态度恶劣"),
    "notice": ("通知", "通知：法律援助中心地址已迁至新区政务服务大厅"),
    "split": ("", "律师费到底怎么收，有人知道吗"),
}


def _seed(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Four items scored 'negative' by a model, three officers, and their reviews:
    praise → positive (2 of 3), complaint → negative (1), notice → neutral (1, late),
    split → one positive, one neutral (a tie)."""
    with sessions() as s:
        src = Source(interval_s=600, name="河南法治网", url="https://example.com/rss",
                     kind="news", host="example.com", created_at=EARLY)
        s.add(src)
        s.flush()
        ids: dict[str, int] = {}
        for n, (key, (title, text)) in enumerate(TEXTS.items()):
            item = Item(source_id=src.id, entry_id=f"e{n}", content_hash=f"h{n}", title=title,
                        text=text, fetched_at=EARLY, sentiment_score=0.2,
                        sentiment_label="negative", sentiment_engine="weibo", topics=[])
            s.add(item)
            s.flush()
            ids[key] = item.id
        people = {}
        for name, role in (("wang", "officer"), ("zhao", "officer"), ("li", "approver")):
            user = add_user(s, name, role, f"{name}-pass-1234", EARLY)
            s.flush()
            people[name] = Principal("user", user.id, name, role, user.id)
        for who, key, label, at in (
            ("wang", "praise", "positive", EARLY), ("zhao", "praise", "positive", EARLY),
            ("li", "praise", "neutral", EARLY), ("wang", "complaint", "negative", EARLY),
            ("li", "notice", "neutral", LATE), ("wang", "split", "positive", EARLY),
            ("zhao", "split", "neutral", EARLY),
        ):
            record_review(s, people[who], ids[key], label, at)
        s.commit()
    return ids


def test_export_labels_writes_the_majority_in_the_format_eval_reads(
        cli_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    ids = _seed(sessions)
    out = tmp_path / "reviews.jsonl"
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "wrote 3 reviewed items" in r.stdout
    assert "skipped 1 reviewed item whose reviewers tie" in r.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["item_id"], x["label"], x["reviews"]) for x in lines] == [
        (ids["praise"], "positive", 3), (ids["complaint"], "negative", 1),
        (ids["notice"], "neutral", 1)]
    assert lines[0]["model_label"] == "negative" and lines[0]["model_version"] == "weibo"
    # the text the model judged: title and body once (the complaint has no title)
    assert lines[1]["text"] == TEXTS["complaint"][1]
    assert lines[0]["text"] == "点赞\n" + TEXTS["praise"][1]
    # the round trip: the loader of `sentiment eval FILE` reads every line back
    assert load_labelled(out) == [(x["text"], x["label"]) for x in lines]

    # --since is a day in the office's zone: only the notice was reviewed on 12-02
    late = tmp_path / "late.jsonl"
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(late), "--since",
               "2026-12-02")
    assert r.returncode == 0, r.stderr
    assert [x[1] for x in load_labelled(late)] == ["neutral"]
    assert "tie" not in r.stderr  # the tied item was reviewed before that day


@pytest.mark.parametrize(("args", "needle"), [
    (["--since", "2026-13-01"], "not a date written YYYY-MM-DD"),
    (["--since", "yesterday"], "not a date written YYYY-MM-DD"),
    (["--since", "2026-1-5"], "not a date written YYYY-MM-DD"),
])
def test_export_labels_refuses_a_bad_date(cli_env: dict[str, str], tmp_path: Path,
                                          args: list[str], needle: str) -> None:
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(tmp_path / "x.jsonl"), *args)
    assert r.returncode == 2 and needle in r.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_export_labels_refuses_an_unwritable_path(
        cli_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _seed(sessions)
    r = yuqing(cli_env, "sentiment", "export-labels", "--out",
               str(tmp_path / "no" / "such" / "x.jsonl"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(tmp_path))
    assert r.returncode == 2 and "is a folder" in r.stderr
    # a folder nobody may create files in, root included
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", "/proc/yuqing-reviews.jsonl")
    assert r.returncode == 2 and "cannot write /proc/yuqing-reviews.jsonl" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_failed_export_keeps_the_file_that_was_there(
        cli_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _seed(sessions)
    locked = tmp_path / "locked"
    locked.mkdir()
    kept = locked / "old.jsonl"
    kept.write_text('{"text": "旧", "label": "neutral"}\n', encoding="utf-8")
    locked.chmod(0o500)
    try:
        if _can_write(locked):
            pytest.skip("running as a user who may write anywhere (root)")
        r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(kept))
        assert r.returncode == 2 and f"cannot write {kept}" in r.stderr
        assert kept.read_text(encoding="utf-8") == '{"text": "旧", "label": "neutral"}\n'
    finally:
        locked.chmod(0o700)


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".probe").write_text("x")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_eval_reviews_gives_the_figures_of_eval_on_the_export(
        cli_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    r = yuqing(cli_env, "sentiment", "eval", "--reviews", "--json")
    assert r.returncode == 2 and "no reviewed items to evaluate on" in r.stderr
    assert "情感判断有误" in r.stderr
    _seed(sessions)
    out = tmp_path / "reviews.jsonl"
    assert yuqing(cli_env, "sentiment", "export-labels", "--out", str(out)).returncode == 0
    on_file = json.loads(yuqing(cli_env, "sentiment", "eval", str(out), "--json").stdout)
    r = yuqing(cli_env, "sentiment", "eval", "--reviews", "--json")
    assert r.returncode == 0, r.stderr
    on_reviews = json.loads(r.stdout)
    on_file.pop("texts_per_s")
    on_reviews.pop("texts_per_s")
    assert on_reviews == on_file and on_reviews["n"] == 3
    assert "three_class_macro_f1" in on_reviews  # the notice is a neutral row
    # a file and --reviews, or neither: one sentence
    for args in ([str(out), "--reviews"], []):
        r = yuqing(cli_env, "sentiment", "eval", *args)
        assert r.returncode == 2 and "one of the two" in r.stderr


def test_train_with_reviews_adds_them_weighted_and_changes_the_model(
        cli_env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    write_fake_sentiment_data(tmp_path / "data")
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--out",
               str(tmp_path / "m"), "--reviews")
    assert r.returncode == 2 and "no reviewed items to train on" in r.stderr
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--out",
               str(tmp_path / "m"), "--reviews-weight", "2")
    assert r.returncode == 2 and "add --reviews" in r.stderr
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--out",
               str(tmp_path / "m"), "--reviews", "--reviews-weight", "0")
    assert r.returncode == 2 and "above 0" in r.stderr
    _seed(sessions)
    plain = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--out",
                   str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    reviewed = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"),
                      "--out", str(tmp_path / "reviewed"), "--reviews")
    assert reviewed.returncode == 0, reviewed.stderr
    assert "adding 3 reviewed rows" in reviewed.stderr
    assert "skipped 1 reviewed item whose reviewers tie" in reviewed.stderr
    before, after = json.loads(plain.stdout), json.loads(reviewed.stdout)
    assert (before["extra_rows"], after["extra_rows"]) == (0, 3)
    assert after["train_rows"] == before["train_rows"] + 3
    a = WeiboModel.load(tmp_path / "plain")
    b = WeiboModel.load(tmp_path / "reviewed")
    assert not np.array_equal(a.weights, b.weights)
    praise = "点赞\n" + TEXTS["praise"][1]
    # the officers said positive: the retrained model moves that way
    assert b.predict([praise])[1][0] > a.predict([praise])[1][0]


def test_a_reviewed_item_is_kept_from_the_prune_and_its_reviews_go_with_it(
        sessions: sessionmaker[Session]) -> None:
    """Retention keeps an item an officer reviewed (the label needs its text); an item
    deleted all the same (its source purged) takes its reviews along: no orphan rows."""
    from datetime import timedelta

    from sqlalchemy import delete, func, select

    from monitor.retention import plan
    from responders.kept_items import referenced
    from responders.models import SentimentReview

    ids = _seed(sessions)
    later = EARLY + timedelta(days=200)
    with sessions() as s:
        assert (plan(s, later, 90, referenced).prunable,
                plan(s, later, 90, referenced).kept) == (0, 4)
        s.execute(delete(SentimentReview).where(SentimentReview.item_id == ids["notice"]))
        assert plan(s, later, 90, referenced).prunable == 1
        s.execute(delete(Item).where(Item.id == ids["praise"]))
        s.commit()
        assert s.scalar(select(func.count()).select_from(SentimentReview)
                        .where(SentimentReview.item_id == ids["praise"])) == 0
        assert s.scalar(select(func.count()).select_from(SentimentReview)) == 3


def test_reviews_to_a_new_version_and_back_with_eval_per_version(  # noqa: F811
        cli_env: dict[str, str], home: Path, sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    """The issue's chain end to end: reviews in the database → export-labels → train
    --reviews registers a version → models list shows both → models use the old one →
    eval --model measures each version on the export, whichever is active."""
    write_fake_sentiment_data(tmp_path / "data")
    write_fake_sentiment_data(tmp_path / "flipped")
    flip_labels(tmp_path / "flipped")  # the old version reads praise as complaint
    _seed(sessions)
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "flipped"))
    assert r.returncode == 0, r.stderr
    old = json.loads(r.stdout)["version"]
    labels = tmp_path / "reviews.jsonl"
    r = yuqing(cli_env, "sentiment", "export-labels", "--out", str(labels))
    assert r.returncode == 0, r.stderr
    r = yuqing(cli_env, "sentiment", "train", "--data", str(tmp_path / "data"), "--reviews",
               "--reviews-weight", "20", "--activate")
    assert r.returncode == 0, r.stderr
    new = json.loads(r.stdout)
    assert new["registered"] and new["active"] and new["version"] != old
    assert new["metrics"]["extra_rows"] == 3
    r = yuqing(cli_env, "sentiment", "models", "list", "--json")
    assert [(v["version"], v["active"]) for v in json.loads(r.stdout)] == [
        ("shipped", False), (old, False), (new["version"], True)]

    def figures(*args: str) -> dict[str, float]:
        r = yuqing(cli_env, "sentiment", "eval", str(labels), "--json", *args)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        out.pop("texts_per_s")
        return out

    # The weibo engine's default is the active version (this env configures snownlp);
    # --model names one, whatever is active.
    active, of_new, of_old = (figures("--engine", "weibo"), figures("--model", new["version"]),
                              figures("--model", old))
    assert active == of_new
    assert of_new["binary_macro_f1"] > of_old["binary_macro_f1"]
    r = yuqing(cli_env, "sentiment", "models", "use", old)
    assert r.returncode == 0, r.stderr
    assert figures("--engine", "weibo") == of_old
    assert figures("--model", new["version"]) == of_new
    assert figures("--model", "shipped") == figures("--engine", "weibo", "--model", "shipped")
    for args, needle in ((["--model", "20991231T000000Z-0123456789"],
                          "no sentiment model version"),
                         (["--model", old, "--engine", "snownlp"], "not of snownlp")):
        r = yuqing(cli_env, "sentiment", "eval", str(labels), *args)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
