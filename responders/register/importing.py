"""A year's register from the spreadsheet an office keeps today (CSV or XLSX), through a column
mapping (register field → the sheet's heading).

All or nothing: every row is checked first, and a file with any bad row stores nothing — the
answer lists each bad row by its number in the sheet (the heading is row 1) with what is wrong
in it. Half a register would give a report whose 上年结转 and 结转下年度 silently disagree
with the office's sheet, which is worse than a refusal the office can fix in one pass. A good
file is applied by 登记号: new numbers are created, known ones updated, unchanged ones left
alone (re-importing the same file changes nothing and logs nothing).

Requests and cases are separate sheets (a case names its request by 登记号), imported in that
order; a cases file may name requests of the same import or already in the register.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.register.calendar import WorkCalendar
from responders.register.deadlines import statutory_deadline
from responders.register.service import (
    CaseInput,
    RequestInput,
    Who,
    add_case,
    check_case,
    check_request,
    deadline_input,
    find_request,
    upsert_request,
)

REQUEST_COLUMNS: dict[str, str] = {
    "number": "登记号", "received_on": "收到日期", "channel": "申请方式",
    "applicant_type": "申请人类型", "applicant": "申请人", "subject": "申请内容",
    "correction_requested_on": "补正告知日期", "corrected_on": "补正收到日期",
    "extension_days": "延期工作日", "applicant_told_on": "延期告知日期",
    "pauses": "征求意见期间", "outcome": "办理结果", "answered_on": "答复日期",
    "fee_yuan": "收费（元）", "notes": "备注",
}
REQUIRED_REQUEST = ("number", "received_on", "channel", "applicant_type", "subject")
CASE_COLUMNS: dict[str, str] = {
    "number": "案号", "request": "申请登记号", "kind": "类型", "route": "起诉方式",
    "filed_on": "立案日期", "body": "复议机关或法院", "outcome": "结果",
    "decided_on": "审结日期", "notes": "备注",
}
REQUIRED_CASE = ("number", "request", "kind", "filed_on")
MAX_ROWS = 20000


@dataclass
class ImportReport:
    kind: str                                   # requests | cases
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)   # (sheet row, sentence)

    @property
    def stored(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "stored": self.stored,
                "errors": [{"row": r, "error": e} for r, e in self.errors]}


def read_mapping(doc: Any, defaults: Mapping[str, str], where: str) -> dict[str, str]:
    """The file's `columns:` (field → heading) over the defaults; unknown fields refused."""
    if doc is None:
        return dict(defaults)
    cols = doc.get("columns") if isinstance(doc, dict) else None
    if not isinstance(cols, dict):
        raise InputError(f"{where}: expected `columns:` mapping each field to a heading")
    unknown = set(cols) - set(defaults)
    if unknown:
        raise InputError(f"{where}: no field {sorted(unknown)[0]!r} (fields: "
                         f"{', '.join(defaults)})")
    return {**defaults, **{k: str(v) for k, v in cols.items()}}


def read_sheet(path: Path, data: bytes | None = None) -> list[dict[str, Any]]:
    """Rows as heading → cell. CSV in UTF-8 (with or without BOM) or GB18030; XLSX's first
    sheet. Blank rows are skipped but keep their numbers out of the count."""
    raw = path.read_bytes() if data is None else data
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(raw, path)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise InputError(f"{path.name}: give a .csv or .xlsx file")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{path.name}: neither UTF-8 nor GB18030 text")
    reader = csv.reader(io.StringIO(text))
    return _rows(reader, path)


