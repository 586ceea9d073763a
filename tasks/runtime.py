"""What a process needs to run tasks, built once per process (never at import).

Worker children build it in `worker_process_init` (after fork: database engines and the
sentiment model must not be shared across processes); other processes build it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
from monitor.topics import Taxonomy
from responders.admin_topics import TaxonomyWatch
from responders.sla import SLA


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
    _scorer: Scorer | None = field(default=None, repr=False)

    @property
    def taxonomy(self) -> Taxonomy:
        """$YUQING_HOME/topics.yaml (the desk's admins edit it) else config/topics.yaml;
        one stat() per use, reloaded only when the file changed — read once per batch."""
        return self.topics.current()

    @property
    def scorer(self) -> Scorer:
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
