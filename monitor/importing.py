"""Pushed posts: `yuqing import FILE` (JSONL or CSV) and the push API's batches. Validates
each post, reports errors per line/item, stores the good ones idempotently (a re-import
stores nothing twice). Flushes, never commits.

A source an import creates has the kind the caller asks for (`yuqing import --kind board`),
else "push". Its kind says how the analysis reads its posts (a board's are citizens'
messages, each an event of its own); what keeps it from being polled is its URL, `push:NAME`
(monitor.polling.PUSHED_URL_PREFIX), whatever the kind. Posts into a board source may carry
the board's fields (state, reply, reply_time, region …), kept in `extra` in the very shape
the board parser writes (monitor.social.board.message_extra).

Tokens: a push source has one; only its sha256 is stored (Source.ingest_token_hash), and it is
compared in constant time.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from monitor.ingest import answer_messages, store_entries
from monitor.models import Source
from monitor.polling import PUSHED_URL_PREFIX, keep_social_fields
from monitor.social import SocialEntry
from monitor.social.base import as_count
from monitor.social.board import message_extra
from monitor.sources import KINDS
from monitor.text import content_hash, normalize_text, parse_datetime, strip_controls

# A message board's own fields: accepted only for a source of kind board, where the analysis
# reads them (an unanswered message raises an alert of its own).
BOARD_FIELDS = ("state", "reply", "reply_time", "region", "domain", "reply_unit")
FIELDS = ("id", "text", "title", "author", "created_at", "url", "reposts", "comments",
          "likes", "repost_of", *BOARD_FIELDS)
PUSH_KIND = "push"  # the kind of a source created for pushed posts when none is asked for
MAX_BATCH = 1000
MAX_TEXT = 20_000
DEFAULT_SOURCE = "导入"
MAX_COUNT = 2**31 - 1  # the items' count columns are 32-bit integers (PostgreSQL INTEGER)
MAX_ID = 200  # characters of a post's id (items.external_id)
# Fields that identify or link: a control character in one is a broken post, not dirt to
# clean away (cleaning an id would file the post under another one).
_STRICT_FIELDS = ("id", "url", "repost_of")
_CONTROL_CHARS = frozenset(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)))


class BatchTooLarge(InputError):
    """A pushed batch over MAX_BATCH posts: the client must split it (HTTP 413)."""


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based line of the file, or 1-based position in a pushed batch
    error: str


@dataclass(frozen=True)
class ImportResult:
    imported: int
    duplicates: int
    errors: list[LineError] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    # Board messages stored unanswered that this import brought the reply to (their open
    # alerts are closed by the caller: responders.board_replies).
    answered_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates,
                "answered": len(self.answered_ids),
                "errors": [{"line": e.line, "error": e.error} for e in self.errors]}


def _board_extra(raw: Mapping[str, Any], *, to_simplified: bool) -> dict[str, Any]:
    """A board post's `extra`, or InputError naming the field that is not text or a date."""
    given: dict[str, str | None] = {}
    for name in BOARD_FIELDS:
        value = raw.get(name)
        if value in (None, ""):
            given[name] = None
        elif isinstance(value, str):
            given[name] = strip_controls(value).strip() or None
        else:
            raise InputError(f"'{name}' must be a string, got {value!r}")
    reply_at = None
    if given["reply_time"]:
        reply_at = parse_datetime(given["reply_time"])
        if reply_at is None:
            raise InputError(f"'reply_time' is not a date: {given['reply_time']!r}")
    return message_extra(region=given["region"], domain=given["domain"],
                         state=given["state"], reply=given["reply"], reply_at=reply_at,
                         reply_unit=given["reply_unit"], to_simplified=to_simplified)


