"""Whether an analysed item becomes an alert, with what priority, and why — in words.

Pure: takes the topic match, the sentiment and a policy; reads no clock, no settings, no DB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.sentiment.base import Sentiment
from monitor.settings_schema import FlaggingSection
from monitor.topics import TopicMatch

Priority = Literal["P1", "P2", "P3"]
PRIORITY_NAMES: dict[str, str] = {"P1": "重大", "P2": "较大", "P3": "一般"}


@dataclass(frozen=True)
class FlagPolicy:
    # Whether a text reads as negative is the engine's label (three-class engines decide it
    # themselves; binary ones cut their score with sentiment.negative_below). Below this
    # score a negative text is called "strongly" negative in the reasons.
    strong_negative: float  # no default: config/defaults.yaml (flagging:) holds it

    @classmethod
    def from_section(cls, flagging: FlaggingSection) -> FlagPolicy:
        return cls(strong_negative=flagging.strong_negative)


@dataclass(frozen=True)
class FlagDecision:
    priority: Priority
    reasons: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def major(self) -> bool:
        """P1 items run on the major-emergency clock (first release within hours)."""
        return self.priority == "P1"


def _join(terms: tuple[str, ...] | list[str]) -> str:
    return "、".join(dict.fromkeys(terms))


def decide(
    match: TopicMatch,
    sentiment: Sentiment | None,
    policy: FlagPolicy,
    topic_names: Mapping[str, str] | None = None,
) -> FlagDecision | None:
    """The flagging rule, in one place.

    An item must be about our field (a topic or the office's own name) and must carry a signal
    worth a press officer's time: negative sentiment or a sensitive term. Praise and notices
    are stored and counted but not queued: a queue full of good news gets ignored.

    P1 重大: a severe term (death, violence, wrongful conviction, escape …) together with
            negative sentiment, the office's name, or a second severe term.
    P2 较大: a severe term alone; or negative sentiment together with an elevated term
            (complaint, inaction, fees …) or the office's name; or several (3+) different
            elevated terms, whatever the sentiment.
    P3 一般: negative sentiment on a topic; or an elevated term on a topic.

    Sentiment alone never lifts an item above P3: a model misjudges single texts often
    enough (SnowNLP's stock model calls some praise "strongly negative"), while the terms a
    post uses are evidence a press officer can check.
    """
    if not match.relevant:
        return None
    names = topic_names or {}
    severe = tuple(h.term for h in match.sensitive if h.level == "severe")
    elevated = tuple(h.term for h in match.sensitive if h.level == "elevated")
    score = sentiment.score if sentiment is not None else None
    negative = sentiment is not None and sentiment.label == "negative"
    strong = negative and score is not None and score < policy.strong_negative
    watch = bool(match.watch_hits)

    reasons: list[str] = []
    if match.topics:
        reasons.append("涉及话题：" + _join([names.get(t, t) for t in match.topics]))
    if watch:
        reasons.append("提及本单位：" + _join(list(match.watch_hits)))
    if severe:
        reasons.append("含重大敏感词：" + _join(severe))
    if elevated:
        reasons.append("含敏感词：" + _join(elevated))
    if negative and score is not None:
        kind = "强烈负面" if strong else "负面"
        reasons.append(f"情感{kind}（正面概率 {score:.2f}）")

    priority: Priority | None = None
    if severe and (negative or watch or len(set(severe)) >= 2):
        priority = "P1"
    elif severe or (negative and (elevated or watch)) or len(set(elevated)) >= 3:
        priority = "P2"
    elif negative or elevated:
        priority = "P3"
    if priority is None:
        return None
    return FlagDecision(priority=priority, reasons=tuple(reasons), topics=match.topics)
