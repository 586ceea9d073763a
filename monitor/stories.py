"""Stories: which posts tell one matter in different words. Pure: no I/O, no clock.

Near-duplicates (monitor.events) catch copies of one text. A press office also sees one
matter told many ways: a newspaper's report, a citizen's angry Weibo post with #hashtags#, a
WeChat article, a board message, a follow-up days later. They share few character 3-grams
but the same *salient terms*: the place (涧西区), the institution (第二强制隔离戒毒所), the
people (王某), the specific thing that happened (猝死, 家属, 尸检). So each post gets a small
weighted term vector and is compared with the *profile* of each likely event (the sum of its
posts' vectors), by cosine.

Terms are words: forward maximum matching against the shipped 100,000-word dictionary (the
sentiment lexicon's words; a segmenter would add a dependency and its errors), each run of
characters the dictionary does not know kept as one term — that is where names are. A term's
weight is sublinear term frequency × its inverse document frequency in a background of
general Weibo text (monitor/story_data/, built by `python -m monitor.stories`): "我们",
"一个", "网友" weigh little, a place name weighs much. Two more corrections make the weight
mean "says which story" rather than "is unusual in general Weibo":

- the field's own vocabulary (the taxonomy's keywords and sensitive terms, and a short list of
  public-affairs words such as 司法、部门、回应、通报) is rare on general Weibo but says only
  "this is about our field": it is damped, or every 戒毒所 story would be one story;
- names are also filed as *anchors* under marked keys (NAME_MARK): districts and counties,
  people as reports write them, institutions by their own name, numbers, #hashtags#,
  《documents》 and incidents in custody (`names`, `anchor_level`). Without a shared anchor
  two posts must be far more alike to count as one matter; two posts that name different
  places never do.

Why not an embedding: none ships in the project, the workers have a budget of a few hundred
microseconds per post, and names, which decide "same matter or not", are what a small vector
of rare terms captures best.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from monitor.errors import ConfigError
from monitor.text import normalize_text

__all__ = [
    "BackgroundIdf",
    "StoryPolicy",
    "StoryVector",
    "cosine",
    "load_background",
    "merge_profiles",
    "named_places",
    "story_vector",
]

STORY_DATA = Path(__file__).with_name("story_data") / "term_df.tsv.gz"
TERMS_PER_POST = 24
TERMS_PER_PROFILE = 48
INDEX_TERMS = 12  # terms of an event's profile kept in the candidate index
NAME_MARK = "＠"  # prefix of a proper name's second key in a vector (see story_vector)
TAG_MARK = NAME_MARK + "#"  # a #hashtag#'s key: Weibo's own label for one matter
# A tag this long names a matter (#周口缓刑人员持刀伤人#, #洛阳律师被砍#); shorter ones are
# campaigns or fields (#法治河南#, #普法#) that many stories carry.
MATTER_TAG_CHARS = 6

StoryVector = dict[str, float]

# Public-affairs words that every story of the field uses: they say "this is about the
# government", not which matter. Damped like the taxonomy's own words.
_GENERIC = (
    "司法 法律 部门 相关 工作 情况 通报 回应 表示 记者 网友 群众 市民 问题 目前 已经 进行 调查 "
    "核查 处理 依法 有关 人员 单位 发布 消息 官方 我们 你们 他们 一个 没有 什么 这个 那个 "
    "今天 昨天 今年 去年 时间 事情 现在 希望 要求 关注 视频 微博 转发 评论 全文 链接 网页 "
    "中国 河南 河南省 省司法厅 司法厅 司法局 本报 新闻 日报 报道 发生 当地 一名 一位 多名 "
    "人民 政府 服务 管理 社会 法治 公安 机关 部分 进一步 加强 推进 开展 落实 全省 全市"
)
# Suffixes that end a place's or an institution's name: the term before one is part of it.
_NAME_SUFFIX = frozenset("省市县区镇乡村街路所院局处校厂矿狱")
_ADMIN_SUFFIX = frozenset("省市区县")
# Henan's prefecture-level cities: naming one says where, but many stories share a city.
_CITIES = frozenset(
    "郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店 "
    "济源".split())
# Henan's districts and counties (stems, as `_stem` leaves them): naming one nearly says which
# matter. Not complete and need not be: a name the dictionary does not know is an anchor
# anyway; this list covers the names that are also ordinary words (金水, 新华, 红旗 …).
_COUNTIES = frozenset("""
中原 二七 管城 金水 上街 惠济 中牟 巩义 荥阳 新密 新郑 登封 郑东 航空港 龙亭 顺河 鼓楼 禹王台
祥符 杞县 通许 尉氏 兰考 老城 西工 瀍河 涧西 偃师 孟津 洛龙 新安 栾川 嵩县 汝阳 宜阳 洛宁 伊川
新华 卫东 石龙 湛河 宝丰 叶县 鲁山 郏县 舞钢 汝州 文峰 北关 殷都 龙安 汤阴 滑县 内黄 林州 鹤山
山城 淇滨 浚县 淇县 红旗 卫滨 凤泉 牧野 获嘉 原阳 延津 封丘 卫辉 辉县 长垣 解放 中站 马村 山阳
修武 博爱 武陟 温县 沁阳 孟州 华龙 清丰 南乐 范县 台前 魏都 建安 鄢陵 襄城 禹州 长葛 源汇 郾城
召陵 舞阳 临颍 湖滨 陕州 渑池 卢氏 义马 灵宝 宛城 卧龙 南召 方城 西峡 镇平 内乡 淅川 社旗 唐河
新野 桐柏 邓州 梁园 睢阳 民权 睢县 宁陵 柘城 虞城 夏邑 永城 浉河 平桥 罗山 光山 新县 商城 固始
潢川 淮滨 息县 川汇 淮阳 扶沟 西华 商水 沈丘 郸城 太康 鹿邑 项城 驿城 西平 上蔡 平舆 正阳 确山
泌阳 汝南 遂平 新蔡
""".split())
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_CHAIN = re.compile(r"//\s*@[^:：\s]{1,30}\s*[:：]")
_EMOTICON = re.compile(r"\[[^\]\s]{1,8}\]")
# An outlet's bracket in front of a report (【大河报】, （记者 王军）): who tells it, not what.
# A 【…】 headline longer than an outlet's name stays: it is the story's own summary.
_OUTLET = re.compile(r"【[^】]{1,8}】|（记者[^）]{0,20}）|\(记者[^)]{0,20}\)")
_FILLER = re.compile(r"转发微博|轉發微博|展开全文|全文|网页链接|查看图片|原图")


@dataclass(frozen=True)
class BackgroundIdf:
    """Document frequencies of terms in a background corpus: idf = ln((N + 1)/(df + 1))."""

    docs: int
    df: Mapping[str, int]
    # Every known term's idf, computed once (read for every term of every post); a term the
    # background does not know has df 0: `unknown`.
    _idf: dict[str, float] = field(init=False, repr=False, compare=False)
    _unknown: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_idf", {t: self._formula(n) for t, n in self.df.items()})
        object.__setattr__(self, "_unknown", self._formula(0))

    def _formula(self, df: int) -> float:
        return math.log((self.docs + 1) / (df + 1))

    def idf(self, term: str) -> float:
        return self._idf.get(term, self._unknown)


@dataclass(frozen=True)
class StoryPolicy:
    """How story vectors are compared. No defaults here: config/defaults.yaml (events.story_*)
    holds them, with the reasons for their values."""

    threshold: float       # cosine of a post with an event's profile at or above which it joins
    min_shared: int        # … and at least this many shared terms (one rare word is chance)
    damp: float            # weight factor of the field's own vocabulary (see module docstring)
    # Without a shared district, person or proper name, the cosine must reach this instead:
    # two complaints about notaries in one city share the city and the field's words, not
    # the matter (see anchor_level).
    unanchored: float
    # With a shared prefecture city but no finer anchor, the cosine must reach this.
    city_anchored: float
    # With a shared matter tag (#洛阳律师被砍#, see MATTER_TAG_CHARS) this is enough: the
    # poster labelled the matter, and a relative's post under the tag shares few words with
    # the reports ("受伤的是我表哥 … 我们要一个说法").
    tagged: float
    # A shared outage key (法考·故障) is such a label for events seen this recently.
    outage_hours: float
    # A shared matter signature (MATTER_MARK: 伤残鉴定/结论) is one for events whose span
    # (first to last sighting) the post falls within this many hours of.
    matter_hours: float


def load_background(path: Path = STORY_DATA) -> BackgroundIdf:
    """The shipped background (gzip TSV: first line "#docs\\tN", then "term\\tdf")."""
    return _load(str(path))


@lru_cache(maxsize=4)
def _load(path: str) -> BackgroundIdf:
    try:
        lines = gzip.decompress(Path(path).read_bytes()).decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the story-term background {path}: {exc}") from exc
    head = lines[0].split("\t") if lines else []
    if len(head) != 2 or head[0] != "#docs" or not head[1].isdigit():
        raise ConfigError(f"{path}: the first line must be '#docs<TAB>N'")
    df: dict[str, int] = {}
    for line in lines[1:]:
        term, _, count = line.partition("\t")
        if term and count.isdigit():
            df[term] = int(count)
    return BackgroundIdf(docs=int(head[1]), df=df)


def story_text(text: str) -> str:
    """The words of a post that can tell its story: no links, mentions, repost markers,
    emoticons or platform filler. Hashtags stay: #洛阳戒毒所学员死亡# names the matter."""
    plain = normalize_text(text, to_simplified=True)
    if "://" in plain or "." in plain:  # in every link; the case-blind scan is the slowest
        plain = _URL.sub(" ", plain)
    plain = _CHAIN.sub(" ", plain)
    plain = _MENTION.sub(" ", plain)
    plain = _EMOTICON.sub(" ", plain)
    plain = _OUTLET.sub(" ", plain)
    return _FILLER.sub(" ", plain)


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """Words for segmentation: the shipped 100,000-word lexicon's words (BosonNLP's general
    dictionary, HowNet, Tsinghua's lists: see the sentiment model card), of two characters or
    more. Their sentiment scores are not used here."""
    from monitor.sentiment.lexicon import WEIGHTED_LEXICON

    words: set[str] = set()
    for line in gzip.decompress(WEIGHTED_LEXICON.read_bytes()).decode("utf-8").splitlines():
        word = line.partition("\t")[0]
        if 2 <= len(word) <= _MAX_WORD:
            words.add(word)
    return frozenset(words)


