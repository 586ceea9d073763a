"""Near-duplicate clustering (monitor.events): the matching text, the sketch, and the corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.events import (
    ClusterPolicy,
    Post,
    best_match,
    cluster,
    matching_text,
    pairwise_scores,
    shingles,
    signature,
    similarity,
)
from tests.support.settings import defaults

POLICY = ClusterPolicy.from_section(defaults().events)
CORPUS = Path(__file__).resolve().parents[1] / "data" / "events_corpus.jsonl"
STORY = ("郑州市金水区一名社区矫正对象在矫正期间多次擅自外出，区司法局依法提请撤销缓刑，"
         "法院已裁定收监执行。")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The reposter's comments and the chain go; the quoted story stays.
        ("太过分了//@张三:转发微博//@法治观察:" + STORY, matching_text(STORY)),
        ("支持 转发 @大河报：" + STORY, matching_text(STORY)),
        # Outlet brackets, hashtags, mentions, links, punctuation and spaces are not the story.
        ("【大河报】#河南司法# " + STORY + " https://t.cn/abc @郑州司法", matching_text(STORY)),
        ("转发微博", ""),
        # Traditional characters and full-width digits fold to the same text.
        ("前三季度辦理案件８.６萬件", "前三季度办理案件86万件"),
    ],
)
def test_matching_text(text: str, expected: str) -> None:
    assert matching_text(text) == expected


def test_matching_text_keeps_the_longest_segment_of_a_chain() -> None:
    assert matching_text("评论//@甲:很长的一段原创内容在这里说明情况//@乙:短") == \
        "很长的一段原创内容在这里说明情况"


def test_similarity_is_exact_jaccard_for_short_texts() -> None:
    a, b = "司法局回应公证难问题", "司法局回应律师收费问题"
    sa, sb = shingles(matching_text(a)), shingles(matching_text(b))
    assert similarity(signature(a), signature(b)) == pytest.approx(len(sa & sb) / len(sa | sb))
    assert similarity(signature(a), signature(a)) == 1.0
    assert similarity([], signature(a)) == 0.0


def test_signature_is_stable_across_processes() -> None:
    # crc32, not hash(): the sketch is stored and compared by other worker processes.
    assert signature("河南省司法厅")[:3] == sorted(shingles("河南省司法厅"))[:3]
    assert shingles("abc") == {891568578}


def test_sketch_estimate_is_close_for_long_texts() -> None:
    long_a = STORY * 3 + "对此，当地有关部门作出回应。" * 2 + "记者了解到相关工作仍在推进中。"
    long_b = long_a.replace("撤销缓刑", "撤回缓刑")
    sa, sb = shingles(matching_text(long_a)), shingles(matching_text(long_b))
    exact = len(sa & sb) / len(sa | sb)
    assert len(sa) > 64  # the sketch really is a sample here
    assert abs(similarity(signature(long_a), signature(long_b)) - exact) < 0.15


def test_light_edit_and_different_story() -> None:
    edited = "【河南日报】" + STORY.replace("依法", "依照法律").replace("已", "已经")
    other = "郑州市金水区公共法律服务中心启用夜间窗口，工作日延长服务至晚上八点，方便群众办理公证。"
    labels = cluster([Post("a", STORY), Post("b", edited), Post("c", other)], POLICY)
    assert labels[0] == labels[1] != labels[2]


def test_repost_joins_its_original_even_without_words() -> None:
    posts = [Post("r", "转发微博", external_id="2", repost_of="1"),
             Post("o", STORY, external_id="1"), Post("x", "转发微博", external_id="3")]
    labels = cluster(posts, POLICY)
    assert labels[0] == labels[1]
    assert labels[2] not in (labels[0], labels[1])  # two bare "转发微博" are not one story


def test_best_match_picks_the_most_similar_event_above_threshold() -> None:
    sig = signature(STORY)
    near = signature("【大河报】" + STORY)
    far = signature("平顶山市在全市推行一村一法律顾问全覆盖，群众通过微信群即可免费咨询法律问题。")
    assert best_match(sig, [(7, far), (9, near)], POLICY) == 9
    assert best_match(sig, [(7, far)], POLICY) is None
    assert best_match(signature("转发微博"), [(9, signature("转发微博"))], POLICY) is None


def test_pairwise_scores() -> None:
    assert pairwise_scores([0, 0, 2], ["a", "a", "b"]) == (1.0, 1.0)
    assert pairwise_scores([0, 0, 0], ["a", "a", "b"]) == (pytest.approx(1 / 3), 1.0)
    assert pairwise_scores([0, 1, 2], ["a", "a", "b"]) == (1.0, 0.0)


def _corpus() -> tuple[list[Post], list[str]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    posts = [Post(r["id"], r["text"], external_id=r["id"], repost_of=r.get("repost_of"))
             for r in rows]
    return posts, [r["group"] for r in rows]


def test_corpus_is_big_and_planted() -> None:
    posts, groups = _corpus()
    assert len(posts) >= 1000
    stories = {g for g in groups if g.startswith("story")}
    assert len(stories) >= 20
    assert sum(1 for p in posts if p.repost_of) > 100
    assert sum(1 for p in posts if "//@" in p.text) > 100


def test_corpus_clusters_with_precision_and_recall_at_least_095() -> None:
    posts, groups = _corpus()
    precision, recall = pairwise_scores(cluster(posts, POLICY), groups)
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall


def test_corpus_needs_repost_links_and_a_sane_threshold() -> None:
    """The score above comes from the method, not from an easy corpus: without repost links
    recall collapses, and a threshold far too low merges unrelated posts."""
    posts, groups = _corpus()
    unlinked = [Post(p.key, p.text) for p in posts]
    assert pairwise_scores(cluster(unlinked, POLICY), groups)[1] < 0.8
    loose = cluster(posts, replace(POLICY, threshold=0.1))
    assert pairwise_scores(loose, groups)[0] < 0.8
