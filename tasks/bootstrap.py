"""Getting a database ready: migrate it and load sources, the bundled demo's among them.

`yuqing init`, `yuqing web`, `yuqing run` and `yuqing demo` all start here. It lives apart from
the command-line module so that the service and the desk commands can use it without
importing `tasks.cli`, which imports them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.settings import Settings

DEMO_DIR_NAME = "demo"
DEFAULT_DEMO_PORT = 8765


def demo_specs(settings: Settings, base_url: str) -> list[Any]:
    from dataclasses import replace

    from monitor.sources import IntervalRules, load_specs

    specs = load_specs(Path(settings.config_dir) / DEMO_DIR_NAME / "sources.yaml",
                       IntervalRules.from_section(settings.poll), base_url=base_url)
    # The demo server runs on loopback, which sources may not fetch unless allowed per source.
    return [replace(spec, allow_private=True) for spec in specs]


def init_database(settings: Settings, *, sources_file: Path | None = None,
                  demo_base_url: str | None = None) -> dict[str, Any]:
    from monitor.db import make_engine, make_sessionmaker
    from monitor.sources import IntervalRules, load_specs, upsert_source
    from responders.schema import migrate

    engine = make_engine(settings.database_url)
    revision = migrate(engine)
    specs = []
    if sources_file is not None:
        specs += load_specs(sources_file, IntervalRules.from_section(settings.poll))
    if demo_base_url is not None:
        specs += demo_specs(settings, demo_base_url)
    created = updated = 0
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        for spec in specs:
            _, new = upsert_source(session, spec, now)
            created += int(new)
            updated += int(not new)
        if demo_base_url is not None:  # the demo year of the disclosure register (issue 20)
            from responders.register.calendar import load_calendar
            from responders.register.demo import load_demo

            load_demo(session, Path(settings.config_dir), settings.home,
                      load_calendar(Path(settings.config_dir), settings.home), now)
        session.commit()
    engine.dispose()
    return {"revision": revision, "sources_created": created, "sources_updated": updated}