_MAX_WORD = 6


def terms(text: str, extra: frozenset[str] = frozenset()) -> list[str]:
    """The words of a story text (see `tokens`), without the name marks."""
    return [t for t, _ in tokens(text, extra)]


# How reports name people: a surname and 某 or 某某 (王某某, 李某). The common surnames only:
# "某" after anything else is "某地", "某单位".
_PERSON = re.compile(
    "[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万"
    "钱严覃武戴莫孔向汤常葛牛]某某?")


# An institution of the field by its own name: the two characters before its kind (恒正 in
# 洛阳恒正律师事务所, 第二 in 郑州市第二强制隔离戒毒所, 开封 in 开封监狱), the kind folded to
# one word (强制隔离戒毒所 and 戒毒所 are one kind).
_INSTITUTION_KINDS = {
    "强制隔离戒毒所": "戒毒所", "戒毒所": "戒毒所", "戒毒中心": "戒毒所", "公证处": "公证处",
    "律师事务所": "律所", "律所": "律所", "司法鉴定所": "鉴定所", "司法鉴定中心": "鉴定所",
    "鉴定所": "鉴定所", "监狱": "监狱", "看守所": "看守所", "司法所": "司法所",
    "法律援助中心": "法援中心", "法律服务所": "法律服务所", "调解委员会": "调委会",
    "公共法律服务中心": "公法中心", "考点": "考点",
}
_INSTITUTION = re.compile(
    "([\u4e00-\u9fff0-9]{2})(?:[市区县])?[某一]?(" + "|".join(sorted(_INSTITUTION_KINDS, key=len,
                                                             reverse=True)) + ")")
