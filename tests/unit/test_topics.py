"""The topic matcher: shipped taxonomy on realistic texts, rule semantics, scale, config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ConfigError
from monitor.topics import GENRES, MarkerHit, Rule, SensitiveHit, Taxonomy, Topic

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")


# -- the shipped taxonomy on texts a press officer would see -----------------------------------

SHIPPED_CASES = [
    # text, expected topics (in taxonomy order), expected watch hits
    ("郑州某律所风险代理收费过高，律师费五万元不退", ("lawyers",), ()),
    (
        "社区矫正对象王某脱管三天，司法所已报告公安机关",
        ("community_corrections", "grassroots_legal_services"),
        (),
    ),
    ("省第二监狱开通远程视频会见，家属不用再跑路", ("prisons",), ()),
    ("强制隔离戒毒人员家属开放日在新乡举行", ("drug_rehab",), ()),
    ("对伤残鉴定意见不服，申请重新鉴定", ("forensic_appraisal",), ()),
    ("为农民工讨薪提供免费法律服务，法援中心点赞", ("legal_aid",), ()),
    ("村民宅基地纠纷经调解握手言和", ("mediation",), ()),
    ("2026年法考报名系统昨晚崩溃，考生着急", ("legal_exam",), ()),
    ("宪法宣传周：法治进校园活动走进郑州市第一中学", ("legal_education",), ()),
    ("省司法厅公布2026年行政复议典型案例", ("admin_reconsideration",), ("省司法厅",)),
    ("全面推行行政执法三项制度，首违不罚清单公布", ("enforcement_supervision",), ()),
    ("拨打１２３４８热线咨询赡养问题", ("public_legal_services",), ()),
    ("郑州仲裁委员会受理案件数创新高", ("arbitration",), ()),
    ("《河南省物业管理条例（草案）》公开征求意见", ("legislation_review",), ()),
    ("河南司法行政在线发布：冬季安全提示", (), ("河南司法行政在线", "河南司法行政", "河南司法")),
    # not the office's business
    ("今天郑州有中到大雨，出行注意安全", (), ()),
    ("郑州地铁3号线部分站点临时封闭，乘客请绕行", (), ()),
    ("河南男篮主场战胜山东，取得三连胜", (), ()),
    # substrings that look like keywords and must not be taken for them
    ("这种方法考虑不周，执法考核应当细化", (), ()),
    ("公司考勤制度改革", (), ()),
    ("收到律师函警告了哈哈哈", (), ()),
    ("普法战争是欧洲历史的转折点", (), ()),
]


@pytest.mark.parametrize(("text", "topics", "watch"), SHIPPED_CASES)
def test_shipped_taxonomy_on_real_texts(
    shipped: Taxonomy, text: str, topics: tuple[str, ...], watch: tuple[str, ...]
) -> None:
    result = shipped.match(text)
    assert result.topics == topics
    assert result.watch_hits == watch
    assert result.relevant == bool(topics or watch)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 辟谣 is a genre marker now, not a complaint word (see test_markers_*)
        ("戒毒所一学员死亡的传言不实，所方辟谣", [("死亡", "severe")]),
        ("公证处态度恶劣，还不作为，我要投诉", [("投诉", "elevated"), ("不作为", "elevated"),
                                                ("态度恶劣", "elevated")]),
        (
            "公证处推诿扯皮，跑了好几趟还没办成",
            [("推诿", "elevated"), ("扯皮", "elevated"), ("跑了好几趟", "elevated")],
        ),
        ("调解员偏袒对方，我要投诉", [("投诉", "elevated"), ("偏袒", "elevated")]),
        ("服刑人员脱逃后被抓获", [("脱逃", "severe")]),
        ("调解员耐心细致，群众点赞", []),
    ],
)
def test_sensitive_terms_severe_first_then_config_order(
    shipped: Taxonomy, text: str, expected: list[tuple[str, str]]
) -> None:
    result = shipped.match(text)
    assert [(h.term, h.level) for h in result.sensitive] == expected
    assert result.severity == (expected[0][1] if expected else None)


# -- markers: what kind of post, whose side (config/sensitive.yaml) ----------------------------

MARKER_CASES = [
    # text, genre, terms expected among that genre's hits
    ("【#辟谣#】网传“戒毒所学员被打致死”不实！经核查，该戒毒人员系突发疾病", "debunk",
     ("辟谣", "不实", "经核查")),
    ("戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明", "debunk", ("系谣言", "情况说明")),
    ("【普法】社区矫正对象剪断定位腕带会怎样？", "explainer", ("普法",)),
    ("根据《社区矫正法》第二十九条规定，可以使用电子定位装置", "explainer", ("条规定",)),
    ("省司法厅召开全省律师行业收费专项检查推进会", "notice", ("召开", "推进会", "专项检查")),
    ("该对象已于11月23日被抓获并依法收监执行", "handled", ("被抓获", "收监执行")),
    ("终于办下来了！！今天司法局的人陪着去，一个小时就出证了", "praise",
     ("终于办下来了", "就出证了")),
    ("本以为要请假回老家，结果手机上就办了", "praise", ("本以为",)),
    ("支持司法局严查黑律师！终于有人管了", "support", ("支持司法局", "严查黑律师", "终于有人管了")),
    ("请问社区矫正报到能否改在乡镇司法所", "request", ("请问", "能否")),
    ("说好不赢不收费，结果扣走四成，这合理吗？电话也不接", "complaint", ("合理吗", "电话也不接")),
    ("公证员私下索要好处费，不给就拖着", "misconduct", ("索要", "好处费")),
    ("听说某戒毒所有学员被打死了，转发让更多人看到", "rumour", ("听说", "转发让更多人看到")),
]


@pytest.mark.parametrize(("text", "genre", "terms"), MARKER_CASES)
def test_markers_of_the_shipped_lists(
    shipped: Taxonomy, text: str, genre: str, terms: tuple[str, ...]
) -> None:
    found = shipped.match(text).marked(genre)  # type: ignore[arg-type]
    assert set(terms) <= set(found), found


def test_markers_are_reported_in_genre_then_config_order(shipped: Taxonomy) -> None:
    result = shipped.match("听说公证处索要好处费？请问能否投诉")
    genres = [h.genre for h in result.markers]
    assert genres == sorted(genres, key=GENRES.index)
    assert result.marked("rumour") == ("听说",)
    assert result.marked("misconduct") == ("索要", "好处费")
    assert result.marked("request") == ("请问", "能否")
    # the complaint word is still a sensitive term: markers are an extra role, not a new scan
    assert [h.term for h in result.sensitive] == ["投诉"]
    assert shipped.match("调解员耐心细致，群众点赞").marked("complaint") == ()


def test_a_term_can_be_topic_keyword_sensitive_term_and_marker_at_once() -> None:
    taxonomy = Taxonomy(
        [Topic(id="cc", name="社区矫正", keywords=("脱管",))],
        severe=("脱管",),
        markers={"rumour": ("脱管",), "debunk": ("不实",)},
    )
    result = taxonomy.match("网传脱管不实")
    assert result.topics == ("cc",)
    assert result.sensitive == (SensitiveHit("脱管", "severe"),)
    assert result.markers == (MarkerHit("不实", "debunk"), MarkerHit("脱管", "rumour"))


def test_unknown_marker_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown marker kind"):
        Taxonomy([Topic(id="a", name="甲", keywords=("甲",))], markers={"gossip": ("听说",)})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) gossip"):
        Taxonomy.from_mapping(_topics(), {"severe": ["死亡"], "gossip": ["听说"]})
    with pytest.raises(ConfigError, match=r"praise\[1\]: empty term"):
        Taxonomy.from_mapping(_topics(), {"praise": ["点赞", ""]})


# -- idioms: a sensitive term inside an unrelated phrase ---------------------------------------


@pytest.mark.parametrize(
    ("text", "severe"),
    [
        ("这家律所律师费跳楼价，打死我也不信是真的", []),
        ("律师咨询时被打扰了好几次", []),
        ("县司法局召开会议，要求严防脱管漏管", []),
        ("政策解读：对存在脱管风险的社区矫正对象使用电子定位", []),
        # the term still counts when it also occurs outside the idiom
        ("打死我也不信，可戒毒所真有人被打死了", ["被打", "打死"]),
        ("严防脱管喊了一年，结果还是脱管了", ["脱管"]),
        ("服刑人员跳楼", ["跳楼"]),
    ],
)
def test_sensitive_term_inside_an_idiom_does_not_count(
    shipped: Taxonomy, text: str, severe: list[str]
) -> None:
    found = [h.term for h in shipped.match(text).sensitive if h.level == "severe"]
    assert [t for t in found if t in ("打死", "被打", "跳楼", "脱管")] == severe


# -- off-topic senses vetoed by a topic's exclude list -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "郑州牙齿矫正中心开业，隐形矫正八折",
        "孩子视力矫正做了半年，效果不错",
        "新赛季的监狱地图太难了，越狱关卡卡了一晚上",
        "最近在追律政剧，《精英律师》里的律师都好帅",
        "监狱风云重映，还是那么好看",
    ],
)
def test_off_topic_senses_match_no_topic(shipped: Taxonomy, text: str) -> None:
    assert shipped.match(text).topics == ()


@pytest.mark.parametrize(
    ("text", "watch"),
    [
        # another province's 司法厅 does not name this office …
        ("江苏省司法厅发布2026年度律师行业典型案例", ()),
        ("山东省司法厅：全面推行公证“最多跑一次”", ()),
        # … but ours still counts beside it, and so does a bare 省司法厅 elsewhere in the text
        ("江苏省司法厅与河南省司法厅签署区域合作协议", ("河南省司法厅", "省司法厅")),
        ("浙江省司法厅推行视频公证，省司法厅相关负责人表示我省也将试点", ("省司法厅",)),
        ("省司法厅公布2026年行政复议典型案例", ("省司法厅",)),
    ],
)
def test_other_offices_names_are_not_watch_hits(
    shipped: Taxonomy, text: str, watch: tuple[str, ...]
) -> None:
    assert shipped.match(text).watch_hits == watch


def test_watch_exclude_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"watch_exclude\[0\]: empty term"):
        Taxonomy.from_mapping({**_topics(), "watch_exclude": [""]}, {})


def test_excludes_do_not_hide_the_real_sense(shipped: Taxonomy) -> None:
    assert shipped.match("社区矫正中心开展矫正对象集中教育").topics[0] == "community_corrections"
    assert "prisons" in shipped.match("服刑人员家属反映监狱会见难").topics
    assert "lawyers" in shipped.match("律师事务所乱收费被查").topics


def test_sensitive_alone_does_not_make_an_item_relevant(shipped: Taxonomy) -> None:
    result = shipped.match("高速公路连环追尾事故致2人死亡")
    assert result.sensitive == (SensitiveHit("死亡", "severe"),)
    assert not result.relevant


def test_every_shipped_topic_has_a_name_and_unique_id(shipped: Taxonomy) -> None:
    ids = [t.id for t in shipped.topics]
    assert len(ids) == len(set(ids)) >= 17
    assert shipped.topic_name("lawyers") == "律师"
    assert shipped.topic_name("public_legal_services") == "公共法律服务"


def test_unknown_topic_id_renders_as_itself(shipped: Taxonomy) -> None:
    assert shipped.topic_name("removed_topic") == "removed_topic"


# -- rule semantics on a small hand-made taxonomy ---------------------------------------------


@pytest.fixture(scope="module")
def small() -> Taxonomy:
    return Taxonomy(
        topics=[
            Topic(
                id="lawyers",
                name="律师",
                keywords=("律师", "律师事务所"),
                rules=(Rule(all=("代理", "案件"), any=("收费", "费用"), none=("游戏",)),),
                exclude=("律师函警告",),
            ),
            Topic(
                id="fees",
                name="收费",
                rules=(
                    Rule(
                        any=("乱收费", "天价"),
                    ),
                ),
            ),
            Topic(id="latin", name="Latin", keywords=("DNA",)),
        ],
        watch=("河南省司法厅", "省司法厅"),
        severe=("死亡",),
        elevated=("投诉",),
    )


@pytest.mark.parametrize(
    ("text", "topics", "keywords"),
    [
        # keyword alone
        ("找律师咨询", ("lawyers",), ("律师",)),
        # overlapping terms: 律师 sits inside 律师事务所 and both count
        ("某律师事务所", ("lawyers",), ("律师", "律师事务所")),
        # rule: all + one of any
        ("代理这类案件收费不低", ("lawyers",), ("代理", "案件", "收费")),
        # rule: all present but no `any` term → no match
        ("代理案件", (), ()),
        # rule: one `all` term missing → no match
        ("代理收费", (), ()),
        # rule: `none` vetoes the rule
        ("游戏代理案件费用", (), ()),
        # `none` vetoes only its rule, a keyword still matches
        ("游戏代理案件费用，律师说", ("lawyers",), ("律师",)),
        # exclude vetoes the whole topic, keywords and rules alike
        ("律师函警告！代理案件收费", (), ()),
        # a rule with only `any`
        ("天价停车费", ("fees",), ("天价",)),
        # Latin terms are case-insensitive, full-width forms equal half-width
        ("做了dna比对", ("latin",), ("DNA",)),
        ("ＤＮＡ检测", ("latin",), ("DNA",)),
        # several topics, reported in taxonomy order whatever the text order
        ("DNA、乱收费、律师", ("lawyers", "fees", "latin"), ("律师", "乱收费", "DNA")),
        ("", (), ()),
    ],
)
def test_rule_semantics(
    small: Taxonomy, text: str, topics: tuple[str, ...], keywords: tuple[str, ...]
) -> None:
    result = small.match(text)
    assert result.topics == topics
    assert result.keywords == keywords


def test_watch_hits_overlap_and_count_as_relevant(small: Taxonomy) -> None:
    result = small.match("河南省司法厅通报")
    assert result.topics == ()
    assert result.watch_hits == ("河南省司法厅", "省司法厅")
    assert result.relevant


def test_term_in_two_roles_serves_both(small: Taxonomy) -> None:
    # 收费 is a rule term of `lawyers`; 乱收费 contains it and is a rule term of `fees`.
    result = small.match("律所代理案件乱收费")
    assert result.topics == ("lawyers", "fees")


# -- scale ------------------------------------------------------------------------------------


def test_five_thousand_keywords_still_match_exactly() -> None:
    # 500 topics x 10 keywords: each keyword is "词" + a unique number, so every keyword is
    # a prefix-free-enough distinct term and the expected topic of each is known.
    topics = [
        Topic(id=f"t{i}", name=f"主题{i}", keywords=tuple(f"词{i}号{j}项" for j in range(10)))
        for i in range(500)
    ]
    taxonomy = Taxonomy(topics)
    assert sum(len(t.keywords) for t in taxonomy.topics) == 5000
    text = "开头词7号3项，中间词499号9项，然后词123号0项，还有词12号项不算数。"
    assert taxonomy.match(text).topics == ("t7", "t123", "t499")
    assert taxonomy.match("没有任何关键词").topics == ()
    # every one of the 5,000 keywords is found on its own
    misses = [
        (t.id, k)
        for t in taxonomy.topics
        for k in t.keywords
        if taxonomy.match(k).topics != (t.id,)
    ]
    assert misses == []


# -- config errors ----------------------------------------------------------------------------


def _topics(**topic: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "lawyers", "name": "律师", "keywords": ["律师"]}
    base.update(topic)
    return {"watch": ["省司法厅"], "topics": [base]}


@pytest.mark.parametrize(
    ("topics", "sensitive", "message"),
    [
        (_topics(keywords=["律师", ""]), {}, "topic 'lawyers': keywords[1]: empty term"),
        (_topics(keywords=["律师", "  "]), {}, "keywords[1]: empty term"),
        (_topics(keyword=["律师"]), {}, "topic 'lawyers': unknown key(s) keyword"),
        (_topics(keywords=[], rules=[]), {}, "topic 'lawyers': has neither keywords nor rules"),
        (_topics(rules=[{"al": ["代理"]}]), {}, "topic 'lawyers': rules[0]: unknown key(s) al"),
        (_topics(rules=[{"none": ["游戏"]}]), {}, "rules[0]: needs 'all' or 'any'"),
        (_topics(keywords="律师"), {}, "keywords: expected a list"),
        (_topics(id="律师"), {}, "id must be ascii"),
        (_topics(name=""), {}, "topic 'lawyers': missing 'name'"),
        ({"topics": []}, {}, "'topics' must be a non-empty list"),
        (
            {"topics": [{"id": "a", "name": "甲", "keywords": ["甲"]}], "extra": 1},
            {},
            "top level: unknown key(s) extra",
        ),
        (
            {
                "topics": [
                    {"id": "a", "name": "甲", "keywords": ["甲"]},
                    {"id": "a", "name": "乙", "keywords": ["乙"]},
                ]
            },
            {},
            "topic 'a': duplicate id",
        ),
        (_topics(), {"severe": ["死亡"], "urgent": ["x"]}, "unknown key(s) urgent"),
        (_topics(), {"severe": ["死亡", None]}, "severe[1]: expected a term"),
    ],
)
def test_config_errors_name_the_place(
    topics: dict[str, Any], sensitive: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Taxonomy.from_mapping(topics, sensitive)
    assert message in str(excinfo.value)


def test_numbers_in_yaml_are_terms(tmp_path: Path) -> None:
    topics = tmp_path / "topics.yaml"
    topics.write_text("topics:\n  - {id: pls, name: 公共法律服务, keywords: [12348]}\n", "utf-8")
    sensitive = tmp_path / "sensitive.yaml"
    sensitive.write_text("severe: []\n", "utf-8")
    assert Taxonomy.from_files(topics, sensitive).match("请拨打12348").topics == ("pls",)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "sensitive.yaml"
    good.write_text("severe: [死亡]\nelevated: [投诉]\n", "utf-8")
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics:\n  - id: a\n    name: 甲\n    keywords: [甲, '']\n", "utf-8")
    with pytest.raises(ConfigError, match=r"topics\.yaml: topic 'a': keywords\[1\]: empty term"):
        Taxonomy.from_files(bad, good)

    broken = tmp_path / "broken.yaml"
    broken.write_text("severe: [死亡\n", "utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        Taxonomy.from_files(CONFIG / "topics.yaml", broken)

    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        Taxonomy.from_files(tmp_path / "missing.yaml", good)
