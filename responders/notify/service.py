"""The database edges of notification (flush only, except `claim_next`, whose claim must be
seen by other processes before the send, as outbox.claim_next does it): plan an alert's
deliveries from the routing rules, escalate unacknowledged ones, claim and finish one
delivery. The drain (tasks/jobs.py) calls these between sends; no HTTP is done here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from monitor.models import Item
from monitor.settings import Settings
from responders import outbox
from responders.desk import audit
from responders.models import Alert, NotifyDelivery, NotifyPerson, User
from responders.notify import ack, escalation, roster, routing
from responders.notify.channels import (
    GROUP_KINDS,
    ChannelSpec,
    ChannelSpecError,
    Contact,
    Result,
    kind_of,
    parse,
)
from responders.notify.message import Notice

ACTOR = "notify"
# An alert is watched for escalation this long after its first message at most.
WATCH = timedelta(days=2)


@dataclass(frozen=True)
class Config:
    settings: Settings
    channels: Mapping[str, ChannelSpec]
    problems: Mapping[str, str]      # channel name → why it cannot be used
    key: bytes

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None, *,
                      need_key: bool = False) -> Config:
        """`need_key`: read (or make) the ack signing key even with no rules (the ack route:
        links sent before the rules were removed still work)."""
        specs: dict[str, ChannelSpec] = {}
        problems: dict[str, str] = {}
        for name, url in settings.notify.channels.items():
            try:
                specs[name] = parse(name, url, os.environ if env is None else env)
            except ChannelSpecError as exc:
                problems[name] = str(exc)
        # With no rules nothing is signed: no key file is made in YUQING_HOME for nothing.
        key = ack.key_from(settings.notify.ack_secret, str(settings.home)) \
            if settings.notify.rules or need_key else b""
        return cls(settings, specs, problems, key)

    @property
    def active(self) -> bool:
        return bool(self.settings.notify.rules)

    def alert_url(self, alert_id: int) -> str:
        base = self.settings.web.base_url.rstrip("/")
        return f"{base}/alerts/{alert_id}"

    def ack_url(self, token: str) -> str:
        return f"{self.settings.web.base_url.rstrip('/')}/ack/{token}" if token else ""


def _facts(alert: Alert) -> routing.AlertFacts:
    return routing.AlertFacts(alert.id, alert.item.event_id, alert.priority,
                              tuple(str(t) for t in alert.topics or ()),
                              alert.item.source.kind if alert.item.source else "")


def _people(session: Session, names: list[str]) -> dict[str, NotifyPerson]:
    if not names:
        return {}
    return {p.name: p for p in session.scalars(
        select(NotifyPerson).where(NotifyPerson.name.in_(names)))}


def _resolve(session: Session, wanted: tuple[str, ...], alert: Alert, now: datetime,
             shifts: list[roster.Shift], tz: str) -> list[str]:
    """Rule people → person names: a role of the roster at `now`, the assignee (an
    unassigned P1 goes to whoever is on duty), or a name."""
    out: list[str] = []
    for w in wanted:
        if w in roster.ROLES:
            names = roster.on_duty(now, shifts, tz, w)
        elif w == "assignee":
            user = session.get(User, alert.assignee_id) if alert.assignee_id else None
            if user is not None:
                names = [user.name]
            elif alert.priority == "P1":
                names = roster.on_duty(now, shifts, tz, "duty")
            else:
                names = []
        else:
            names = [w]
        out.extend(n for n in names if n not in out)
    return out


def _reaches(person: NotifyPerson, channel: str) -> bool:
    return not person.channels or channel in person.channels


def _add_rows(session: Session, cfg: Config, alert: Alert, *, step: int, rule: str,
              channels: tuple[str, ...], names: list[str], send_after: datetime,
              now: datetime) -> int:
    people = _people(session, names)
    urgent = alert.priority in cfg.settings.notify.ack_minutes
    lifetime = timedelta(hours=cfg.settings.notify.ack_link_hours)
    added = 0
    for ch in channels:
        spec = cfg.channels.get(ch)
        kind = spec.kind if spec else kind_of(cfg.settings.notify.channels.get(ch, ""))
        if kind in GROUP_KINDS:
            targets = [("", [p.phone for n in names if (p := people.get(n)) and p.phone
                             and _reaches(p, ch)])]
        else:
            targets = [(n, []) for n in names if (p := people.get(n)) is None
                       or _reaches(p, ch)]
        for person, mentions in targets:
            key = f"a{alert.id}:{alert.priority}:s{step}:{rule}:{ch}:{person}"
            if session.scalar(select(NotifyDelivery.id).where(NotifyDelivery.key == key)):
                continue  # planned already (a redelivered drain): one row
            token = ack.issue(session, cfg.key, alert.id, step=step, person=person,
                              now=now, lifetime=lifetime) if urgent else ""
            session.add(NotifyDelivery(
                key=key, alert_id=alert.id, event_id=alert.item.event_id,
                priority=alert.priority, step=step, rule=rule, channel=ch, person=person,
                mentions=mentions, ack_token=token, state="pending", attempts=0, detail="",
                created_at=now, send_after=send_after))
            added += 1
    session.flush()
    return added


def _load_alert(session: Session, alert_id: int) -> Alert | None:
    return session.scalar(select(Alert).options(
        joinedload(Alert.item).joinedload(Item.source)).where(Alert.id == alert_id))


def plan_alert(session: Session, cfg: Config, alert_id: int, now: datetime) -> int:
    """Write the deliveries the rules give for a new (or newly more urgent) alert; how many.
    Insert-or-skip by key: planning twice writes nothing new."""
    alert = _load_alert(session, alert_id)
    if alert is None or not cfg.active:
        return 0
    facts = _facts(alert)
    # Earlier messages of the same event (or alert), not this alert's own at this priority
    # (those are found by key): the cooldown's memory.
    same = (NotifyDelivery.event_id == facts.event_id) if facts.event_id is not None \
        else (NotifyDelivery.alert_id == alert.id)
    earlier = [routing.Sent(r.rule, r.priority, r.created_at) for r in session.scalars(
        select(NotifyDelivery).where(same, NotifyDelivery.step == 0))
        if not (r.alert_id == alert.id and r.priority == alert.priority)]
    tz = cfg.settings.timezone
    _, shifts = roster.load(session)
    targets = routing.route(facts, cfg.settings.notify.rules, now, tz, earlier=earlier,
                            cooldown=timedelta(minutes=cfg.settings.notify.cooldown_minutes))
    added = 0
    for t in targets:
        names = _resolve(session, t.people, alert, now, shifts, tz)
        if t.people and not names:
            # Shown in the history: the rule's people resolved to nobody (an empty roster
            # slot, an unassigned P2); group channels still get the message.
            audit(session, ACTOR, now, entity="alert", entity_id=alert.id, alert_id=alert.id,
                  action="notify_nobody", detail={"rule": t.rule, "people": list(t.people)})
        added += _add_rows(session, cfg, alert, step=0, rule=t.rule, channels=t.channels,
                           names=names, send_after=t.send_after, now=now)
        if t.send_after > now:
            audit(session, ACTOR, now, entity="alert", entity_id=alert.id, alert_id=alert.id,
                  action="notify_held", detail={"rule": t.rule,
                                                "until": t.send_after.isoformat()})
    return added


def escalate_due(session: Session, cfg: Config, now: datetime) -> int:
    """Write the next step for each watched alert nobody acknowledged in time (flush)."""
    n = cfg.settings.notify
    if not cfg.active or not n.chain:
        return 0
    alert_ids = list(session.scalars(select(NotifyDelivery.alert_id).where(
        NotifyDelivery.step == 0, NotifyDelivery.created_at > now - WATCH,
        NotifyDelivery.priority.in_(list(n.ack_minutes))).distinct()))
    if not alert_ids:
        return 0
    _, shifts = roster.load(session)
    written = 0
    for alert_id in alert_ids:
        alert = _load_alert(session, alert_id)
        if alert is None:
            continue
        # This priority's chain only: an alert that rose from P3 to P1 starts its P1 clock
        # at the P1 message, not at the P3 one hours before.
        rows = list(session.scalars(select(NotifyDelivery).where(
            NotifyDelivery.alert_id == alert_id, NotifyDelivery.priority == alert.priority)))
        decision = escalation.next_step(
            now, priority=alert.priority, state=alert.state,
            acked_at=ack.acknowledged_at(session, alert_id),
            rows=[escalation.StepRow(r.step, r.state, r.finished_at) for r in rows],
            chain=n.chain, ack_minutes=n.ack_minutes)
        if decision is None:
            continue
        names = roster.on_duty(now, shifts, cfg.settings.timezone, decision.role)
        people = _people(session, names)
        # Each person on their own channels; someone with none listed, on every channel
        # the first message used.
        first = tuple(dict.fromkeys(r.channel for r in rows if r.step == 0))
        channels = tuple(dict.fromkeys(
            c for name in names for c in (people[name].channels if name in people
                                          and people[name].channels else first)))
        added = 0
        if names and channels:
            added = _add_rows(session, cfg, alert, step=decision.step, rule="escalation",
                              channels=channels, names=names, send_after=now, now=now)
        if not added:
            # Nobody to tell at this step: record it, so the chain moves on after the wait.
            key = f"a{alert.id}:{alert.priority}:s{decision.step}:escalation:-:"
            if session.scalar(select(NotifyDelivery.id).where(NotifyDelivery.key == key)):
                continue
            session.add(NotifyDelivery(
                key=key, alert_id=alert.id, event_id=alert.item.event_id,
                priority=alert.priority, step=decision.step, rule="escalation", channel="-",
                person="", mentions=[], ack_token="", state="failed", attempts=0,
                detail=f"nobody on duty as {roster.ROLE_WORDS[decision.role]}",
                created_at=now, send_after=now, finished_at=now))
        audit(session, ACTOR, now, entity="alert", entity_id=alert.id, alert_id=alert.id,
              action="notify_escalate", detail={"step": decision.step, "role": decision.role,
                                                "people": names})
        written += 1
    session.flush()
    return written


@dataclass(frozen=True)
class Claimed:
    id: int
    alert_id: int
    step: int
    channel: str
    person: str
    attempts: int


def claim_next(session: Session, now: datetime, after_id: int = 0) -> Claimed | None:
    """Claim the next due delivery (pending → sending, state-checked) and COMMIT it, so no
    other drain sends it; None when none is due."""
    while True:
        row = session.execute(
            select(NotifyDelivery.id, NotifyDelivery.attempts).where(
                NotifyDelivery.state == "pending", NotifyDelivery.send_after <= now,
                NotifyDelivery.id > after_id).order_by(NotifyDelivery.id).limit(1)).first()
        if row is None:
            session.commit()
            return None
        won = session.execute(
            update(NotifyDelivery).where(NotifyDelivery.id == row.id,
                                         NotifyDelivery.state == "pending",
                                         NotifyDelivery.attempts == row.attempts)
            .values(state="sending", attempts=row.attempts + 1, claimed_at=now)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        session.commit()
        if won == 1:
            d = session.execute(select(NotifyDelivery.alert_id, NotifyDelivery.step,
                                       NotifyDelivery.channel, NotifyDelivery.person)
                                .where(NotifyDelivery.id == row.id)).one()
            session.commit()
            return Claimed(row.id, d.alert_id, d.step, d.channel, d.person, row.attempts + 1)
        after_id = row.id


def notice_for(session: Session, cfg: Config, claim: Claimed) -> tuple[Notice, Contact | None]:
    d = session.get(NotifyDelivery, claim.id)
    alert = _load_alert(session, claim.alert_id)
    if d is None or alert is None:
        raise LookupError("the alert or delivery no longer exists")
    contact = None
    if claim.person:
        p = session.scalar(select(NotifyPerson).where(NotifyPerson.name == claim.person))
        contact = Contact(claim.person, p.phone if p else "", p.email if p else "")
    notice = Notice(alert_id=alert.id, priority=alert.priority,
                    title=alert.item.title or alert.item.text[:40],
                    reasons=tuple(str(r) for r in alert.reasons or ()), due_at=alert.due_at,
                    alert_url=cfg.alert_url(alert.id), ack_url=cfg.ack_url(d.ack_token),
                    step=d.step, mentions=tuple(str(m) for m in d.mentions or ()))
    return notice, contact


def finish(session: Session, claim: Claimed, result: Result, now: datetime) -> str:
    """Record the outcome (flush); `retry` puts the row back as pending only when nothing
    reached the other side, with outbox's backoff, and gives up after its attempts."""
    state: str = result.outcome
    values: dict[str, object] = {"detail": result.detail[:2000], "finished_at": now}
    if result.outcome == "retry":
        when = outbox.retry_at(claim.attempts, now)
        if when is None:
            state = "failed"
            values["detail"] = f"gave up after {claim.attempts} attempts; last: " \
                               f"{result.detail}"[:2000]
        else:
            state = "pending"
            values.update(send_after=when, finished_at=None)
    session.execute(update(NotifyDelivery).where(NotifyDelivery.id == claim.id,
                                                 NotifyDelivery.state == "sending")
                    .values(state=state, **values)
                    .execution_options(synchronize_session=False))
    audit(session, ACTOR, now, entity="alert", entity_id=claim.alert_id,
          alert_id=claim.alert_id, action="notify_delivery",
          detail={"step": claim.step, "channel": claim.channel, "person": claim.person,
                  "state": state, "detail": result.detail[:300]})
    session.flush()
    return state


def acknowledge(session: Session, cfg: Config, token: str, now: datetime) -> ack.Acked:
    """Spend an ack link and write it into the alert's history (flush; the route commits)."""
    done = ack.use(session, cfg.key, token, now)
    audit(session, f"ack:{done.person or 'group'}", now, entity="alert",
          entity_id=done.alert_id, alert_id=done.alert_id, action="notify_ack",
          detail={"step": done.step, "person": done.person})
    return done


def deliveries(session: Session, alert_id: int) -> list[NotifyDelivery]:
    return list(session.scalars(select(NotifyDelivery).where(
        NotifyDelivery.alert_id == alert_id).order_by(NotifyDelivery.step,
                                                      NotifyDelivery.id)))