_ANY_KIND = re.compile("|".join(_INSTITUTION_KINDS))
_INSTITUTION_NAMES = tuple(sorted(set(_INSTITUTION_KINDS.values())))
_NOT_A_NAME = frozenset("一这那该此某家个的在是了到与及等所区县市省去来找给向从对")
# Words that stand before an institution's kind without naming one.
_GENERIC_PREFIX = frozenset(
    "乡镇 基层 当地 各地 全省 全市 全国 我市 我省 本市 本地 县级 市级 省级 地方 街道 社区 "
    "城市 农村 附近 小区 村里 周边 有关 相关 正规 专业 司法 法律 公共 国家 省内 市内 多家 "
    "各级 涉事 这所 那所 希望 建议 要求 去了 到了 来到 前往 隔离 强制".split())
# Numbers that name a thing (the 12348 hotline, a sum of 28000): three digits or more, not a
# year, which every story of the year shares.
_NUMBER = re.compile(r"(?<![0-9])(?!(?:19|20)[0-9]{2}(?![0-9]))[0-9]{3,}(?![0-9])")
_DIGITS = re.compile("[0-9]{3}")  # in every _NUMBER


_SURNAMES = _PERSON.pattern[: _PERSON.pattern.index("]") + 1]
# A person by full name with a title (张明远律师, 赵先生) — how reports and posts name people.
_TITLED = re.compile(
    f"({_SURNAMES}[\u4e00-\u9fff]{{0,2}})(?:律师|先生|女士|法官|民警|检察官|主任|所长|局长|狱警)")
_BOOK = re.compile(r"《([^《》]{4,40})》")
_TAG = re.compile(r"#([^#\n]{4,40})#")


# An incident in custody or under supervision, by the kind of place and what happened: a
# rumour, its debunk, a relative's post and a board question about one death in a 戒毒所 often
# name neither the place nor the person ("某戒毒所"), but all say 戒毒所 and 打死/死亡.
_CUSTODY = {
    "戒毒": "戒毒所", "监狱": "监狱", "服刑人员": "监狱", "狱警": "监狱", "看守所": "看守所",
    "社区矫正": "社区矫正", "矫正对象": "社区矫正", "缓刑": "社区矫正",
}
_INCIDENT = {
    "死亡": "死亡", "猝死": "死亡", "身亡": "死亡", "打死": "死亡", "致死": "死亡", "死了": "死亡",
    "没了": "死亡", "离世": "死亡", "殴打": "殴打", "被打": "殴打", "打人": "殴打", "体罚": "殴打",
    "虐待": "殴打", "脱逃": "脱逃", "越狱": "脱逃", "脱管": "脱逃", "腕带": "脱逃", "在逃": "脱逃",
}


