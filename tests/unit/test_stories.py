"""Stories told in different words (monitor.stories): which posts share a matter, by their
salient terms and the names they use. Pure: the shipped background and the shipped taxonomy's
vocabulary, no database."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from monitor.analyze import story_vocabulary
from monitor.event_store import EventSettings
from monitor.stories import (
    NAME_MARK,
    anchor_level,
    best_story,
    build_background,
    cosine,
    followup_anchor,
    load_background,
    merge_profiles,
    names,
    story_vector,
    terms,
)
from monitor.topics import Taxonomy
from tests.support.settings import defaults

CONFIG = Path(__file__).resolve().parents[2] / "config"
POLICY = EventSettings.from_section(defaults().events).stories

# One matter, four voices: a newspaper, a relative on Weibo, a debunk, a board message.
REPORT = ("【大河报】洛阳市涧西区第二强制隔离戒毒所一名学员猝死，"
          "家属质疑所方救治不及时，要求公开监控视频。")
RELATIVE = ("#洛阳戒毒所学员死亡# 我表哥在涧西那个戒毒所里没了，"
            "所里说是突发疾病，我们家属连监控都看不到[怒][怒]")
DEBUNK = ("网传洛阳涧西戒毒所打死人？经核查，系学员突发心脏疾病经抢救无效死亡，"
          "所方已第一时间通知家属并报检察机关。")
# Same field, same kind of complaint, other matters: other cities, or the same city.
NOTARY_ZZ = "郑州市金水区公证处办理继承公证要求材料太多，跑了五趟[泪]"
NOTARY_LY = "洛阳市西工区公证处办理继承公证要求材料太多，跑了好几趟"
LAWYER_ZZ = "郑州市二七区一律师事务所律师收了钱不办事，投诉到司法局也没人管。"


@pytest.fixture(scope="module")
def vector():
    taxonomy = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    vocabulary, background = story_vocabulary(taxonomy), load_background()
    return lambda text: story_vector(text, background, vocabulary, POLICY)


def joins(a: dict[str, float], b: dict[str, float]) -> bool:
    return bool(best_story(a, [(1, b)], POLICY))


def test_one_matter_in_different_words_joins(vector) -> None:
    report, relative, debunk = vector(REPORT), vector(RELATIVE), vector(DEBUNK)
    assert joins(relative, report)
    assert joins(debunk, report)
    # … and the profile of the two joins the third as well
    assert joins(debunk, merge_profiles(report, relative))


@pytest.mark.parametrize("a,b", [(NOTARY_ZZ, NOTARY_LY), (NOTARY_ZZ, LAWYER_ZZ),
                                 (REPORT, NOTARY_LY), (RELATIVE, LAWYER_ZZ)])
def test_other_matters_of_the_field_stay_apart(vector, a: str, b: str) -> None:
    assert not joins(vector(a), vector(b))
    assert not joins(vector(b), vector(a))


def test_the_fields_own_words_weigh_less_than_names(vector) -> None:
    v = vector(REPORT)
    assert v["涧西"] > v["强制隔离戒毒"]  # the place says which matter; the kind says topic
    assert "大河" not in v                 # the outlet's bracket is not the story


def test_places_lose_their_administrative_suffix() -> None:
    assert "涧西" in terms("洛阳市涧西区")
    assert "洛阳" in terms("洛阳市涧西区")
    assert "涧西" in terms("在涧西那个戒毒所")  # glue characters trimmed off a name


@pytest.mark.parametrize("text,expected", [
    ("洛阳恒正律师事务所", f"{NAME_MARK}恒正律所"),
    ("郑州市第二强制隔离戒毒所", f"{NAME_MARK}第二戒毒所"),
    ("许昌仁和司法鉴定所", f"{NAME_MARK}仁和鉴定所"),
    ("拨打12348热线", f"{NAME_MARK}12348"),
    ("《河南省社区矫正工作实施细则》施行", f"{NAME_MARK}河南省社区矫正工作实施细则"),
    ("#周口缓刑人员持刀伤人# 太可怕", f"{NAME_MARK}#周口缓刑人员持刀伤人"),
    ("张明远律师三次会见被拒", f"{NAME_MARK}张明远"),
    ("祥符区一法律服务所工作人员冒充律师", f"{NAME_MARK}祥符法律服务所"),
])
def test_names_a_post_uses(text: str, expected: str) -> None:
    assert expected in names(text)


def test_an_incident_in_custody_is_named_by_place_kind_and_what_happened() -> None:
    rumour = names("听说某戒毒所有学员被打死了，家属都不让见人")
    debunk = names("戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明")
    assert f"{NAME_MARK}戒毒所·死亡" in set(rumour) & set(debunk)
    assert not [n for n in names("戒毒所开放日：家属走进所区") if "·" in n]


def test_two_places_that_differ_keep_two_matters_apart(vector) -> None:
    escape_ly = vector("洛阳一社区矫正对象剪断定位腕带脱管，警方已介入")
    escape_zk = vector("周口一社区矫正对象剪断腕带脱管，派出所正在找人")
    assert not joins(escape_zk, escape_ly)
    assert joins(vector("听说有个社区矫正的人剪了腕带跑了，警方已介入"), escape_ly)


@pytest.mark.parametrize("text", ["乡镇司法所的同志很负责", "希望司法所多来村里",
                                  "今天去区公共法律服务中心咨询", "2026年的工作", "当地公证处"])
def test_words_before_an_institution_that_name_none(text: str) -> None:
    assert names(text) == []


@pytest.mark.parametrize("term,level", [("涧西", 2), ("王某某", 2), ("李某", 2),
                                        (f"{NAME_MARK}恒正律所", 2), ("洛阳", 1), ("郑州", 1),
                                        ("家属", 0), ("材料", 0)])
def test_anchor_levels(term: str, level: int) -> None:
    assert anchor_level(term) == level


def test_a_shared_sentence_of_common_words_is_not_a_shared_matter(vector) -> None:
    a = vector("小区物业乱收停车费，不知道该找哪个部门反映。今天的普法直播有三万多人观看。")
    b = vector("小区物业乱收停车费，不知道该找哪个部门反映。律师费到底怎么收，有没有统一的标准？")
    score, shared = cosine(a, b)
    assert shared >= 3 and score >= POLICY.threshold  # similar enough by words alone …
    assert not joins(a, b)                              # … but no place, person or name


def test_vectors_are_normalised_and_bounded(vector) -> None:
    v = vector(REPORT + RELATIVE + DEBUNK)
    assert 0.99 < sum(w * w for w in v.values()) < 1.01
    assert len(v) <= 24 + 8  # the top terms plus the name keys
    assert vector("转发微博 [doge] @某人") == {}


def test_background_build_is_reproducible(tmp_path: Path) -> None:
    texts = ["洛阳的天气很好", "郑州的天气很好", "今天去公证处"]
    a, b = tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"
    assert build_background(texts, a, min_df=1) == 3
    build_background(texts, b, min_df=1)
    assert a.read_bytes() == b.read_bytes()
    lines = gzip.decompress(a.read_bytes()).decode().splitlines()
    assert lines[0] == "#docs\t3" and "天气\t2" in lines
    bg = load_background(a)
    assert bg.idf("公证处") > bg.idf("天气")


def test_a_place_written_with_a_filler_is_still_the_place() -> None:
    # "祥符区某法律服务所", "祥符区一法律服务所": the district is the name, 某/一 the filler
    assert "祥符" in terms("祥符区某法律服务所")
    assert "祥符" in terms("开封祥符区一法律服务所收费")


def test_a_shared_matter_tag_lowers_the_bar(vector) -> None:
    def post(tag: str) -> dict[str, float]:  # a relative's post under the tag: few shared words
        return {f"{NAME_MARK}#{tag}": 0.5, "表哥": 0.5, "周口": 0.5, "缓刑": 0.5}

    def profile(tag: str) -> dict[str, float]:  # the reports' profile
        return {f"{NAME_MARK}#{tag}": 0.2, "周口": 0.2, "缓刑": 0.1, "川汇": 0.6, "停职": 0.5,
                "排查": 0.5}

    score, _ = cosine(post("周口缓刑人员持刀伤人"), profile("周口缓刑人员持刀伤人"))
    assert POLICY.tagged <= score < POLICY.threshold
    assert joins(post("周口缓刑人员持刀伤人"), profile("周口缓刑人员持刀伤人"))
    # a campaign tag (short) is no such label, and sharing no tag is no label at all
    assert not joins(post("法治河南"), profile("法治河南"))
    assert not joins(post("周口缓刑人员持刀伤人"), profile("周口社区矫正持刀伤人"))
    # what the parser makes of a post's tag is that key
    assert f"{NAME_MARK}#周口缓刑人员持刀伤人" in vector("#周口缓刑人员持刀伤人# 受伤的是我表哥")


@pytest.mark.parametrize("term,expected", [
    (f"{NAME_MARK}仁和鉴定所", True), (f"{NAME_MARK}第二戒毒所", True), ("李某某", True),
    (f"{NAME_MARK}戒毒所·死亡", True), (f"{NAME_MARK}#周口缓刑人员持刀伤人", True),
    (f"{NAME_MARK}郑州戒毒所", False),   # a city's kind of place, not one institution
    (f"{NAME_MARK}#法治河南", False),     # a campaign tag
    (f"{NAME_MARK}12348", False), (f"{NAME_MARK}河南省社区矫正工作实施细则", False),
    ("涧西", False), ("洛阳", False), ("家属", False),
])
def test_follow_up_anchors(term: str, expected: bool) -> None:
    assert followup_anchor(term) is expected


def test_one_service_down_is_named_as_an_outage() -> None:
    for text in ("+1 法律职业资格申请网站打不开，还以为是我网不好", "法考资格申请系统是崩了吗？？",
                 "12348打了一上午都无人接听"):
        assert [n for n in names(text) if n.endswith("·故障")], text
    assert not [n for n in names("法考成绩公布了，过了！") if n.endswith("·故障")]


def test_an_outage_key_labels_the_matter_only_while_it_is_current() -> None:
    down = f"{NAME_MARK}法考·故障"
    post = {down: 0.6, "打不开": 0.5, "网站": 0.4, "下午": 0.48}
    profile = {down: 0.5, "打不开": 0.2, "网站": 0.1, "首日": 0.6, "扩容": 0.55, "考生": 0.2}
    assert best_story(post, [(1, profile)], POLICY, current={1})      # the same day
    assert not best_story(post, [(1, profile)], POLICY, current=())   # a week later: another


def test_an_incident_in_custody_in_the_same_place_labels_the_matter() -> None:
    incident = f"{NAME_MARK}社区矫正·脱逃"
    post = {incident: 0.5, "洛阳": 0.3, "十八": 0.3, "信息化": 0.75}
    profile = {incident: 0.3, "洛阳": 0.2, "十八": 0.1, "抓获": 0.6, "收监": 0.6, "县有": 0.37}
    assert cosine(post, profile)[0] < POLICY.threshold
    assert best_story(post, [(1, profile)], POLICY)
    elsewhere = {**{k: v for k, v in profile.items() if k != "洛阳"}, "周口": 0.2}
    assert not best_story(post, [(1, elsewhere)], POLICY)


def test_one_incident_told_two_ways_joins_while_current() -> None:
    """The demo's rumour ("听说某戒毒所有学员被打死了") and the debunk hours later share
    little but the two incident keys: within outage_hours they are one matter; a week later,
    or with only one key shared (a meeting to 严防脱管), they are not."""
    death, beaten = f"{NAME_MARK}戒毒所·死亡", f"{NAME_MARK}戒毒所·殴打"
    rumour = {death: 0.35, beaten: 0.35, "让见人": 0.27, "听说": 0.2, "转发": 0.2,
              "有人": 0.15}
    debunk = {death: 0.35, beaten: 0.35, "该所": 0.29, "致死": 0.26, "网传": 0.26,
              "医院": 0.2, "谣言": 0.2}
    assert cosine(rumour, debunk)[0] < POLICY.threshold and cosine(rumour, debunk)[1] == 2
    assert best_story(rumour, [(1, debunk)], POLICY, current={1})
    assert not best_story(rumour, [(1, debunk)], POLICY, current=())
    one_key = {k: v for k, v in debunk.items() if k != beaten}
    assert not best_story({k: v for k, v in rumour.items() if k != beaten},
                          [(1, one_key)], POLICY, current={1})


# One disputed disability assessment in three voices (the demo's 伤残鉴定 thread): a wife's
# Weibo post, the newspaper's report, the board message. They share few words.
INJURY_WEIBO = ("我老婆腿骨折打了钢板，司法鉴定说不构成伤残？鉴定人就看了十分钟片子，问都没问几句。"
                "这个鉴定意见我们不服，已经申请重新鉴定了。")
INJURY_NEWS = ("交通事故伤残鉴定结果引争议 当事人家属申请重新鉴定\n"
               "南阳市民何先生的妻子在一起交通事故中腿部骨折，保险公司委托的司法鉴定机构出具的鉴定意见为“未构成伤残”，“鉴定只看了十分钟”。")
INJURY_BOARD = ("对交通事故伤残鉴定结论不服，鉴定机构是否合规\n我妻子车祸腿部骨折，保险公司委托的"
                "司法鉴定所出具“未构成伤残”的鉴定意见，鉴定过程只有十分钟。请问如何投诉鉴定机构？")
# The same kind of complaint, another matter, in another place.
INJURY_OTHER = ("工伤鉴定也太离谱了，我工友在厂里被冲床压断两根手指，鉴定所说不构成伤残。"
                "洛阳的工友有没有遇到过的？")
SIGNED = f"{NAME_MARK}§伤残鉴定/结论"


@pytest.mark.parametrize(("text", "expected"), [
    (INJURY_WEIBO, ["伤残鉴定/结论"]),
    (INJURY_NEWS, ["伤残鉴定/结论"]),
    ("村里调解员是对方家的堂哥，调解的时候一直帮他们说话", ["调解员/偏袒"]),
    # a training on the rule is no complaint about it
    ("全市120名人民调解员参加培训，重点学习回避制度", []),
    ("工伤赔偿被律所扣走四成当风险代理费", ["律所/风险代理扣款"]),
    # an explainer names the topic, not the complaint
    ("风险代理收费最高不得超过标的额的30%，工伤赔偿案件禁止风险代理", []),
    ("伤残鉴定收费标准是多少？鉴定所报价四千多元", ["司法鉴定/收费"]),
])
def test_matter_signatures(text: str, expected: list[str]) -> None:
    from monitor.stories import MATTER_MARK, matters
    assert matters(text) == [MATTER_MARK + e for e in expected]


def test_a_matter_signature_joins_one_complaint_told_in_different_words(vector) -> None:
    weibo, news, board = vector(INJURY_WEIBO), vector(INJURY_NEWS), vector(INJURY_BOARD)
    profile = merge_profiles(news, board)
    assert SIGNED in weibo and SIGNED in profile
    # without the signature's window the words alone are too far apart
    assert not best_story(weibo, [(1, profile)], POLICY, near=())
    assert best_story(weibo, [(1, profile)], POLICY, near={1})
    assert best_story(board, [(1, news)], POLICY, near={1})


def test_a_matter_signature_does_not_join_a_post_from_a_place_the_story_does_not_name(
        vector) -> None:
    """The story so far names no place; a post of the same kind of matter that says 洛阳
    may be another matter: the signature is no label for it."""
    weibo, other = vector(INJURY_WEIBO), vector(INJURY_OTHER)
    assert SIGNED in other and "洛阳" in other
    assert not best_story(other, [(1, weibo)], POLICY, near={1})
    # and a story that names another place keeps it apart whatever the window
    news = vector(INJURY_NEWS)
    assert "南阳" in news
    assert not best_story(other, [(1, merge_profiles(weibo, news))], POLICY, near={1})


def test_a_matter_signature_is_no_follow_up_anchor() -> None:
    assert not followup_anchor(SIGNED)
    assert anchor_level(SIGNED) == 2
