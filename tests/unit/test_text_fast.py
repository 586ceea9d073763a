"""monitor.text's shortcuts: the zh-cn conversion skips zhconv, and the full-width folding
skips str.translate, only where they would change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zhconv
from zhconv.zhconv import getdict

from monitor import text
from monitor.text import (
    _FOLDABLE,
    _fold_fullwidth,
    _fold_whitespace,
    _normalize,
    _to_simplified,
    strip_html,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _texts() -> list[str]:
    table = getdict("zh-cn")
    out = []
    for key, value in table.items():
        # Each key alone, inside a sentence, and its value (simplified already, or not).
        out += [key, f"据报道{key}的情况，{value}。", value]
    for name in ("triage/posts.jsonl", "events_corpus.jsonl", "justice_sentiment.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            out.append(str(json.loads(line)["text"]))
    return out


def test_equals_zhconv_on_every_table_key_and_the_text_corpora() -> None:
    texts = _texts()
    assert len(texts) > 30_000
    differ = [t for t in texts if _to_simplified(t) != zhconv.convert(t, "zh-cn")]
    assert differ == []


def test_plain_simplified_text_does_not_go_through_zhconv(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text.zhconv, "convert", lambda *_: pytest.fail("zhconv was called"))
    assert _to_simplified("县司法局开展“送法进乡村”巡回宣讲，发放资料6000余份。") \
        == "县司法局开展“送法进乡村”巡回宣讲，发放资料6000余份。"
    emoji = "调解员态度很好👍，争执多年终于解决"
    assert _to_simplified(emoji) == emoji


def test_traditional_text_and_changed_phrases_still_convert() -> None:
    assert _to_simplified("司法局調解員") == "司法局调解员"
    assert _to_simplified("权益保障著力") == zhconv.convert("权益保障著力", "zh-cn")


def test_full_width_folding_is_skipped_only_when_it_changes_nothing() -> None:
    texts = [chr(c) for c in range(0x3000, 0x10000)] + _texts()[-2000:]
    assert [t for t in texts if not _FOLDABLE.search(t) and _fold_fullwidth(t) != t] == []
    assert text.normalize_text("２０２６年（ＡＢＣ）", to_simplified=True) == "2026年（ABC）"


def _reference_normalize(value: str, to_simplified: bool) -> str:
    """normalize_text as it was written before the shortcuts: every step, every time."""
    plain = _fold_fullwidth(strip_html(value))
    if to_simplified and plain:
        plain = zhconv.convert(plain, "zh-cn")
    return _fold_whitespace(plain)


_AWKWARD = [
    "  a\u3000\u3000b \r\n\r\n c\x0b\x0cd\x1c\x1fe\u2028f\u00a0g\u200bh\x85i ",
    "<p>軟體\u3000與</p><p>  網路 </p><br/>&nbsp;ＡＢＣ\u3000",
    "\u3000", "\u3000\n\u3000x", "臺灣\u3000\u3000", "<b>ｘ</b>\u3000<i>y</i>",
]


def test_normalize_equals_every_step_every_time() -> None:
    feeds = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
    texts = _texts()[-3000:] + _AWKWARD + [chr(c) + " x " + chr(c) for c in range(0x3100)]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in feeds.glob("*.xml")]
    for to_simplified in (True, False):
        differ = [t for t in texts
                  if _normalize.__wrapped__(t, to_simplified) != _reference_normalize(
                      t, to_simplified)]
        assert differ == []