# A public service of the office that goes down, and how people say it is down: "法律职业资格
# 申请网站打不开", "法考资格申请系统是崩了吗", "12348打了一上午打不通" — one outage told in
# words that share almost nothing else. Keyed like an incident in custody (法考·故障).
_SERVICES = {
    "法考": "法考", "法律职业资格": "法考", "司法考试": "法考", "12348": "12348热线",
    "法律服务热线": "12348热线", "法律服务网": "法律服务网", "河南法网": "法律服务网",
    "公证处系统": "公证系统", "公证系统": "公证系统", "会见预约": "会见预约",
}
_OUTAGES = (
    "崩了", "崩溃", "瘫痪", "宕机", "打不开", "无法登录", "登不上", "登不进", "进不去",
    "无法访问", "打不通", "无法接通", "没人接", "无人接听", "系统故障", "机考故障", "系统拥堵",
    "一直转圈", "转圈圈",
)


# A matter signature: one of the office's services and one kind of complaint about it, the
# way a press officer files a story ("the disputed disability assessment", "the mediator who
# sided with his cousin"). A citizen's post, an outlet's report and a board message about one
# complaint share little wording — 我老婆腿骨折…司法鉴定说不构成伤残 / 交通事故伤残鉴定结果引争议 /
# 对交通事故伤残鉴定结论不服 — but the service and what went wrong. Keyed as MATTER_MARK +
# service/problem. A signature says "same kind of matter", not "same matter": it joins only
# within matter_hours of an event's span, never across two named places, and never as a
# follow-up anchor weeks later (best_story, followup_anchor). The problem words are the
# complaint's, not the topic's: a service's explainers and campaigns name the topic too.
MATTER_MARK = NAME_MARK + "§"
_MATTERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("伤残鉴定/结论", ("鉴定",),
     ("不构成伤残", "未构成伤残", "构不成伤残", "不够伤残", "不算伤残", "伤残等级相差")),
    ("司法鉴定/收费", ("鉴定",), ("鉴定费", "收费标准", "报价", "乱收费")),
    ("调解员/偏袒", ("调解员", "调委会", "调解委员会"),
     # not bare 回避: a training on 回避制度 is no complaint
     ("偏袒", "偏向", "一边倒", "帮他们说话", "不回避", "未回避", "没有回避", "没回避")),
    # the complaint (a share of the award taken), not the topic: every explainer and
    # campaign on lawyers' fees says 风险代理
    ("律所/风险代理扣款", ("风险代理",), ("扣走", "扣了", "扣除", "四成", "抽成")),
    ("法律援助/不受理", ("法律援助", "法援"),
     ("拒绝受理", "不予受理", "不受理", "拒绝援助", "经济困难证明")),
    ("监狱/会见难", ("会见", "探视"), ("约不上", "放号就没了", "没见上", "见不上", "预约不上")),
    ("公证/跑多趟", ("公证",), ("跑了五趟", "跑了好几趟", "跑了几趟", "跑了三趟", "多次往返")),
)


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    """Finds any of the words: one scan in C instead of a substring test per word."""
    return re.compile("|".join(map(re.escape, words)))


# _MATTERS with each list of words as one pattern (matters() reads them for every post).
_MATTER_PATTERNS = tuple((key, _any_of(services), _any_of(problems))
                         for key, services, problems in _MATTERS)


def matters(text: str) -> list[str]:
    """The matter signatures (MATTER_MARK + service/problem) the text names."""
    return [MATTER_MARK + key for key, services, problems in _MATTER_PATTERNS
            if services.search(text) and problems.search(text)]


# A place of custody, an outage word: most texts name neither, and one search says so.
_ANY_CUSTODY = _any_of(_CUSTODY)
_ANY_OUTAGE = _any_of(_OUTAGES)


def incidents(text: str) -> list[str]:
    """Incident keys (NAME_MARK + kind of place + what happened) the text names: an
    incident in custody (戒毒所·死亡), a service of the office going down (法考·故障)."""
    places = ({kind for word, kind in _CUSTODY.items() if word in text}
              if _ANY_CUSTODY.search(text) else set())
    # what happened matters only in a place of custody, which most texts do not name
    what = {kind for word, kind in _INCIDENT.items() if word in text} if places else set()
    out = {f"{NAME_MARK}{p}·{w}" for p in places for w in what}
    if _ANY_OUTAGE.search(text):
        out.update(f"{NAME_MARK}{kind}·故障" for word, kind in _SERVICES.items() if word in text)
    return sorted(out)


def names(text: str) -> list[str]:
    """What the text names, as anchor keys (NAME_MARK + …): institutions, numbers, people by
    title, the documents it cites by 《title》 and its #hashtags# (one matter's tag)."""
    out: list[str] = [TAG_MARK + m for m in _TAG.findall(text)]
    out += [NAME_MARK + m for m in _BOOK.findall(text)]
    out += [NAME_MARK + m for m in _TITLED.findall(text) if len(m) >= 2]
    # Each of the two patterns below is slow to scan (a class or a look-behind first); what
    # they must contain (an institution's kind, three digits) is quick to look for first.
    for m in _INSTITUTION.finditer(text) if _ANY_KIND.search(text) else ():
        prefix, kind = m.group(1), _INSTITUTION_KINDS[m.group(2)]
        if not (set(prefix) & _NOT_A_NAME) and prefix not in _GENERIC_PREFIX:
            out.append(f"{NAME_MARK}{prefix}{kind}")
    if _DIGITS.search(text):
        out.extend(NAME_MARK + n for n in _NUMBER.findall(text))
    return out + incidents(text) + matters(text)


