"""decide() reads the markers through `_marked`, one pass over the hits; it must give each
genre exactly what `TopicMatch.marked` gives (same terms, same order, absent when none), or
a decision's priority or reasons would change."""

from __future__ import annotations

from monitor.flagging import _marked
from monitor.topics import GENRES, MarkerHit, Taxonomy, TopicMatch
from tests.unit.test_topics import CONFIG
from tests.unit.test_weibo_batch import corpus


def _reference(match: TopicMatch) -> dict[str, tuple[str, ...]]:
    return {genre: match.marked(genre) for genre in GENRES if match.marked(genre)}


def test_marked_equals_topic_match_marked_on_the_corpora() -> None:
    tx = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    marked = 0
    for text in corpus():
        match = tx.match(text)
        assert _marked(match) == _reference(match), text
        marked += bool(match.markers)
    assert marked > 300


def test_marked_keeps_the_hits_order_within_a_genre_whatever_the_order_of_genres() -> None:
    match = TopicMatch((), (), (), (), (MarkerHit("谣言", "rumour"), MarkerHit("点赞", "praise"),
                                       MarkerHit("网传", "rumour"), MarkerHit("感谢", "praise")))
    assert _marked(match) == _reference(match) == {"rumour": ("谣言", "网传"),
                                                   "praise": ("点赞", "感谢")}