def validate_post(raw: Any, *, board: bool = False, to_simplified: bool = True) -> SocialEntry:
    """One post as a SocialEntry, or InputError saying what is wrong with it. `board`: the
    post goes to a source of kind board, so it is a citizen's message and may carry the
    board's fields."""
    if not isinstance(raw, Mapping):
        raise InputError("expected a JSON object")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}")
    misplaced = [name for name in BOARD_FIELDS if raw.get(name) not in (None, "")]
    if misplaced and not board:
        # Kept elsewhere they would be read by nothing: say so rather than drop them.
        raise InputError(f"{', '.join(repr(n) for n in misplaced)} are message-board fields; "
                         "import into a source of kind board (--kind board)")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("'text' is required and must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise InputError(f"'text' is longer than {MAX_TEXT} characters")
    for name in _STRICT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and (bad := _bad_char(value)):
            raise InputError(f"'{name}' contains {bad}; remove it")
    counts = {name: _count(raw, name) for name in ("reposts", "comments", "likes")}
    published = None
    if raw.get("created_at") not in (None, ""):
        published = parse_datetime(str(raw["created_at"]))
        if published is None:
            raise InputError(f"'created_at' is not a date: {raw['created_at']!r}")
    url = str(raw.get("url") or "") or None
    if url and not url.startswith(("http://", "https://")):
        raise InputError(f"'url' must be an http(s) URL, got {url!r}")
    pid = str(raw["id"]).strip() if raw.get("id") not in (None, "") else None
    if pid is not None and len(pid) > MAX_ID:
        raise InputError(f"'id' is longer than {MAX_ID} characters")
    body = normalize_text(text, to_simplified=to_simplified)
    title = normalize_text(str(raw.get("title") or ""), to_simplified=to_simplified)
    return SocialEntry(
        entry_id=f"push:{pid}" if pid else f"push:sha256:{content_hash(title, body)}",
        title=title, text=body, link=url,
        author=strip_controls(str(raw.get("author") or "")).strip() or None,
        published_at=published,
        external_id=pid, reposts=counts["reposts"], comments=counts["comments"],
        likes=counts["likes"],
        repost_of=str(raw["repost_of"]) if raw.get("repost_of") not in (None, "") else None,
        extra=_board_extra(raw, to_simplified=to_simplified) if board else {},
    )


def _bad_char(value: str) -> str | None:
    """The first character that has no place in an id or a link, named, or None."""
    for ch in value:
        if ch in _CONTROL_CHARS or "\ud800" <= ch <= "\udfff":
            kind = "a lone surrogate" if ch >= "\ud800" else "a control character"
            return f"{kind} (U+{ord(ch):04X})"
    return None


def _count(raw: Mapping[str, Any], name: str) -> int | None:
    """An engagement count, or InputError in words: not a number, not finite (NaN, 1e999),
    or beyond what the column holds."""
    value = raw.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"'{name}' must be a finite number, got {value!r}")
    try:
        count = as_count(value)
    except (OverflowError, ValueError):  # "inf", "nan" as text
        count = None
    if count is None:
        raise InputError(f"'{name}' must be a number, got {str(value)[:40]!r}")
    if count > MAX_COUNT:
        raise InputError(f"'{name}' is larger than {MAX_COUNT}, got {str(value)[:40]}")
    return count


# What Excel writes for "CSV" on Chinese Windows: the ANSI code page 936 (GBK), of which
# GB18030 is the superset (every GBK file reads the same as GB18030).
LEGACY_CHINESE = "gb18030"
# A decode as GB18030 is believed only when most non-ASCII characters it yields are common
# Chinese: GB2312's level-1 hanzi (the 3,755 most used, over 99 % of running text) or
# Chinese and full-width punctuation. GB18030 maps most byte pairs to *something*, so a Big5
# or Shift-JIS file also "decodes" — into rare characters, kana and symbols, which this
# share tells apart (a Big5 news paragraph read as GB18030 scores about 0.4).
PLAUSIBLE_CJK_SHARE = 0.8
_PUNCTUATION = "\u2014\u2018\u2019\u201c\u201d\u2026\u00b7"


def _common_chinese(c: str) -> bool:
    if "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef" or c in _PUNCTUATION:
        return True
    try:
        code = c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7  # rows 16–55: level-1 hanzi


def _cjk_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 1.0
    return sum(1 for c in wide if _common_chinese(c)) / len(wide)


def _is_csv(path: Path, content: str | bytes) -> bool:
    head = content.lstrip()[:1]
    return path.suffix.lower() == ".csv" or (
        path.suffix.lower() not in (".jsonl", ".json", ".ndjson")
        and head not in ("{", b"{"))


def decode_file(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    """(text, encoding used). With `encoding` given, that one, strictly. Else UTF-8 (a BOM
    allowed); a CSV that is not UTF-8 is tried as GBK/GB18030 (Excel on Chinese Windows)
    and kept only when it reads as Chinese. An InputError says what to give instead."""
    import codecs

    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r} (try utf-8, gb18030, gbk or "
                             "big5)") from None
        try:
            return raw.decode("utf-8-sig" if name == "utf-8" else name), name
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path} is not {name} text: byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start} cannot be read as {name}; nothing was imported (give the "
                "file's own encoding with --encoding, e.g. gb18030 for Excel on Chinese "
                "Windows, utf-8 otherwise)") from exc
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _is_csv(path, raw):
        try:
            text = raw.decode(LEGACY_CHINESE)
        except UnicodeDecodeError:
            text = ""
        if text and _cjk_share(text) >= PLAUSIBLE_CJK_SHARE:
            return text, LEGACY_CHINESE
    raise InputError(
        f"{path} is not UTF-8 text (byte 0x{raw[utf8_error.start]:02x} at offset "
        f"{utf8_error.start})" + (", nor GBK/GB18030" if _is_csv(path, raw) else "") +
        "; nothing was imported: give its encoding with --encoding ENC (e.g. gb18030, big5)"
    ) from utf8_error


def read_posts(path: Path, encoding: str | None = None) -> list[tuple[int, Any]]:
    """(line number, raw post) from a JSONL or CSV file (by extension; else by content).
    A JSONL line that is not JSON comes back as an InputError in place of the post."""
    return read_posts_as(path, encoding)[0]