def tokens(text: str, extra: frozenset[str] = frozenset()) -> list[tuple[str, bool]]:
    """The words of a story text, each with whether the text writes it as a name.

    Forward maximum matching against the dictionary (and `extra`, the field's own words);
    each run of characters the dictionary does not know is kept as one term when it has 2–4
    characters — that is where names are (涧西, 王某某), and names are what tell one matter
    from another. Single characters are dropped. A term is written as a name when it ends in,
    or is followed by, a place's or an institution's suffix (涧西区, 金博大律所 …)."""
    lengths, known = _lexicon(extra)
    segmented = _segmented(extra)
    if len(segmented) > _SEGMENTED_MAX:
        segmented.clear()  # a bound on memory; the runs of the next posts fill it again
    out: list[tuple[str, bool]] = [(m.group(), True) for m in _PERSON.finditer(text)]
    text = _PERSON.sub(" ", text)
    for run in _HAN_RUN.findall(text):
        found = segmented.get(run)
        if found is None:
            found = segmented[run] = _segment(run, lengths, known)
        out += found
    return out


# The same clauses recur from post to post (a story's rewrites, reposts, set phrases): a
# run's words are a function of the run and the vocabulary alone, so each run is segmented
# once while it is remembered. Bounded: runs are open-ended.
_SEGMENTED_MAX = 1 << 15  # some 13 MB at ~400 bytes a run and its words: ~6,000 posts


@lru_cache(maxsize=8)
def _segmented(extra: frozenset[str]) -> dict[str, tuple[tuple[str, bool], ...]]:
    """Runs already segmented with this field vocabulary → their words (see tokens)."""
    return {}


def _segment(run: str, lengths: Mapping[str, tuple[int, ...]],
             known: _Known) -> tuple[tuple[str, bool], ...]:
    """`tokens` of one run of Chinese characters."""
    out: list[tuple[str, bool]] = []
    # `start`: where the current run of unknown characters began (sliced once, at its
    # end, rather than grown a character at a time)
    i, n, start = 0, len(run), 0
    while i < n:
        # Only the lengths a word starting with these two characters has are tried, the
        # longest first: the same match as trying every length from _MAX_WORD down.
        for size in lengths.get(run[i : i + 2], ()):
            if i + size <= n and (word := known.get(run[i : i + size])) is not None:
                break
        else:
            i += 1
            continue
        if start < i:
            _keep_unknown(run[start:i], run[i], out)
        stem, named = word
        i += size
        start = i
        out.append((stem, named or (i < n and run[i] in _NAME_SUFFIX)))
    if start < n:
        _keep_unknown(run[start:], "", out)
    return tuple(out)


# A word `tokens` matches → its term (_stem) and whether it ends in a name's suffix.
_Known = Mapping[str, tuple[str, bool]]


@lru_cache(maxsize=8)
def _lexicon(extra: frozenset[str]) -> tuple[Mapping[str, tuple[int, ...]], _Known]:
    """The words `tokens` matches (the dictionary's and `extra`'s, 2 to _MAX_WORD long),
    with their terms, and by their first two characters the lengths they come in, longest
    first. Once per field vocabulary (a frozenset hashes once), not a set union per post;
    the dictionary's part once per process, whatever the vocabulary."""
    base_lengths, base = _dictionary_lexicon()
    fitting = [w for w in extra if 2 <= len(w) <= _MAX_WORD and w not in base]
    if not fitting:
        return base_lengths, base
    lengths = dict(base_lengths)
    for start, mask in _length_masks(fitting).items():
        for size in lengths.get(start, ()):
            mask |= 1 << size
        lengths[start] = _LONGEST_FIRST[mask]
    return lengths, {**base, **_terms_of(fitting)}


@lru_cache(maxsize=1)
def _dictionary_lexicon() -> tuple[Mapping[str, tuple[int, ...]], _Known]:
    words = _dictionary()
    lengths = {start: _LONGEST_FIRST[mask] for start, mask in _length_masks(words).items()}
    return lengths, _terms_of(words)


def _terms_of(words: Iterable[str]) -> dict[str, tuple[str, bool]]:
    return {w: (_stem(w), w[-1] in _NAME_SUFFIX) for w in words}


def _length_masks(words: Iterable[str]) -> dict[str, int]:
    """First two characters → a bit per length of the words that start with them."""
    masks: dict[str, int] = {}
    for word in words:
        start = word[:2]
        masks[start] = masks.get(start, 0) | 1 << len(word)
    return masks


# A length mask (bit n: a word of n characters) → its lengths, longest first.
_LONGEST_FIRST = [tuple(n for n in range(_MAX_WORD, 1, -1) if mask >> n & 1)
                  for mask in range(1 << (_MAX_WORD + 1))]


# Characters that glue onto a name in running text ("在涧西", "那个所里没了"): trimmed from
# the ends of an unknown run so that the name itself is the term.
_GLUE_CHARS = "在的了是和与到从去把被给对向那这个里说也都就还又很已将并不我你他她它们"


