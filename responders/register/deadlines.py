"""The statutory deadline of a disclosure request. Pure: dates and a calendar in, a date out.

《中华人民共和国政府信息公开条例》(2019):
- 第三十三条: the agency replies within 20 working days of receiving the request; when it
  cannot, it may extend once, by at most 20 working days, with the applicant told (and the
  approval of the office's head). Time spent consulting a third party (第三十二条) or another
  agency does not count (第三十三条第三款).
- 第三十条: when the request is unclear and the agency asks for 补正 (correction), the period
  runs from the day the corrected request is received.
- 第三十一条 fixes the day of receipt by channel (in person: that day; by post: the day signed
  for; online: the day the system confirms); the register stores that day.

A period "within N working days from receipt" starts the day after receipt (the day of the
event is not counted), so the deadline is the N-th working day after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from monitor.errors import InputError
from responders.register.calendar import WorkCalendar

BASE_WORKING_DAYS = 20       # 第三十三条第一款
MAX_EXTENSION_DAYS = 20      # 第三十三条第二款


@dataclass(frozen=True)
class DeadlineInput:
    received_on: date
    corrected_on: date | None = None        # 补正后申请的收到日期 (第三十条)
    extension_days: int = 0                 # 延期工作日数 (第三十三条第二款), 0–20
    applicant_told_on: date | None = None   # 延期告知申请人的日期
    pauses: Sequence[tuple[date, date]] = ()  # 征求第三方/其他机关意见 (inclusive)


@dataclass(frozen=True)
class Deadline:
    due_on: date
    runs_from: date
    basis: str


def statutory_deadline(req: DeadlineInput, cal: WorkCalendar) -> Deadline:
    if req.corrected_on is not None and req.corrected_on < req.received_on:
        raise InputError("the corrected request (补正) cannot be received before the request")
    if not 0 <= req.extension_days <= MAX_EXTENSION_DAYS:
        raise InputError(f"an extension is at most {MAX_EXTENSION_DAYS} working days "
                         f"(条例第三十三条), not {req.extension_days}")
    if req.extension_days and req.applicant_told_on is None:
        raise InputError("an extension needs the date the applicant was told (条例第三十三条)")
    for a, b in req.pauses:
        if b < a:
            raise InputError(f"a consultation period ends ({b}) before it starts ({a})")
    start = req.corrected_on or req.received_on
    days = BASE_WORKING_DAYS + req.extension_days
    due = cal.add_working_days(start, days, skip=req.pauses)
    parts = [f"自{'补正后申请收到之日（条例第三十条）' if req.corrected_on else '收到申请之日'}起"
             f"{BASE_WORKING_DAYS}个工作日（条例第三十三条）"]
    if req.extension_days:
        parts.append(f"延期{req.extension_days}个工作日，已告知申请人")
    if req.pauses:
        parts.append("征求意见所需时间不计算在内")
    return Deadline(due, start, "；".join(parts))


def extension_told_in_time(req: DeadlineInput, cal: WorkCalendar) -> bool:
    """An extension must be decided and the applicant told within the first 20 working days."""
    if not req.extension_days or req.applicant_told_on is None:
        return True
    first = statutory_deadline(DeadlineInput(req.received_on, req.corrected_on, 0, None,
                                             req.pauses), cal)
    return req.applicant_told_on <= first.due_on
