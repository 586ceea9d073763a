"""The words of a draft (responders.draft_text): a title that names the matter and ends at a
phrase, the public name of where it was published, nested book-title marks, and the
template's places for the officer."""

from __future__ import annotations

from pathlib import Path

import pytest

from responders.draft_text import book_title, public_source, story_title, unfilled

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"


@pytest.mark.parametrize("title,text,titles,expected", [
    # a news title: its first phrase
    ("洛阳一社区矫正对象剪断定位腕带脱管 警方已介入", "…", (),
     "洛阳一社区矫正对象剪断定位腕带脱管 警方已介入"),
    # a post under a matter tag: the tag, without its marks
    ("", "#郑州律所风险代理# 我爸在工地摔断腿，找律所打官司，说好“不赢不收费”，"
         "结果10万赔偿被拿走4万", (), "郑州律所风险代理"),
    # a Weibo post's own 【headline】
    ("", "【82岁老人办公证被要求“回去等通知”】网友反映，今天上午在商丘某县公证处……", (),
     "82岁老人办公证被要求‘回去等通知’"),
    # no title, no tag: another report of the story names it
    ("", "听说某戒毒所有学员被打死了，家属都不让见人，这事有人知道吗？？？转发让更多人看到😭",
     ("戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明",),
     "戒毒所学员‘被打致死’系谣言 省戒毒管理局发布情况说明"),
    # a bridge's title that only repeats the start of the text is no headline
    ("听说某戒毒所有学员被打死了，家属都不让见…", "听说某戒毒所有学员被打死了，家属都不让见人",
     ("网传“戒毒所打死人”？省戒毒管理局：系谣言",), "网传‘戒毒所打死人’"),
    # nothing else: the post's first sentence, emoji and mentions gone, cut at a pause
    ("", "@河南司法行政 去县里法律援助中心申请法律援助，让我回村开经济困难证明，"
         "村里说不归他们管，跑了两天", (),
     "去县里法律援助中心申请法律援助，让我回村开经济困难证明"),
    ("", "+1 法律职业资格申请网站打不开😅 有人说下午能好吗", (),
     "+1 法律职业资格申请网站打不开 有人说下午能好吗"),
])
def test_a_title_names_the_matter(title: str, text: str, titles: tuple[str, ...],
                                  expected: str) -> None:
    got = story_title(title, text, titles)
    assert got == expected
    assert "#" not in got and "@" not in got and len(got) <= 30


@pytest.mark.parametrize("name,kind,host,config,expected", [
    ("微博搜索·河南 司法（接口）", "weibo", "127.0.0.1", {}, "网民在微博"),
    ("微博关键词·河南司法", "weibo", "weibo.com", {}, "微博"),
    ("大河网·法治频道", "news", "www.dahe.cn", {}, "大河网"),
    ("法治日报·地方法治", "news", "127.0.0.1", {}, "法治日报"),
    ("领导留言板·河南省（接口）", "board", "127.0.0.1", {}, "网民在留言板"),
    ("领导留言板", "board", "liuyan.people.com.cn", {}, "人民网“领导留言板”"),
    ("舆情服务商·短视频与资讯", "json", "api.vendor.cn", {"public_name": "今日头条"}, "今日头条"),
])
def test_where_it_was_published_as_the_public_knows_it(name, kind, host, config,
                                                        expected) -> None:
    assert public_source(name, kind, host, config) == expected


def test_book_title_marks_do_not_nest() -> None:
    assert book_title("关于贯彻《中华人民共和国社区矫正法》的实施细则") == (
        "《关于贯彻〈中华人民共和国社区矫正法〉的实施细则》")


def test_the_templates_mark_what_the_officer_must_write() -> None:
    for path in sorted(TEMPLATES.rglob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert unfilled(text), path  # every shipped template leaves something to write
        assert "（经核查，……" not in text and "……）" not in text, path
    assert unfilled("一、基本情况。【待填写：经核查的时间、地点】二、【待填写】") == [
        "经核查的时间、地点", "待填写"]
    assert unfilled("一、基本情况。经核查，11月4日晚……") == []
