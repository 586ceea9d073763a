"""Thin Celery tasks: ids in, one session, one domain call, one commit, follow-up work
enqueued only after the commit (DESIGN principles 2–4)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError

from monitor import analyze, polling
from monitor import poll_batch as poll_batch_mod
from monitor.evidence_store import StoreUnavailable, evidence_store
from monitor.ingest import unanalyzed_ids
from monitor.settings import Settings
from responders import evidence, mail, outbox, reminders
from responders.alerts import open_alerts
from responders.board_replies import close_answered
from responders.models import Alert
from responders.notify import channels
from responders.notify import service as notify_service
from tasks.runtime import RECOVERY_MARGIN_S, RETRY_BACKOFF_MAX_S, Runtime, current_runtime
from tasks.task_types import bound_task, task

log = logging.getLogger("yuqing.tasks")

# A database that is briefly unreachable or locked is worth retrying; bugs are not.
_TRANSIENT = (OperationalError,)
_RETRY = {
    "autoretry_for": _TRANSIENT,
    "retry_backoff": 2,
    # The visibility timeout is sized from this cap (tasks.runtime.Recovery): a worker holds
    # a retrying task's message unacknowledged until its countdown ends.
    "retry_backoff_max": RETRY_BACKOFF_MAX_S,
    "retry_jitter": True,
    "max_retries": 8,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _kick_outbox() -> None:
    """After a commit that wrote outbox rows: ask for a drain now. The rows are stored, so a
    broker that cannot take the message costs a delay until beat's drain tick, nothing more
    — which is why this one failure is caught, where others are left to fail the task."""
    try:
        drain_outbox.delay()
    except (BrokerError, OSError) as exc:
        log.warning("outbox: could not ask for a drain now (%s); beat's tick will", exc)


def _count_polls(rt: Runtime, polls: Sequence[tuple[str, polling.PollReport, float | None]]
                 ) -> None:
    """After the commit: add the polls (kind, report, fetch seconds) to the counters
    /metrics reads (responders.ops_counters; one round trip for a batch; best effort, a
    Redis error costs the count only)."""
    from responders.ops_counters import counters_url, outcome_of, record_polls
    from tasks.embedded import EmbeddedBroker

    broker = rt.settings.broker_url or EmbeddedBroker(rt.settings.home).url
    url = counters_url(rt.settings.tree.metrics.redis_url, broker)
    record_polls(url, [(kind, outcome_of(r.ok, r.not_modified), fetch_s)
                       for kind, r, fetch_s in polls])


def _poll_backlog() -> int | None:
    """Messages waiting on the `poll` queue (Redis and RabbitMQ both answer a passive
    declare with the count), or None when the broker does not say."""
    from celery import current_app
    from kombu.exceptions import ChannelError

    try:
        with current_app.connection_for_write() as conn:
            ok = conn.default_channel.queue_declare(queue="poll", passive=True)
            return int(ok.message_count)
    except (BrokerError, ChannelError, OSError):
        return None


@task(name="monitor.schedule_due", **_RETRY)
def schedule_due() -> dict[str, int]:
    """Beat tick: claim due sources (batch + per-host limits), send them as batches by host
    (monitor.poll_batch.group_by_host: up to poll.host_batch sources a message, a host's
    sources together, small hosts sharing a message) and sweep orphaned items. A host with
    politeness spacing is claimed no faster than one task can poll it."""
    rt = current_runtime()
    poll, cel, social = rt.settings.poll, rt.settings.celery, rt.settings.social
    # Asked before the session opens: no broker round trip inside the transaction.
    room = poll_batch_mod.claim_room(_poll_backlog(), max_queued=poll.max_queued,
                                     host_batch=poll.host_batch, batch_size=poll.batch_size)
    now = _now()
    with rt.sessions() as session:
        # Hosts named in social.host_interval get the cap of their own spacing; the others
        # that of default_host_interval (none when it is 0: per_host alone).
        default = social.default_host_interval
        per_host = poll.per_host if default <= 0 else max(
            1, min(poll.per_host, int(poll.tick_seconds / default)))
        caps = poll_batch_mod.host_caps(
            list(social.host_interval), per_host=poll.per_host, tick_s=poll.tick_seconds,
            host_intervals=social.host_interval, default_interval=default)
        claimed = polling.claim_due_hosts(
            session,
            now,
            batch_size=room,
            per_host=per_host,
            lease_s=rt.recovery.poll_lease,
            caps=caps,
        )
        orphans = unanalyzed_ids(
            session, now - timedelta(seconds=cel.sweep_after), limit=1000
        )
        session.commit()
    # The lease is the claim's token: a poll message that comes back late (redelivered after
    # its worker died, once beat has claimed the source again) finds another lease on the
    # row and does nothing, so a source is polled once per claim.
    lease = polling.lease_token(now, rt.recovery.poll_lease)
    batches = poll_batch_mod.group_by_host(claimed, batch=poll.host_batch)
    for batch in batches:
        poll_batch.delay(batch, lease)
    for chunk in _chunks(orphans, rt.settings.analyze.batch_size):
        analyze_items.delay(chunk)
    return {"polls": len(claimed), "batches": len(batches), "orphans": len(orphans)}


@task(name="monitor.poll_batch", **_RETRY)
def poll_batch(source_ids: list[int], lease: str | None = None) -> dict[str, object]:
    """One host's batch: plans read in one short transaction, the requests made
    concurrently with no session open (monitor.poll_batch.fetch_many: per-host connection
    limit and politeness spacing), the outcomes applied in one short transaction, analysis
    enqueued after the commit. Sources whose lease is no longer `lease` are skipped (their
    claim was spent or renewed: a redelivered message polls nothing twice)."""
    rt = current_runtime()
    cfg, poll = rt.poll_settings, rt.settings.poll
    now = _now()
    with rt.sessions() as session:
        ids = (polling.leases_held(session, source_ids, lease) if lease is not None
               else list(source_ids))
        plans = poll_batch_mod.read_plans(session, ids, cfg=cfg, now=now)
    if not plans:
        return {"sources": len(source_ids), "polled": 0}
    # The session is closed: no transaction is held while the batch is fetched.
    # Half the task time limit to start requests in, so the last one (at most
    # fetch.total_timeout) and the apply end well inside the limit.
    limits = poll_batch_mod.BatchLimits(threads=poll.fetch_threads,
                                        host_connections=poll.host_connections,
                                        budget_s=rt.recovery.time_limit / 2)
    timings: list[float | None] = []
    outcomes = poll_batch_mod.fetch_many(plans, policy=rt.fetch_policy, cfg=cfg, now=now,
                                         limits=limits, timings=timings)
    with rt.sessions() as session:
        reports = poll_batch_mod.apply_many(session, plans, outcomes, cfg=cfg, now=now,
                                            jitter=random.random)
        answered = [i for r in reports for i in r.answered_ids]
        closed = close_answered(session, answered, now) if answered else []
        session.commit()
    new_ids = [i for r in reports for i in r.new_item_ids]
    for chunk in _chunks(new_ids, rt.settings.analyze.batch_size):
        analyze_items.delay(chunk)
    # After the commit, the operator's counters (/metrics): one per poll applied.
    took = {p.source_id: t for p, t in zip(plans, timings, strict=True)}
    kinds = {p.source_id: p.kind for p in plans}
    _count_polls(rt, [(kinds.get(r.source_id, ""), r, took.get(r.source_id)) for r in reports])
    failed = [r for r in reports if not r.ok]
    for r in failed:
        log.warning("source %s failed: %s", r.source_id, r.error)
    for r in reports:
        if r.went_silent:
            log.warning("source %s has gone silent: no new items for %s of its intervals",
                        r.source_id, cfg.silent_after)
    if closed:
        log.info("alerts %s closed, their messages answered", closed)
    return {"sources": len(source_ids), "polled": len(reports), "failed": len(failed),
            "new": len(new_ids), "answered": len(closed),
            **({"deferred": skipped} if (skipped := outcomes.count(None)) else {})}


@task(name="monitor.poll_source", **_RETRY)
def poll_source(source_id: int, lease: str | None = None) -> dict[str, object]:
    """Plan (a short read), fetch and parse with no session open (a politeness wait and up
    to fetch.total_timeout of network), then apply the outcome in one short transaction.
    `lease` (from schedule_due) must still be the source's: else this claim is spent."""
    rt = current_runtime()
    cfg = rt.poll_settings  # built once per process from poll, text and social (runtime)
    now = _now()
    with rt.sessions() as session:
        if lease is not None and not polling.lease_held(session, source_id, lease):
            return {"source_id": source_id, "stale": True}
        plan = polling.read_plan(session, source_id, cfg=cfg, now=now)
    if plan is None:
        return {"source_id": source_id, "gone": True}
    # The session is closed: no transaction is held while we wait for the host and fetch.
    started = time.monotonic()
    outcome = polling.fetch_and_parse(plan, policy=rt.fetch_policy, cfg=cfg, now=now)
    fetch_s = max(0.0, time.monotonic() - started - plan.wait_s)  # the politeness wait aside
    with rt.sessions() as session:
        report = polling.apply_poll(session, plan, outcome, cfg=cfg, now=now,
                                    jitter=random.random())
        # A board's re-poll that brought replies closes those messages' open alerts, in the
        # same transaction as the replies themselves.
        closed = close_answered(session, report.answered_ids, now) if report else []
        session.commit()
    if report is None:  # removed while it was being fetched
        return {"source_id": source_id, "gone": True}
    _count_polls(rt, [(plan.kind, report, fetch_s)])
    for chunk in _chunks(report.new_item_ids, rt.settings.analyze.batch_size):
        analyze_items.delay(chunk)
    if not report.ok:
        log.warning("source %s failed: %s", source_id, report.error)
    if report.went_silent:
        # Source health: shown in `yuqing sources list` as the source's warning too.
        log.warning("source %s has gone silent: no new items for %s of its intervals",
                    source_id, cfg.silent_after)
    if closed:
        log.info("source %s: alerts %s closed, their messages answered", source_id, closed)
    return {"source_id": source_id, "ok": report.ok, "new": len(report.new_item_ids),
            "answered": len(closed)}


