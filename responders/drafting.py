"""Drafts start from a template (config/templates/<kind>/<topic>.txt, else default.txt)
filled with the facts of the alert. Pure apart from reading the template file.

Templates use `$name` placeholders (string.Template): a brace in Chinese text or a
placeholder the template does not know never breaks a draft (safe_substitute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from monitor.errors import ConfigError

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