def _read_xlsx(raw: bytes, path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise InputError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    ws = wb.worksheets[0]
    return _rows(([("" if v is None else v) for v in row]
                  for row in ws.iter_rows(values_only=True)), path)


def _rows(rows: Iterator[Sequence[Any]] | Any, path: Path) -> list[dict[str, Any]]:
    it = iter(rows)
    try:
        header = [str(h).strip() for h in next(it)]
    except StopIteration:
        raise InputError(f"{path.name}: the file is empty") from None
    out = []
    for n, row in enumerate(it, start=2):
        if n > MAX_ROWS + 1:
            raise InputError(f"{path.name}: more than {MAX_ROWS} rows")
        if not any(str(v).strip() for v in row):
            continue
        cells = {h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h}
        cells["__row__"] = n
        out.append(cells)
    return out


_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_date(value: Any, what: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.match(str(value))
    if not m:
        raise ValueError(f"{what} {str(value)!r} is not a date (2025-03-02 or 2025年3月2日)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"{what} {str(value)!r} is not a day of the calendar") from None


def _int(value: Any, what: str) -> int:
    if value is None or str(value).strip() == "":
        return 0
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"{what} {text!r} is not a whole number")
    return int(text)


def _pauses(value: Any) -> list[tuple[date, date]]:
    out = []
    for part in re.split(r"[;；,，]", str(value or "")):
        if not part.strip():
            continue
        ends = re.split(r"\s*(?:~|～|至|\.\.)\s*", part.strip())
        if len(ends) != 2:
            raise ValueError(f"征求意见期间 {part.strip()!r}: give 2025-03-09~2025-03-20")
        a, b = parse_date(ends[0], "征求意见期间"), parse_date(ends[1], "征求意见期间")
        if a is None or b is None:
            raise ValueError(f"征求意见期间 {part.strip()!r} lacks a day")
        out.append((a, b))
    return out


def _text(cells: Mapping[str, Any], heading: str) -> str:
    v = cells.get(heading, "")
    return "" if v is None else str(v).strip()


def _request_from(cells: Mapping[str, Any], m: Mapping[str, str]) -> RequestInput:
    received = parse_date(cells.get(m["received_on"]), m["received_on"])
    if received is None:
        raise ValueError(f"{m['received_on']} is empty")
    outcome = _text(cells, m["outcome"]) or None
    return RequestInput(
        number=_text(cells, m["number"]), received_on=received,
        channel=_text(cells, m["channel"]), applicant_type=_text(cells, m["applicant_type"]),
        subject=_text(cells, m["subject"]), applicant=_text(cells, m["applicant"]),
        correction_requested_on=parse_date(cells.get(m["correction_requested_on"]),
                                           m["correction_requested_on"]),
        corrected_on=parse_date(cells.get(m["corrected_on"]), m["corrected_on"]),
        extension_days=_int(cells.get(m["extension_days"]), m["extension_days"]),
        applicant_told_on=parse_date(cells.get(m["applicant_told_on"]),
                                     m["applicant_told_on"]),
        pauses=_pauses(cells.get(m["pauses"])), outcome=outcome,
        answered_on=parse_date(cells.get(m["answered_on"]), m["answered_on"]),
        fee_yuan=_int(cells.get(m["fee_yuan"]), m["fee_yuan"]),
        notes=_text(cells, m["notes"]))


def _missing(rows: list[dict[str, Any]], m: Mapping[str, str], required: Sequence[str],
             name: str) -> None:
    if not rows:
        return
    headings = set(rows[0])
    lacking = [m[f] for f in required if m[f] not in headings]
    if lacking:
        raise InputError(f"{name}: no column {'、'.join(lacking)} (map it with --mapping)")


def import_requests(session: Session, who: Who, rows: list[dict[str, Any]],
                    mapping: Mapping[str, str], cal: WorkCalendar, now: datetime, *,
                    name: str = "file") -> ImportReport:
    report = ImportReport("requests", rows=len(rows))
    _missing(rows, mapping, REQUIRED_REQUEST, name)
    parsed: list[RequestInput] = []
    seen: dict[str, int] = {}
    for cells in rows:
        n = int(cells["__row__"])
        try:
            r = _request_from(cells, mapping)
        except ValueError as exc:
            report.errors.append((n, str(exc)))
            continue
        problems = check_request(r)
        if r.number in seen:
            problems.append(f"登记号 {r.number} is also on row {seen[r.number]}")
        if not problems:
            try:
                statutory_deadline(deadline_input(r), cal)
            except InputError as exc:
                problems.append(str(exc))
        if problems:
            report.errors.extend((n, p) for p in problems)
        else:
            seen[r.number] = n
            parsed.append(r)
    if report.errors:
        return report                # nothing stored
    for r in parsed:
        _, what = upsert_request(session, who, r, cal, now)
        setattr(report, what, getattr(report, what) + 1)
    return report


def import_cases(session: Session, who: Who, rows: list[dict[str, Any]],
                 mapping: Mapping[str, str], now: datetime, *,
                 name: str = "file") -> ImportReport:
    report = ImportReport("cases", rows=len(rows))
    _missing(rows, mapping, REQUIRED_CASE, name)
    todo: list[tuple[int, int, CaseInput]] = []
    for cells in rows:
        n = int(cells["__row__"])
        try:
            filed = parse_date(cells.get(mapping["filed_on"]), mapping["filed_on"])
            if filed is None:
                raise ValueError(f"{mapping['filed_on']} is empty")
            c = CaseInput(number=_text(cells, mapping["number"]),
                          kind=_text(cells, mapping["kind"]), filed_on=filed,
                          route=_text(cells, mapping["route"]) or None,
                          body=_text(cells, mapping["body"]),
                          outcome=_text(cells, mapping["outcome"]) or "尚未审结",
                          decided_on=parse_date(cells.get(mapping["decided_on"]),
                                                mapping["decided_on"]),
                          notes=_text(cells, mapping["notes"]))
        except ValueError as exc:
            report.errors.append((n, str(exc)))
            continue
        problems = check_case(c)
        req = find_request(session, _text(cells, mapping["request"]))
        if req is None:
            problems.append(f"申请登记号 {_text(cells, mapping['request'])!r} is not in the "
                            "register (import the requests first)")
        if problems:
            report.errors.extend((n, p) for p in problems)
        elif req is not None:
            todo.append((n, req.id, c))
    if report.errors:
        return report
    for _, request_id, c in todo:
        _, created = add_case(session, who, request_id, c, now)
        if created:
            report.created += 1
        else:
            report.unchanged += 1
    return report