@task(name="monitor.analyze_items", **_RETRY)
def analyze_items(item_ids: list[int]) -> dict[str, int]:
    rt = current_runtime()
    now = _now()
    with rt.sessions() as session:
        analyses = analyze.analyze_items(
            session,
            item_ids,
            scorer=rt.scorer,
            taxonomy=rt.taxonomy,
            policy=rt.flag_policy,
            now=now,
            events=rt.event_settings,
            own=rt.own_voice,
        )
        alert_ids = open_alerts(session, analyses, rt.sla, now)
        # Their notifications, in the same transaction (responders.outbox).
        outbox.add_alerts(session, alert_ids, now)
        session.commit()
    if alert_ids:
        _kick_outbox()
        try:  # evidence (issue 18), after the commit
            snapshot_alerts.delay(alert_ids)
        except (BrokerError, OSError) as exc:
            # The alerts are stored; beat's deletion re-check plans snapshots for recent
            # open alerts, so a broker that is down costs a delay, not the evidence.
            log.warning("evidence: could not enqueue snapshots now (%s); beat's re-check "
                        "will plan them", exc)
    return {"analyzed": len(analyses), "alerts": len(alert_ids)}


@task(name="responders.notify_alert", **_RETRY)
def notify_alert(alert_id: int) -> dict[str, object]:
    """A message enqueued before the outbox (an upgrade with tasks in flight): write the
    alert's outbox row (insert-or-ignore: one notification still) and let the drain send."""
    rt = current_runtime()
    with rt.sessions() as session:
        if session.get(Alert, alert_id) is None:
            return {"alert_id": alert_id, "gone": True}
        outbox.add_alerts(session, [alert_id], _now())
        session.commit()
    _kick_outbox()
    return {"alert_id": alert_id, "outbox": True}


