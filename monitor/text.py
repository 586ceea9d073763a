"""Plain-text helpers shared by parsing, dedup and scoring. Pure: no I/O, no clock.

Everything here is defensive on purpose: feed content is written by strangers, so these
functions accept any string and return a best effort instead of raising.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import cache, lru_cache
from html.parser import HTMLParser
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import zhconv
from feedparser.datetimes import _parse_date as feedparser_date
from zhconv.zhconv import getdict as zhconv_table

from monitor.errors import ConfigError

__all__ = ["DateReading", "content_hash", "normalize_text", "parse_datetime", "read_datetime",
           "strip_controls", "strip_html"]

# Elements whose *contents* are never text for a reader.
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
# Elements that end a line when they open or close; <br> is the common case in Chinese feeds.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_HSPACE = re.compile(r"[^\S\n]+")  # any whitespace except newline (includes NBSP, U+3000)
_TRAILING_TAG = re.compile(r"<[A-Za-z/!?][^<>]*\Z")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# An emoticon picture whose alt names it in brackets, as Weibo writes them: <img alt="[doge]">,
# <img alt="[允悲]">. The name carries sentiment, so it is kept as text; other alts are not.
_EMOTICON_ALT = re.compile(r"^\[[^\[\]\s<>]{1,12}\]$")
# Control characters no reader sees, lone surrogates (from JSON's "\ud800") and the two
# noncharacters: never text. NUL in particular cannot be stored in a PostgreSQL text column
# at all. Tab, newlines, form feed and the other whitespace controls are kept for the
# whitespace folding to turn into spaces and line breaks.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0  # depth inside script/style/…

    def _emoticon(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and not self._hidden:
            alt = dict(attrs).get("alt") or ""
            if _EMOTICON_ALT.match(alt.strip()):
                self.parts.append(alt.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._emoticon(tag, attrs)
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> must not open an invisible region that never closes.
        self._emoticon(tag, attrs)
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def strip_controls(text: str) -> str:
    """`text` without control characters, lone surrogates or noncharacters (whitespace
    controls stay). For fields that are kept as given rather than normalised: an author's
    name, a board's reply."""
    return _CONTROL.sub("", text)


