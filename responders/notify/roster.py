"""The on-call roster (值班表): who holds each role of the chain at a moment.

A weekly pattern (weekday 1 = Monday … 7, HH:MM–HH:MM in the office's zone; an end at or
before the start runs into the next morning) and dated exceptions: the dated lines of a day
and role replace that day's weekly lines for the role (a swapped duty, a holiday). `on_duty`
is pure; the rest reads and writes the tables (flush only) and reads the CSV.

CSV (UTF-8, a header line):  when,start,end,role,person,display_name,phone,email,channels
`when` is a weekday (1–7, 周一…周日, mon…sun) or a date (2026-12-05); role duty | leader |
head (值班员/带班领导/办公室主任 are read too); channels separated by ";".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.models import NotifyPerson, RosterShift

ROLES = ("duty", "leader", "head")
ROLE_WORDS = {"duty": "值班员", "leader": "带班领导", "head": "办公室主任"}
_ROLE_ALIASES = {**{v: k for k, v in ROLE_WORDS.items()}, **{r: r for r in ROLES}}
_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
         "周一": 1, "周二": 2, "周三": 3, "周四": 4, "周五": 5, "周六": 6, "周日": 7, "周天": 7}
HEADER = ("when", "start", "end", "role", "person", "display_name", "phone", "email",
          "channels")


class RosterError(InputError):
    """A roster line that cannot be read, with its line number."""


@dataclass(frozen=True)
class Shift:
    weekday: int | None
    on_date: date | None
    start: str
    end: str
    role: str
    person: str


@dataclass(frozen=True)
class Person:
    name: str
    display_name: str
    phone: str
    email: str
    channels: tuple[str, ...]


def _hm(text: str) -> time:
    h, m = (int(x) for x in text.split(":"))
    return time(0, 0) if h == 24 else time(h, m)


def _spans(s: Shift, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, _hm(s.start), tzinfo=tz)
    end = datetime.combine(day, _hm(s.end), tzinfo=tz)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def lines_for(day: date, role: str, shifts: Sequence[Shift]) -> list[Shift]:
    """The lines in force on `day` for `role`: its dated ones, else its weekly ones."""
    dated = [s for s in shifts if s.on_date == day and s.role == role]
    if dated:
        return dated
    return [s for s in shifts if s.on_date is None and s.weekday == day.isoweekday()
            and s.role == role]


def on_duty(now: datetime, shifts: Sequence[Shift], tz: str, role: str = "duty") -> list[str]:
    """Pure: the people holding `role` at `now` (a shift that began yesterday evening counts)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    out: list[str] = []
    for day in (local.date() - timedelta(days=1), local.date()):
        for s in lines_for(day, role, shifts):
            start, end = _spans(s, day, zone)
            if start <= local < end and s.person not in out:
                out.append(s.person)
    return out


# ---------------------------------------------------------------- CSV (pure)


def _when(text: str, line: int) -> tuple[int | None, date | None]:
    t = text.strip().lower()
    if t in _DAYS:
        return _DAYS[t], None
    if t.isascii() and t.isdigit() and 1 <= int(t) <= 7:
        return int(t), None
    try:
        return None, date.fromisoformat(t)
    except ValueError:
        raise RosterError(f"line {line}: {text!r} is neither a weekday (1–7, 周一…周日, "
                          f"mon…sun) nor a date (2026-12-05)") from None


def _check_hm(text: str, line: int) -> str:
    t = text.strip()
    parts = t.split(":")
    ok = len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts)
    if ok:
        h, m = int(parts[0]), int(parts[1])
        ok = (h < 24 and m < 60) or (h == 24 and m == 0)
    if not ok:
        raise RosterError(f"line {line}: {text!r} is not a time such as 08:30")
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


def read_csv(text: str) -> tuple[list[Person], list[Shift]]:
    """The people and lines of a roster CSV; RosterError naming the first bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [h for h in ("when", "start", "end", "role", "person")
               if h not in (reader.fieldnames or [])]
    if missing:
        raise RosterError(f"the roster CSV lacks the column(s) {', '.join(missing)} "
                          f"(header: {','.join(HEADER)})")
    people: dict[str, Person] = {}
    shifts: list[Shift] = []
    for i, row in enumerate(reader, start=2):
        name = (row.get("person") or "").strip()
        if not name:
            raise RosterError(f"line {i}: no person")
        role = _ROLE_ALIASES.get((row.get("role") or "").strip().lower())
        if role is None:
            raise RosterError(f"line {i}: role {row.get('role')!r} is not duty, leader or "
                              f"head (值班员/带班领导/办公室主任)")
        weekday, on_date = _when(row.get("when") or "", i)
        shifts.append(Shift(weekday, on_date, _check_hm(row.get("start") or "", i),
                            _check_hm(row.get("end") or "", i), role, name))
        channels = tuple(c.strip() for c in (row.get("channels") or "").split(";")
                         if c.strip())
        new = Person(name, (row.get("display_name") or "").strip() or name,
                     (row.get("phone") or "").strip(), (row.get("email") or "").strip(),
                     channels)
        old = people.get(name)
        if old is None or (new.phone or new.email or new.channels):
            people[name] = new if old is None else Person(
                name, new.display_name if new.display_name != name else old.display_name,
                new.phone or old.phone, new.email or old.email, new.channels or old.channels)
    return list(people.values()), shifts


# ---------------------------------------------------------------- tables (flush only)


def load(session: Session) -> tuple[list[Person], list[Shift]]:
    people = [Person(p.name, p.display_name, p.phone, p.email, tuple(p.channels))
              for p in session.scalars(select(NotifyPerson).order_by(NotifyPerson.name))]
    shifts = [Shift(s.weekday, s.on_date, s.start, s.end, s.role, s.person.name)
              for s in session.scalars(select(RosterShift).order_by(
                  RosterShift.on_date, RosterShift.weekday, RosterShift.start,
                  RosterShift.id))]
    return people, shifts


def upsert_person(session: Session, p: Person) -> NotifyPerson:
    row = session.scalar(select(NotifyPerson).where(NotifyPerson.name == p.name))
    if row is None:
        row = NotifyPerson(name=p.name)
        session.add(row)
    row.display_name, row.phone, row.email = p.display_name, p.phone, p.email
    row.channels = list(p.channels)
    session.flush()
    return row


def replace_all(session: Session, people: Sequence[Person], shifts: Sequence[Shift]) -> None:
    """The imported roster replaces every line (people are kept and updated): importing
    the same file twice gives the same roster."""
    ids = {p.name: upsert_person(session, p).id for p in people}
    session.execute(delete(RosterShift))
    for s in shifts:
        if s.person not in ids:
            ids[s.person] = upsert_person(session, Person(s.person, s.person, "", "", ())).id
        session.add(RosterShift(weekday=s.weekday, on_date=s.on_date, start=s.start,
                                end=s.end, role=s.role, person_id=ids[s.person]))
    session.flush()


def add_shift(session: Session, s: Shift) -> None:
    person = session.scalar(select(NotifyPerson).where(NotifyPerson.name == s.person))
    if person is None:
        raise RosterError(f"no person named {s.person!r} in the roster; add them first")
    session.add(RosterShift(weekday=s.weekday, on_date=s.on_date, start=s.start, end=s.end,
                            role=s.role, person_id=person.id))
    session.flush()


def remove_shift(session: Session, shift_id: int) -> bool:
    return bool(session.execute(delete(RosterShift).where(RosterShift.id == shift_id))
                .rowcount)  # type: ignore[attr-defined]
