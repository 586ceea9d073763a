"""Whose business a post is (monitor.remit): another province's story is not Henan's alert."""

from __future__ import annotations

import pytest

from monitor.remit import elsewhere


@pytest.mark.parametrize("text,province", [
    ("湖南通报一服刑人员劳动时突发疾病死亡", "湖南"),
    ("江西一律师在法院门口遭殴打，当地律协谴责", "江西"),
    ("陕西某戒毒所学员死亡", "陕西"),
])
def test_another_provinces_story(text: str, province: str) -> None:
    assert elsewhere(text) == province


@pytest.mark.parametrize("text", [
    "洛阳市涧西区戒毒所学员死亡",
    "河南籍服刑人员在湖南监狱死亡，家属求助河南司法厅",  # names Henan: may be ours
    "郑州一律师去江西出差被打",
    "社区矫正对象脱管",  # names no province at all: may be ours
])
def test_posts_that_may_be_ours(text: str) -> None:
    assert elsewhere(text) is None


def test_hainan_is_not_henan() -> None:
    assert elsewhere("海南一监狱服刑人员死亡") == "海南"