def _alert_payload(rt: Runtime, alert_id: int) -> dict[str, Any] | None:
    with rt.sessions() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return None
        return {
            "alert_id": alert.id,
            "priority": alert.priority,
            "title": alert.item.title,
            "link": alert.item.link,
            "reasons": alert.reasons,
            "due_at": alert.due_at.isoformat(),
        }


def _post(url: str, payload: dict[str, Any], timeout: float) -> tuple[outbox.Outcome, str]:
    """One webhook POST, its outcome in the outbox's terms. Only a connection that was never
    made is safe to try again: once the request may have gone out, a lost answer is
    `unknown` and a refusal `failed` — resending either could tell people twice."""
    try:
        httpx.post(url, json=payload, timeout=timeout).raise_for_status()
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return "retry", f"webhook unreachable: {exc}"
    except httpx.HTTPStatusError as exc:
        return "failed", f"webhook answered {exc.response.status_code}"
    except httpx.HTTPError as exc:
        return "unknown", f"webhook: {type(exc).__name__}: {exc}; not resent automatically"
    return "sent", "webhook"


def _deliver_alert(rt: Runtime, alert_id: int) -> tuple[outbox.Outcome, str]:
    """Tell people about a new alert: the log always, a webhook for P1/P2 when configured.
    The alert is stored and shown in the queue whatever the webhook does."""
    try:
        payload = _alert_payload(rt, alert_id)
    except OperationalError as exc:
        # Nothing has been sent: safe to try again (the claim is ours; _record waits for
        # the database to put it back as pending).
        return "retry", f"database unavailable before sending: {exc}"[:500]
    if payload is None:
        return "failed", "alert no longer exists"
    log.info("new alert %s %s: %s", payload["priority"], alert_id, payload["title"])
    try:
        planned = _plan_notify(rt, alert_id)
    except OperationalError as exc:
        # Planning is one transaction and idempotent by key, and nothing was sent yet:
        # safe to try the whole row again (else it would stay `sending`, never planned).
        return "retry", f"database unavailable while planning deliveries: {exc}"[:500]
    url = rt.settings.notify.webhook_url
    if url and payload["priority"] in ("P1", "P2"):
        outcome, detail = _post(url, payload, rt.settings.notify.timeout)
        if outcome != "sent":
            log.warning("webhook for alert %s: %s", alert_id, detail)
        return outcome, detail
    return "sent", f"log; {planned} deliveries planned" if planned else "log"