def _keep_unknown(run: str, after: str, out: list[tuple[str, bool]]) -> None:
    # str.strip with a character set: the same trimming as a loop per character, in C.
    head = run.lstrip(_GLUE_CHARS)
    run = head.rstrip(_GLUE_CHARS)
    if len(run) < len(head):
        after = ""  # trimmed at the end: what follows the name is glue, not its suffix
    if 2 <= len(run) <= 4:
        out.append((_stem(run), run[-1] in _NAME_SUFFIX or after in _NAME_SUFFIX))


def _stem(term: str) -> str:
    """洛阳市 → 洛阳, 涧西区 → 涧西: the administrative suffix adds nothing to a place's name,
    and one text writes it where another leaves it out."""
    if len(term) >= 4 and term[-1] in "某一" and term[-2] in _ADMIN_SUFFIX:
        term = term[:-1]  # 祥符区某 (律所), 祥符区一 (法律服务所): the place is 祥符区
    if len(term) >= 3 and term[-1] in _ADMIN_SUFFIX:
        return term[:-1]
    return term


def anchor_level(term: str) -> int:
    """How strongly a term pins a story down: 2 for a district or county, a person written
    the way reports write one (王某, 李某某), or a name the post writes as one (the "＠" keys
    story_vector adds: an institution, a number, a hashtag, a cited document, a name the
    dictionary does not know followed by 区/所/院 …); 1 for a prefecture city; 0 for ordinary
    words. Context-free on purpose, so that every post and every profile agree on it."""
    if term.startswith(NAME_MARK) or term in _COUNTIES or _PERSON.fullmatch(term):
        return 2
    if term in _CITIES:
        return 1
    return 0


def field_vocabulary(words: Iterable[str]) -> frozenset[str]:
    """The damped terms: the given words (the taxonomy's keywords and sensitive terms), the
    dictionary words inside them, and the public-affairs list above."""
    out: set[str] = set()
    for word in [*words, *_GENERIC.split()]:
        word = normalize_text(word, to_simplified=True)
        if len(word) >= 2:
            out.add(word)
            out.update(terms(word))
    return frozenset(out)


def story_vector(text: str, background: BackgroundIdf, damped: frozenset[str],
                 policy: StoryPolicy, k: int = TERMS_PER_POST) -> StoryVector:
    """A post's top-k terms by weight, L2-normalised (empty for a post with no words)."""
    plain = story_text(text)
    found = tokens(plain, damped)
    counts = Counter([t for t, _ in found])
    if not counts:
        return {}
    named = {t for t, is_name in found if is_name}
    weights: dict[str, float] = {}
    # background.idf without a method call per term (read for every term of every post)
    idf, unknown = background._idf.get, background._unknown
    for term, tf in counts.items():
        # most terms occur once: 1 + ln 1 = 1.0 exactly, and 1.0 * idf is idf
        w = idf(term, unknown) if tf == 1 else (1.0 + math.log(tf)) * idf(term, unknown)
        if term in damped:
            w *= policy.damp
        elif term in named:
            w *= 1.5
        weights[term] = w
    # A name the dictionary does not know, written as a name, is filed a second time under
    # a marked key: sharing it is what anchor_level calls a shared proper name. Without the
    # mark, any unknown run would count — and verbatim shared sentences are full of them.
    words = _dictionary()
    for term in named:
        if term not in words and term not in damped and term in weights:
            weights[NAME_MARK + term] = weights[term] * 0.5
    top_weight = max(weights.values())
    for key in names(plain):
        weights.setdefault(key, top_weight)
    top = _strongest(weights, k)
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {term: round(w / norm, 4) for term, w in top}


def _strongest(weights: Mapping[str, float], k: int) -> list[tuple[str, float]]:
    """The k heaviest (term, weight) pairs, heaviest first, ties by term: sorted by term, then
    stably by weight (no key function per pair: two sorts in C)."""
    return sorted(sorted(weights.items()), key=itemgetter(1), reverse=True)[:k]


def merge_profiles(a: Mapping[str, float], b: Mapping[str, float],
                   k: int = TERMS_PER_PROFILE) -> StoryVector:
    """An event's profile after adding a post (or another event's profile): the sum of the
    vectors, top-k terms, L2-normalised. Terms many posts share rise; one post's asides fall
    out."""
    summed: dict[str, float] = dict(a)
    for term, w in b.items():
        summed[term] = summed.get(term, 0.0) + w
    top = _strongest(summed, k)
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {term: round(w / norm, 4) for term, w in top}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, int]:
    """Cosine of two normalised vectors and the number of terms they share."""
    if len(a) > len(b):
        a, b = b, a
    products = [w * b[t] for t, w in a.items() if t in b]  # the smaller's order, as always
    return sum(products), len(products)


def index_terms(profile: Mapping[str, float], k: int = INDEX_TERMS) -> list[str]:
    """The profile's strongest terms: what the candidate index files an event under."""
    return [t for t, _ in _strongest(profile, k)]


def named_places(vector: Mapping[str, float]) -> set[str]:
    """The cities and counties among a vector's terms."""
    return {t for t in vector if t in _CITIES or t in _COUNTIES}


