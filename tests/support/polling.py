"""One poll the way the boundaries do it (tasks.jobs.poll_source, `yuqing poll`): the plan in a
short read, the fetch with no session open, the outcome applied and committed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.fetch import FetchPolicy
from monitor.polling import PollReport, PollSettings, apply_poll, fetch_and_parse, read_plan


def poll_once(sessions: sessionmaker[Session], source_id: int, *, policy: FetchPolicy,
              cfg: PollSettings, now: datetime, jitter: float = 0.0,
              sleep: Callable[[float], None] = time.sleep) -> PollReport | None:
    with sessions() as s:
        plan = read_plan(s, source_id, cfg=cfg, now=now)
    if plan is None:
        return None
    outcome = fetch_and_parse(plan, policy=policy, cfg=cfg, now=now, sleep=sleep)
    with sessions() as s:
        report = apply_poll(s, plan, outcome, cfg=cfg, now=now, jitter=jitter)
        s.commit()
    return report