# ---------------------------------------------------------------- issue 17: deliveries


def _notify_config(rt: Runtime) -> notify_service.Config:
    cfg = getattr(rt, "_notify_config", None)
    if cfg is None:
        cfg = notify_service.Config.from_settings(rt.settings)
        rt._notify_config = cfg  # type: ignore[attr-defined]  # built once per runtime
    return cfg


def _plan_notify(rt: Runtime, alert_id: int) -> int:
    """The routing rules' deliveries for an alert, written in one short transaction (the
    outbox row is the at-most-once guard of the planning; each delivery row guards its
    send). Nothing is sent here: the drain's delivery loop sends them."""
    cfg = _notify_config(rt)
    if not cfg.active:
        return 0
    with rt.sessions() as session:
        added = notify_service.plan_alert(session, cfg, alert_id, _now())
        session.commit()
    return added


def _send_delivery(rt: Runtime, cfg: notify_service.Config,
                   claim: notify_service.Claimed) -> channels.Result:
    """Send one claimed delivery; no session is open while the platform answers."""
    now = _now()
    try:
        with rt.sessions() as session:
            notice, contact = notify_service.notice_for(session, cfg, claim)
    except LookupError as exc:
        return channels.Result("failed", str(exc))
    except OperationalError as exc:
        return channels.Result("retry", f"database unavailable before sending: {exc}"[:500])
    if claim.channel in cfg.problems:
        return channels.Result("failed", cfg.problems[claim.channel])
    spec = cfg.channels.get(claim.channel)
    if spec is None:
        return channels.Result("failed", f"no channel {claim.channel!r} in notify.channels")
    smtp = mail.SmtpSettings.from_settings(rt.settings) if spec.kind == "email" else None
    policy = channels.SendPolicy(timeout=rt.settings.notify.timeout,
                                 allow_private=rt.settings.notify.allow_private,
                                 tz=rt.settings.timezone, smtp=smtp)
    return channels.send(spec, notice, now, policy, contact)


