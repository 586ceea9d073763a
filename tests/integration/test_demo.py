"""`yuqing demo --json`: the bundled demo through a real worker on the embedded default
(or the CI's Redis/PostgreSQL), twice on the same home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _json_ids(path: Path, kind: str) -> set[str]:
    """Post ids in a demo JSON file, read without the project's parsers: a Weibo search
    lists reposts whose originals (retweeted_status) are posts too; a board lists threads;
    the vendor API lists results."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if kind == "weibo":
        ids = set()
        for card in data["data"]["cards"]:
            ids.add(str(card["mblog"]["id"]))
            if "retweeted_status" in card["mblog"]:
                ids.add(str(card["mblog"]["retweeted_status"]["id"]))
        return ids
    if kind == "board":
        return {str(t["tid"]) for t in data["result"]["data"]}
    return {str(p["post_id"]) for p in data["data"]["results"]}


def _demo_guids() -> int:
    demo = ROOT / "config" / "demo"
    guids = set()
    for source in yaml.safe_load((demo / "sources.yaml").read_text(encoding="utf-8"))["sources"]:
        if source["path"].endswith(".json"):
            guids |= {(source["path"], i) for i in _json_ids(demo / source["path"],
                                                              source["kind"])}
            continue
        parsed = feedparser.parse((demo / source["path"]).read_bytes())
        guids |= {(source["path"], e.get("id") or e.get("link")) for e in parsed.entries}
    return len(guids)


@pytest.mark.timeout(1200)
def test_demo_twice(db_url, home, broker_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})
    if os.environ.get("YUQING_TEST_BROKER_URL"):
        env["YUQING_BROKER_URL"] = broker_url

    def run() -> dict:
        r = subprocess.run([sys.executable, "-m", "tasks.cli", "demo", "--json"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(r.stdout)

    first = run()
    assert set(first) == {"sources", "items", "new_items", "scored", "alerts", "seconds"}
    assert first["sources"] >= 6
    assert first["items"] == first["new_items"] == _demo_guids() >= 150
    assert first["scored"] >= first["items"] * 0.95  # only non-Chinese text goes unscored
    assert 0 < first["alerts"] < first["items"]
    second = run()
    assert second["new_items"] == 0
    assert second["items"] == first["items"]
    assert second["alerts"] == first["alerts"]

    # The social sources make multi-item events, and the planted Weibo burst is one.
    r = subprocess.run([sys.executable, "-m", "tasks.cli", "events", "list", "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    events = json.loads(r.stdout)
    assert sum(1 for e in events if e["items"] > 1) >= 3
    [planted] = [e for e in events if "回去等通知" in (e["first_item_text"] or "")
                 and e["items"] >= 15]
    assert planted["burst"] and planted["priority"] is not None
    # Nothing else in the demo is loud enough in its last hour (it is dated in the past).
    assert [e["id"] for e in events if e["burst"]] == [planted["id"]]