def read_posts_as(path: Path, encoding: str | None = None
                  ) -> tuple[list[tuple[int, Any]], str]:
    """read_posts, and the encoding the file was read in (decode_file)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    content, used = decode_file(path, raw, encoding)
    return _parse_posts(path, content), used


def _parse_posts(path: Path, content: str) -> list[tuple[int, Any]]:
    is_csv = path.suffix.lower() == ".csv" or (
        path.suffix.lower() not in (".jsonl", ".json", ".ndjson")
        and not content.lstrip().startswith("{"))
    out: list[tuple[int, Any]] = []
    if is_csv:
        reader = csv.DictReader(io.StringIO(content))
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise InputError(f"{path}: a CSV header with a 'text' column is required")
        for row in reader:
            clean = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
            extra = row.get(None)
            out.append((reader.line_num, InputError("more cells than header columns")
                        if extra else clean))
        return out
    for n, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, loads(line)))
        except InputError as exc:
            out.append((n, exc))
    return out


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str) -> Any:
    """JSON as the push paths accept it, or InputError in words: not JSON, NaN / Infinity /
    1e999 (no count or id is infinite), an integer beyond Python's 4,300-digit conversion
    limit, or nesting too deep for the parser (thousands of brackets)."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else \
            f"column {exc.colno}"
        raise InputError(f"not JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise InputError("not usable JSON: nested too deeply") from None
    except ValueError as exc:  # parse_float/parse_constant above, or a 4,300+ digit integer
        detail = str(exc)
        if "integer string conversion" in detail:
            detail = "a number has more digits than allowed"
        raise InputError(f"not usable JSON: {detail}") from None


def push_source(session: Session, name: str | None, now: datetime,
                kind: str | None = None) -> Source:
    """The source of this name, created on first use with `kind` (default "push").

    An existing source keeps its kind: asking for another one is an InputError, because
    changing it would change how its stored posts were read (a board's messages are events
    of their own). Whatever the kind, a created source is never polled: its URL is
    `push:NAME`, which the scheduler skips, and its interval 0."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = (name or DEFAULT_SOURCE).strip()
    source = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if source is None:
        source = Source(name=name, url=PUSHED_URL_PREFIX + name, kind=kind or PUSH_KIND,
                        host="", interval_s=0, allow_private=False, created_at=now,
                        failure_count=0, items_seen=0, config={})
        session.add(source)
        session.flush()
    elif kind is not None and source.kind != kind:
        raise InputError(f"source {name!r} exists with kind {source.kind!r}; an import keeps "
                         f"a source's kind, so --kind {kind} applies only to a new source "
                         "(leave --kind out, or import under another --source name)")
    return source


def store_posts(session: Session, source: Source, posts: Sequence[tuple[int, Any]],
                now: datetime, *, all_or_nothing: bool = False) -> ImportResult:
    """Validate and store posts. Bad posts are reported by line; the good ones are kept —
    or, with all_or_nothing (the push API), nothing is stored when any post is bad, so a
    client can fix its batch and resend it whole."""
    errors: list[LineError] = []
    entries: list[SocialEntry] = []
    board = source.kind == "board"
    for line, raw in posts:
        if isinstance(raw, InputError):
            errors.append(LineError(line, str(raw)))
            continue
        try:
            entries.append(validate_post(raw, board=board))
        except InputError as exc:
            errors.append(LineError(line, str(exc)))
    if errors and all_or_nothing:
        return ImportResult(0, 0, errors)
    new_ids = store_entries(session, source.id, entries, now)
    keep_social_fields(session, new_ids, entries)
    answered = answer_messages(session, source.id, entries) if board else []
    source.items_seen += len(new_ids)
    source.last_success_at = now
    session.flush()
    return ImportResult(len(new_ids), len(entries) - len(new_ids), errors, new_ids, answered)


def store_batch(session: Session, source: Source, batch: Any, now: datetime) -> ImportResult:
    """A pushed batch ({"posts": [...]} or a list), at most MAX_BATCH posts, all or nothing."""
    posts = batch.get("posts") if isinstance(batch, Mapping) else batch
    if not isinstance(posts, list):
        raise InputError("expected a JSON list of posts or {\"posts\": [...]}")
    if not posts:
        raise InputError("the batch is empty")
    if len(posts) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} posts, got {len(posts)}; "
                            "split it and send the parts")
    return store_posts(session, source, list(enumerate(posts, 1)), now, all_or_nothing=True)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(source: Source) -> str:
    """A fresh push token for the source; only its hash is kept. Shown once."""
    # "yqp_" tells it apart from a desk API token ("yq_…"), so the push API can say which
    # kind of token it was sent.
    token = "yqp_" + secrets.token_urlsafe(32)
    source.ingest_token_hash = _hash(token)
    return token


def check_token(source: Source | None, token: str | None) -> bool:
    if source is None or not token or not source.ingest_token_hash:
        return False
    return hmac.compare_digest(source.ingest_token_hash, _hash(token))


def source_for_token(session: Session, token: str | None) -> Source | None:
    """The source a push token belongs to, or None. The token alone names the source, so a
    client needs one secret, not a name and a secret; the lookup is by the token's sha256,
    which reveals nothing about other tokens, and check_token confirms in constant time."""
    if not token:
        return None
    source = session.scalars(
        select(Source).where(Source.ingest_token_hash == _hash(token))).one_or_none()
    return source if check_token(source, token) else None
