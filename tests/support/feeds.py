"""Build small RSS 2.0 documents for tests (the fixtures' shape, without copying files)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

# Realistic posts and reports about justice administration in Henan (fictional people/firms).
SAMPLE_POSTS: list[tuple[str, str]] = [
    ("郑州某律所代理费远超合同约定，当事人投诉无门",
     "网友反映，郑州市某律师事务所在代理一起劳动争议案件时，收费远超合同约定，"
     "多次向律所投诉未获答复，质疑律师收费监管不到位，太让人气愤了。"),
    ("法律援助中心帮农民工讨回欠薪，点赞！",
     "开封市法律援助中心为32名农民工提供免费法律援助，仅用20天就讨回欠薪48万元，"
     "工友们送来锦旗表示感谢，服务非常耐心周到。"),
    ("省司法厅发布2026年度法律职业资格考试考务安排",
     "河南省司法厅发布通知，2026年国家统一法律职业资格考试主观题考试将于10月举行，"
     "考生可登录官方网站查询考场信息。"),
    ("社区矫正对象脱管失联，家属质疑监管形同虚设",
     "洛阳某区一名社区矫正对象脱管失联近一个月，当地司法所至今未通报，"
     "群众担心安全隐患，质疑监管不作为、推诿扯皮。"),
    ("人民调解员三天化解一起邻里宅基地纠纷",
     "新乡市某村人民调解委员会调解员耐心做工作，三天内成功化解一起持续多年的宅基地纠纷，"
     "双方握手言和，村民纷纷称赞。"),
    ("戒毒所学员死亡传闻引关注，家属要求公开调查",
     "网传某强制隔离戒毒所一名学员死亡，家属称所方推诿，要求公开调查结果，"
     "质疑存在暴力执法，网友愤怒转发。"),
    ("今日郑州晴转多云，气温回升",
     "郑州市气象台预报，今日晴转多云，最高气温18摄氏度，适宜出行。"),
    ("公证处推行“最多跑一次”改革，群众办事更方便",
     "郑州市某公证处全面推行“最多跑一次”，公证事项办理时间大幅缩短，群众满意度明显提升。"),
]


def rss(items: Sequence[tuple[str, str, str]], *, title: str = "测试源") -> bytes:
    """items: (guid, title, description)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://demo.example/</link>",
        "<description>test</description>",
    ]
    for n, (guid, item_title, text) in enumerate(items):
        parts.append(
            "<item>"
            f"<guid isPermaLink=\"false\">{escape(guid)}</guid>"
            f"<title>{escape(item_title)}</title>"
            f"<link>https://demo.example/a/{escape(guid)}</link>"
            f"<description>{escape(text)}</description>"
            f"<pubDate>Fri, 20 Nov 2026 {8 + n % 10:02d}:{n % 60:02d}:00 +0800</pubDate>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def sample_feed(prefix: str = "s") -> bytes:
    return rss([(f"{prefix}-{i}", t, d) for i, (t, d) in enumerate(SAMPLE_POSTS)])


def many_items_feed(n: int, prefix: str = "m") -> bytes:
    """n distinct items built from the samples (distinct text, so distinct content hashes)."""
    items = []
    for i in range(n):
        t, d = SAMPLE_POSTS[i % len(SAMPLE_POSTS)]
        items.append((f"{prefix}-{i}", f"{t}（{i}）", f"{d} 编号{i}。"))
    return rss(items)