def _fold_whitespace(text: str) -> str:
    """Runs of spaces become one space; lines are trimmed; blank lines disappear; control
    characters go (strip_controls)."""
    text = _ZERO_WIDTH.sub("", strip_controls(text.replace("\r\n", "\n").replace("\r", "\n")))
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def strip_html(html_text: str) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, whitespace folded.

    Block boundaries (<p>, <br>, <li>, …) become newlines so sentences from different
    paragraphs do not run together (that matters for Chinese, which has no spaces).
    """
    if not html_text:
        return ""
    if "<" not in html_text and "&" not in html_text:
        # No tag and no entity: the parser would hand the text back unchanged (the common
        # case, text that is already plain); only the whitespace folding is left to do.
        return _fold_whitespace(html_text)
    # A tag cut off at the end (truncated feed content) would otherwise come out as text.
    html_text = _TRAILING_TAG.sub("", html_text)
    collector = _TextCollector()
    try:
        collector.feed(html_text)
        collector.close()
        text = "".join(collector.parts)
    except Exception:  # noqa: BLE001 - HTMLParser on hostile input; fall back, never raise
        text = html.unescape(re.sub(r"<[^>]*>", " ", html_text))
    return _fold_whitespace(text)


# Full-width ASCII (U+FF01..U+FF5E) is folded to ASCII so "２０２６" matches "2026" and "ＡＢＣ"
# matches "ABC" — except the punctuation that is simply how Chinese is written, which
# stays full-width so the text still reads naturally: ！（），：；？～
_KEEP_FULLWIDTH = frozenset("！（），：；？～")


# One table for str.translate: U+FF01..U+FF5E is NFKC-folded to U+0021..U+007E (its ASCII
# counterpart, 0xFEE0 below) but for the kept punctuation, and U+3000 becomes a space. The
# same mapping as NFKC character by character, in C rather than a Python loop per character.
_FULLWIDTH_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)
                    if chr(c) not in _KEEP_FULLWIDTH}
_FULLWIDTH_TABLE[0x3000] = ord(" ")


_FOLDABLE = re.compile("[" + "".join(map(chr, sorted(_FULLWIDTH_TABLE))) + "]")


def _fold_fullwidth(text: str) -> str:
    return text.translate(_FULLWIDTH_TABLE)


def normalize_text(text: str, *, to_simplified: bool) -> str:
    """strip_html, fold full-width Latin/digits, fold whitespace, optionally 繁→简 (zh-cn)."""
    return _normalize(text, to_simplified)


# A pure function of its arguments, and one post's text is normalised several times in a
# process: the story vector and the near-duplicate sketch both start from the same item
# text. A small cache saves the repeats (zhconv is most of the cost); bounded, so memory is.
@lru_cache(maxsize=1024)
def _normalize(text: str, to_simplified: bool) -> str:
    stripped = plain = strip_html(text)  # whitespace already folded
    if _FOLDABLE.search(plain):  # str.translate looks up every character; most have none
        plain = _fold_fullwidth(plain)
    if to_simplified and plain:
        plain = _to_simplified(plain)
    # Folding is idempotent: only a text the two steps above changed needs folding again.
    return plain if plain is stripped else _fold_whitespace(plain)


@dataclass(frozen=True)
class _ZhCnChanges:
    """What must occur in a text for zhconv's zh-cn conversion to change it: one of the
    single characters it changes, or the last two characters ("tail") of one of the
    phrases it changes that holds none of those characters ("保障著" → "保障着")."""

    chars: frozenset[str]
    # Finds a changed character of the BMP or any character beyond it: every changed
    # character, and more (a character class with astral members is searched character by
    # character against a list; without them, against a bitmap in C).
    maybe_char: re.Pattern[str]
    tails: frozenset[str]
    # Finds, one character long, a tail's first character followed by a tail's second one:
    # where every tail starts, and more.
    maybe_tail: re.Pattern[str]


def _char_class(chars: set[str] | frozenset[str]) -> str:
    return "[" + "".join(map(re.escape, sorted(chars))) + "]"


@cache
def _zh_cn_changes() -> _ZhCnChanges:
    changed = [key for key, value in zhconv_table("zh-cn").items() if key != value]
    chars = frozenset(key for key in changed if len(key) == 1)
    tails = frozenset(key[-2:] for key in changed if chars.isdisjoint(key))
    maybe_char = _char_class({c for c in chars if c <= "\uffff"}) + "|[\U00010000-\U0010ffff]"
    maybe_tail = _char_class({t[0] for t in tails}) + "(?=" + _char_class({t[1] for t in tails}) \
        + ")"
    return _ZhCnChanges(chars, re.compile(maybe_char), tails, re.compile(maybe_tail))


def _to_simplified(text: str) -> str:
    """zhconv.convert(text, "zh-cn"), which costs tens of µs in Python per text, skipped when
    it would hand the text back unchanged. zhconv replaces, left to right, the longest key of
    its table that starts at each position; the output differs from the input only if some
    key whose value differs from it occurs in the text, and every such key holds a changed
    character or ends in a tail (_ZhCnChanges). Most simplified text has neither; the regex
    character classes rule most texts out in C before any pair is looked at."""
    changes = _zh_cn_changes()
    if (not changes.maybe_char.search(text) or changes.chars.isdisjoint(text)) and not any(
            text[at.start():at.start() + 2] in changes.tails
            for at in changes.maybe_tail.finditer(text)):
        return text
    result: str = zhconv.convert(text, "zh-cn")
    return result


def _canonical(text: str) -> str:
    norm = normalize_text(text, to_simplified=True)
    return "".join(norm.split()).lower()


def content_hash(title: str, text: str) -> str:
    """sha256 hex of the story's canonical form, stable across re-polls and re-formatting.

    Canonical = normalised (HTML stripped, full-width folded, simplified Chinese), every
    whitespace removed, Latin lower-cased. Title and text are hashed as separate fields so
    moving words between them is a different story.
    """
    canonical = _canonical(title) + "\x1f" + _canonical(text)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# "2026-11-20 09:30", "2026/11/20T09:30:15.5+08:00", "2026年11月20日 09时30分", "2026.11.20".
_NUMERIC_DATE = re.compile(
    r"""^(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?
        (?:\s*[T\s]?\s*(?P<h>\d{1,2})\s*[:时時点點]\s*(?P<mi>\d{1,2})
           (?:\s*[:分]\s*(?P<s>\d{1,2})(?:\.(?P<frac>\d+))?\s*秒?|\s*分)?)?
        \s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE | re.IGNORECASE,
)
# Zone abbreviations that are ambiguous in the wild: on Chinese sites "CST" is China
# Standard Time, while the email module reads it as US Central. Treat them as no zone.
# 12-hour clock markers, English and Chinese (上午 morning, 下午/晚上 afternoon/evening).
_MERIDIEM = re.compile(r"\s+(?:AM|PM)\b|上午|早上|凌晨|下午|傍晚|晚上", re.IGNORECASE)
_PM = frozenset({"PM", "下午", "傍晚", "晚上"})
_AMBIGUOUS_ZONE = re.compile(r"\s+(CST|BJT|Beijing Time)\s*$", re.IGNORECASE)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}") from exc


