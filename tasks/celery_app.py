"""The Celery app factory. Settings are read by the caller and passed in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from monitor.settings import Settings

# `schedule` carries only beat's clock (schedule_due): a worker of its own serves it
# (`yuqing worker --queues schedule`, started by `yuqing run` and docker-compose.yml), so
# thousands of polls waiting on `poll` never hold back the tick that claims the next ones.
QUEUES = ("schedule", "poll", "analyze", "notify")

ROUTES = {
    "monitor.schedule_due": {"queue": "schedule"},
    "monitor.poll_source": {"queue": "poll"},
    "monitor.poll_batch": {"queue": "poll"},
    "monitor.analyze_items": {"queue": "analyze"},
    "responders.notify_alert": {"queue": "notify"},
    "responders.remind_due": {"queue": "notify"},
    "responders.send_reminder": {"queue": "notify"},
    "responders.send_digest": {"queue": "notify"},
    "responders.drain_outbox": {"queue": "notify"},
    "responders.snapshot_alerts": {"queue": "poll"},   # network I/O, like a poll
    "responders.recheck_deleted": {"queue": "poll"},
}


def broker_url(settings: Settings) -> str:
    """The configured broker, or the embedded one under $YUQING_HOME."""
    if settings.broker_url:
        return settings.broker_url
    from tasks.embedded import EmbeddedBroker

    return EmbeddedBroker(settings.home).url


def create_app(settings: Settings) -> Celery:
    from tasks.runtime import Recovery

    app = Celery("yuqing", set_as_current=True)
    celery_cfg = settings.celery
    recovery = Recovery.from_section(celery_cfg)
    transport: dict[str, Any] = {
        # How long an unacknowledged task (its worker died) waits before Redis hands it out
        # again: sized from the task time limit and the retry backoff (tasks.runtime
        # .Recovery). RabbitMQ redelivers at once when the connection drops.
        "visibility_timeout": recovery.visibility_timeout,
        # Redis looks for such tasks every interval × throttle seconds (kombu: 10 × 10).
        "unacked_restore_interval": celery_cfg.restore_interval,
        "unacked_restore_throttle": celery_cfg.restore_throttle,
    }
    app.conf.update(
        broker_url=broker_url(settings),
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task that hangs is killed (and acked as failed) after this: what bounds how long
        # a message stays unacknowledged, and so the visibility timeout above.
        task_time_limit=recovery.time_limit,
        task_ignore_result=True,
        task_routes=ROUTES,
        task_default_queue="poll",
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        timezone=settings.timezone,
        enable_utc=True,
        beat_schedule={
            "schedule-due-sources": {
                "task": "monitor.schedule_due",
                "schedule": timedelta(seconds=settings.poll.tick_seconds),
                # A tick not taken within its own period is superseded by the next one.
                "options": {"queue": "schedule",
                            "expires": max(settings.poll.tick_seconds, 10)},
            },
            # Deadline reminders (responders.reminders): a minute's resolution is plenty
            # for deadlines counted in hours.
            "remind-due-alerts": {
                "task": "responders.remind_due",
                "schedule": timedelta(seconds=settings.notify.remind_tick_seconds),
                "options": {"queue": "notify", "expires": 60},
            },
            # The outbox (responders.outbox): alert notifications, reminders and the weekly
            # digest written in the same transaction as what caused them, sent at most once
            # each. Kicked after each commit too; this tick is what drains it after a broker
            # outage, and what plans the weekly digest (Monday 08:00 in the office's zone by
            # default) — so a broker down at 08:00 delays the digest instead of losing it.
            "drain-outbox": {
                "task": "responders.drain_outbox",
                "schedule": timedelta(seconds=settings.notify.outbox_tick_seconds),
                "options": {"queue": "notify", "expires": 60},
            },
            # Evidence (issue 18): recent alerts' links re-checked for deletion (已删除).
            "recheck-deleted": {
                "task": "responders.recheck_deleted",
                "schedule": timedelta(minutes=settings.evidence.recheck_minutes),
                "options": {"queue": "poll", "expires": 600},
            },
            # Retention (monitor.retention): a no-op while retention.items_days is null.
            "prune-old-items": {
                "task": "monitor.prune_items",
                "schedule": timedelta(hours=settings.retention.tick_hours),
                "options": {"queue": "poll", "expires": 3600},
            },
        },
    )
    app.conf.yuqing_settings = settings
    # Registers the tasks on this app (they are shared_task, bound to the current app).
    import tasks.jobs  # noqa: F401

    return app


def _init_worker_process(**_: Any) -> None:
    from tasks.runtime import reset_runtime

    reset_runtime(load_scorer=True)


# Connected by a call, not as a decorator: Celery's signals are untyped, and a decorator
# would make the handler untyped for mypy --strict.
worker_process_init.connect(_init_worker_process)
