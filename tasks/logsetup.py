"""How every process logs (issue 15): one handler on the root logger, text or one JSON object
per line (`logging.format`), at `logging.level` unless a command's --loglevel says otherwise.

Celery's per-task lines ("Task monitor.poll_source[…] received", "… succeeded in 0.02s",
beat's "Sending due task …") are logged at INFO: hundreds a minute at ten thousand sources,
723 lines in nine minutes of the demo, drowning the lines that matter. They are demoted to
DEBUG here (shown at `logging.level: debug`), unless `logging.task_lines: true`.

Celery configures logging itself unless a receiver of its `setup_logging` signal does it:
`for_celery` connects ours, so worker and beat log exactly as the desk does.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.settings_schema import LoggingSection

# (logger, how its per-task message starts): what `task_lines` is about.
TASK_LINES = (
    ("celery.worker.strategy", "Task "),   # "Task %(name)s[%(id)s] received"
    ("celery.app.trace", "Task "),         # "Task %(name)s[%(id)s] succeeded in …"
    ("celery.beat", "Scheduler: Sending due task"),
)
# Lines of every probe and scrape, always at DEBUG: a load balancer's /healthz every few
# seconds, Prometheus' /metrics every 15 s, and Alembic's two lines each time /readyz looks at
# the schema would otherwise fill the console as the task lines did.
PROBE_PATHS = ('"GET /healthz ', '"GET /readyz ', '"GET /metrics ')
ALEMBIC_CONTEXT = ("Context impl ", "Will assume ")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def is_task_line(record: logging.LogRecord) -> bool:
    if record.levelno != logging.INFO:
        return False
    message = str(record.msg)
    return any(record.name == name and message.startswith(start)
               for name, start in TASK_LINES)


def is_probe_line(record: logging.LogRecord) -> bool:
    if record.levelno != logging.INFO:
        return False
    if record.name == "uvicorn.access":
        message = record.getMessage()
        return any(path in message for path in PROBE_PATHS)
    return record.name == "alembic.runtime.migration" and str(record.msg).startswith(
        ALEMBIC_CONTEXT)


class TaskLines(logging.Filter):
    """On the handler (so records from every logger pass it): a per-task line (unless
    `keep_at_info`) or a probe's line becomes a DEBUG record, kept only when the handler's
    level lets DEBUG through."""

    def __init__(self, *, keep_at_info: bool, threshold: int) -> None:
        super().__init__()
        self.keep_at_info = keep_at_info
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        task_line = not self.keep_at_info and is_task_line(record)
        if not task_line and not is_probe_line(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.threshold <= logging.DEBUG


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, process, message, and the
    traceback as `exc` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        for key in ("task_name", "task_id"):  # set by Celery's task logger, when present
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def level_of(section: LoggingSection, override: str | None) -> int:
    """Pure: the numeric level, from --loglevel when given, else `logging.level`."""
    name = (override or section.level).strip().upper()
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        from monitor.errors import InputError

        raise InputError(f"unknown log level {override!r}: use debug, info, warning or error")
    return value


def configure(section: LoggingSection, override: str | None = None) -> int:
    """Replace the root logger's handlers with ours; returns the level set."""
    level = level_of(section, override)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if section.format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(TaskLines(keep_at_info=section.task_lines, threshold=level))
    handler.setLevel(level)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level <= logging.DEBUG else level)
    return level


def for_celery(section: LoggingSection, override: str | None = None) -> int:
    """Before `worker_main`/`start`: Celery leaves logging to us (its setup_logging signal
    has a receiver) and our handler is in place before it forks its pool."""
    from celery.signals import setup_logging

    level = configure(section, override)

    def _ours(**_: Any) -> None:
        configure(section, override)

    setup_logging.connect(_ours, weak=False)
    return level