def notify_tick(rt: Runtime, budget: float) -> dict[str, int]:
    """Escalate what nobody acknowledged, then send the due deliveries, each claimed (and
    committed) before its send and recorded after: at most once per row."""
    cfg = _notify_config(rt)
    done: dict[str, int] = {"escalated": 0}
    if not cfg.active:
        return done
    with rt.sessions() as session:
        done["escalated"] = notify_service.escalate_due(session, cfg, _now())
        session.commit()
    last = 0
    for _ in range(_DRAIN_BATCH):
        if time.monotonic() > budget:
            _kick_outbox()
            break
        with rt.sessions() as session:
            claim = notify_service.claim_next(session, _now(), after_id=last)
        if claim is None:
            break
        last = claim.id
        result = _send_delivery(rt, cfg, claim)
        if result.outcome != "sent":
            log.warning("delivery %s (alert %s, %s %s): %s", claim.id, claim.alert_id,
                        claim.channel, claim.person or "group", result.detail)
        with rt.sessions() as session:
            state = notify_service.finish(session, claim, result, _now())
            session.commit()
        done[state] = done.get(state, 0) + 1
    return done


def _reminder_channels(settings: Settings) -> set[str]:
    """The webhook when one is configured; e-mail (SMTP from the `smtp:` settings) unless
    notify.remind_email is false."""
    channels = set()
    if settings.notify.webhook_url:
        channels.add(reminders.WEBHOOK)
    if settings.notify.remind_email:
        channels.add(reminders.EMAIL)
    return channels


@task(name="responders.remind_due", **_RETRY)
def remind_due() -> dict[str, int]:
    """Beat tick: claim the deadline reminders due now (one row per alert, milestone and
    recipient, so nothing is sent twice) and hand each to send_reminder after the commit."""
    rt = current_runtime()
    channels = _reminder_channels(rt.settings)
    if not channels:
        return {"reminders": 0}
    # Alerts older than the longest milestone have no deadline left to remind of.
    longest = max((m.hours for rule in rt.sla.rules for m in rule.milestones), default=48.0)
    now = _now()
    with rt.sessions() as session:
        ids = reminders.plan(session, now, lead=reminders.LeadTime.from_section(rt.settings.notify),
                             channels=channels, horizon=timedelta(hours=longest))
        # Handed to the outbox in the planning transaction, not to the broker after it.
        outbox.add_reminders(session, ids, now)
        requests_due = _plan_request_reminders(rt, session, now, channels)
        session.commit()
    if ids or requests_due:
        _kick_outbox()
    done = {"reminders": len(ids)}
    if requests_due:
        done["request_reminders"] = requests_due
    return done


def _office_today(rt: Runtime, now: datetime) -> Any:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(rt.settings.timezone)).date()


def _request_calendar(rt: Runtime) -> Any:
    from pathlib import Path

    from responders.register.calendar import load_calendar

    return load_calendar(Path(rt.settings.config_dir), rt.settings.home)


def _plan_request_reminders(rt: Runtime, session: Any, now: datetime,
                            channels: set[str]) -> int:
    """Disclosure requests' deadlines (issue 20), into the same outbox. A broken holiday
    file costs these reminders only (logged), never the alerts' reminders."""
    from monitor.errors import ConfigError
    from responders.register import reminders as request_reminders

    try:
        cal = _request_calendar(rt)
    except ConfigError as exc:
        log.warning("disclosure-request reminders skipped: %s", exc)
        return 0
    return request_reminders.plan(session, now, _office_today(rt, now), cal,
                                  channels=channels)


def _deliver_request_reminder(rt: Runtime, ref: str) -> tuple[outbox.Outcome, str]:
    from responders.register import reminders as request_reminders

    now = _now()
    with rt.sessions() as session:
        message = request_reminders.build(session, ref, _office_today(rt, now),
                                          _request_calendar(rt),
                                          base_url=rt.settings.web.base_url)
        session.commit()  # end the read before any network I/O
    if message is None:
        return "sent", "nothing to remind of any more"
    if message.channel == reminders.WEBHOOK:
        return _post(rt.settings.notify.webhook_url, message.payload, rt.settings.notify.timeout)
    smtp = mail.SmtpSettings.from_settings(rt.settings)
    with rt.sessions() as session:
        # deliver_once commits its own claim and outcome in the mail log (at most once).
        delivery = mail.deliver_once(
            session, key=message.key, recipient=message.address or "",
            message=request_reminders.email_message(message, sender=smtp.sender), smtp=smtp,
            now=now)
    if delivery.status == "sent":
        return "sent", "email"
    if delivery.status == "temporary":
        return "retry", f"email temporary: {delivery.detail}"[:500]
    return ("failed" if delivery.status == "permanent" else "unknown"), \
        f"email {delivery.status}: {delivery.detail}"[:500]


