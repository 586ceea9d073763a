"""`yuqing import` and `yuqing events list` end to end (in process; no broker → the import
analyses here), and the push batch's all-or-nothing validation and tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import InputError
from monitor.importing import check_token, new_token, push_source, store_batch
from tasks.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "events_corpus.jsonl"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, home: Path) -> None:
    monkeypatch.setenv("YUQING_HOME", str(home))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    monkeypatch.setenv("YUQING_BROKER_URL", "redis://127.0.0.1:1/0")  # nobody listens


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_import_then_events_list(cli_env: None, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    story = [r for r in rows if r["group"] == "story02"]
    lines = [json.dumps({k: v for k, v in r.items() if k != "group"}, ensure_ascii=False)
             for r in story]
    lines += ['{"id": "x1", "author": "无正文"}', "{不是 JSON",
              json.dumps({"id": "x2", "text": "南阳律师收费问题", "likes": "很多"},
                         ensure_ascii=False)]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = _run(capsys, "import", str(path), "--source", "舆情服务商", "--json")
    assert isinstance(out, dict)
    n = len(story)
    # Every post with its own id is kept, even when two say the same words (bare
    # reposts): the platform id is part of the ingest's content key.
    assert len({r["text"] for r in story}) < n
    assert (out["imported"], out["duplicates"]) == (len({r["id"] for r in story}), 0)
    assert [e["line"] for e in out["errors"]] == [n + 1, n + 2, n + 3]
    assert "'text' is required" in out["errors"][0]["error"]
    assert "'likes' must be a number" in out["errors"][2]["error"]

    events = _run(capsys, "events", "list", "--json")
    assert isinstance(events, list)
    biggest = events[0]
    assert biggest["items"] == out["imported"]  # the planted story is one event
    assert set(biggest["external_ids"]) <= {r["id"] for r in story}
    assert "法律援助" in biggest["first_item_text"]
    assert isinstance(biggest["burst"], bool)
    # The listing people read names topics; the JSON keeps the taxonomy's ids.
    assert "legal_aid" in biggest["topics"]
    assert main(["events", "list"]) == 0
    listing = capsys.readouterr().out
    assert "法律援助" in listing.split("话题：", 1)[1].splitlines()[0]
    assert "legal_aid" not in listing

    again = _run(capsys, "import", str(path), "--source", "舆情服务商", "--json")
    assert isinstance(again, dict)
    assert (again["imported"], again["duplicates"]) == (0, out["imported"])


def test_push_batch_is_all_or_nothing(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with sessions() as s:
        source = push_source(s, "厂商推送", now)
        token = new_token(source)
        assert check_token(source, token)
        assert not check_token(source, token + "x")
        assert not check_token(source, None)
        assert source.ingest_token_hash != token
        bad = store_batch(s, source, {"posts": [{"text": "好的"}, {"id": 2}]}, now)
        assert (bad.imported, [e.line for e in bad.errors]) == (0, [2])
        good = store_batch(s, source, [{"id": "1", "text": "法律援助申请材料问题"}], now)
        assert good.imported == 1
        with pytest.raises(InputError, match="at most 1000"):
            store_batch(s, source, [{"text": "x"}] * 1001, now)
        with pytest.raises(InputError, match="empty"):
            store_batch(s, source, {"posts": []}, now)


def test_sources_token_prints_a_working_token_once(cli_env: None, db_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.db import make_engine, make_sessionmaker
    from monitor.importing import source_for_token

    first = _run(capsys, "sources", "token", "舆情服务商", "--json")
    assert isinstance(first, dict)
    assert (first["created"], first["replaced"], first["kind"]) == (True, False, "push")
    second = _run(capsys, "sources", "token", "舆情服务商", "--json")
    assert isinstance(second, dict)
    assert (second["created"], second["replaced"]) == (False, True)
    assert second["source_id"] == first["source_id"]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        found = source_for_token(s, second["token"])
        assert found is not None and found.id == second["source_id"]
        assert found.ingest_token_hash != second["token"]  # only the hash is kept
        assert source_for_token(s, first["token"]) is None  # replaced
    engine.dispose()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_nul_and_hostile_lines_cost_only_themselves(cli_env: None, tmp_path: Path, db_url: str,
                                                    capsys: pytest.CaptureFixture[str],
                                                    suffix: str) -> None:
    """NUL and control characters are cleaned as the feed path cleans them (monitor.text);
    a line that cannot be read is that line's error; every other line is stored — on
    PostgreSQL too, where NUL in text used to kill the whole file with a traceback."""
    from sqlalchemy import text

    from monitor.db import make_engine

    path = tmp_path / f"posts{suffix}"
    if suffix == ".jsonl":
        lines = [json.dumps({"id": "a1", "text": "法律援助\u0000申请被拒", "author": "网\u0000友"}),
                 "[" * 100_000 + "]" * 100_000,
                 '{"id": "a2", "text": "律师收费", "likes": NaN}',
                 '{"id": "a3", "text": "公证处", "reposts": 1e999}',
                 '{"id": ' + "9" * 4301 + ', "text": "社区矫正"}',
                 json.dumps({"id": "a4", "text": "人民调解\ud800委员会"}),
                 json.dumps({"id": "a5\u0000", "text": "司法所"})]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        bad = [2, 3, 4, 5, 7]
    else:
        path.write_text("id,text,author,likes\nb1,法律援助\x00申请被拒,网\x00友,\n"
                        "b2,律师收费,,nan\nb3,人民调解\x07委员会,,3\nb4\x00,司法所,,\n",
                        encoding="utf-8")
        bad = [3, 5]
    out = _run(capsys, "import", str(path), "--source", "导入测试", "--json")
    assert isinstance(out, dict)
    assert [e["line"] for e in out["errors"]] == bad, out["errors"]
    assert out["imported"] == 2
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT text, author FROM items ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("法律援助申请被拒", "网友"), ("人民调解委员会", None)]
