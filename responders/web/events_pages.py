"""The events pages: `/events` (the list: period, size, priority, a search word; newest
activity first, paginated in SQL) and `/events/{id}` (one event: its timeline by
publication time with author, source and reach, an hourly chart, its sources, the office's
own posts and the outputs on it, and 回应效果 when there was a response)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from monitor.errors import InputError, NotFound
from monitor.models import Event, Item, Source
from monitor.office import OwnVoice
from responders import voice as voice_ops
from responders.effect import load_effect
from responders.event_heads import event_heads
from responders.models import Alert, Output
from responders.queue import PRIORITY_ORDER
from responders.search import search
from responders.tone import item_tone
from responders.web.charts import event_buckets, volume_sentiment_svg
from responders.web.deps import DB, PageReader, desk
from responders.web.effect_chart import effect_svg
from responders.web.i18n import translate
from responders.web.params import PathId, page_id
from responders.web.rendering import render, request_lang
from responders.web.sentiment_review_views import review_context
from responders.web.unit_of_work import DeskRoute

router = APIRouter(include_in_schema=False, route_class=DeskRoute)

PAGE_SIZE = 50
PERIODS = (1, 7, 30, 90)
TIMELINE_MAX = 500  # posts shown on an event page (the chart counts them all)
# Posts drawn with a review form (情感判断有误) at a time: a form is three buttons and a
# token, and 500 of them made the page heavy to load and to scan; ?forms=N moves the window.
REVIEW_FORMS = 50


def _days(text: str | None) -> int:
    value = page_id(text, "days") or 7
    if value not in PERIODS:
        raise InputError(f"days must be one of {', '.join(map(str, PERIODS))}, not {value}")
    return value


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, me: PageReader, session: DB) -> Response:
    qp = request.query_params
    now = desk(request).now()
    days = _days(qp.get("days"))
    min_items = page_id(qp.get("min"), "min") or 1
    priority = (qp.get("priority") or "").strip() or None
    if priority and priority not in PRIORITY_ORDER:
        raise InputError(f"priority must be one of {', '.join(PRIORITY_ORDER)}")
    page = page_id(qp.get("page"), "page") or 1
    word = (qp.get("q") or "").strip()
    q = (select(Event).where(Event.merged_into.is_(None),
                             Event.last_seen_at >= now - timedelta(days=days),
                             Event.item_count >= min_items)
         .options(joinedload(Event.first_item))
         .order_by(Event.last_seen_at.desc(), Event.id.desc()))
    if priority:
        q = q.where(Event.priority == priority)
    if word:
        found = [e.event.id for e in search(session, word, limit=300, event_limit=500).events]
        q = q.where(Event.id.in_(found))
    rows = list(session.scalars(q.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    base = [(k, v) for k, v in (("days", str(days)), ("min", str(min_items) if min_items > 1
                                                       else None),
                                ("priority", priority), ("q", word or None)) if v]
    return render(request, "events.html", {
        "events": rows[:PAGE_SIZE], "heads": event_heads(session, rows[:PAGE_SIZE]),
        "periods": PERIODS, "days": days, "min_items": min_items,
        "priority": priority, "word": word, "page": page, "priorities": PRIORITY_ORDER,
        "prev_query": urlencode([*base, ("page", str(page - 1))]) if page > 1 else None,
        "next_query": urlencode([*base, ("page", str(page + 1))])
        if len(rows) > PAGE_SIZE else None,
    })


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(event_id: PathId, request: Request, me: PageReader, session: DB) -> Response:
    ctx = desk(request)
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    if event.merged_into is not None:
        # A merged event lives on in the one it joined.
        target = session.get(Event, event.merged_into)
        if target is not None:
            event = target
    members = list(session.scalars(
        select(Item).where(Item.event_id == event.id).options(joinedload(Item.source))))
    members.sort(key=lambda i: (i.published_at or i.fetched_at, i.id))
    lang = request_lang(request)
    labels = {k: translate(lang, k) for k in ("negative", "neutral", "positive", "mean")}
    chart = None
    if members:
        buckets = event_buckets([(i.published_at or i.fetched_at, i.sentiment_label,
                                  item_tone(i)) for i in members],
                                tz=ctx.settings.timezone)
        chart = volume_sentiment_svg(buckets.starts, buckets.by_label, buckets.mean_score,
                                     title=translate(lang, "ev_chart"), labels=labels,
                                     ticks=buckets.ticks)
    own = OwnVoice.from_section(ctx.settings.office_voice)
    posts = voice_ops.own_posts(session, members, own)
    ids = [i.id for i in members]
    alerts = list(session.scalars(select(Alert).where(Alert.item_id.in_(ids))
                                  .order_by(Alert.id))) if ids else []
    outputs = list(session.scalars(select(Output).where(
        Output.alert_id.in_([a.id for a in alerts])).order_by(Output.id))) if alerts else []
    effect = load_effect(session, event.id, own, hours=ctx.settings.office_voice.effect_hours,
                         now=ctx.now())
    effect_chart = None
    if effect is not None:
        effect_chart = effect_svg(effect, title=translate(lang, "effect_chart_title"),
                                  before=translate(lang, "effect_before"),
                                  after=translate(lang, "effect_after"))
    by_source: dict[int, tuple[Source, int]] = {}
    for i in members:
        seen = by_source.get(i.source_id)
        by_source[i.source_id] = (i.source, (seen[1] if seen else 0) + 1)
    head = _headline_item(members, alerts, {p.item_id for p in posts}) or event.first_item
    timeline = members[:TIMELINE_MAX]
    form_pages = max(1, -(-len(timeline) // REVIEW_FORMS))
    forms = min(page_id(request.query_params.get("forms"), "forms") or 1, form_pages)
    return render(request, "event.html", {
        "event": event, "title": (head.title or head.text[:40]) if head else "",
        "timeline": timeline, "more": max(0, len(members) - TIMELINE_MAX),
        # the review forms' window: posts forms_from .. forms_to (0-based, end excluded)
        "forms": forms, "form_pages": form_pages, "forms_from": (forms - 1) * REVIEW_FORMS,
        "forms_to": forms * REVIEW_FORMS, "forms_per": REVIEW_FORMS,
        "chart": chart, "sources_used": sorted(by_source.values(), key=lambda p: -p[1]),
        "own_ids": {p.item_id for p in posts}, "own_posts": posts, "alerts": alerts,
        "outputs": outputs, "effect": effect, "effect_chart": effect_chart,
        # issue 19: the officers' verdicts beside the model's labels (_sentiment_review.html)
        **review_context(session, me, timeline),
    })


def _headline_item(members: list[Item], alerts: list[Alert], own: set[int]) -> Item | None:
    """The post an event page is headed by: its alert's (the story's strongest post), else
    the earliest post that is not the office's own. The event's first item is only the one
    analysed first — with several workers often the office's own 情况通报, which is the
    answer to the story, not the story."""
    by_id = {i.id: i for i in members}
    for alert in alerts:
        if alert.item_id in by_id:
            return by_id[alert.item_id]
    return next((i for i in members if i.id not in own), None)
