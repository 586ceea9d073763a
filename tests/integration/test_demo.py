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


def _demo_guids() -> int:
    demo = ROOT / "config" / "demo"
    guids = set()
    for source in yaml.safe_load((demo / "sources.yaml").read_text(encoding="utf-8"))["sources"]:
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
