"""本单位已发声: the office's own posts in an alert's event (monitor.office says which), and
recording one in the output log with one click. Recording publishes nothing: the post is out
already; the log gains the row the office counts from (channel, time, link, title), linked to
the alert. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from monitor.db import insert_ignore
from monitor.errors import InputError, NotFound
from monitor.event_store import seen_at
from monitor.models import Item
from monitor.office import OwnVoice
from responders.auth import Principal
from responders.desk import audit, get_alert
from responders.models import Alert, Output, Publication
from responders.workflow import ANYONE, RoleForbidden, StateConflict, WorkflowError, decide

# The output log's channel (responders.models.CHANNELS) of an own post, by its source's kind.
CHANNEL_BY_KIND = {"weibo": "政务微博", "wechat": "微信公众号", "government": "门户网站",
                   "news": "门户网站", "board": "留言板回复"}
DEFAULT_CHANNEL = "门户网站"


@dataclass(frozen=True)
class OwnPost:
    item_id: int
    channel: str
    at: datetime  # when it was out (its publication time, else when it was fetched)
    link: str | None
    title: str
    source: str
    # Who spoke: the own source's name, or the own author found by someone else's source
    # (the screen name 河南司法 in a keyword search).
    account: str
    output_id: int | None  # the output-log entry recording it, once recorded


def channel_for(kind: str) -> str:
    return CHANNEL_BY_KIND.get(kind, DEFAULT_CHANNEL)


def _title(item: Item) -> str:
    return (item.title or item.text[:60]).strip()


def own_posts(session: Session, items: Sequence[Item], own: OwnVoice) -> list[OwnPost]:
    """The office's own posts among `items` (an event's, with their sources), oldest first."""
    mine = [i for i in items if own.is_own(i.source.name, i.author)]
    if not mine:
        return []
    recorded = {int(item_id): int(output_id) for item_id, output_id in session.execute(
        select(Output.own_item_id, Output.id).where(
            Output.own_item_id.in_([i.id for i in mine]))) if item_id is not None}
    posts = [OwnPost(item_id=i.id, channel=channel_for(i.source.kind), at=seen_at(i),
                     link=i.link, title=_title(i), source=i.source.name,
                     account=(i.source.name if own.own_source(i.source.name)
                              else i.author or i.source.name),
                     output_id=recorded.get(i.id)) for i in mine]
    return sorted(posts, key=lambda p: (p.at, p.item_id))


def event_items(session: Session, alert: Alert) -> list[Item]:
    """The items of the alert's event (the alert's own item when it has no event)."""
    if alert.item.event_id is None:
        return [alert.item]
    return list(session.scalars(select(Item).options(joinedload(Item.source))
                                .where(Item.event_id == alert.item.event_id)))


def record_own_post(session: Session, who: Principal, alert_id: int, item_id: int,
                    now: datetime, own: OwnVoice) -> Output:
    """Record the own post `item_id` of the alert's event in the output log: an output
    (回应, published) linked to the alert, with one publication (the post's channel, time
    and link), and an audit entry. A second click finds it recorded and changes nothing;
    two at once are kept apart by the unique own_item_id. Like a publication, it answers
    the alert (responded) when the alert is still open."""
    if who.role not in ANYONE:
        raise RoleForbidden(f"role {who.role!r} may not record outputs")
    alert = get_alert(session, alert_id)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    same_event = item.id == alert.item_id or (
        item.event_id is not None and item.event_id == alert.item.event_id)
    if not same_event:
        raise InputError(f"第 {item_id} 条不属于预警 #{alert_id} 的事件")
    if not own.is_own(item.source.name, item.author):
        raise InputError(f"第 {item_id} 条不是本单位的发布（来源 {item.source.name}），"
                         "不能记入发布台账")
    existing = session.scalar(select(Output).where(Output.own_item_id == item.id))
    if existing is not None:
        return existing
    output_id = session.execute(
        insert_ignore(session, Output.__table__).returning(Output.__table__.c.id),
        {"alert_id": alert.id, "kind": "回应", "topic": None, "title": _title(item),
         "body": item.text, "state": "published", "cited_policy_ids": [],
         "author_id": None, "approver_id": None, "review_comment": None,
         "created_at": now, "updated_at": now, "own_item_id": item.id},
    ).scalar_one_or_none()
    if output_id is None:  # the other click won the race: its row stands
        return session.scalars(select(Output).where(Output.own_item_id == item.id)).one()
    channel = channel_for(item.source.kind)
    session.add(Publication(output_id=int(output_id), channel=channel, link=item.link,
                            published_at=seen_at(item), recorded_by=who.actor,
                            recorded_at=now))
    audit(session, who, now, entity="output", entity_id=int(output_id), alert_id=alert.id,
          action="record_own", to_state="published",
          detail={"item_id": item.id, "channels": [channel]})
    _answer(session, who, alert, int(output_id), now)
    session.flush()
    output = session.get(Output, int(output_id))
    if output is None:  # inserted above in this transaction
        raise NotFound(f"no output {output_id}")
    return output


def _answer(session: Session, who: Principal, alert: Alert, output_id: int,
            now: datetime) -> None:
    """The alert is answered once something about it is out — as publishing an output does
    (responders.desk.publish_output)."""
    if alert.state == "responded":
        return
    try:
        target = decide("alert", "respond", alert.state, "admin")
    except WorkflowError:
        return  # dismissed meanwhile: the output log still has the row
    before = alert.state
    # State-checked, as every desk change: a racing dismiss makes this a conflict (409) and
    # the whole request, the log entry included, rolls back.
    done = session.execute(update(Alert).where(Alert.id == alert.id, Alert.state == before)
                           .values(state=target, state_changed_at=now)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise StateConflict(f"alert {alert.id} changed meanwhile; reload and try again")
    session.refresh(alert)
    audit(session, who, now, entity="alert", entity_id=alert.id, alert_id=alert.id,
          action="respond", from_state=before, to_state=target,
          detail={"output_id": output_id})
