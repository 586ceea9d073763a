"""The office's own voice: whether a post is the office's own (its portal, its Weibo and
WeChat accounts, its bureaus'), from the `office.accounts` settings. Pure: names in, a
yes or no out.

The rule, and why it is strict:

* By source: the source's name, with spaces removed, is an account alone; or an account
  followed by a channel word ("河南省司法厅门户网站", "河南司法官方微博"); or either of those
  followed by one bracketed part ("河南司法（微博）", "河南司法行政在线（微信公众号）") that
  does not say search. A search or keyword source ("微博搜索·河南司法（接口）",
  "微博关键词·河南司法", "河南司法（关键词搜索）") lists other people's posts that merely
  name the account, so its name never makes its posts own.
* By author: the post's author, without a leading "@" and spaces, equals an account
  exactly — how a keyword search shows the office's own Weibo posts (screen name "河南司法").

Never by containment: "河南司法警官职业学院" and "河南省司法厅某某处原处长被查" contain an
account's name and are somebody else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.settings_schema import OfficeSection

# What may follow an account's name in the name of its own channel.
_CHANNEL_WORDS = ("门户网站", "官方网站", "网站", "官网", "官方微博", "政务微博", "微博",
                  "微信公众号", "公众号", "微信", "客户端", "头条号", "抖音号")
# A bracketed part saying the source searches others' posts.
_SEARCH_WORDS = ("搜索", "关键词", "关键字", "检索", "话题", "超话", "监测", "search")
_BRACKETED = re.compile(r"^(?P<base>.+?)\s*[（(\[【](?P<tag>[^（）()\[\]【】]*)[）)\]】]$")
_SPACE = re.compile(r"\s+")


def _plain(name: str) -> str:
    return _SPACE.sub("", name)


@dataclass(frozen=True)
class OwnVoice:
    accounts: frozenset[str]

    @classmethod
    def from_section(cls, office: OfficeSection) -> OwnVoice:
        return cls(accounts=frozenset(_plain(a) for a in office.accounts))

    def own_source(self, source_name: str) -> bool:
        name = _plain(source_name)
        bracketed = _BRACKETED.match(name)
        if bracketed is not None:
            tag = bracketed.group("tag").lower()
            if any(word in tag for word in _SEARCH_WORDS):
                return False
            name = bracketed.group("base")
        if name in self.accounts:
            return True
        return any(name == account + word for account in self.accounts
                   for word in _CHANNEL_WORDS)

    def own_author(self, author: str | None) -> bool:
        if not author:
            return False
        return _plain(author).lstrip("@") in self.accounts

    def is_own(self, source_name: str, author: str | None) -> bool:
        """The post is the office's own: by its source or by its author (module docstring)."""
        return self.own_source(source_name) or self.own_author(author)