def _offset(text: str) -> tzinfo:
    if text.upper() in {"Z", "UTC", "GMT"}:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _from_numeric(match: re.Match[str], zone: tzinfo) -> datetime:
    g = match.groupdict()
    frac = (g["frac"] or "0")[:6].ljust(6, "0")
    day = date(int(g["y"]), int(g["mo"]), int(g["d"]))
    clock = time(int(g["h"] or 0), int(g["mi"] or 0), int(g["s"] or 0), int(frac))
    tz = _offset(g["tz"]) if g["tz"] else zone
    return datetime.combine(day, clock, tzinfo=tz)


# Zone names feedparser knows (its rfc822 table: US zones, MET/MEST, …) plus the East Asian
# ones Chinese sites use, as fixed offsets in hours. "CST" is not here: see _AMBIGUOUS_ZONE.
_ZONE_HOURS = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "adt": -3, "ast": -4, "at": -4, "edt": -4,
    "est": -5, "et": -5, "cdt": -5, "ct": -6, "mdt": -6, "mst": -7, "mt": -7, "pdt": -7,
    "pst": -8, "pt": -8, "met": 1, "mest": 2, "cet": 1, "cest": 2, "hkt": 8, "sgt": 8,
    "jst": 9, "kst": 9,
}  # fmt: skip
# A zone written after the time: a name above, "Etc/GMT", an IANA name, "GMT-01:01".
_ZONE_TAIL = re.compile(
    r"(?:\s+|(?<=\d))(?:(?P<name>[A-Za-z]{1,4})|(?P<etc>Etc/(?:GMT|UTC|UCT|Zulu))"
    r"|(?P<iana>[A-Z][A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)"
    r"|(?:GMT|UTC)(?P<off>[+-]\d{1,2}(?::?\d{2})?)|(?<=\s)(?P<colon>[+-]\d{2}:\d{2}))$")
# An offset that cannot be: letters in it ("+zz:00") or hours/minutes out of range.
_BAD_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*"
                         r"(?P<off>[+-][0-9A-Za-z]{1,2}:?[0-9A-Za-z]{0,2})$")
_OURS = re.compile(r"^\d{4}\s*[-/.年]")
_EPOCH = re.compile(r"^(?P<s>\d{9,10})(?:\.\d+)?$|^(?P<ms>\d{12,13})$")
# "Mon, 13 Feb, 2012 06:28:00": a stray comma after the month.
_STRAY_COMMA = re.compile(r"^([A-Za-z]{3,9},?\s*\d{1,2}\s+[A-Za-z]{3,9}),")
_HAS_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT)\b|\dZ)\s*(?:\d{4})?$",
                       re.IGNORECASE)


@dataclass(frozen=True)
class DateReading:
    """A date string read: the time, or None with the reason when it is not a guessable one
    (`problem` is None for text that simply is not a date)."""

    value: datetime | None
    problem: str | None = None


def _explicit_zone(match: re.Match[str]) -> tzinfo | None:
    if match.group("name"):
        hours = _ZONE_HOURS.get(match.group("name").lower())
        return None if hours is None else timezone(timedelta(hours=hours))
    if match.group("etc"):
        return UTC
    if match.group("iana"):
        try:
            return ZoneInfo(match.group("iana"))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return _offset(match.group("off") or match.group("colon"))


def _impossible_offset(text: str) -> str | None:
    match = _BAD_OFFSET.search(text)
    if not match:
        return None
    off = match.group("off")
    digits = off[1:].replace(":", "")
    if not digits.isdigit():
        return off
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if len(digits) in (1, 2) and len(off) <= 3:
        return off if hours > 14 else None
    return off if hours > 14 or minutes > 59 else None


