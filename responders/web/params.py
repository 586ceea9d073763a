"""Numbers from the request, bounded where they enter (issue 14: each bad one a 4xx with a
sentence, never a 500 from the database).

An id is a positive 64-bit integer — what the id columns hold; anything larger overflowed
in the driver (SQLite) or the server (PostgreSQL). A year is 1…9999, what a date holds. Page
parameters come as text, and `str.isdigit()` is no check: it is true for "²" and "٣", which
int() refuses or reads as another number. Only ASCII digits are a number here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

from monitor.errors import InputError

MAX_ID = 2**63 - 1
MAX_YEAR = 9999
MAX_LIMIT = 1000

# For the API's handlers: FastAPI checks these and answers 422 with a sentence
# (responders.web.app turns its validation errors into {"error": "…"}).
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive 64-bit id")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
QueryYear = Annotated[int | None, Query(ge=1, le=MAX_YEAR)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _number(text: str, what: str, high: int) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)) or \
            not 1 <= int(value) <= high:
        raise InputError(f"{what} must be a whole number from 1 to {high}, not {text[:40]!r}")
    return int(value)


def page_id(text: str | None, what: str) -> int | None:
    """An optional id from a query string or form ("" or absent: none)."""
    if text is None or not text.strip():
        return None
    return _number(text, what, MAX_ID)


def page_ids(values: list[str], what: str) -> list[int]:
    return [_number(v, what, MAX_ID) for v in values if v.strip()]


def page_year(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    return _number(text, "year", MAX_YEAR)


def _no_nul_or_surrogate(value: str) -> str:
    # PostgreSQL stores no NUL in text, and a lone surrogate ("\\ud800" in JSON) is no
    # character UTF-8 can carry: refused with the reason rather than failing at the database.
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains a lone surrogate, which is not text")
    return value


Text = Annotated[str, AfterValidator(_no_nul_or_surrogate)]
