"""monitor.nfkc equals unicodedata.normalize("NFKC", ·): on the corpora, on text built to make
the library compose, reorder and decompose across runs, and by the properties of the
ideographs the shortcut splits at (checked on this Python's Unicode database)."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.nfkc import nfkc
from tests.unit.test_weibo_batch import corpus

IDEOGRAPHS = range(0x4E00, 0xA000)


def test_ideographs_are_stable_starters_that_never_compose() -> None:
    components: set[int] = set()
    for cp in range(sys.maxunicode + 1):
        # Only canonical pairs can compose; a singleton (a compatibility ideograph such as
        # U+F967 -> 不) is never recomposed, and it becomes an ideograph within its own run.
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            components.update(int(part, 16) for part in parts)
    for cp in IDEOGRAPHS:
        char = chr(cp)
        assert unicodedata.decomposition(char) == "" and unicodedata.combining(char) == 0
        assert unicodedata.normalize("NFKC", char) == char
        assert cp not in components  # so no composition can join one to a neighbour


def test_nfkc_equals_the_library_on_the_corpora() -> None:
    for text in corpus():
        assert nfkc(text) == unicodedata.normalize("NFKC", text), text


# Characters that decompose, recompose, reorder or are jamo, next to ideographs and ASCII.
_TRICKY = ("e\u0301", "\u0301", "\u0327\u0301", "\u1100", "\u1161", "\u11a8", "가",
           "ＡＢＣ１２３", "，。！？", "\u2460", "\ufb01", "\u3000", "ｶﾞ", "\uff9e", "\u212b",
           "\u0344", "\u0f73", "\U0001d15e", "\uf900", "\U0002f800", "㊣", "\u00bd", "ß", "ﬀ")
_ALPHABET = st.one_of(
    st.sampled_from(_TRICKY),
    st.sampled_from(("河", "南", "司", "法", "\u4e00", "\u9fff", "\u9fa5")),
    st.characters(max_codepoint=0x2FFFF, exclude_categories=("Cs",)).map(str),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=24).map("".join))
def test_nfkc_equals_the_library_on_text_made_to_interact(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)
