"""The flagging decision: what makes a P1, a P2, a P3 or nothing — on realistic posts through the
shipped taxonomy and marker lists, plus the rule's edges on hand-made matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.flagging import FlagPolicy, decide, praise_only
from monitor.sentiment.base import Sentiment, Thresholds
from monitor.topics import MarkerHit, SensitiveHit, Taxonomy, TopicMatch

CONFIG = Path(__file__).resolve().parents[2] / "config"
POLICY = FlagPolicy(strong_negative=0.10, strong_negative_probability=0.90)
CUT = Thresholds(negative_below=0.35, positive_above=0.65)

NEG = Sentiment(0.05, "negative")  # what the models say of most complaints (and some praise)
NEG_MILD = Sentiment(0.25, "negative")
NEU = Sentiment(0.50, "neutral")
NEU_LOW = Sentiment(0.07, "neutral")  # a three-class engine: a low score, yet not negative
POS = Sentiment(0.90, "positive")


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")


# text, source kind, sentiment, expected priority, a reason that must be given (None: no alert)
POSTS = [
    # ---- the 戒毒所 rumour thread: only the rumour itself is a P1 -------------------------
    ("听说某戒毒所有学员被打死了，家属都不让见人，这事有人知道吗？？？转发让更多人看到😡",
     "weibo", NEG, "P1", "传言：听说"),
    ("河南某戒毒所出事了？网传有学员被民警殴打致死，求真相！", "weibo", NEU, "P1",
     "传言：网传、求真相"),
    ("我弟在强制隔离戒毒所，听说那边有人死了，打电话问所里也不说，急死了", "weibo", NEG,
     "P1", "含重大敏感词：有人死了"),
    ("戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明：经核查，该戒毒人员系突发急性心肌"
     "梗死，已脱离危险", "news", NEG, None, None),
    ("【#辟谣#】网传“戒毒所学员被打致死”不实！请广大网友不信谣、不传谣，以@河南省戒毒管理局 "
     "发布的权威信息为准。", "weibo", NEU_LOW, None, None),
    ("权威发布|关于网传“戒毒人员被打致死”的情况说明：网传“被打致死”等内容与事实不符，对编造、"
     "传播谣言的行为，已提请公安机关依法处理。河南省戒毒管理局", "wechat", NEG, None, None),
    ("还好是谣言😮‍💨 昨天看到那个帖子吓一跳，我表哥就在戒毒所，家里人一晚上没睡好。", "weibo",
     NEG_MILD, None, None),
    ("都辟谣了？那凭什么家属到现在还见不到人，戒毒所打死人还想捂盖子", "weibo", NEG, "P1",
     "投诉/批评：凭什么"),
    ("戒毒人员家属：网传“戒毒所打死人”让我们担惊受怕。（更新：省戒毒管理局已发布情况说明，"
     "网传“被打致死”不实。）", "news", NEG, None, None),
    # ---- escapes: the incident is a P1, its notice, explainer and capture are not ------
    ("听说我们县有个社区矫正的人剪了腕带跑了？？派出所都在找人，真的假的😱", "weibo",
     NEG_MILD, "P1", "含重大敏感词：剪了腕带"),
    ("洛阳一社区矫正对象剪断定位腕带脱管 警方已介入。有网民质疑“戴着腕带都能跑了，监管形同"
     "虚设”", "news", NEU, "P1", "投诉/批评：形同虚设"),
    ("某监狱一名服刑人员脱逃，河南省监狱管理局正组织追捕", "news", NEU, "P1",
     "提及本单位：河南省监狱管理局"),
    ("一名社区矫正对象何以能剪断腕带“消失”十八天：事发前已多次未按时签到，司法所仅作电话提醒",
     "news", NEU, "P2", "含重大敏感词：剪断腕带"),
    ("关于洛阳市社区矫正对象脱管事件的情况通报：该对象已于11月23日被抓获并依法收监执行，"
     "省司法厅已部署全省开展安全隐患排查。", "government", NEG, None, None),
    ("洛阳一脱管社区矫正对象在外省落网 已被依法收监执行", "news", NEU_LOW, "P3",
     "已有处置：落网、收监执行"),
    ("【普法】社区矫正对象剪断定位腕带会怎样？依法提请撤销缓刑、收监执行", "news", NEU, None,
     None),
    ("以案释法｜《社区矫正法》第二十八条规定，社区矫正对象脱逃的，依法予以治安管理处罚", "wechat",
     NEG, None, None),
    ("政策解读|社区矫正对象电子定位管理办法来了：经评估存在脱管风险的社区矫正对象使用电子定位",
     "wechat", NEU_LOW, None, None),
    ("县司法局召开社区矫正安全排查会议，要求严防脱管漏管", "government", NEU, None, None),
    # ---- other incidents in custody ----------------------------------------------------
    ("家属称服刑人员在监狱内被狱警殴打，身上全是伤，监狱至今没有说法", "weibo", NEG, "P1",
     "含重大敏感词：殴打"),
    ("戒毒人员在所内自杀身亡，家属质疑看护不到位", "news", NEU, "P1", "自杀"),
    ("一图读懂《河南省法律援助条例》：遭受家庭暴力、虐待、遗弃的受害人可申请法律援助",
     "government", NEU, None, None),
    # ---- alleged misconduct: P2, on the board too --------------------------------------
    ("去公证处办继承公证，工作人员私下索要好处费，不给就一直拖着", "weibo", NEG, "P2",
     "反映违纪违规：索要、好处费"),
    ("某司法所所长给违建当保护伞，村里人都知道", "weibo", NEU, "P2", "反映违纪违规：保护伞"),
    ("我在社区矫正期间，司法所工作人员暗示要收红包才给批外出请假", "board", NEU, "P2",
     "来源：网民留言"),
    ("监狱里有人花钱减刑、纸面服刑，举报了也没人管", "board", NEG, "P2", "花钱减刑"),
    ("司法鉴定人收了对方的钱，鉴定意见明显造假，这是权钱交易", "weibo", NEG, "P2",
     "含敏感词：造假"),
    ("省司法厅开展腐败问题专项整治，公布三起典型案例", "government", NEU, None, None),
    # ---- complaints: P2 when negative, P3 otherwise ------------------------------------
    ("#郑州律所风险代理# 18万赔偿款律所直接扣走7万2！！签合同的时候根本没说是四成，这合理吗？"
     "@河南司法行政", "weibo", NEG, "P2", "投诉/批评：合理吗"),
    ("#商丘老人办公证被要求回去等通知# 窗口工作人员看都没看就说“系统有问题，回去等通知”，来回"
     "推诿，办个公证咋就这么难？", "weibo", NEG, "P2", "含敏感词：推诿"),
    ("去县里法律援助中心申请法律援助，让我回村开证明，村里说不归他们管，跑了两天啥也没办成",
     "weibo", NEG, "P2", "投诉/批评：不归他们管"),
    ("村里调解员是对方家的堂哥，调解时明显偏袒对方，这叫什么调解？", "weibo", NEG_MILD, "P2",
     "含敏感词：偏袒"),
    ("12348打了一上午都打不通，法律援助中心电话也无人接听", "weibo", NEU, "P3",
     "含敏感词：无人接听、打不通"),
    ("法考资格申请系统是崩溃了吗？一上午登不上去😤", "weibo", NEG, "P2", "含敏感词：崩溃"),
    ("律师费收了三万，案子拖了一年，律所推诿说律师出差", "weibo", NEU_LOW, "P3",
     "含敏感词：推诿、拖了"),
    # a complaint the office is already handling: news of it is a P3
    ("开封一公证处被指“让群众跑了五趟” 当地司法局：已责令整改，对相关公证员批评教育", "news",
     NEG, "P3", "已有处置：已责令"),
    ("郑州一律所被指违规收取工伤赔偿金四成 市司法局已成立调查组介入调查", "news", NEU_LOW, "P3",
     "已有处置：介入调查、调查组"),
    # ---- the message board: P2 only for misconduct or an incident, else P3 at most -----
    ("继承公证跑了五趟还没办成，工作人员互相推诿，态度冷漠", "board", NEG, "P3", "来源：网民留言"),
    ("请问社区矫正报到能否改在乡镇司法所？每月去县城来回六十公里", "board", NEG_MILD, "P3",
     "咨询/求助：请问、能否"),
    # a neutral question gets no alert here; the event layer raises it while unanswered
    ("咨询基层法律服务工作者能否代理外地案件", "board", NEU, None, None),
    ("听说我们县有社区矫正对象剪断腕带脱逃了，至今没抓到。请问司法局怎么监管的？", "board",
     NEG_MILD, "P2", "含重大敏感词：脱逃"),
    # ---- praise, with the negative-looking words models misread ------------------------
    ("终于办下来了！！继承公证前前后后跑了五趟，今天司法局的人陪着去，一个小时就出证了😂",
     "weibo", NEG, None, None),
    ("本以为要请假回老家办学历公证，结果在手机上就申请了，三天就寄到了", "weibo", NEG_MILD, None,
     None),
    ("差点以为又要白跑一趟，幸亏窗口的公证员耐心细致，一次就办好了", "weibo", NEG, None, None),
    ("感谢平顶山市法律援助中心为我们讨回工资，为援助律师点赞！", "board", POS, None, None),
    ("给镇上司法所的调解员点赞，帮我们把宅基地的事说开了，还跑了三趟现场", "weibo", NEG_MILD,
     None, None),
    # a success story in the news that a model reads as negative: a report's tone alone
    # flags nothing (a citizen's post in the same tone is P3, below)
    ("商丘一村十年宅基地纠纷 调解员三进村化解“心结”：两户人家十年不说话，最终签下调解协议",
     "news", NEG_MILD, None, None),
    ("为了一堵墙两家闹了十年，镇调解员三次进村，最终签下调解协议", "government", NEG, None,
     None),
    ("今天去强制隔离戒毒所参加开放日，看到我弟在学面点，民警说他表现不错，心里一块石头落地了",
     "weibo", NEG, None, None),
    # ---- support for the office: not criticism of it -----------------------------------
    ("支持司法局严查黑律师！工伤赔偿都敢扣四成，早该管了", "weibo", NEG, None, None),
    ("律所乱收费终于有人管了，大快人心", "weibo", NEG_MILD, None, None),
    # ---- notices, work news, explainers ------------------------------------------------
    ("省司法厅召开全省律师行业收费专项检查推进会，要求对投诉线索逐件核查，对违规律所依法处理",
     "government", NEG, None, None),
    ("【#律师收费专项检查#】省司法厅部署开展律师服务收费专项检查，发现律师违规收费请拨打12348",
     "weibo", NEG, None, None),
    ("律师收费，这些“红线”不能碰！遇到律所违规收费、天价收费，可向当地司法局投诉", "wechat",
     NEG, None, None),
    ("普法|遇到欠薪怎么办？农民工追索劳动报酬申请法律援助，免予经济困难审查", "wechat",
     NEG_MILD, None, None),
    ("《河南省行政执法监督条例》施行一周年答记者问", "government", NEG, None, None),
    ("#宪法宣传周# 倒计时！12月4日国家宪法日，你知道宪法宣誓的誓词吗？@河南司法行政在线",
     "weibo", NEG_MILD, None, None),
    ("全省人民调解员培训班在郑州开班", "government", NEU, None, None),
    ("河南公证“最多跑一次”事项扩至126项 群众办证平均用时缩短六成", "news", POS, None, None),
    # ---- plain negative posts in remit: P3 on sentiment, never higher ------------------
    ("监狱视频会见小程序一放号就没了，连着三个月没见上我儿子😢", "weibo", NEG, "P3",
     "情感强烈负面"),
    ("不是说公证最多跑一次吗？", "weibo", NEG, "P3", "涉及话题：公证"),
    ("村里能否配一名法律顾问？遇到合同问题不知道找谁问", "board", NEG_MILD, "P3",
     "咨询/求助：能否"),
    # ---- not the office's business, or another sense of the words ----------------------
    ("高速公路连环追尾事故致2人死亡", "news", NEG, None, None),
    ("今天郑州风好大！！骑电动车差点被吹跑🥶", "weibo", NEG, None, None),
    ("新赛季的监狱地图太难了，越狱关卡卡了一晚上，队友都被打死了", "weibo", NEG, None, None),
    ("最近在追律政剧，《精英律师》里律师被打那段太虐了", "weibo", NEG, None, None),
    ("郑州牙齿矫正中心开业，隐形矫正八折", "weibo", POS, None, None),
    ("这家律所说律师费打五折，打死我也不信", "weibo", NEG_MILD, "P3", "涉及话题：律师"),
    ("河南男篮主场108:97击败广东 豪取四连胜", "news", POS, None, None),
]


@pytest.mark.parametrize(("text", "kind", "sentiment", "expected", "reason"), POSTS,
                         ids=[p[0][:24] for p in POSTS])
def test_realistic_posts(shipped: Taxonomy, text: str, kind: str, sentiment: Sentiment,
                         expected: str | None, reason: str | None) -> None:
    names = {t.id: t.name for t in shipped.topics}
    decision = decide(shipped.match(text), sentiment, POLICY, names, kind=kind)
    assert (decision.priority if decision else None) == expected, (
        decision.reasons if decision else "no alert")
    if reason is not None:
        assert decision is not None
        assert any(reason in r for r in decision.reasons), decision.reasons


def test_the_table_is_large_and_varied() -> None:
    assert len(POSTS) >= 60
    got = {p[3] for p in POSTS}
    assert got == {"P1", "P2", "P3", None}
    assert {p[1] for p in POSTS} >= {"news", "government", "weibo", "wechat", "board"}


def test_the_board_kind_is_what_caps_an_incident(shipped: Taxonomy) -> None:
    # the same words: a Weibo post spreading is P1, a letter to the office's board P2
    text = "听说我们县有社区矫正对象剪断腕带脱逃了，至今没抓到。请问司法局怎么监管的？"
    assert decide(shipped.match(text), NEG_MILD, POLICY, kind="weibo").priority == "P1"
    assert decide(shipped.match(text), NEG_MILD, POLICY, kind="board").priority == "P2"
    assert decide(shipped.match(text), NEG_MILD, POLICY).priority == "P1"  # kind unknown
    # an ordinary negative complaint: P2 elsewhere, P3 on the board
    text = "继承公证跑了五趟还没办成，工作人员互相推诿，态度冷漠"
    assert decide(shipped.match(text), NEG, POLICY, kind="weibo").priority == "P2"
    assert decide(shipped.match(text), NEG, POLICY, kind="board").priority == "P3"


# -- the rule's edges on hand-made matches -----------------------------------------------


def m(topics=("lawyers",), watch=(), severe=(), elevated=(), **markers):
    hits = tuple(SensitiveHit(t, "severe") for t in severe) + tuple(
        SensitiveHit(t, "elevated") for t in elevated
    )
    marks = tuple(MarkerHit(t, g) for g, terms in markers.items() for t in terms)
    return TopicMatch(topics=tuple(topics), watch_hits=tuple(watch), sensitive=hits,
                      keywords=tuple(topics), markers=marks)


def s(score, label=None):
    """A binary engine's output: the label cut from the score (or given, as a
    three-class engine decides it)."""
    return None if score is None else Sentiment(score, label or CUT.label(score))


@pytest.mark.parametrize(
    ("match", "score", "expected"),
    [
        # not about our field: never an alert, however negative or sensitive
        (m(topics=()), 0.01, None),
        (m(topics=(), severe=("死亡",), rumour=("网传",)), 0.01, None),
        # praise and notices on a topic are stored, not queued
        (m(), 0.9, None),
        (m(), 0.5, None),
        (m(watch=("省司法厅",)), 0.8, None),
        # negative on a topic: sentiment alone never goes above P3, with the office named too
        (m(), 0.2, "P3"),
        (m(), 0.05, "P3"),
        (m(watch=("省司法厅",)), 0.05, "P3"),
        # complaint words
        (m(elevated=("投诉",)), 0.9, "P3"),
        (m(elevated=("投诉",)), 0.2, "P2"),
        (m(complaint=("凭什么",)), 0.2, "P2"),
        (m(elevated=("投诉", "推诿", "不作为")), 0.5, "P3"),
        (m(elevated=("投诉",), handled=("责令整改",)), 0.05, "P3"),
        # incidents
        (m(severe=("死亡",)), 0.5, "P2"),
        (m(severe=("死亡",)), 0.2, "P1"),
        (m(severe=("死亡",), rumour=("网传",)), 0.5, "P1"),
        (m(severe=("死亡",), watch=("省司法厅",)), 0.6, "P1"),
        (m(severe=("死亡",), elevated=("质疑",)), 0.5, "P1"),
        (m(severe=("脱逃",), handled=("被抓获",)), 0.05, "P3"),
        (m(severe=("死亡",), debunk=("不实",), rumour=("网传",)), 0.05, None),
        (m(severe=("死亡",), debunk=("辟谣",), complaint=("凭什么",)), 0.05, "P1"),
        (m(severe=("死亡",), explainer=("普法",)), 0.05, None),
        (m(severe=("死亡",), notice=("情况通报",)), 0.05, None),
        # the complainant's own words outweigh notice wording; a debunk always stands
        (m(severe=("死亡",), notice=("召开",), rumour=("听说",)), 0.05, "P1"),
        # … but an explainer quotes the rumour to answer it
        (m(severe=("死亡",), explainer=("律师解读",), rumour=("网传",)), 0.05, None),
        (m(severe=("死亡",), explainer=("律师解读",), rumour=("网传",),
           complaint=("凭什么",)), 0.05, "P1"),
        (m(elevated=("投诉",), explainer=("条规定",), complaint=("凭什么",)), 0.05, "P2"),
        # praise and support outweigh complaint words and sentiment, not a rumour
        (m(elevated=("推诿",), praise=("终于办下来了",)), 0.05, None),
        (m(severe=("打死",), praise=("点赞",), rumour=("转发扩散",)), 0.05, "P1"),
        (m(elevated=("乱收费",), support=("支持严查",)), 0.05, None),
        # misconduct
        (m(misconduct=("好处费",)), 0.9, "P2"),
        (m(misconduct=("好处费",), support=("支持严查",)), 0.9, "P2"),
        (m(misconduct=("受贿",), handled=("立案调查",)), 0.5, "P3"),
        (m(misconduct=("受贿",), notice=("专项整治",)), 0.5, None),
        # unscored text (no Chinese, or the engine failed): the words still count
        (m(severe=("脱逃",)), None, "P2"),
        (m(elevated=("投诉",)), None, "P3"),
        (m(), None, None),
        # the office's own name counts as relevance even without a topic
        (m(topics=(), watch=("河南省司法厅",), elevated=("不作为",)), 0.1, "P2"),
    ],
)
def test_priority_table(match, score, expected):
    decision = decide(match, s(score), POLICY)
    assert (decision.priority if decision else None) == expected


def test_reasons_are_words_a_press_officer_reads():
    d = decide(m(topics=("lawyers", "notary"), watch=("省司法厅",), severe=("死亡",),
                 elevated=("投诉",), rumour=("网传",)), s(0.04), POLICY,
               {"lawyers": "律师", "notary": "公证"})
    assert d is not None and d.priority == "P1" and d.major
    assert d.reasons == (
        "涉及话题：律师、公证",
        "提及本单位：省司法厅",
        "传言：网传",
        "含重大敏感词：死亡",
        "含敏感词：投诉",
        "情感强烈负面（正面概率 0.04）",
    )
    assert d.topics == ("lawyers", "notary")


@pytest.mark.parametrize("label", ["neutral", "positive"])
@pytest.mark.parametrize("score", [0.0, 0.03, 0.2])
def test_only_a_negative_label_is_ever_called_negative(label, score):
    # a three-class engine may score a notice low and still call it neutral
    d = decide(m(elevated=("投诉",), severe=("脱逃",)), s(score, label), POLICY)
    assert d is not None
    assert not any("负面" in r for r in d.reasons)


def test_negativity_is_the_engines_label():
    assert decide(m(), s(0.2, "neutral"), POLICY) is None
    assert decide(m(), s(0.4, "negative"), POLICY).priority == "P3"
    # "strongly" needs both the negative label and a very low score
    assert "强烈负面" in "".join(decide(m(), s(0.05, "negative"), POLICY).reasons)
    assert "强烈负面" not in "".join(decide(m(), s(0.3, "negative"), POLICY).reasons)
    assert "情感负面（正面概率 0.30）" in decide(m(), s(0.3, "negative"), POLICY).reasons


@pytest.mark.parametrize(("text", "expected"), [
    ("点赞公证“最多跑一次”：本以为要请假回老家，结果手机上就申请了，太方便了！", True),
    ("感谢平顶山市法律援助中心为我们讨回工资，为援助律师点赞！", True),
    # asks something: a request waiting for a reply, however friendly
    ("为公证处点赞！请问外地户籍能否在郑州办理学历公证？", False),
    # complains in the same breath
    ("以前给司法所点赞，这次调解员却偏袒对方", False),
    ("继承公证跑了五趟还没办成，工作人员互相推诿", False),
], ids=["thanks", "thanks-aid", "asks", "complains", "complaint"])
def test_praise_only_tells_thanks_from_requests(shipped: Taxonomy, text: str,
                                                expected: bool) -> None:
    assert praise_only(shipped.match(text)) is expected


def three(score, p_negative, label="negative"):
    """A three-class engine's output: its score is not its calibrated P(negative)."""
    rest = 1.0 - p_negative
    return Sentiment(score, label, p_negative=p_negative, p_neutral=rest * 0.8,
                     p_positive=rest * 0.2)


