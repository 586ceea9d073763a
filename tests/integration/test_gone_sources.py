"""HTTP 410 Gone and a long 404 (issue 14, item 10), polled from a loopback server: a gone
source is kept, shown as gone, never claimed again by the scheduler until an admin runs
`yuqing sources enable`; a source answering 404 for poll.likely_gone_days is shown as likely
gone and still polled. Also: two claims of one source at once, and a late poll message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from monitor import polling
from monitor.fetch import FetchPolicy
from monitor.models import Source
from monitor.polling import PollSettings, claim_due, lease_held, lease_token
from monitor.settings import load_settings
from monitor.sources import SourceSpec, upsert_source
from tests.integration.test_cli import cli_env, yuqing  # noqa: F401 (fixture)
from tests.support.fake_web import FakeWeb
from tests.support.feeds import sample_feed
from tests.support.polling import poll_once

pytestmark = pytest.mark.integration

SETTINGS = load_settings(env={})
CFG = PollSettings.from_settings(SETTINGS)
POLICY = FetchPolicy.from_section(SETTINGS.fetch)


def _add(sessions: sessionmaker[Session], name: str, url: str, now: datetime) -> int:
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name=name, url=url, interval_s=600,
                                             allow_private=True), now)
        s.commit()
        return src.id


def _claim(sessions: sessionmaker[Session], now: datetime) -> list[int]:
    with sessions() as s:
        ids = claim_due(s, now, batch_size=50, per_host=10, lease_s=300)
        s.commit()
        return ids


def test_410_marks_the_source_gone_until_an_admin_enables_it(
        fake_web: FakeWeb, sessions: sessionmaker[Session], cli_env: dict[str, str]) -> None:
    now = datetime.now(UTC)
    fake_web.add("/old.xml", 410)
    sid = _add(sessions, "已撤销的栏目", fake_web.url("/old.xml"), now)
    report = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=now)
    assert report is not None and not report.ok
    with sessions() as s:
        src = s.get(Source, sid)
        assert src is not None
        assert src.last_status == 410 and src.next_check_at is None
        assert "源已下线" in (src.last_error or "") and "sources enable" in src.last_error
    # Never claimed again: not at the next tick, not in a week.
    for later in (now + timedelta(minutes=1), now + timedelta(days=7)):
        assert _claim(sessions, later) == []
    assert fake_web.hits("/old.xml") == 1

    listed = yuqing(cli_env, "sources", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = json.loads(listed.stdout)[0]
    assert row["health"] == "gone" and row["items"] == 0
    text = yuqing(cli_env, "sources", "list").stdout
    assert "GONE ×1" in text and "源已下线" in text

    # The address works again; the admin re-enables it and the next tick polls it.
    fake_web.add_feed("/old.xml", sample_feed())
    enabled = yuqing(cli_env, "sources", "enable", "已撤销的栏目")
    assert enabled.returncode == 0, enabled.stderr
    assert "enabled source" in enabled.stdout
    assert _claim(sessions, now + timedelta(minutes=2)) == [sid]
    # Enabling a source that is not gone says so, with exit code 2.
    again = yuqing(cli_env, "sources", "enable", "已撤销的栏目")
    assert again.returncode == 2 and "not marked gone" in again.stderr


def test_404_for_days_is_likely_gone_and_still_polled(
        fake_web: FakeWeb, sessions: sessionmaker[Session], cli_env: dict[str, str]) -> None:
    fake_web.add("/moved.xml", 404)
    added = datetime.now(UTC) - timedelta(days=10)
    sid = _add(sessions, "改版栏目", fake_web.url("/moved.xml"), added)
    # A fresh 404 is only a failure …
    with sessions() as s:
        s.execute(update(Source).where(Source.id == sid).values(
            last_success_at=datetime.now(UTC) - timedelta(days=1)))
        s.commit()
    poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=datetime.now(UTC))
    with sessions() as s:
        src = s.get(Source, sid)
        assert src is not None and "可能已下线" not in (src.last_error or "")
    assert json.loads(yuqing(cli_env, "sources", "list", "--json").stdout)[0]["health"] \
        == "failing"
    # … after poll.likely_gone_days without a success it is shown as likely gone.
    with sessions() as s:
        s.execute(update(Source).where(Source.id == sid).values(
            last_success_at=datetime.now(UTC) - timedelta(days=8)))
        s.commit()
    now = datetime.now(UTC)
    poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=now)
    with sessions() as s:
        src = s.get(Source, sid)
        assert src is not None and "可能已下线" in (src.last_error or "")
        assert src.next_check_at is not None  # still polled, with backoff
        due_again = src.next_check_at
    assert json.loads(yuqing(cli_env, "sources", "list", "--json").stdout)[0]["health"] \
        == "likely gone"
    assert _claim(sessions, due_again) == [sid]


def test_a_source_is_claimed_once_and_a_late_message_finds_its_lease_spent(
        fake_web: FakeWeb, sessions: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    sid = _add(sessions, "双节拍", fake_web.url("/x.xml"), now)
    real_pick = polling.pick_due
    other: list[list[int]] = []

    def pick_while_another_beat_claims(*args: Any, **kw: Any) -> list[int]:
        # Two beats' ticks at one moment: this one has read the source as due; the other
        # claims it and commits before this one writes its lease.
        chosen = real_pick(*args, **kw)
        if not other:
            other.append([])
            with sessions() as b:
                other[0] = claim_due(b, now, batch_size=50, per_host=10, lease_s=300)
                b.commit()
        return chosen

    monkeypatch.setattr(polling, "pick_due", pick_while_another_beat_claims)
    with sessions() as a:
        first = claim_due(a, now, batch_size=50, per_host=10, lease_s=300)
        a.commit()
    monkeypatch.setattr(polling, "pick_due", real_pick)
    # The other beat claimed it; this one read it as due but did not claim it too.
    assert (other[0], first) == ([sid], [])
    token = lease_token(now, 300)
    with sessions() as s:
        assert lease_held(s, sid, token)
    # Its lease ran out, beat claimed it again: the first message, arriving now, is stale.
    assert _claim(sessions, now + timedelta(seconds=301)) == [sid]
    with sessions() as s:
        assert not lease_held(s, sid, token)
        assert lease_held(s, sid, lease_token(now + timedelta(seconds=301), 300))
