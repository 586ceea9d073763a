"""What a process needs to run tasks, built once per process (never at import).

Worker children build it in `worker_process_init` (after fork: database engines and the
sentiment model must not be shared across processes); other processes build it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import make_engine, make_sessionmaker
from monitor.event_store import EventSettings
from monitor.fetch import FetchPolicy
from monitor.flagging import FlagPolicy
from monitor.office import OwnVoice
from monitor.polling import PollSettings
from monitor.sentiment import Scorer, build_scorer
from monitor.settings import Settings, load_settings
from monitor.settings_schema import CelerySection
from monitor.topics import Taxonomy
from responders.admin_topics import TaxonomyWatch
from responders.sla import SLA

if TYPE_CHECKING:  # imported when used: processes that never score do not load numpy
    from monitor.sentiment.active import ModelWatch
    from monitor.sentiment.second import SecondOpinionScorer

# Slack on top of the longest legitimate unacknowledged time, for clocks and a slow ack.
RECOVERY_MARGIN_S = 30
# The cap on a task's autoretry countdown (tasks.jobs). A constant, not a setting: Celery
# reads it when the task is declared, at import, before any settings exist.
RETRY_BACKOFF_MAX_S = 60


@dataclass(frozen=True)
class Recovery:
    """How long a dead worker's work waits before it is done again (issue 14, item 9).

    With acks_late, a message stays unacknowledged while its task runs (at most
    `time_limit`: the pool kills a child that runs longer, and the message is then acked as
    failed) and while a retry waits for its countdown (at most `retry_backoff_max`: the
    worker holds the message until then). Redis re-delivers a message unacknowledged for
    `visibility_timeout`, so it must be longer than both together, or a task still running
    is handed out a second time; and not much longer, or a killed worker's tasks wait for
    nothing. A claimed poll's lease covers that redelivery and one restore scan, so a lost
    poll is re-delivered before beat would claim its source again."""

    time_limit: int
    retry_backoff_max: int
    visibility_timeout: int
    restore_scan: int       # Redis looks for expired messages this often (interval × throttle)
    poll_lease: int

    @property
    def worst_case_s(self) -> int:
        """After `kill -9` on a worker, on Redis: its messages come back within this long."""
        return self.visibility_timeout + self.restore_scan

    @classmethod
    def from_section(cls, celery: CelerySection) -> Recovery:
        """Pure. An explicit visibility_timeout or poll_lease (non-zero) is taken as given."""
        visibility = celery.visibility_timeout or (
            celery.task_time_limit + RETRY_BACKOFF_MAX_S + RECOVERY_MARGIN_S)
        scan = celery.restore_interval * celery.restore_throttle
        lease = celery.poll_lease or visibility + scan
        return cls(time_limit=celery.task_time_limit,
                   retry_backoff_max=RETRY_BACKOFF_MAX_S,
                   visibility_timeout=visibility, restore_scan=scan, poll_lease=lease)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    topics: TaxonomyWatch
    sla: SLA
    fetch_policy: FetchPolicy
    poll_settings: PollSettings
    flag_policy: FlagPolicy
    event_settings: EventSettings
    own_voice: OwnVoice
    recovery: Recovery
    _scorer: Scorer | None = field(default=None, repr=False)
    _models: ModelWatch | None = field(default=None, repr=False)
    _second: SecondOpinionScorer | None = field(default=None, repr=False)

    @property
    def taxonomy(self) -> Taxonomy:
        """$YUQING_HOME/topics.yaml (the desk's admins edit it) else config/topics.yaml;
        one stat() per use, reloaded only when the file changed — read once per batch."""
        return self.topics.current()

    @property
    def scorer(self) -> Scorer:
        """The scorer for one batch: read it once per task and score the batch with it.
        The `weibo` engine follows the model registry's pointer ($YUQING_HOME/models/
        sentiment): one stat() per read, and a new version is loaded whole before it
        replaces the old one (monitor.sentiment.active), so no batch mixes two models."""
        engine = self.settings.sentiment.engine
        if engine in ("weibo", "weibo+e5"):
            if self._models is None:
                from monitor.sentiment.active import ModelWatch
                from monitor.sentiment.registry import registry_root

                self._models = ModelWatch(registry_root(self.settings.home),
                                          self.settings.sentiment.max_chars)
            first = self._models.current()
            if engine == "weibo":
                return first
            # weibo+e5 (monitor.sentiment.second): the encoder loads once, and the second
            # opinion follows the active weibo version from the same batch on.
            if self._second is None:
                from monitor.sentiment import second

                self._second = second.build(first, self.settings.sentiment.max_chars)
            self._second = self._second.over(first)
            return self._second
        if self._scorer is None:
            self._scorer = build_scorer(self.settings.sentiment)
        return self._scorer


def build_runtime(settings: Settings) -> Runtime:
    """The policies are built here, once, from the typed sections: the settings were
    checked at load, and every default is config/defaults.yaml's."""
    config = Path(settings.config_dir)
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        topics=_loaded(TaxonomyWatch(settings.home, config)),
        sla=SLA.from_file(config / "sla.yaml"),
        fetch_policy=FetchPolicy.from_section(settings.fetch),
        poll_settings=PollSettings.from_settings(settings),
        flag_policy=FlagPolicy.from_section(settings.flagging),
        event_settings=EventSettings.from_section(settings.events),
        own_voice=OwnVoice.from_section(settings.office_voice),
        recovery=Recovery.from_section(settings.celery),
    )


def _loaded(watch: TaxonomyWatch) -> TaxonomyWatch:
    watch.current()  # a broken taxonomy stops the process at start, not at the first batch
    return watch


_current: Runtime | None = None


def current_runtime() -> Runtime:
    global _current
    if _current is None:
        _current = build_runtime(load_settings())
    return _current


def reset_runtime(*, load_scorer: bool = False) -> Runtime:
    """Drop what a parent process built and build anew (called in each worker child)."""
    global _current
    if _current is not None:
        # The parent's pooled connections belong to the parent; never reuse them after fork.
        _current.engine.dispose(close=False)
    _current = build_runtime(load_settings())
    if load_scorer:
        _ = _current.scorer  # load the model now, not inside the first task
    return _current