@task(name="responders.send_reminder", **_RETRY)
def send_reminder(reminder_id: int) -> dict[str, object]:
    """A message enqueued before the outbox; the reminder row's own pending → sending claim
    keeps it to one delivery."""
    error = _send_reminder(current_runtime(), reminder_id)
    return {"reminder_id": reminder_id, "sent": error is None}


def _send_reminder(rt: Runtime, reminder_id: int) -> str | None:
    """Send one reminder row (claimed pending → sending first: at most once); the error, or
    None when it went out or was not ours to send."""
    now = _now()
    with rt.sessions() as session:
        message = reminders.start_sending(
            session, reminder_id, now, tz=rt.settings.timezone,
            base_url=rt.settings.web.base_url)
        session.commit()
    if message is None:
        return None
    error: str | None = None
    retry = False
    if message.channel == reminders.WEBHOOK:
        url = rt.settings.notify.webhook_url
        timeout = rt.settings.notify.timeout
        try:
            httpx.post(url, json=message.payload, timeout=timeout).raise_for_status()
        except httpx.HTTPError as exc:
            # Recorded on the row and shown on the alert page; not retried (the row is
            # already "sending", so a retry could not send anyway — never twice).
            error = f"webhook: {exc}"[:500]
    elif message.channel == reminders.EMAIL and message.address:
        smtp = mail.SmtpSettings.from_settings(rt.settings)
        with rt.sessions() as session:
            # deliver_once commits its own claim and outcome in the mail log.
            delivery = mail.deliver_once(
                session, key=reminders.mail_key(message), recipient=message.address,
                message=reminders.email_message(message, sender=smtp.sender), smtp=smtp,
                now=now)
        if delivery.status != "sent":
            error = f"email {delivery.status}: {delivery.detail}"[:500]
            retry = delivery.status == "temporary"
    else:
        error = f"channel {message.channel!r} is not available"
    with rt.sessions() as session:
        reminders.finish(session, reminder_id, _now(), error=error, retry=retry)
        session.commit()
    if error:
        log.warning("reminder %s failed: %s", reminder_id, error)
    return error


@bound_task(name="responders.send_digest", **_RETRY)
def send_digest(self: Any, week: str | None = None) -> dict[str, object]:
    """The weekly digest to the configured recipients: the last complete ISO week unless one
    is named. Each (week, recipient) goes out at most once (the mail log's claim), so beat
    firing twice or a redelivery sends nothing twice; recipients that failed temporarily are
    retried by re-running this task, for the same week, when their backoff has passed.
    (Beat plans the digest through the outbox; this task is for sending a week by hand.)"""
    from responders import digest

    rt = current_runtime()
    wk = digest.parse_week(week) if week else digest.last_complete_week(_now(), rt.settings
                                                                          .timezone)
    result, retry_at = _send_digest_week(rt, wk.label)
    if retry_at is not None:
        # Same week on retry, whatever the clock says by then.
        countdown = max((retry_at - _now()).total_seconds(), 1.0)
        raise self.retry(kwargs={"week": wk.label}, countdown=countdown, max_retries=10)
    return result


def _send_digest_week(rt: Runtime, week: str) -> tuple[dict[str, object], datetime | None]:
    """Send `week`'s digest to each recipient not yet sent to; what happened, and when a
    temporary failure may be retried (None: none waits)."""
    from responders import digest
    from responders.mail import SmtpSettings, next_retry_at

    now = _now()
    wk = digest.parse_week(week)
    recipients = list(rt.settings.digest.to)
    if not recipients:
        log.warning("weekly digest %s: no recipients (set digest.to / YUQING_DIGEST_TO)",
                    wk.label)
        return {"week": wk.label, "sent": 0, "skipped": 0, "failed": 0}, None
    smtp = SmtpSettings.from_settings(rt.settings)
    with rt.sessions() as session:
        d = digest.digest_for(session, wk, rt.settings)
    # The week's figures are read and the session closed; the sending session below is
    # committed around each SMTP conversation by deliver_once, never held open across one.
    with rt.sessions() as session:
        report = digest.send_digest(session, d, recipients, smtp, now)
        retry_at = next_retry_at(session, digest.digest_key(wk))
    for rcpt, out in report.outcomes.items():
        if not out.skipped and out.status != "sent":
            log.warning("weekly digest %s to %s: %s (%s) %s", wk.label, rcpt, out.status,
                        out.code, out.detail)
    return {"week": wk.label, **report.as_dict()}, retry_at