def read_datetime(value: str | None, *, default_tz: str = "Asia/Shanghai") -> DateReading:
    """An aware datetime from the date formats feeds use, or None (with a problem when the
    text is a date whose time zone cannot be: "+zz:00", "+25:00" — an error, not a guess).

    A time without a zone is read in `default_tz` (Asia/Shanghai): Chinese feeds often omit
    the zone, and feedparser's own *_parsed would wrongly assume UTC, eight hours off. Zone
    names ("ET", "MEST", "Etc/GMT", "GMT-01:01", "Asia/Tokyo"), date-only forms and Unix
    timestamps in seconds or milliseconds are read too.
    """
    zone = _zone(default_tz)
    if value is None:
        return DateReading(None)
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > 100:
        return DateReading(None)
    epoch = _EPOCH.match(text)
    if epoch:
        seconds = int(epoch.group("s")) if epoch.group("s") else int(epoch.group("ms")) / 1000
        return DateReading(datetime.fromtimestamp(seconds, tz=UTC))
    text = _STRAY_COMMA.sub(r"\1", _AMBIGUOUS_ZONE.sub("", text))
    bad = _impossible_offset(text)
    named = _ZONE_TAIL.search(text)
    try:
        explicit = _explicit_zone(named) if named and not bad else None
    except ValueError:  # "GMT+25:00"
        bad = named.group(0).strip() if named else text
        explicit = None
    full = text
    if explicit is not None and named is not None:
        text = text[: named.start()].strip()
    if bad:
        return DateReading(None, f"impossible time zone {bad!r} in {value.strip()!r}")
    meridiem = _MERIDIEM.search(text)
    if meridiem:
        text = (text[: meridiem.start()] + " " + text[meridiem.end() :]).strip()
    parsed = _parse_24h(text, explicit or zone)
    if parsed is None and not _OURS.match(text):
        # Not a form we read and found impossible ("2026-02-30", which feedparser would
        # roll over into March): let feedparser's parsers try.
        parsed = _by_feedparser(text, full, explicit or zone)
    if parsed is None or meridiem is None:
        return DateReading(parsed)
    # 12-hour clock: "9:30 PM", "下午3:30". Only hours 1–12 make sense with a marker.
    is_pm = meridiem.group(0).strip().upper() in _PM
    if not 1 <= parsed.hour <= 12:
        return DateReading(None)
    if is_pm and parsed.hour < 12:
        return DateReading(parsed + timedelta(hours=12))
    if not is_pm and parsed.hour == 12:
        return DateReading(parsed - timedelta(hours=12))
    return DateReading(parsed)


def parse_datetime(value: str | None, *, default_tz: str = "Asia/Shanghai") -> datetime | None:
    """read_datetime's time alone: None for anything that is not a usable date."""
    return read_datetime(value, default_tz=default_tz).value


def _by_feedparser(text: str, full: str, zone: tzinfo) -> datetime | None:
    """feedparser's date parsers for the forms ours do not read ("Thu, 01 Jan 2004",
    "Sun Jan  4 16:29:06 2004", Perforce, Korean, Greek …). They answer in UTC and read a
    time without a zone as UTC: such a time is taken back as wall time in `zone` (the zone
    named after it, else the default). `full` is the text with its zone name, for the
    parsers that need one (Perforce)."""
    for candidate in dict.fromkeys((text, full)):
        try:
            struct = feedparser_date(candidate)
        except (ValueError, OverflowError, IndexError, TypeError):
            continue
        if struct is None:
            continue
        try:
            if candidate is full and full != text or _HAS_ZONE.search(candidate):
                return datetime.fromtimestamp(timegm(struct), tz=UTC)
            year, month, day, hour, minute, second = struct[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except (ValueError, OverflowError, OSError):
            return None
    return None


def _parse_24h(text: str, zone: tzinfo) -> datetime | None:
    try:
        match = _NUMERIC_DATE.match(text)
        if match:
            return _from_numeric(match, zone)
        if re.match(r"^\d{4}(-\d{2})?$", text):  # W3CDTF year or year-month
            year, _, month = text.partition("-")
            return datetime(int(year), int(month or 1), 1, tzinfo=zone)
        parsed: datetime | None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _from_rfc822(text)
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _from_rfc822(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None and text.endswith("-0000"):
        # RFC 2822 calls "-0000" "zone unknown", but generators (Python's own
        # email.utils.formatdate among them) write it for UTC times, so read it as UTC.
        return parsed.replace(tzinfo=UTC)
    return parsed
