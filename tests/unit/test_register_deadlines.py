"""The statutory deadline of a disclosure request (条例第三十条、第三十三条) as a table of pure
cases on the shipped holiday calendar, counted by hand day by day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.errors import ConfigError, InputError
from responders.register.calendar import build_calendar, load_calendar, parse_calendar
from responders.register.deadlines import (
    DeadlineInput,
    extension_told_in_time,
    statutory_deadline,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
CAL = load_calendar(CONFIG)
D = date


@pytest.mark.parametrize(("case", "req", "due"), [
    ("plain March, weekends only", DeadlineInput(D(2026, 3, 2)), D(2026, 3, 30)),
    # 5/1–5/5 off, Saturday 5/9 worked (调休): 5/18 if only weekends counted
    ("劳动节 2026 and its 调休 Saturday", DeadlineInput(D(2026, 4, 20)), D(2026, 5, 20)),
    ("春节 2026: nine days off, two Saturdays worked", DeadlineInput(D(2026, 2, 6)),
     D(2026, 3, 12)),
    ("across the year end and 元旦 2026 (Sunday 1/4 worked)", DeadlineInput(D(2025, 12, 15)),
     D(2026, 1, 13)),
    ("国庆 2024", DeadlineInput(D(2024, 9, 23)), D(2024, 10, 24)),
    ("春节 2025", DeadlineInput(D(2025, 1, 20)), D(2025, 2, 21)),
    ("extension of 20, across 清明 2026",
     DeadlineInput(D(2026, 3, 2), extension_days=20, applicant_told_on=D(2026, 3, 20)),
     D(2026, 4, 28)),
    ("extension of 5", DeadlineInput(D(2026, 3, 2), extension_days=5,
                                     applicant_told_on=D(2026, 3, 27)), D(2026, 4, 7)),
    ("补正: runs from the corrected request", DeadlineInput(D(2026, 3, 2),
                                                         corrected_on=D(2026, 3, 16)),
     D(2026, 4, 14)),
    ("third-party consultation 3/9–3/20 does not count",
     DeadlineInput(D(2026, 3, 2), pauses=[(D(2026, 3, 9), D(2026, 3, 20))]), D(2026, 4, 14)),
    ("a consultation over a weekend only costs nothing",
     DeadlineInput(D(2026, 3, 2), pauses=[(D(2026, 3, 7), D(2026, 3, 8))]), D(2026, 3, 30)),
    ("补正, extension and consultation together",
     DeadlineInput(D(2026, 3, 2), corrected_on=D(2026, 3, 16), extension_days=10,
                   applicant_told_on=D(2026, 4, 1),
                   pauses=[(D(2026, 3, 23), D(2026, 3, 27))]), D(2026, 5, 8)),
])
def test_deadline_table(case, req, due):
    assert statutory_deadline(req, CAL).due_on == due, case


def test_basis_names_the_articles():
    d = statutory_deadline(DeadlineInput(D(2026, 3, 2), corrected_on=D(2026, 3, 16),
                                         extension_days=3, applicant_told_on=D(2026, 3, 20),
                                         pauses=[(D(2026, 3, 23), D(2026, 3, 24))]), CAL)
    assert d.runs_from == D(2026, 3, 16)
    assert "第三十条" in d.basis and "第三十三条" in d.basis and "延期3个工作日" in d.basis
    assert "不计算在内" in d.basis


@pytest.mark.parametrize(("req", "words"), [
    (DeadlineInput(D(2026, 3, 2), extension_days=21, applicant_told_on=D(2026, 3, 3)),
     "at most 20"),
    (DeadlineInput(D(2026, 3, 2), extension_days=5), "applicant was told"),
    (DeadlineInput(D(2026, 3, 2), corrected_on=D(2026, 3, 1)), "补正"),
    (DeadlineInput(D(2026, 3, 2), pauses=[(D(2026, 3, 9), D(2026, 3, 5))]), "ends"),
    (DeadlineInput(D(2028, 3, 2)), "no data for 2028"),
])
def test_refused_inputs(req, words):
    with pytest.raises(InputError, match=words):
        statutory_deadline(req, CAL)


def test_extension_must_be_told_within_the_first_period():
    late = DeadlineInput(D(2026, 3, 2), extension_days=10, applicant_told_on=D(2026, 3, 31))
    ok = DeadlineInput(D(2026, 3, 2), extension_days=10, applicant_told_on=D(2026, 3, 30))
    assert not extension_told_in_time(late, CAL)
    assert extension_told_in_time(ok, CAL)


def test_shipped_calendar_covers_2024_to_2027_with_sources():
    assert CAL.years == {2024, 2025, 2026, 2027}
    assert all(CAL.sources[y] for y in CAL.years)
    assert CAL.provisional == {2027}
    assert not CAL.is_working_day(D(2026, 2, 17))      # 春节
    assert CAL.is_working_day(D(2026, 2, 14))          # Saturday, 调休
    assert not CAL.is_working_day(D(2026, 3, 7))       # an ordinary Saturday


def test_home_file_replaces_a_year(tmp_path):
    (tmp_path / "holidays.yaml").write_text(
        "years:\n  2027:\n    source: 国务院办公厅关于2027年部分节假日安排的通知\n"
        "    holidays: ['2027-02-05..2027-02-11']\n    workdays: [2027-02-13]\n",
        encoding="utf-8")
    cal = load_calendar(CONFIG, tmp_path)
    assert cal.provisional == frozenset()
    assert not cal.is_working_day(D(2027, 2, 10))
    assert cal.is_working_day(D(2027, 2, 13))
    assert not cal.is_working_day(D(2026, 2, 17))      # other years kept from config/


@pytest.mark.parametrize(("doc", "words"), [
    ({"years": {2026: {"holidays": ["2026-02-30"]}}}, "not a date"),
    ({"years": {2026: {"holidays": ["2026-02-14"], "workdays": ["2026-02-14"]}}}, "both"),
    ({"years": {2026: {"holidays": ["2025-12-31"]}}}, "listed under 2026"),
    ({"holidays": []}, "years"),
])
def test_calendar_file_errors(doc, words):
    with pytest.raises(ConfigError, match=words):
        build_calendar(parse_calendar(doc))