# ---------------------------------------------------------------- the outbox

# One drain sends at most this many rows, and claims no new one after half the task time
# limit, so it ends inside the limit; what is left is taken by the next kick or tick.
_DRAIN_BATCH = 50


def _plan_digest(rt: Runtime, now: datetime) -> None:
    """Beat's tick: write the week's digest into the outbox once it is due (insert-or-ignore,
    so every tick of the day after 08:00 finds the same row)."""
    from responders.digest import IsoWeek

    cfg = rt.settings.digest
    if not cfg.to:
        return
    monday = outbox.digest_due(now, tz=rt.settings.timezone, day_of_week=cfg.day_of_week,
                               hour=cfg.hour, minute=cfg.minute)
    if monday is None:
        return
    with rt.sessions() as session:
        outbox.add_digest(session, IsoWeek.of(monday).label, now)
        session.commit()


def _deliver(rt: Runtime, claim: outbox.Claimed) -> tuple[outbox.Outcome, str, datetime | None]:
    if claim.kind == outbox.ALERT:
        outcome, detail = _deliver_alert(rt, int(claim.ref))
        return outcome, detail, None
    if claim.kind == outbox.REMINDER:
        # The reminder row is its own at-most-once claim and records its outcome and error.
        error = _send_reminder(rt, int(claim.ref))
        return "sent", error or "", None
    if claim.kind == outbox.REQUEST_REMINDER:
        outcome, detail = _deliver_request_reminder(rt, claim.ref)
        return outcome, detail, None
    if claim.kind == outbox.DIGEST:
        result, retry_at = _send_digest_week(rt, claim.ref)
        detail = ", ".join(f"{k} {v}" for k, v in result.items())
        if retry_at is not None:
            # The mail log keeps what was sent: a retry mails only those that failed.
            return "retry", detail, retry_at
        return "sent", detail, None
    return "failed", f"unknown outbox kind {claim.kind!r}", None


def _record(rt: Runtime, claim: outbox.Claimed, outcome: outbox.Outcome, detail: str,
            next_attempt: datetime | None) -> str:
    """Record what the send did. Only this process knows it: if the write failed and the
    drain were simply retried, the row would stay `sending` for good (an alert row is never
    sent again by itself). So a database that is restarting is waited for, with no session
    open between tries, for up to half the task time limit."""
    wait, give_up = 0.5, time.monotonic() + rt.recovery.time_limit / 2
    while True:
        try:
            with rt.sessions() as session:
                state = outbox.finish(session, claim, outcome, _now(), detail=detail,
                                      next_attempt=next_attempt)
                session.commit()
            return state
        except OperationalError:
            if time.monotonic() + wait > give_up:
                log.error("outbox row %s (%s %s) was %s but that could not be recorded; it "
                          "stays 'sending' for a person to check", claim.id, claim.kind,
                          claim.ref, outcome)
                raise
            time.sleep(wait)
            wait = min(wait * 2, 10.0)


@task(name="responders.drain_outbox", **_RETRY)
def drain_outbox() -> dict[str, int]:
    """Send what the outbox holds, one claimed row at a time (claim committed before the
    send, outcome after: at most once per row). Kicked after each commit that writes the
    outbox, and on beat's tick, which also plans the weekly digest."""
    rt = current_runtime()
    _plan_digest(rt, _now())
    done: dict[str, int] = {"sent": 0, "failed": 0, "unknown": 0, "pending": 0}
    last = 0
    budget = time.monotonic() + rt.recovery.time_limit / 2
    # A reminder or digest row claimed longer ago than a task may run was abandoned (its
    # worker died): its own guard makes claiming it again safe (outbox.RECLAIMABLE).
    stale = timedelta(seconds=rt.recovery.time_limit + RECOVERY_MARGIN_S)
    for _ in range(_DRAIN_BATCH):
        if time.monotonic() > budget:
            _kick_outbox()
            break
        with rt.sessions() as session:
            now = _now()
            claim = outbox.claim_next(session, now, after_id=last, stale_before=now - stale)
        if claim is None:
            break
        last = claim.id
        outcome, detail, next_attempt = _deliver(rt, claim)
        state = _record(rt, claim, outcome, detail, next_attempt)
        done[state] = done.get(state, 0) + 1
    else:
        _kick_outbox()  # a full batch: there may be more
    # Issue 17: the routed deliveries and escalations (nothing when notify.rules is empty).
    for key, count in notify_tick(rt, budget).items():
        if count:
            done[f"notify_{key}"] = count
    return done


