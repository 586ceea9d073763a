"""Whether an analysed item becomes an alert, with what priority, and why — in words.

Pure: takes the topic match (topics, sensitive terms, genre/stance markers), the sentiment,
the source kind and a policy; reads no clock, no settings, no DB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.sentiment.base import Sentiment
from monitor.settings_schema import FlaggingSection
from monitor.topics import GENRES, Genre, TopicMatch

Priority = Literal["P1", "P2", "P3"]
PRIORITY_NAMES: dict[str, str] = {"P1": "重大", "P2": "较大", "P3": "一般"}


@dataclass(frozen=True)
class FlagPolicy:
    # Whether a text reads as negative is the engine's label (three-class engines decide it
    # themselves; binary ones cut their score with sentiment.negative_below). Below this
    # score a negative text is called "strongly" negative in the reasons.
    strong_negative: float  # no default: config/defaults.yaml (flagging:) holds it
    # A three-class engine's calibrated P(negative) at or above which a negative text is
    # "strongly" negative. Its score is not calibrated for that: a worried board question
    # ("来回六十公里，误工又花钱。能否就近…") scores 0.08 with P(negative) only 0.75.
    strong_negative_probability: float  # config/defaults.yaml too

    @classmethod
    def from_section(cls, flagging: FlaggingSection) -> FlagPolicy:
        return cls(strong_negative=flagging.strong_negative,
                   strong_negative_probability=flagging.strong_negative_probability)


@dataclass(frozen=True)
class FlagDecision:
    priority: Priority
    reasons: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def major(self) -> bool:
        """P1 items run on the major-emergency clock (first release within hours)."""
        return self.priority == "P1"


# Sources whose posts are reports (an outlet's, an office's), not a citizen's own words.
REPORT_KINDS = frozenset({"news", "government"})


def praise_only(match: TopicMatch) -> bool:
    """The post praises or thanks (or backs the office) and asks, alleges and complains of
    nothing: "为河南公证点赞", "本以为要跑好几趟…太方便了". A board message like that is not a
    request waiting for its statutory reply, so the event layer raises no "尚未回复" alert for
    it (monitor.event_store). Any severe or elevated word, rumour, misconduct, complaint or
    request marker makes it something else."""
    if not (match.marked("praise") or match.marked("support")) or match.sensitive:
        return False
    return not any(match.marked(g) for g in ("rumour", "misconduct", "complaint", "request"))


def _marked(match: TopicMatch) -> dict[Genre, tuple[str, ...]]:
    """Each genre's terms found, in config order, as `TopicMatch.marked` gives them: one pass
    over the hits, where asking `marked` for each genre decide() looks at walks them 16 times."""
    terms: dict[Genre, list[str]] = {}
    for hit in match.markers:
        terms.setdefault(hit.genre, []).append(hit.term)
    return {genre: tuple(found) for genre, found in terms.items()}


def _join(terms: tuple[str, ...] | list[str]) -> str:
    return "、".join(dict.fromkeys(terms))


# What each marker genre is called in a reason, in the order reasons list them.
_GENRE_WORDS: dict[Genre, str] = {
    "debunk": "辟谣/澄清",
    "explainer": "普法/解读",
    "notice": "通报/工作动态",
    "handled": "已有处置",
    "praise": "表扬/感谢",
    "support": "支持本单位",
    "request": "咨询/求助",
    "complaint": "投诉/批评",
    "misconduct": "反映违纪违规",
    "rumour": "传言",
}


def decide(
    match: TopicMatch,
    sentiment: Sentiment | None,
    policy: FlagPolicy,
    topic_names: Mapping[str, str] | None = None,
    *,
    kind: str | None = None,
) -> FlagDecision | None:
    """The flagging rule, in one place: does this post need a press officer, how urgently,
    and why — from the signals together, never from one of them alone.

    The signals: remit (a topic or the office's own name — required), the incident and
    complaint words (sensitive.yaml severe/elevated), what kind of post it is and whose side
    it takes (sensitive.yaml markers: debunk, explainer, notice, handled, praise, support,
    request, complaint, misconduct, rumour), the sentiment label, and the source kind
    (`kind`: news, government, weibo, wechat, board, json, push).

    None   a debunk or clarification (someone else's debunk joins the rumour's event, which
           keeps the rumour's priority), an explainer, 普法 article or official notice — unless
           it carries a complainant's own words; praise and support for the office, whatever
           words and sentiment they come with; anything else without a negative signal.
    P1 重大 an incident (death, violence, abuse in custody, escape …) or a rumour of one —
           not debunked, explained, announced, already handled, or praised — that is
           spreading as hearsay, is negative, is criticised, or names the office.
    P2 较大 an incident word without those; alleged misconduct (bribes, 好处费, 保护伞 …);
           a complaint with negative sentiment.
    P3 一般 a complaint that is not negative, or already being handled; negative sentiment
           alone in a citizen's post; an incident already handled.

    A message-board post (kind "board") is a letter to the office with a statutory reply:
    misconduct or an incident makes it P2, anything else P3 at most. A neutral question gets
    None here; the event layer raises an unanswered one to P3 ("网民留言尚未回复").

    Sentiment alone never lifts an item above P3, and never flags a report (REPORT_KINDS:
    an outlet's or an office's article): a report of a problem names it (the complaint,
    misconduct and incident words above), while a model reads a success story's "十年纠纷"
    or "化解心结" as negative. A model misjudges single texts often
    enough (SnowNLP's stock model calls some praise "strongly negative"), while the words a
    post uses are evidence a press officer can check — and sentiment is not stance.
    """
    if not match.relevant:
        return None
    names = topic_names or {}
    incident = tuple(h.term for h in match.sensitive if h.level == "severe")
    elevated = tuple(h.term for h in match.sensitive if h.level == "elevated")
    score = sentiment.score if sentiment is not None else None
    negative = sentiment is not None and sentiment.label == "negative"
    p_negative = sentiment.p_negative if sentiment is not None else None
    if p_negative is not None:
        strong = negative and p_negative >= policy.strong_negative_probability
    else:
        strong = negative and score is not None and score < policy.strong_negative
    watch = bool(match.watch_hits)
    board = kind == "board"

    marked = _marked(match)
    debunk = marked.get("debunk", ())
    handled = marked.get("handled", ())
    rumour = marked.get("rumour", ())
    misconduct = marked.get("misconduct", ())
    voice = marked.get("complaint", ())
    complaint = bool(elevated or voice)
    # A complainant's own words outweigh notice/explainer wording around them; a rumour
    # outweighs a 感谢 or 点赞 in the same breath ("谢谢转发，戒毒所打死人了") and a notice
    # ("网传…召开会议"), but not an explainer: 律师解读 quotes the rumour to answer it
    # ("网传‘被打死可获赔上百万’…并非").
    explained = "explainer" in marked
    framed = (explained or "notice" in marked) and not voice and (
        explained or not rumour)
    # Debunks quote the rumour (网传 …), so hearsay words cannot outweigh one; a complainant
    # who keeps doubting ("辟谣了？凭什么还不让家属见人") can.
    debunked = bool(debunk) and not voice
    friendly = ("praise" in marked or "support" in marked) and not rumour

    reasons: list[str] = []
    if match.topics:
        reasons.append("涉及话题：" + _join([names.get(t, t) for t in match.topics]))
    if watch:
        reasons.append("提及本单位：" + _join(list(match.watch_hits)))
    for genre in GENRES:
        found = marked.get(genre)
        if found:
            reasons.append(f"{_GENRE_WORDS[genre]}：{_join(found)}")
    if incident:
        reasons.append("含重大敏感词：" + _join(incident))
    if elevated:
        reasons.append("含敏感词：" + _join(elevated))
    if negative and score is not None:
        # Only a negative label is ever called negative, however low a neutral text scores.
        word = "强烈负面" if strong else "负面"
        # Three classes: say how likely negative it is, the figure "strongly" was judged on.
        reasons.append(f"情感{word}（负面概率 {p_negative:.2f}）" if p_negative is not None
                       else f"情感{word}（正面概率 {score:.2f}）")
    if board:
        reasons.append("来源：网民留言")

    priority: Priority | None = None
    if debunked or framed:
        priority = None
    elif incident and not handled and not friendly:
        spreading = bool(rumour) or negative or complaint or watch
        priority = "P1" if spreading and not board else "P2"
    elif misconduct:
        # On the board a "handled" word is usually the office's reply, and answered messages
        # are the event layer's to close; an allegation stays P2 until then.
        priority = "P3" if handled and not board else "P2"
    elif friendly:
        priority = None
    elif incident:  # handled: the person is caught, the patient out of danger
        priority = "P3"
    elif complaint:
        priority = "P2" if negative and not handled and not board else "P3"
    elif negative and kind not in REPORT_KINDS:
        priority = "P3"
    if priority is None:
        return None
    return FlagDecision(priority=priority, reasons=tuple(reasons), topics=match.topics)


# Reasons that list terms after their label ("涉及话题：律师、公证"): an alert that gathers a
# story's posts (escalation, a merge) lists each label once with the union of its terms.
_LISTED: frozenset[str] = frozenset(
    {"涉及话题", "提及本单位", "含重大敏感词", "含敏感词", *_GENRE_WORDS.values()})


def _sentiment_rank(reason: str) -> tuple[int, float]:
    """How negative a 情感… reason says the text is: strong first, then the likelier negative
    (a 正面概率 is turned round so that lower reads stronger)."""
    strong = 1 if reason.startswith("情感强烈负面") else 0
    figure = reason.rsplit(" ", 1)[-1].rstrip("）")
    try:
        value = float(figure)
    except ValueError:
        value = 0.0
    return strong, value if "负面概率" in reason else 1.0 - value


def combine_reasons(reasons: Iterable[str]) -> list[str]:
    """One alert's reasons when several posts, an escalation or a merge add theirs: each
    listed label once with its terms united, one sentiment reason (the most negative),
    one 回溯 line (the earliest publication: the one the alert's clock is judged on), every
    other reason once, in the order first seen. Pure; the words are the inputs' own."""
    order: list[str] = []  # keys, in the order first seen
    listed: dict[str, list[str]] = {}
    single: dict[str, str] = {}
    for reason in reasons:
        label, sep, rest = reason.partition("：")
        if sep and label in _LISTED:
            key = "list:" + label
            if key not in listed:
                listed[key] = []
                order.append(key)
            listed[key].extend(t for t in rest.split("、") if t and t not in listed[key])
        elif reason.startswith("情感") and "负面" in reason:
            key = "sentiment"
            if key not in single:
                order.append(key)
                single[key] = reason
            elif _sentiment_rank(reason) > _sentiment_rank(single[key]):
                single[key] = reason
        elif sep and label == "回溯":
            key = "backfill"
            if key not in single:
                order.append(key)
                single[key] = reason
            elif rest < single[key].partition("：")[2]:  # "发布于 YYYY-MM-DD HH:MM，…"
                single[key] = reason
        elif reason not in single:
            single[reason] = reason
            order.append(reason)
    return [key.partition(":")[2] + "：" + "、".join(listed[key]) if key in listed
            else single[key] for key in order]
