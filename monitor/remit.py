"""Whose business a post is: the office answers for Henan. Pure: no I/O.

A prison death in Hunan or a lawyer beaten in Jiangxi uses every word of the taxonomy, yet it
is another province's office's to answer; the Henan press office reads it as news, not as an
alert. A post is elsewhere when it names another province and nothing of Henan (河南, 豫, a
Henan city): "湖南通报一服刑人员死亡" is elsewhere, "河南籍服刑人员在湖南…" is not.
"""

from __future__ import annotations

import re

__all__ = ["elsewhere"]

# Provinces, autonomous regions and municipalities other than Henan, by the short names
# reports use. 山西 and 陕西 are both here; 海南 does not contain 河南.
_OTHER = ("北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 "
          "湖北 湖南 广东 广西 海南 重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆 香港 "
          "澳门 台湾").split()
_OTHER_RE = re.compile("|".join(_OTHER))
_HENAN = re.compile(
    "河南|豫|郑州|开封|洛阳|平顶山|安阳|鹤壁|新乡|焦作|濮阳|许昌|漯河|三门峡|南阳|商丘|信阳|周口|驻马店|济源")


def elsewhere(text: str) -> str | None:
    """The other province a post is about, or None when it may be Henan's business."""
    other = _OTHER_RE.search(text)
    if other is None or _HENAN.search(text):
        return None
    return other.group()