def best_story(vector: Mapping[str, float], candidates: Iterable[tuple[int, Mapping[str, float]]],
               policy: StoryPolicy, *, current: Container[int] = (),
               near: Container[int] = ()) -> list[tuple[float, int]]:
    """Every candidate (event id, profile) the post joins, best first: cosine at or above the
    threshold with at least `min_shared` shared terms. More than one means the post bridges
    events that are one story. `current`: the candidates seen within policy.outage_hours of
    the post, for which a shared outage key (法考·故障) counts as a label like a matter tag
    — the same service down a week later is another outage. `near`: the candidates whose
    span the post falls within policy.matter_hours of, for which a shared matter signature
    (伤残鉴定/结论) counts as such a label too."""
    hits: list[tuple[float, int]] = []
    if not vector:
        return hits
    post = StoryPost.of(vector)
    for key, profile in candidates:
        score = story_hit(post, profile, policy, current=key in current, near=key in near)
        if score is not None:
            hits.append((score, key))
    hits.sort(key=lambda h: (-h[0], h[1]))
    return hits


@dataclass(frozen=True)
class StoryPost:
    """What best_story reads of a post for every candidate, computed once per post."""
    vector: Mapping[str, float]
    places: set[str]
    tags: set[str]
    outages: set[str]
    signed: set[str]
    terms: frozenset[str]
    incidents: frozenset[str]
    # The post's terms that anchor (anchor_level > 0), with their level: story_hit's
    # "which shared term pins it down" reads these instead of every term.
    anchors: Mapping[str, int]

    @classmethod
    def of(cls, vector: Mapping[str, float]) -> StoryPost:
        places: set[str] = set()
        tags: set[str] = set()
        outages: set[str] = set()
        signed: set[str] = set()
        incidents: set[str] = set()
        anchors: dict[str, int] = {}
        # One pass over the terms, and only over the few that are of some kind: most terms
        # are ordinary words (_ORDINARY), whose kinds are all false and whose level is 0.
        for t in vector:
            k = _kinds(t)
            if k is _ORDINARY:
                continue
            if k.place:
                places.add(t)
            if k.tag:
                tags.add(t)
            if k.outage:
                outages.add(t)
            if k.signed:
                signed.add(t)
            if k.incident:
                incidents.add(t)
            if k.level:
                anchors[t] = k.level
        return cls(vector, places, tags, outages, signed, frozenset(vector),
                   frozenset(incidents), anchors)


class _Kinds(NamedTuple):
    place: bool     # a city or a county (named_places)
    tag: bool       # a matter tag (_matter_tag)
    outage: bool    # an outage key (_outage)
    signed: bool    # a matter signature (MATTER_MARK)
    incident: bool  # an incident key (_incident)
    level: int      # anchor_level


# What a term is, by the term alone: the same few thousand terms recur in post after post,
# and each is read for every candidate's comparison. Bounded: terms are open-ended.
@lru_cache(maxsize=1 << 16)
def _kinds(term: str) -> _Kinds:
    kinds = _Kinds(term in _CITIES or term in _COUNTIES, _matter_tag(term), _outage(term),
                   term.startswith(MATTER_MARK), _incident(term), anchor_level(term))
    return _ORDINARY if kinds == _ORDINARY else kinds  # one object: StoryPost.of tests `is`


_ORDINARY = _Kinds(False, False, False, False, False, 0)


def story_hit(post: StoryPost, profile: Mapping[str, float], policy: StoryPolicy, *,
              current: bool, near: bool,
              profile_places: set[str] | None = None) -> float | None:
    """best_story's verdict on one candidate: the score when the post joins it, else None.
    A function of the post, the candidate's profile and whether the candidate is in
    best_story's `current` and `near` alone, so a caller may keep it while those stand.
    `profile_places`: the profile's named_places, from a caller that keeps them."""
    vector, places, signed, outages = post.vector, post.places, post.signed, post.outages
    # Fewer shared terms than min_shared never joins, whatever the cosine: counted by a
    # set operation first (most candidates of a busy window stop here), the cosine only
    # for the rest — the same sum, in the same order, as before.
    common = post.terms.intersection(profile)
    if len(common) < policy.min_shared - 1:
        return None  # below `need` (below), whichever labels the two share
    # The same incident in custody told two ways at once (戒毒所·死亡 and 戒毒所·殴打)
    # within outage_hours of the candidate: a vague rumour ("某戒毒所…被打死了") and the
    # debunk hours later share little but those keys. One key alone is not enough (a
    # meeting to "严防脱管" is no escape); two named places still part below.
    recent_incident = current and len(post.incidents & common) >= 2
    # One matter signature or one outage shared, in time: the key and two more terms
    # are enough, as for an incident (the rewrites share little else).
    # A post that says where, and a story that does not say it (yet): the same kind of
    # matter may be another place's (压断手指 in 洛阳 beside a 车祸 in a story with no
    # place so far). The signature labels only a post whose places the story names; it
    # still anchors one alike enough to pass the threshold on its words.
    same_matter = near and bool(signed & common)
    same_outage = current and bool(outages & common)
    need = (policy.min_shared - 1 if recent_incident or same_matter or same_outage
            else policy.min_shared)
    if len(common) < need:
        return None
    other = named_places(profile) if profile_places is None else profile_places
    labels_matter = same_matter and places <= other
    score, shared = cosine(vector, profile)
    down = [t for t in outages if t in profile]
    if down and not current:
        # an older outage of the same service: the key says nothing about this one
        score -= sum(vector[t] * profile[t] for t in down)
        shared -= len(down)
        down = []
    kinds = [t for t in signed if t in profile]
    if kinds and not labels_matter:
        # Out of its window, or from a place the story does not name: the signature
        # adds nothing to the likeness, which must come from the words. In its window
        # it still anchors (below): the words decide, at the ordinary threshold.
        score -= sum(vector[t] * profile[t] for t in kinds)
        if not same_matter:
            shared -= len(kinds)
    # An incident in custody in the same named place (洛阳 + 社区矫正·脱逃) is one matter
    # too: the report, the capture and the analysis piece weeks later share little else.
    placed = bool(places & other) and not post.incidents.isdisjoint(profile)
    labelled = (bool(down) or placed or recent_incident or labels_matter
                or any(t in profile for t in post.tags))
    bar = policy.tagged if labelled else policy.threshold
    if score < min(bar, policy.threshold) or shared < need:
        return None
    if places and other and not places & other:
        # Both say where, and not the same place: two matters of one kind (an escape in
        # 洛阳, another in 周口), however alike their words.
        return None
    if score < policy.unanchored:
        # A signature outside its time window anchors nothing: it names a kind of matter.
        level = max((lv for t, lv in post.anchors.items() if t in profile
                     and (same_matter or not t.startswith(MATTER_MARK))), default=0)
        if level == 0 or (level == 1 and score < policy.city_anchored):
            return None
    return score


