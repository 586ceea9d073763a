"""Random corruption of good Weibo and board responses: the social parsers raise only
ParseError (their documented error, turned into the source's last_error), never anything
else, and never make an entry with nothing in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.social import parser_for

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "social"
GOOD = {
    ("weibo", "weibo_mobile_relative.json"): (FIX / "weibo_mobile_relative.json").read_bytes(),
    ("weibo", "weibo_show_long.json"): (FIX / "weibo_show_long.json").read_bytes(),
    ("board", "board_people_list.json"): (FIX / "board_people_list.json").read_bytes(),
    ("weibo", "weibo_rsshub.xml"): (FIX / "weibo_rsshub.xml").read_bytes(),
}
_JUNK = st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"0", b"\xff",
                         b"\\", b"<", b"&", b"true", b'{"a": [1, {}]}', b"\x00"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(sorted(GOOD)),
       edits=st.lists(st.tuples(st.floats(min_value=0, max_value=1, exclude_max=True), _JUNK,
                                st.booleans()), min_size=1, max_size=3))
def test_corrupted_social_bodies_raise_only_parse_errors(
        case: tuple[str, str], edits: list[tuple[float, bytes, bool]]) -> None:
    kind, _ = case
    body = bytearray(GOOD[case])
    for where, junk, replace in sorted(edits, reverse=True):
        at = int(where * len(body))
        body[at:at + (1 if replace else 0)] = junk
    try:
        parsed = parser_for(kind)(bytes(body))
    except ParseError as exc:
        assert str(exc)
        return
    for entry in parsed.entries:
        assert entry.title or entry.text or entry.link
        assert entry.entry_id


@pytest.mark.parametrize("case", sorted(GOOD))
def test_the_uncorrupted_bodies_parse(case: tuple[str, str]) -> None:
    assert parser_for(case[0])(GOOD[case]).entries
