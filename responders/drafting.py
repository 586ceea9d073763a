"""Drafts start from a template (config/templates/<kind>/<topic>.txt, else default.txt)
filled with the facts of the alert. `render_draft` is pure; `create_draft` reads the alert,
its cited policies and the template, and records the draft through responders.desk (flushes,
never commits: the web request that asked for it does).

Templates use `$name` placeholders (string.Template): a brace in Chinese text or a
placeholder the template does not know never breaks a draft (safe_substitute). What the
officer must write is marked 【待填写：…】 in the template; a draft with one left is refused at
submit and approve (responders.desk, draft_text.unfilled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import ConfigError, InputError
from monitor.models import Item, Source
from responders import desk
from responders.auth import Principal
from responders.draft_text import public_source, story_title
from responders.models import OUTPUT_KINDS, Alert, Output, Policy
from responders.policies import citation

KIND_DIRS = {"回应": "response", "政策解读": "interpretation"}


@dataclass(frozen=True)
class AlertFacts:
    title: str
    source: str
    published_at: datetime | None
    topics: Sequence[str]        # topic ids
    topic_names: Sequence[str]   # for people
    reasons: Sequence[str]
    link: str | None


def template_path(templates_dir: Path, kind: str, topic: str | None) -> Path:
    try:
        folder = templates_dir / KIND_DIRS[kind]
    except KeyError as exc:
        raise ConfigError(f"no templates for kind {kind!r}") from exc
    if topic:
        specific = folder / f"{topic}.txt"
        if specific.is_file():
            return specific
    default = folder / "default.txt"
    if not default.is_file():
        raise ConfigError(f"missing template {default}")
    return default


def render_draft(template_text: str, facts: AlertFacts, *, now: datetime, tz: str,
                 office: str, citations: Sequence[str]) -> tuple[str, str]:
    """(title, body). The template's first line is the title."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    values: Mapping[str, str] = {
        "alert_title": facts.title,
        "source": facts.source,
        "published": facts.published_at.astimezone(zone).strftime("%Y年%m月%d日")
        if facts.published_at else "近日",
        "topic": "、".join(facts.topic_names) or "相关工作",
        "reasons": "；".join(facts.reasons),
        "link": facts.link or "",
        "date": f"{local.year}年{local.month}月{local.day}日",
        "office": office,
        "policies": "、".join(citations) if citations else "有关法律法规和政策规定",
    }
    text = Template(template_text).safe_substitute(values).strip()
    title, _, body = text.partition("\n")
    return title.strip(), body.strip()


@dataclass(frozen=True)
class DraftSettings:
    """What a draft needs from the desk's settings."""

    templates_dir: Path
    tz: str
    office: str
    topic_names: Mapping[str, str]  # topic id → name; the admins' edits show at once


def alert_facts(alert: Alert, topic_names: Mapping[str, str],
                titles: Sequence[str] = ()) -> AlertFacts:
    """The facts a template fills in, as the public reads them: the matter's title
    (draft_text.story_title, from the alert's post and `titles`, the other reports of its
    story) and where it was published (draft_text.public_source), never yuqing's own names."""
    item, source = alert.item, alert.item.source
    return AlertFacts(title=story_title(item.title or "", item.text, titles),
                      source=public_source(source.name, source.kind, source.host,
                                           source.config),
                      published_at=item.published_at, topics=list(alert.topics),
                      topic_names=[topic_names.get(t, t) for t in alert.topics],
                      reasons=list(alert.reasons), link=item.link)


# Whose titles name the matter best: the press's, then WeChat articles', then the rest (a
# board message's or a bridge's title is the writer's words); a government portal's last,
# since that is mostly the office's own answer, not the matter.
_TITLE_RANK = {"news": 0, "wechat": 1, "government": 3}


def story_titles(session: Session, alert: Alert) -> list[str]:
    """The titles of the other posts of the alert's story, best namers first (_TITLE_RANK),
    earliest first among equals."""
    if alert.item.event_id is None:
        return []
    rows = session.execute(
        select(Item.title, Source.kind).join(Source, Source.id == Item.source_id)
        .where(Item.event_id == alert.item.event_id, Item.id != alert.item_id)
        .order_by(Item.published_at, Item.id)).all()
    return [t for t, kind in sorted(rows, key=lambda r: _TITLE_RANK.get(r[1], 2)) if t]


def create_draft(session: Session, who: Principal, alert_id: int, kind: str,
                 cited: Sequence[int], drafting: DraftSettings, now: datetime, *,
                 title: str | None = None, body: str | None = None) -> Output:
    """A draft from the template for its kind and the alert's first topic, unless `body` is
    given (the API may send its own text). Shared by the desk's page and its API."""
    if kind not in OUTPUT_KINDS:
        raise InputError(f"kind must be one of {', '.join(OUTPUT_KINDS)}")
    alert = desk.get_alert(session, alert_id)
    policies = [p for p in (session.get(Policy, i) for i in cited) if p is not None]
    topic = alert.topics[0] if alert.topics else None
    if body is None:
        template = template_path(drafting.templates_dir, kind, topic).read_text(
            encoding="utf-8")
        facts = alert_facts(alert, drafting.topic_names, story_titles(session, alert))
        t_title, t_body = render_draft(template, facts,
                                       now=now, tz=drafting.tz, office=drafting.office,
                                       citations=[citation(p) for p in policies])
        title, body = title or t_title, t_body
    return desk.start_draft(session, who, alert.id, desk.DraftInput(
        kind=kind, title=title or "", body=body, topic=topic,
        cited_policy_ids=[p.id for p in policies]), now)
