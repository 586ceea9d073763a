"""Working days (工作日) in mainland China: Monday–Friday, less the public holidays, plus the
weekend days made working days by 调休, as the State Council announces them each year.

The data is a YAML file (config/holidays.yaml, overridable by $YUQING_HOME/holidays.yaml, year
by year) so that the office can enter next year's notice without a release. A date in a year
the file does not cover is refused rather than guessed: a deadline computed on a calendar that
does not know the year's Spring Festival would be wrong by a week.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, InputError
from monitor.yamlfile import read_yaml

FILE_NAME = "holidays.yaml"


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]                 # 调休: weekend days that are working days
    years: frozenset[int]
    sources: Mapping[int, str] = field(default_factory=dict)
    provisional: frozenset[int] = frozenset()

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if not self.covers(day):
            known = ", ".join(str(y) for y in sorted(self.years)) or "none"
            raise InputError(
                f"the holiday calendar has no data for {day.year} (it covers {known}): "
                f"add that year's State Council notice to {FILE_NAME}")
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, count: int, *,
                         skip: Iterable[tuple[date, date]] = ()) -> date:
        """The `count`-th working day after `start` (start itself not counted, as a period
        in days runs from the next day), not counting the days inside any `skip` interval
        (inclusive at both ends). count 0 is `start`."""
        pauses = [(a, b) for a, b in skip]
        day, left = start, count
        while left > 0:
            day += timedelta(days=1)
            if any(a <= day <= b for a, b in pauses):
                continue
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            n += self.is_working_day(day)
        return n


def _days(entry: Any, where: str) -> list[date]:
    if isinstance(entry, date):
        return [entry]
    text = str(entry).strip()
    try:
        if ".." in text:
            a, b = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
            if b < a:
                raise ValueError
            return [a + timedelta(days=i) for i in range((b - a).days + 1)]
        return [date.fromisoformat(text)]
    except ValueError:
        raise ConfigError(f"{where}: {entry!r} is not a date (YYYY-MM-DD) or a range "
                          "(YYYY-MM-DD..YYYY-MM-DD)") from None


def parse_calendar(doc: Any, where: str = FILE_NAME) -> dict[int, dict[str, Any]]:
    """The file's `years:` mapping checked: year → {holidays, workdays, source, provisional}."""
    if not isinstance(doc, dict) or not isinstance(doc.get("years"), dict):
        raise ConfigError(f"{where}: expected a mapping `years:` of year → holidays/workdays")
    out: dict[int, dict[str, Any]] = {}
    for key, body in doc["years"].items():
        try:
            year = int(key)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {key!r} is not a year") from None
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: years.{year} must be a mapping")
        hol = [d for e in body.get("holidays") or [] for d in _days(e, f"{where} {year}")]
        work = [d for e in body.get("workdays") or [] for d in _days(e, f"{where} {year}")]
        for d in hol + work:
            if d.year != year:
                raise ConfigError(f"{where}: {d} is listed under {year}")
        both = set(hol) & set(work)
        if both:
            raise ConfigError(f"{where}: {min(both)} is both a holiday and a working day")
        out[year] = {"holidays": hol, "workdays": work,
                     "source": str(body.get("source") or ""),
                     "provisional": bool(body.get("provisional", False))}
    return out


def build_calendar(years: Mapping[int, Mapping[str, Any]]) -> WorkCalendar:
    return WorkCalendar(
        holidays=frozenset(d for y in years.values() for d in y["holidays"]),
        workdays=frozenset(d for y in years.values() for d in y["workdays"]),
        years=frozenset(years), sources={k: v["source"] for k, v in years.items()},
        provisional=frozenset(k for k, v in years.items() if v["provisional"]))


def load_calendar(config_dir: Path, home: Path | None = None) -> WorkCalendar:
    """config/holidays.yaml, with the years of $YUQING_HOME/holidays.yaml replacing its own."""
    path = config_dir / FILE_NAME
    years = parse_calendar(read_yaml(path), str(path))
    if home is not None and (home / FILE_NAME).is_file():
        own = home / FILE_NAME
        years.update(parse_calendar(read_yaml(own), str(own)))
    return build_calendar(years)
