"""Refusal reasons in the desk's language (issue 16): every sentence the sources, topics and
users pages can show, produced by the real validators from bad input, reads in Chinese on a
Chinese page (the quoted values and YAML keys kept as typed) and as it came on an English
one (responders.web.i18n.reason)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.errors import InputError
from monitor.sources import IntervalRules, validate_spec
from responders import admin_topics
from responders.web.i18n import reason
from tests.support.settings import defaults

CONFIG = Path(defaults().config_dir)
TOPIC = "watch: []\ntopics:\n - id: ab\n   name: x\n"
SOURCES = [
    {}, {"name": "x" * 201}, {"name": "大河网", "url": "ftp://dahe.example/rss"},
    {"name": "大河网", "url": "https://dahe.example/rss", "kind": "tv"},
    {"name": "大河网", "url": "https://dahe.example/rss", "interval": "十分钟"},
    {"name": "大河网", "url": "https://dahe.example/rss", "interval": "10"},
    {"name": "大河网", "url": "https://dahe.example/rss", "colour": "red"},
    {"name": "大河网", "url": "https://dahe.example/rss", "allow_private": "yes"},
]
TOPICS = [
    "a: [", "topics:\n  - [1", "- 1\n- 2", "topics: []\nwatch: []",
    "watch: []\ntopics:\n - name: x\n", "watch: []\ntopics:\n - id: 'a b'\n   name: x\n",
    "watch: []\ntopics:\n - id: ab\n", TOPIC, TOPIC + "   keywords: 3\n",
    TOPIC + "   keywords: ['']\n", TOPIC + "   rules: 3\n", TOPIC + "   rules: [{none: [a]}]\n",
    TOPIC + "   rules: [3]\n",
    TOPIC + "   keywords: [a]\n - id: ab\n   name: y\n   keywords: [b]\n",
    "watch: 3\ntopics:\n - id: ab\n   name: x\n   keywords: [a]\n",
    TOPIC + "   keywords: [a]\n   colour: red\n", "watch: []\ntopics:\n - 5\n",
    TOPIC + "   keywords: [a]\n   exclude: 3\n",
    TOPIC + "   keywords: [a]\n   rules: [{all: [a], bogus: [b]}]\n",
    "watch: []\ntopics:\n - id: ab\n   name: x\n   keywords: [a, [b]]\n",
    "x" * (admin_topics.MAX_BYTES + 1),
]
OTHERS = ["a source named '大河网' exists already",
          "source '大河网' is not marked gone (HTTP 410); nothing to enable"]


def _refusals() -> list[str]:
    rules = IntervalRules.from_section(defaults().poll)
    found = []
    for raw in SOURCES:
        with pytest.raises(InputError) as exc:
            validate_spec(raw, rules)
        found.append(str(exc.value))
    for text in TOPICS:
        with pytest.raises(InputError) as exc:
            admin_topics.parse(text, CONFIG)
        found.append(str(exc.value))
    return found + OTHERS


# Identifiers a person types into topics.yaml or a source, which stay as they are.
KEPT = re.compile(r"'[^']*'|\"[^\"]*\"|https?://\S*|topics\.yaml|YAML|HTTP|kB|"
                  r"\b(?:id|name|url|keywords|rules|exclude|watch|all|any|none|topics|"
                  r"allow_private|true|false|news|government|weibo|wechat|board|colour|"
                  r"bogus)\b")


@pytest.mark.parametrize("message", _refusals())
def test_every_refusal_reads_in_chinese_and_stays_english_in_english(message: str) -> None:
    zh = reason("zh", message)
    assert zh != message
    assert re.search(r"[\u4e00-\u9fff]", zh)
    leftover = KEPT.sub("", zh)
    assert not re.search(r"[A-Za-z]{2,}", leftover), (message, zh)
    assert reason("en", message) == message


def test_values_are_kept_as_typed_and_positions_count_from_one() -> None:
    assert reason("zh", "topic 'ab': rules[0]: needs 'all' or 'any' terms") == \
        "话题 'ab'，第 1 条规则：须有 all 或 any 词语"
    assert reason("zh", "source '大河网': url must be an http(s) URL with a host, got "
                        "'ftp://x'") == \
        "信息源 '大河网'：网址须为带主机名的 http:// 或 https:// 地址，填写的是 'ftp://x'"
    assert reason("zh", "not valid YAML: while parsing\n  in \"<unicode string>\", line 2, "
                        "column 5:\nexpected ','\n  in \"<unicode string>\", line 2, column 7"
                  ).startswith("不是有效的 YAML：第 2 行第 7 列附近有误")


def test_a_sentence_no_row_knows_is_shown_as_it_came() -> None:
    assert reason("zh", "something new went wrong") == "something new went wrong"
