"""Source definitions: validation, loading from YAML, add/list/remove. Domain code flushes;
the caller (CLI command, task) commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from monitor.models import Item, Source
from monitor.settings_schema import PollSection
from monitor.social.registry import validate_config
from monitor.yamlfile import read_yaml

KINDS = ("news", "government", "weibo", "wechat", "board")


@dataclass(frozen=True)
class IntervalRules:
    """How often a source may be polled: `default_s` when a definition gives no interval,
    never more often than `min_s` (settings poll.default_interval, poll.min_interval)."""

    default_s: int
    min_s: int

    @classmethod
    def from_section(cls, poll: PollSection) -> IntervalRules:
        return cls(default_s=poll.default_interval, min_s=poll.min_interval)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    url: str
    interval_s: int
    kind: str = "news"
    allow_private: bool = False
    # Kind-specific settings (a JSON API's field mapping, see monitor.social). None means
    # "not given": an update from `sources add` or the API keeps what the source has.
    config: Mapping[str, Any] | None = field(default=None, hash=False, compare=True)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def validate_spec(raw: Mapping[str, Any], rules: IntervalRules,
                  where: str = "source") -> SourceSpec:
    """A SourceSpec from a mapping, or InputError saying exactly what is wrong."""
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: expected a mapping with name and url")
    unknown = set(raw) - {"name", "url", "kind", "interval", "allow_private", "path",
                          "config"}
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = str(raw.get("name") or "").strip()
    url = str(raw.get("url") or "").strip()
    if not name:
        raise InputError(f"{where}: 'name' is required")
    if len(name) > 200:
        raise InputError(f"{where}: name is longer than 200 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{where} {name!r}: url must be an http(s) URL with a host, got {url!r}"
        )
    kind = str(raw.get("kind") or "news")
    if kind not in KINDS:
        raise InputError(f"{where} {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        interval = int(raw.get("interval") or rules.default_s)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where} {name!r}: interval must be whole seconds") from exc
    floor = max(rules.min_s, 1)  # poll.min_interval may be 0; an interval may not
    if interval < floor:
        raise InputError(f"{where} {name!r}: interval must be at least {floor} s")
    allow_private = raw.get("allow_private", False)
    if not isinstance(allow_private, bool):
        raise InputError(f"{where} {name!r}: allow_private must be true or false")
    config = None
    if raw.get("config") is not None:
        config = validate_config(raw["config"], where=f"{where} {name!r}: config")
    return SourceSpec(name=name, url=url, kind=kind, interval_s=interval,
                      allow_private=allow_private, config=config)


def load_specs(path: Path, rules: IntervalRules, *,
               base_url: str | None = None) -> list[SourceSpec]:
    """Source specs from a YAML file with a top-level `sources:` list.

    Entries may give `path` instead of `url` (the bundled demo feeds); it is joined to
    `base_url`, the address of the server that serves them.
    """
    data = read_yaml(path, InputError)
    entries = data.get("sources") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise InputError(f"{path}: expected a top-level 'sources:' list")
    specs = []
    for n, entry in enumerate(entries, 1):
        if isinstance(entry, Mapping) and "path" in entry and "url" not in entry:
            if not base_url:
                raise InputError(f"{path} source #{n}: 'path' needs a base URL to serve it")
            entry = {**entry, "url": base_url.rstrip("/") + "/" + str(entry["path"]).lstrip("/")}
        specs.append(validate_spec(entry, rules, where=f"{path} source #{n}"))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path}: duplicate source name(s) {', '.join(dupes)}")
    return specs


def upsert_source(session: Session, spec: SourceSpec, now: datetime) -> tuple[Source, bool]:
    """Create the source, or update the one with the same name. Poller state is kept, so
    re-running `yuqing init` never resets health or validators."""
    source = session.scalars(select(Source).where(Source.name == spec.name)).one_or_none()
    created = source is None
    if source is None:
        source = Source(name=spec.name, url=spec.url, created_at=now, failure_count=0,
                        items_seen=0)
        session.add(source)
    if source.url != spec.url:
        # A new address is a new conversation with a server: old validators don't apply.
        source.etag = None
        source.last_modified = None
    source.url = spec.url
    source.host = host_of(spec.url)
    source.kind = spec.kind
    source.interval_s = spec.interval_s
    source.allow_private = spec.allow_private
    if spec.config is not None:
        source.config = dict(spec.config)
    elif created:
        source.config = {}
    session.flush()
    return source, created


def find_source(session: Session, ident: str) -> Source:
    """A source by id or by exact name; InputError when there is none."""
    source = None
    if ident.isdigit():
        source = session.get(Source, int(ident))
    if source is None:
        source = session.scalars(select(Source).where(Source.name == ident)).one_or_none()
    if source is None:
        raise InputError(f"no source with id or name {ident!r} (see `yuqing sources list`)")
    return source


def remove_source(session: Session, ident: str, *, purge: bool) -> tuple[str, int]:
    """Delete a source. Refuses when it still has items unless `purge` (items and their alerts
    go with it): stored material is never lost by accident."""
    source = find_source(session, ident)
    count = session.scalar(select(func.count()).select_from(Item).where(
        Item.source_id == source.id)) or 0
    if count and not purge:
        raise InputError(
            f"source {source.name!r} has {count} stored items; pass --purge to delete them too"
        )
    name = source.name
    session.delete(source)
    session.flush()
    return name, count


def list_sources(session: Session) -> Sequence[Source]:
    return session.scalars(select(Source).order_by(Source.id)).all()


def item_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(Item.source_id, func.count()).group_by(Item.source_id))
    return {int(sid): int(n) for sid, n in rows}
