"""The weighted sentiment lexicon: building the shipped file, loading it, matching, negation."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ConfigError
from monitor.sentiment.lexicon import (
    WEIGHTED_FEATURES,
    WEIGHTED_LEXICON,
    build_weighted_lexicon,
    load_weighted_lexicon,
    negated_at,
)
from monitor.sentiment.normalize import normalize


def _lexicon(tmp_path: Path, lines: str, name: str = "lex") -> Path:
    source = tmp_path / f"{name}.txt"
    source.write_text(lines, encoding="utf-8")
    out = tmp_path / f"{name}.tsv.gz"
    build_weighted_lexicon(source, out, normalize)
    return out


def _sums(values: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in np.expm1(values)]


def test_build_normalizes_averages_duplicates_and_skips_what_it_cannot_read(
    tmp_path: Path,
) -> None:
    out = _lexicon(
        tmp_path,
        "开心 2.0\nＧＯＯＤ 1.0\ngood 3.0\n坑爹 -3.5\n没有分数\n零分 0\n坏 x\n第167 1.5\n",
    )
    rows = gzip.decompress(out.read_bytes()).decode("utf-8").splitlines()
    # full-width folded and lower-cased to match normalized text; the two "good" averaged;
    # digits fold to 0 as in texts; zero scores, bad scores and one-field lines dropped
    assert rows == ["good\t2", "坑爹\t-3.5", "开心\t2", "第0\t1.5"]


def test_build_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    a = _lexicon(tmp_path, "开心 2.0\n坑爹 -3.5\n", "a")
    b = _lexicon(tmp_path, "开心 2.0\n坑爹 -3.5\n", "b")
    assert a.read_bytes() == b.read_bytes()
    assert load_weighted_lexicon(a).sha256 == load_weighted_lexicon(b).sha256


def test_matching_is_leftmost_longest_without_overlaps(tmp_path: Path) -> None:
    lex = load_weighted_lexicon(_lexicon(tmp_path, "开心 2\n不开心 -2.5\n心 0.5\n谢谢 3\n"))
    # "不开心" is one word here, so "开心" and "心" inside it do not count again
    assert lex.matches("不开心,谢谢") == [(0, 3, -2.5), (4, 6, 3.0)]
    assert _sums(lex.features("不开心,谢谢")) == [3.0, 2.5, 0.0, 0.0]


def test_negation_moves_a_word_to_its_negated_feature(tmp_path: Path) -> None:
    lex = load_weighted_lexicon(_lexicon(tmp_path, "满意 2\n推诿 -1.5\n"))
    assert dict(zip(WEIGHTED_FEATURES, _sums(lex.features("不是很满意")), strict=True)) == {
        "wlex_pos": 0.0, "wlex_neg": 0.0, "wlex_pos_negated": 2.0, "wlex_neg_negated": 0.0,
    }
    assert _sums(lex.features("没有推诿")) == [0.0, 0.0, 0.0, 1.5]
    # 非常 ("very") holds 非 but negates nothing
    assert _sums(lex.features("非常满意")) == [2.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [("不满意", 1, True), ("非常满意", 2, False), ("没想到满意", 3, False),
     ("不知道怎么说,满意", 7, False), ("并非满意", 2, True)],
)
def test_negated_at_table(text: str, start: int, expected: bool) -> None:
    assert negated_at(text, start) is expected


def test_load_names_the_file_and_line_of_a_bad_entry(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tsv.gz"
    broken.write_bytes(gzip.compress("开心\t2\n坑爹 -3\n".encode()))
    with pytest.raises(ConfigError, match=r"broken\.tsv\.gz:2: expected 'word<TAB>score'"):
        load_weighted_lexicon(broken)
    not_gzip = tmp_path / "plain.tsv.gz"
    not_gzip.write_text("开心\t2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read sentiment lexicon"):
        load_weighted_lexicon(not_gzip)


def test_the_shipped_lexicon_loads_and_reads_weibo_words() -> None:
    lex = load_weighted_lexicon(WEIGHTED_LEXICON)
    assert lex.size > 90_000
    pos, neg, _, _ = _sums(lex.features(normalize("感谢律师耐心解答，太贴心了")))
    assert pos > neg
    pos, neg, _, _ = _sums(lex.features(normalize("推诿扯皮，坑爹的办事效率")))
    assert neg > pos
