"""The Celery app factory. Settings are read by the caller and passed in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init

from monitor.settings import Settings

QUEUES = ("poll", "analyze", "notify")

ROUTES = {
    "monitor.schedule_due": {"queue": "poll"},
    "monitor.poll_source": {"queue": "poll"},
    "monitor.analyze_items": {"queue": "analyze"},
    "responders.notify_alert": {"queue": "notify"},
    "responders.remind_due": {"queue": "notify"},
    "responders.send_reminder": {"queue": "notify"},
    "responders.send_digest": {"queue": "notify"},
}


def broker_url(settings: Settings) -> str:
    """The configured broker, or the embedded one under $YUQING_HOME."""
    if settings.broker_url:
        return settings.broker_url
    from tasks.embedded import EmbeddedBroker

    return EmbeddedBroker(settings.home).url


def create_app(settings: Settings) -> Celery:
    app = Celery("yuqing", set_as_current=True)
    celery_cfg, digest = settings.celery, settings.digest
    transport: dict[str, Any] = {
        # How long an unacknowledged task (its worker died) waits before Redis hands it out
        # again. RabbitMQ redelivers at once when the connection drops.
        "visibility_timeout": celery_cfg.visibility_timeout,
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
                "options": {"queue": "poll", "expires": 60},
            },
            # Deadline reminders (responders.reminders): a minute's resolution is plenty
            # for deadlines counted in hours.
            "remind-due-alerts": {
                "task": "responders.remind_due",
                "schedule": timedelta(seconds=settings.notify.remind_tick_seconds),
                "options": {"queue": "notify", "expires": 60},
            },
            # The weekly digest (responders.digest): Monday 08:00 in the office's zone by
            # default. crontab follows the app's timezone, set to settings.timezone above.
            "weekly-digest": {
                "task": "responders.send_digest",
                # Settings count Monday 1 … Sunday 7 (ISO); crontab counts Sunday 0.
                "schedule": crontab(day_of_week=digest.day_of_week % 7, hour=digest.hour,
                                    minute=digest.minute),
                "options": {"queue": "notify", "expires": 6 * 3600},
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
