"""tasks.logsetup: the per-task lines demoted to DEBUG, JSON lines, levels."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace

import pytest

from monitor.errors import InputError
from tasks import logsetup
from tests.support.settings import defaults


def _record(name: str, msg: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


@pytest.mark.parametrize(("name", "msg", "task_line"), [
    ("celery.worker.strategy", "Task monitor.poll_source[1f2e] received", True),
    ("celery.app.trace", "Task monitor.poll_source[1f2e] succeeded in 0.1s: {}", True),
    ("celery.beat", "Scheduler: Sending due task schedule-due-sources (monitor.schedule_due)",
     True),
    ("celery.beat", "beat: Starting...", False),
    ("celery.app.trace", "Task monitor.poll_source[1f2e] raised unexpected: KeyError", True),
    ("yuqing.tasks", "Task 12 finished", False),            # not Celery's
    ("celery.worker.consumer.connection", "Connected to redis://", False),
])
def test_which_lines_are_task_lines(name: str, msg: str, task_line: bool) -> None:
    assert logsetup.is_task_line(_record(name, msg)) is task_line
    # A WARNING or ERROR from the same loggers is never demoted.
    assert not logsetup.is_task_line(_record(name, msg, logging.ERROR))


def _capture(section_changes: dict[str, object], override: str | None = None) -> io.StringIO:
    section = replace(defaults().tree.logging, **section_changes)
    logsetup.configure(section, override)
    out = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    return out


@pytest.fixture(autouse=True)
def _restore_root():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_task_lines_are_debug_unless_asked_for() -> None:
    out = _capture({"format": "json"})
    logging.getLogger("celery.worker.strategy").info("Task x[1] received")
    logging.getLogger("yuqing.tasks").warning("source %s failed: %s", 7, "HTTP 503")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["level"], r["message"]) for r in lines] == [
        ("WARNING", "source 7 failed: HTTP 503")]

    out = _capture({"format": "json"}, override="debug")
    logging.getLogger("celery.worker.strategy").info("Task x[1] received")
    assert [json.loads(line)["level"] for line in out.getvalue().splitlines()] == ["DEBUG"]

    out = _capture({"format": "text", "task_lines": True})
    logging.getLogger("celery.worker.strategy").info("Task x[1] received")
    assert " INFO " in out.getvalue() and "Task x[1] received" in out.getvalue()


def test_json_lines_carry_the_traceback_and_chinese_as_is() -> None:
    out = _capture({"format": "json"})
    try:
        raise ValueError("坏数据")
    except ValueError:
        logging.getLogger("yuqing.tasks").exception("分析失败：%s", "批次 3")
    record = json.loads(out.getvalue())
    assert record["message"] == "分析失败：批次 3" and record["level"] == "ERROR"
    assert "ValueError: 坏数据" in record["exc"]
    assert "\\u" not in out.getvalue()


def test_a_bad_level_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown log level"):
        logsetup.level_of(defaults().tree.logging, "loud")
    assert logsetup.level_of(defaults().tree.logging, None) == logging.INFO
    assert logsetup.level_of(defaults().tree.logging, "WARNING") == logging.WARNING


def test_probe_and_scrape_lines_are_debug() -> None:
    out = _capture({"format": "text", "task_lines": True})
    # A uvicorn started in this process by an earlier test leaves its own configuration on
    # its loggers (a handler on "uvicorn" and on "uvicorn.access", no propagation, a level),
    # so a record would stop at the parent before reaching the root handler under test.
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate, logger.disabled = True, False
        logger.setLevel(logging.NOTSET)
    access = logging.getLogger("uvicorn.access")
    for path in ("/healthz", "/readyz", "/metrics", "/queue"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    logging.getLogger("alembic.runtime.migration").info("Context impl PostgresqlImpl.")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade core_0003 -> core_0004")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert '"GET /queue HTTP/1.1" 200' in lines[0] and "Running upgrade" in lines[1]
