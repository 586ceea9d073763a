"""The demo year of the register (config/demo/register/): 31 requests received in 2024–2025 and
five reconsiderations and lawsuits, all fictional, loaded through the same import as an
office's spreadsheet, so the demo's `yuqing report annual --year 2025` passes its checks."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.register.calendar import WorkCalendar
from responders.register.importing import (
    CASE_COLUMNS,
    REQUEST_COLUMNS,
    import_cases,
    import_requests,
    read_sheet,
)

DEMO_YEAR = 2025
ACTOR = "system:demo"


def demo_dir(config_dir: Path) -> Path:
    return config_dir / "demo" / "register"


def load_demo(session: Session, config_dir: Path, home: Path, cal: WorkCalendar,
              now: datetime) -> dict[str, Any]:
    """Idempotent: a second load finds every row unchanged. Flushes; the caller commits."""
    folder = demo_dir(config_dir)
    reqs = import_requests(session, ACTOR, read_sheet(folder / "requests.csv"),
                           REQUEST_COLUMNS, cal, now, name="requests.csv")
    if not reqs.stored:
        raise InputError(f"demo register refused: {reqs.errors[:3]}")
    session.flush()
    cases = import_cases(session, ACTOR, read_sheet(folder / "cases.csv"), CASE_COLUMNS, now,
                         name="cases.csv")
    if not cases.stored:
        raise InputError(f"demo cases refused: {cases.errors[:3]}")
    target = home / "annual" / f"{DEMO_YEAR}.yaml"
    if not target.exists():       # never overwrite what the office has edited
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / f"annual-{DEMO_YEAR}.yaml", target)
    return {"requests": reqs.as_dict(), "cases": cases.as_dict()}
