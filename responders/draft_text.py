"""The words of a draft that a machine must not get wrong: its title, the public name of a
source, and the places a template leaves for the officer to fill. Pure functions.

A release is read by the public: its title names the matter ("关于郑州律所风险代理收费有关情况的
回应"), not the first forty characters of a post with its hashtags; it says where the matter was
reported ("网民在微博发文"), not yuqing's internal source name ("微博搜索·河南 司法（接口）");
and it is never submitted with the template's "【待填写：…】" still in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# A template's place for the officer: 【待填写：请写明…】. Drafts with one left are refused at
# submit and approve (responders.desk.output_action).
_UNFILLED = re.compile(r"【待填写[:：]?([^】]*)】")

_TAG = re.compile(r"#([^#\n]{2,40})#")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_EMOTICON = re.compile(r"\[[^\]\s]{1,8}\]")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")
_HEADLINE = re.compile(r"^【([^】]{6,40})】")
_OUTLET = re.compile(r"^【[^】]{1,8}】")
_STOPS = "。！？!?；;\n"
_PAUSES = "，,：: 、"
TITLE_MAX = 30
MATTER_TAG_CHARS = 6  # as monitor.stories: a tag this long names a matter


def unfilled(text: str) -> list[str]:
    """What the template still asks the officer to write, in its own words."""
    return [m.group(1).strip() or "待填写" for m in _UNFILLED.finditer(text)]


def _clean(text: str) -> str:
    text = _MENTION.sub("", _EMOTICON.sub("", _EMOJI.sub("", text)))
    text = _TAG.sub(lambda m: m.group(1), text)
    return re.sub(r"\s+", " ", text).strip(" ，,。：:")


def _clause(text: str, limit: int = TITLE_MAX) -> str:
    """The first sentence, cut at the last pause within `limit` when it is longer: a title
    ends where a phrase does."""
    for i, ch in enumerate(text):
        if ch in _STOPS:
            text = text[:i]
            break
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = max(text.rfind(p, 0, limit + 1) for p in _PAUSES)
    return text[:cut].strip() if cut >= 8 else text[:limit]


def story_title(lead_title: str, lead_text: str, titles: Sequence[str] = ()) -> str:
    """The matter, for a draft's title: the post's own headline (a news title, a Weibo
    post's 【…】 headline), else a matter tag (#郑州律所风险代理#), else another report's
    title in the story (`titles`, reports first), else the post's first phrase — cleaned of
    tags, mentions and emoji, cut at a phrase boundary, its inner quotes made single (the
    templates quote it)."""
    if _headline(lead_title, lead_text):
        return _quoted(_clause(_clean(lead_title)))
    head = _HEADLINE.match(lead_text.strip())
    if head:
        return _quoted(_clause(_clean(head.group(1))))
    tags = [t for t in _TAG.findall(lead_text) if len(t) >= MATTER_TAG_CHARS]
    if tags:
        return _quoted(_clean(tags[0]))
    for title in titles:
        if title.strip():
            return _quoted(_clause(_clean(title)))
    return _quoted(_clause(_clean(_OUTLET.sub("", lead_text.strip()))))


def _headline(title: str, text: str) -> bool:
    """Whether a post's title is a headline: a bridge's title that is only the start of the
    text ("听说某戒毒所有学员被打死了…") is not."""
    stem = title.strip().rstrip("…. ")
    return bool(stem) and not text.strip().startswith(stem)


def _quoted(title: str) -> str:
    # The templates put the title in “…”: quotes inside it become ‘…’.
    return title.replace("“", "‘").replace("”", "’")


# How the public knows a platform, by host; a source can set its own (config.public_name).
_SITES = {
    "weibo.com": "微博", "m.weibo.cn": "微博", "weibo.cn": "微博", "api.weibo.com": "微博",
    "mp.weixin.qq.com": "微信公众号", "liuyan.people.com.cn": "人民网“领导留言板”",
    "www.douyin.com": "抖音", "www.toutiao.com": "今日头条", "www.kuaishou.com": "快手",
    "www.bilibili.com": "哔哩哔哩", "www.xiaohongshu.com": "小红书",
}
_BY_KIND = {"weibo": "网民在微博", "wechat": "微信公众号文章", "board": "网民在留言板",
            "push": "网络", "json": "网络"}


def public_source(name: str, kind: str, host: str, config: Mapping[str, Any] | None = None
                  ) -> str:
    """Where a post was published, as a release says it: the source's `public_name` when its
    admin set one; else the platform its host is; else by kind for social posts; else the
    outlet's own name (大河网·法治频道 → 大河网), without yuqing's notes in brackets."""
    given = (config or {}).get("public_name")
    if isinstance(given, str) and given.strip():
        return given.strip()
    site = _SITES.get(host.lower().removeprefix("www.")) or _SITES.get(host.lower())
    if site:
        return site
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    outlet = re.split(r"[·|｜/\-—]", name, maxsplit=1)[0]
    outlet = re.sub(r"[（(][^）)]*[）)]", "", outlet).strip()
    return outlet or "有关媒体"


def book_title(title: str) -> str:
    """《title》 with any 《》 inside it turned into 〈〉, as Chinese usage nests them."""
    return "《" + title.replace("《", "〈").replace("》", "〉") + "》"
