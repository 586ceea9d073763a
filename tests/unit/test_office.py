"""Whose voice a post is: the office's own accounts and sites (monitor.office), by the
names yuqing really sees — source names with channel suffixes, search sources that name the
account, screen names, and longer names that merely contain an account."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.office import OwnVoice
from monitor.settings import Settings, load_settings
from tests.support.settings import defaults

OWN = OwnVoice.from_section(defaults().office_voice)


@pytest.mark.parametrize(("source", "author", "own"), [
    # The office's own channels, by the source's name.
    ("河南省司法厅门户网站", None, True),
    ("河南省司法厅", "宣传处", True),
    ("河南司法（微博）", None, True),
    ("河南司法 (微博)", None, True),
    ("河南司法行政在线（微信）", None, True),
    ("河南司法行政在线（微信公众号）", "河南司法行政在线", True),
    ("河南省监狱管理局官网", None, True),
    ("河南省戒毒管理局（门户网站）", None, True),
    # A search source names the account, but its posts are other people's …
    ("微博搜索·河南司法（接口）", "商丘小鱼在路上", False),
    ("微博搜索·河南 司法（接口）", "郑州打工人老周", False),
    ("微博关键词·河南司法", "豫北小雨", False),
    ("河南司法（关键词搜索）", "中原路人甲", False),
    # … except the account's own posts it finds: matched by the author.
    ("微博搜索·河南司法（接口）", "河南司法", True),
    ("微博关键词·河南司法", "河南司法行政", True),
    ("微博关键词·河南司法", "@河南司法", True),
    # Longer names that contain an account are somebody else.
    ("大河网·法治频道", "河南司法警官职业学院", False),
    ("大河网·法治频道", "河南省司法厅某某处原处长被查", False),
    ("河南司法警官职业学院", None, False),
    ("河南司法警官职业学院（微博）", None, False),
    ("领导留言板·河南省司法厅", "郑州市民", False),
    ("郑州司法（微信公众号·桥接）", None, False),
    ("大河网·法治频道", None, False),
    ("大河网·法治频道", "", False),
])
def test_is_own(source: str, author: str | None, own: bool) -> None:
    assert OWN.is_own(source, author) is own


def test_accounts_from_the_environment() -> None:
    s = load_settings(env={"YUQING_OFFICE_ACCOUNTS": "郑州司法, 郑州市司法局"})
    voice = OwnVoice.from_section(s.office_voice)
    assert voice.accounts == frozenset({"郑州司法", "郑州市司法局"})
    assert voice.is_own("郑州司法（微信公众号）", None)
    assert not voice.is_own("河南省司法厅门户网站", None)  # replaced, not added


def test_an_empty_account_name_is_refused() -> None:
    base = defaults()
    with pytest.raises(ConfigError, match=r"office\.accounts\[1\]: must not be empty"):
        Settings(raw={**base.raw, "office": {"accounts": ["河南司法", " "]}},
                 config_dir=base.config_dir)
