"""`config:` in a sources file: a JSON API's field mapping validated when loaded, so a typo
fails `yuqing init` with a sentence instead of silently storing empty posts later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.errors import InputError
from monitor.sources import IntervalRules, load_specs, validate_spec
from tests.support.settings import defaults

RULES = IntervalRules.from_section(defaults().poll)

BASE = {"name": "舆情服务商·短视频", "url": "https://vendor.example.cn/api/posts", "kind": "news"}
MAPPING = {"items": "data.results", "id": "post_id", "text": "content",
           "time": "publish_time", "author": "author.nickname", "reposts": "stats.forward"}


@pytest.mark.parametrize(("config", "expected"), [
    (None, None),                       # not given: an update keeps the stored config
    ({}, {}),                           # given empty: cleared
    ({"mapping": MAPPING}, {"mapping": MAPPING}),
    ({"format": "json"}, {"format": "json"}),
    ({"mapping": {"items": "data.list.0.posts", "id": 0}},
     {"mapping": {"items": "data.list.0.posts", "id": "0"}}),
])
def test_config_accepted(config: Any, expected: Any) -> None:
    raw = {**BASE, **({"config": config} if config is not None else {})}
    assert validate_spec(raw, RULES).config == expected


@pytest.mark.parametrize(("config", "says"), [
    ("mapping: data", "config: expected a mapping"),
    ({"maping": MAPPING}, "unknown key(s) maping"),
    ({"mapping": ["id", "text"]}, "config.mapping: expected a mapping"),
    ({"mapping": {"txt": "content"}}, "unknown field(s) txt"),
    ({"mapping": {"text": ""}}, "config.mapping.text: expected a dotted path"),
    ({"mapping": {"text": {"path": "content"}}}, "config.mapping.text: expected a dotted path"),
    ({"mapping": {"text": True}}, "config.mapping.text: expected a dotted path"),
    ({"mapping": {"items": "data..results"}}, "empty or padded step"),
    ({"format": "xml"}, "config.format: must be one of json"),
])
def test_config_refused_with_a_sentence(config: Any, says: str) -> None:
    with pytest.raises(InputError, match="舆情服务商·短视频") as info:
        validate_spec({**BASE, "config": config}, RULES)
    assert says in str(info.value)


def test_load_specs_reads_config(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("""
sources:
  - name: 舆情服务商·短视频
    url: https://vendor.example.cn/api/posts?project=henan-sft
    config:
      mapping:
        items: data.results
        id: post_id
        text: content
        likes: stats.like
  - name: 河南法治报
    url: https://www.hnfzb.example.cn/rss.xml
""", encoding="utf-8")
    vendor, paper = load_specs(path, RULES)
    assert vendor.config == {"mapping": {"items": "data.results", "id": "post_id",
                                         "text": "content", "likes": "stats.like"}}
    assert paper.config is None
