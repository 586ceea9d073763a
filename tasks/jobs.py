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
from monitor.ingest import unanalyzed_ids
from monitor.settings import Settings
from responders import mail, outbox, reminders
from responders.alerts import open_alerts
from responders.board_replies import close_answered
from responders.models import Alert
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


@task(name="monitor.schedule_due", **_RETRY)
def schedule_due() -> dict[str, int]:
    """Beat tick: enqueue due sources (batch + per-host limits) and sweep orphaned items."""
    rt = current_runtime()
    poll, cel = rt.settings.poll, rt.settings.celery
    now = _now()
    with rt.sessions() as session:
        source_ids = polling.claim_due(
            session,
            now,
            batch_size=poll.batch_size,
            per_host=poll.per_host,
            lease_s=rt.recovery.poll_lease,
        )
        orphans = unanalyzed_ids(
            session, now - timedelta(seconds=cel.sweep_after), limit=1000
        )
        session.commit()
    # The lease is the claim's token: a poll message that comes back late (redelivered after
    # its worker died, once beat has claimed the source again) finds another lease on the
    # row and does nothing, so a source is polled once per claim.
    lease = polling.lease_token(now, rt.recovery.poll_lease)
    for source_id in source_ids:
        poll_source.delay(source_id, lease)
    for chunk in _chunks(orphans, rt.settings.analyze.batch_size):
        analyze_items.delay(chunk)
    return {"polls": len(source_ids), "orphans": len(orphans)}


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
    outcome = polling.fetch_and_parse(plan, policy=rt.fetch_policy, cfg=cfg, now=now)
    with rt.sessions() as session:
        report = polling.apply_poll(session, plan, outcome, cfg=cfg, now=now,
                                    jitter=random.random())
        # A board's re-poll that brought replies closes those messages' open alerts, in the
        # same transaction as the replies themselves.
        closed = close_answered(session, report.answered_ids, now) if report else []
        session.commit()
    if report is None:  # removed while it was being fetched
        return {"source_id": source_id, "gone": True}
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
    url = rt.settings.notify.webhook_url
    if url and payload["priority"] in ("P1", "P2"):
        outcome, detail = _post(url, payload, rt.settings.notify.timeout)
        if outcome != "sent":
            log.warning("webhook for alert %s: %s", alert_id, detail)
        return outcome, detail
    return "sent", "log"


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
        session.commit()
    if ids:
        _kick_outbox()
    return {"reminders": len(ids)}


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
    return done


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