def test_three_class_strength_is_read_from_p_negative_not_the_score():
    # A worried board question: the score sits at the extreme, P(negative) does not.
    d = decide(m(), three(0.08, 0.75), POLICY)
    assert d is not None
    assert "情感负面（负面概率 0.75）" in d.reasons
    assert not any("强烈" in r for r in d.reasons)
    d = decide(m(), three(0.30, 0.95), POLICY)
    assert "情感强烈负面（负面概率 0.95）" in d.reasons


def test_three_class_strength_threshold_is_the_policys():
    lenient = FlagPolicy(strong_negative=0.10, strong_negative_probability=0.70)
    assert "情感强烈负面（负面概率 0.75）" in decide(m(), three(0.5, 0.75), lenient).reasons
    assert "情感负面（负面概率 0.75）" in decide(m(), three(0.5, 0.75), POLICY).reasons


def test_combined_reasons_list_each_label_once_with_its_terms_united():
    from monitor.flagging import combine_reasons
    got = combine_reasons([
        "涉及话题：社区矫正、基层法律服务", "含重大敏感词：脱管", "情感负面（负面概率 0.62）",
        "回溯：发布于 2026-11-12 21:10，首次发现晚 503 小时（超过 72 小时），不计突发事件时限",
        "合并：预警 #6 与本预警为同一事件",
        "涉及话题：社区矫正、司法行政队伍与作风", "投诉/批评：形同虚设",
        "含重大敏感词：脱管、剪断定位腕带", "情感强烈负面（负面概率 0.93）",
        "回溯：发布于 2026-11-10 08:00，首次发现晚 550 小时（超过 72 小时），不计突发事件时限",
        "合并：预警 #6 与本预警为同一事件", "升级 P2→P1",
    ])
    assert got == [
        "涉及话题：社区矫正、基层法律服务、司法行政队伍与作风",
        "含重大敏感词：脱管、剪断定位腕带",
        "情感强烈负面（负面概率 0.93）",
        "回溯：发布于 2026-11-10 08:00，首次发现晚 550 小时（超过 72 小时），不计突发事件时限",
        "合并：预警 #6 与本预警为同一事件",
        "投诉/批评：形同虚设",
        "升级 P2→P1",
    ]


def test_combined_sentiment_keeps_the_most_negative_in_either_wording():
    from monitor.flagging import combine_reasons
    assert combine_reasons(["情感负面（正面概率 0.30）", "情感负面（正面概率 0.12）"]) == [
        "情感负面（正面概率 0.12）"]
    assert combine_reasons(["情感强烈负面（正面概率 0.04）", "情感负面（负面概率 0.80）"]) == [
        "情感强烈负面（正面概率 0.04）"]
    # Unlisted reasons are kept as they are, once.
    assert combine_reasons(["爆发：1 小时内 18 条", "爆发：1 小时内 18 条", "来源：网民留言"]) == [
        "爆发：1 小时内 18 条", "来源：网民留言"]