# -- evidence (issue 18): snapshots and the deletion re-check ---------------------------


# An S3 evidence store that cannot be reached or answers 5xx is as transient as a locked
# database: the snapshot task retries it (monitor.evidence_s3).
_STORE_RETRY = {**_RETRY, "autoretry_for": (*_TRANSIENT, StoreUnavailable)}


@task(name="responders.snapshot_alerts", **_STORE_RETRY)
def snapshot_alerts(alert_ids: list[int]) -> dict[str, int]:
    """Plan (a short read), fetch and store with no session open, record in one short
    transaction. Insert-or-ignore per (item, kind): a redelivery writes nothing twice."""
    rt = current_runtime()
    ev = rt.settings.evidence
    store = evidence_store(rt.settings)
    per_task = evidence.fetches_per_task(rt.recovery.time_limit,
                                         rt.settings.fetch.total_timeout)
    with rt.sessions() as session:
        planned = evidence.plan_snapshots(session, alert_ids, max_items=ev.max_items,
                                          page_kinds=ev.page_kinds)
    # As many page fetches as fit in the task time limit; the rest in a follow-up task
    # (what is recorded, fetched or failed, is not planned again, so it ends).
    jobs, more = evidence.split_jobs(planned, per_task)
    taken = evidence.take_snapshots(jobs, store=store, policy=rt.fetch_policy, now=_now())
    with rt.sessions() as session:
        new = evidence.record_snapshots(session, taken)
        session.commit()
    if more:
        snapshot_alerts.delay(alert_ids)
    return {"alerts": len(alert_ids), "snapshots": new, "more": int(more)}


@task(name="responders.recheck_deleted", **_RETRY)
def recheck_deleted(offset: int = 0) -> dict[str, int]:
    """Beat tick: re-check recent alerts' item links; mark the deleted ones 已删除. A tick
    covers evidence.recheck_batch links in tasks sized to the task time limit."""
    rt = current_runtime()
    ev = rt.settings.evidence
    now = _now()
    per_task = min(evidence.fetches_per_task(rt.recovery.time_limit,
                                             rt.settings.fetch.total_timeout),
                   max(ev.recheck_batch - offset, 0))
    if per_task == 0:
        return {"checked": 0, "deleted": 0}
    with rt.sessions() as session:
        checks = evidence.plan_recheck(session, now, days=ev.recheck_days, batch=per_task,
                                       offset=offset)
        late = (evidence.recent_open_alerts(session, now, days=ev.recheck_days,
                                            limit=ev.recheck_batch) if offset == 0 else [])
    found = evidence.check_links(checks, policy=rt.fetch_policy, now=now)
    with rt.sessions() as session:
        marked = evidence.record_gone(session, found, now)
        session.commit()
    if len(checks) == per_task and offset + per_task < ev.recheck_batch:
        recheck_deleted.delay(offset + per_task)
    for chunk in _chunks(late, 20):  # items that joined their events later (idempotent)
        snapshot_alerts.delay(chunk)
    return {"checked": len(checks), "deleted": marked}


@task(name="monitor.prune_items", **_RETRY)
def prune_items() -> dict[str, int]:
    """Retention (issue 15): one bounded batch of old, unreferenced items, one commit; a full
    batch asks for the next after the commit. Beat starts it every retention.tick_hours;
    nothing happens while retention.items_days is null."""
    from monitor.retention import prune_batch
    from responders.kept_items import referenced

    rt = current_runtime()
    retention = rt.settings.retention
    if retention.items_days is None:
        return {"items": 0}
    with rt.sessions() as session:
        result = prune_batch(session, _now(), retention.items_days, referenced,
                             batch_size=retention.batch_size)
        session.commit()
    if not result.done:
        prune_items.delay()
    return {"items": result.items, "events_updated": result.events_updated,
            "events_deleted": result.events_deleted}
