"""The policy library: import documents from files, and suggest the most relevant ones for
an alert with BM25 over Chinese character bigrams.

Why bigrams rather than a word segmenter: policy language is dense with compounds
(强制隔离戒毒, 法律援助) that a general dictionary splits inconsistently, bigrams need no
dictionary to load or ship, and for ranking a few hundred documents they work as well.

File format (UTF-8 .md or .txt): a YAML header between two `---` lines, then the text:

    ---
    title: 河南省司法厅关于……的通知
    doc_number: 豫司〔2019〕12号
    issuer: 河南省司法厅
    date: 2019-03-01
    topics: [drug_rehab]
    ---
    正文……
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from monitor.yamlfile import parse_yaml
from responders.draft_text import book_title
from responders.models import Policy

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Overlapping CJK character bigrams (a lone character stands for itself) plus ASCII
    words, lower-cased."""
    out: list[str] = []
    for run in _CJK.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    out.extend(_WORD.findall(text.lower()))
    return out


@dataclass(frozen=True)
class PolicyDoc:
    doc_number: str
    title: str
    issuer: str
    issued_on: date | None
    text: str
    topics: tuple[str, ...] = ()
    source_file: str | None = None


def parse_policy(raw: str, where: str) -> PolicyDoc:
    """A PolicyDoc from one file's text; InputError naming the file when it is malformed."""
    text = raw.lstrip("\ufeff")
    if not text.startswith("---"):
        raise InputError(f"{where}: expected a YAML header between '---' lines")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise InputError(f"{where}: the YAML header is not closed with '---'")
    try:
        head = parse_yaml(parts[0][3:]) or {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2023-13-01
        raise InputError(f"{where}: bad header or date ({exc})") from exc
    if not isinstance(head, Mapping):
        raise InputError(f"{where}: the header must be a mapping")
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    missing = [k for k in ("title", "doc_number", "issuer") if not str(head.get(k) or "").strip()]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    issued = head.get("date")
    if isinstance(issued, str):
        try:
            issued = date.fromisoformat(issued)
        except ValueError as exc:
            raise InputError(f"{where}: date {issued!r} is not YYYY-MM-DD") from exc
    if issued is not None and not isinstance(issued, date):
        raise InputError(f"{where}: date must be YYYY-MM-DD")
    topics = head.get("topics") or []
    if not isinstance(topics, list):
        raise InputError(f"{where}: topics must be a list")
    return PolicyDoc(doc_number=str(head["doc_number"]).strip(), title=str(head["title"]).strip(),
                     issuer=str(head["issuer"]).strip(), issued_on=issued, text=body.strip(),
                     topics=tuple(str(t) for t in topics), source_file=where)


def read_policies(path: Path) -> list[PolicyDoc]:
    if path.is_dir():
        # A folder's README describes the library; it is not a document of it.
        files = sorted(p for p in path.iterdir()
                       if p.suffix in (".md", ".txt") and not p.name.upper().startswith("README"))
        if not files:
            raise InputError(f"{path}: no .md or .txt policy files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise InputError(f"{path}: no such file or folder")
    docs = []
    for f in files:
        try:
            raw = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{f}: cannot read as UTF-8 ({exc})") from exc
        docs.append(parse_policy(raw, f.name))
    return docs


def import_policies(session: Session, docs: Iterable[PolicyDoc], now: datetime) -> dict[str, int]:
    """Insert new documents, update changed ones (by 文号); a re-import changes nothing."""
    created = updated = unchanged = 0
    for doc in docs:
        row = session.scalar(select(Policy).where(Policy.doc_number == doc.doc_number))
        values = {"title": doc.title, "issuer": doc.issuer, "issued_on": doc.issued_on,
                  "text": doc.text, "topics": list(doc.topics), "source_file": doc.source_file}
        if row is None:
            session.add(Policy(doc_number=doc.doc_number, imported_at=now, **values))
            created += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.imported_at = now
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return {"created": created, "updated": updated, "unchanged": unchanged}


@dataclass
class BM25:
    """Okapi BM25 (k1=1.5, b=0.75). Build once over the library; `rank` is pure."""

    docs: Sequence[Sequence[str]]
    k1: float = 1.5
    b: float = 0.75
    _tf: list[Counter[str]] = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False)
    _avg: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tf = [Counter(d) for d in self.docs]
        n = len(self.docs)
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        # The "+1" form keeps idf positive for terms in most documents.
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._avg = (sum(len(d) for d in self.docs) / n) if n else 0.0

    def score(self, query: Sequence[str], index: int) -> float:
        tf = self._tf[index]
        length = len(self.docs[index])
        total = 0.0
        for term in set(query):
            f = tf.get(term, 0)
            if not f:
                continue
            norm = f + self.k1 * (1 - self.b + self.b * length / (self._avg or 1))
            total += self._idf.get(term, 0.0) * f * (self.k1 + 1) / norm
        return total

    def rank(self, query: Sequence[str], limit: int) -> list[tuple[int, float]]:
        scored = [(i, self.score(query, i)) for i in range(len(self.docs))]
        scored = [(i, s) for i, s in scored if s > 0]
        scored.sort(key=lambda p: (-p[1], p[0]))
        return scored[:limit]


def policy_tokens(title: str, text: str) -> list[str]:
    # The title says what the document is about; count it three times against the body.
    return tokens(title) * 3 + tokens(text)


def suggest(session: Session, query: str, *, topics: Sequence[str] = (), limit: int = 5,
            topic_boost: float = 2.0) -> list[tuple[Policy, float]]:
    """The library's best matches for `query` (an alert's title and text), best first.
    A document filed under one of the alert's topics gets `topic_boost` added."""
    rows = list(session.scalars(select(Policy).order_by(Policy.id)))
    if not rows:
        return []
    index = BM25([policy_tokens(p.title, p.text) for p in rows])
    q = tokens(query)
    wanted = set(topics)
    scored = []
    for i, p in enumerate(rows):
        s = index.score(q, i)
        if wanted & set(p.topics):
            s += topic_boost
        if s > 0:
            scored.append((p, s))
    scored.sort(key=lambda ps: (-ps[1], ps[0].id))
    return scored[:limit]


def citation(p: Policy) -> str:
    """How a document is cited in a draft: 《标题》（文号）, marks inside the title as 〈〉."""
    return f"{book_title(p.title)}（{p.doc_number}）"


def policy_dict(p: Policy) -> dict[str, Any]:
    return {"id": p.id, "doc_number": p.doc_number, "title": p.title, "issuer": p.issuer,
            "issued_on": p.issued_on.isoformat() if p.issued_on else None,
            "topics": list(p.topics), "citation": citation(p)}
