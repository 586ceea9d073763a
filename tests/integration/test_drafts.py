"""A draft from a real alert reads like a release: its title names the story's matter (a
report's headline, not the first words of a Weibo post), it says where the matter was
published as the public knows it (not yuqing's source name), and it cannot be submitted
while the template's places for the officer are empty. SQLite, or PostgreSQL when
YUQING_TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import InputError
from monitor.models import Item
from responders import desk
from responders.auth import Principal
from responders.drafting import DraftSettings, create_draft
from responders.models import Alert, User
from tests.support.analysis import analyse, source_row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"


def _post(s: Session, source: int, title: str, text: str, at: datetime, n: int) -> int:
    item = Item(source_id=source, entry_id=f"d{n}", content_hash=f"d{n}", title=title,
                text=text, fetched_at=at, published_at=at, topics=[], keywords=[],
                analysis_runs=0, extra={})
    s.add(item)
    s.flush()
    return item.id


def test_a_draft_names_the_matter_and_waits_for_the_facts(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        weibo = source_row(s, "微博搜索·河南 司法（接口）", "weibo", NOW)
        news = source_row(s, "大河网·法治频道", "news", NOW)
        text = ("听说洛阳涧西第二强制隔离戒毒所有学员被打死了，家属都不让见人，这事有人知道吗？？？"
                "转发让更多人看到")
        ids = [_post(s, weibo, text[:20] + "…", text, NOW, 1),
               _post(s, news, "洛阳涧西一戒毒所学员死亡 家属质疑救治不及时",
                     "洛阳市涧西区第二强制隔离戒毒所一名学员死亡，家属质疑所方救治不及时，"
                     "要求公开监控视频。", NOW + timedelta(minutes=30), 2)]
        analyse(s, ids, NOW + timedelta(hours=1))
        officer = User(name="wang", display_name="王科员", role="officer",
                       password_hash="x", created_at=NOW, active=True)
        s.add(officer)
        s.flush()
        who = Principal(kind="user", id=officer.id, name="wang", role="officer",
                        user_id=officer.id)
        alert = s.scalars(select(Alert)).one()
        settings = DraftSettings(templates_dir=TEMPLATES, tz="Asia/Shanghai",
                                 office="河南省司法厅", topic_names={})
        draft = create_draft(s, who, alert.id, "回应", [], settings, NOW + timedelta(hours=1))
        assert "洛阳涧西一戒毒所学员死亡" in draft.title      # the report's headline …
        assert "转发" not in draft.title and "？" not in draft.title  # … not the post's words
        assert "（接口）" not in draft.body and "微博搜索" not in draft.body
        assert "网民在微博" in draft.body
        with pytest.raises(InputError, match="待填写"):
            desk.output_action(s, who, draft.id, "submit", NOW + timedelta(hours=2))
        desk.edit_output(s, who, draft.id, NOW + timedelta(hours=2), title=draft.title,
                         body=draft.body.replace("【待填写：", "经核查：").replace("】", "。"),
                         cited_policy_ids=[])
        assert desk.output_action(s, who, draft.id, "submit",
                                  NOW + timedelta(hours=3)).state == "submitted"