def _incident(term: str) -> bool:
    return (term.startswith(NAME_MARK) and "·" in term and not term.endswith("·故障")
            and not term.startswith(MATTER_MARK))


def _outage(term: str) -> bool:
    # One service down at one time is one matter. One kind of incident in custody lowers
    # the bar only within outage_hours (best_story) and never across two named places.
    return term.startswith(NAME_MARK) and term.endswith("·故障")


def _matter_tag(term: str) -> bool:
    return term.startswith(TAG_MARK) and len(term) - len(TAG_MARK) >= MATTER_TAG_CHARS


@lru_cache(maxsize=1 << 16)  # read for every term of every post (the candidate index)
def followup_anchor(term: str) -> bool:
    """A name that pins one matter down for weeks, so that a follow-up (the investigation's
    result, a re-examination, a verdict) finds the story after the event window: an
    institution by its own name (仁和鉴定所), a person (李某某, 张明远), an incident in custody
    (戒毒所·死亡), a matter tag. Not places, numbers or cited laws: many matters share them."""
    if _PERSON.fullmatch(term) or _matter_tag(term):
        return True
    if (not term.startswith(NAME_MARK) or term.startswith(TAG_MARK)
            or term.startswith(MATTER_MARK)):
        return False
    name = term[len(NAME_MARK):]
    if "·" in name:
        return True
    kind = next((k for k in _INSTITUTION_NAMES if name.endswith(k)), None)
    # 郑州戒毒所 names a city's kind of place, not one institution; 第二戒毒所 does.
    return kind is not None and name[: -len(kind)] not in _CITIES | _COUNTIES


def build_background(texts: Iterable[str], out: Path, min_df: int = 2) -> int:
    """Write the background file from general texts: term document frequencies (df ≥ min_df)
    over the texts' story text. Byte-for-byte reproducible. Returns the number of documents."""
    df: Counter[str] = Counter()
    docs = 0
    for text in texts:
        found = set(terms(story_text(text)))
        if found:
            docs += 1
            df.update(found)
    rows = sorted((t, n) for t, n in df.items() if n >= min_df)
    body = "\n".join([f"#docs\t{docs}", *(f"{t}\t{n}" for t, n in rows)]) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(body.encode("utf-8"), mtime=0))
    return docs


def _read_corpus(root: Path) -> Iterable[str]:
    """The texts of ../shared/data/sentiment (read by path, never committed)."""
    import csv
    import json

    tsv = root / "weibo_senti_100k" / "dev.tsv"
    if tsv.exists():
        for line in tsv.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t", 1)
            if len(parts) == 2:
                yield parts[1]
    for name in ("virus_train.txt", "usual_eval_labeled.txt", "virus_eval_labeled.txt"):
        path = root / "smp2020_ewect" / name
        if path.exists():
            for row in json.loads(path.read_text(encoding="utf-8")):
                yield str(row.get("content", ""))
    csv_path = root / "waimai_10k" / "waimai_10k.csv"
    if csv_path.exists():
        with csv_path.open(encoding="utf-8") as fh:
            for rec in csv.reader(fh):
                if len(rec) >= 2 and rec[0] in ("0", "1"):
                    yield rec[1]


if __name__ == "__main__":  # python -m monitor.stories [DATA_DIR]: rebuilds the background
    import sys

    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/sentiment")
    n = build_background(_read_corpus(data), STORY_DATA)
    print(f"{STORY_DATA}: {n} documents")
