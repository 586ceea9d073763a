"""The official categories of the annual report's request table, from 国务院办公厅政府信息与
政务公开办公室《关于印发〈中华人民共和国政府信息公开工作年度报告格式〉的通知》
(国办公开办函〔2021〕30号), table 三「收到和处理政府信息公开申请情况」and table 四「政府信息公开
行政复议、行政诉讼情况」. The labels are the document's own; they are what the register stores
and what the report prints, so a row is always named as the office will read it."""

from __future__ import annotations

# Columns of table 三: 申请人情况.
NATURAL_PERSON = "自然人"
ORG_TYPES = ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
APPLICANT_TYPES = (NATURAL_PERSON, *ORG_TYPES)
COLUMNS = (*APPLICANT_TYPES, "总计")

CHANNELS = ("当面", "信函", "网络", "传真", "电子邮件", "其他")   # 申请方式 (条例第二十九条)

# Rows of table 三 under 三、本年度办理结果: (group, ground). A group without grounds is one row.
OUTCOME_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("予以公开", ()),
    ("部分公开", ()),   # 区分处理的，只计这一情形，不计其他情形
    ("不予公开", (
        "属于国家秘密",
        "其他法律行政法规禁止公开",
        "危及“三安全一稳定”",
        "保护第三方合法权益",
        "属于三类内部事务信息",
        "属于四类过程性信息",
        "属于行政执法案卷",
        "属于行政查询事项",
    )),
    ("无法提供", (
        "本机关不掌握相关政府信息",
        "没有现成信息需要另行制作",
        "补正后申请内容仍不明确",
    )),
    ("不予处理", (
        "信访举报投诉类申请",
        "重复申请",
        "要求提供公开出版物",
        "无正当理由大量反复申请",
        "要求行政机关确认或重新出具已获取信息",
    )),
    ("其他处理", (
        "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "其他",
    )),
)

# An outcome as stored: "予以公开", or "不予公开/属于国家秘密" (group/ground).
OUTCOMES: tuple[str, ...] = tuple(
    o for g, grounds in OUTCOME_GROUPS for o in ((g,) if not grounds else
                                                  tuple(f"{g}/{x}" for x in grounds)))

# Table 四: the outcome of a reconsideration or lawsuit, as of the report's year end.
CASE_OUTCOMES = ("维持", "纠正", "其他", "尚未审结")
CASE_KINDS = ("复议", "诉讼")
LITIGATION_ROUTES = ("未经复议直接起诉", "复议后起诉")
# The column headings of table 四 for each case outcome.
CASE_HEADINGS = {"维持": "结果维持", "纠正": "结果纠正", "其他": "其他结果",
                 "尚未审结": "尚未审结"}


def outcome_group(outcome: str) -> str:
    return outcome.split("/", 1)[0]


def normalise_outcome(text: str) -> str | None:
    """An outcome as typed in a spreadsheet ("不予公开/属于国家秘密", "不予公开－属于国家秘密",
    or the ground alone when it is unique) → the stored form; None when it is not one."""
    t = (text or "").strip().replace("－", "/").replace("-", "/").replace("：", "/")
    t = t.replace('"', "“", 1).replace('"', "”", 1) if '"' in t else t
    if t in OUTCOMES:
        return t
    matches = [o for o in OUTCOMES if o.endswith("/" + t)]
    return matches[0] if len(matches) == 1 else None
