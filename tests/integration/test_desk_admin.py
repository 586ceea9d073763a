"""Admin pages over HTTP: sources (health, add with validation, remove refusing stored items
unless purge is confirmed) and the topic taxonomy (view, edit validated, audit-logged, a bad
edit changing nothing); admin only (403), CSRF (403 without the token). Also the alert page's
reminders (已提醒) and event chart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from monitor.models import Event, Item, Source
from monitor.settings import Settings
from responders.admin_topics import TaxonomyWatch, edited_path
from responders.models import Alert, AuditEntry, Reminder
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
TOPICS = (ROOT / "config" / "topics.yaml").read_text(encoding="utf-8")


def _audit(d: Desk, entity: str) -> list[AuditEntry]:
    with d.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.entity == entity)
                              .order_by(AuditEntry.id)))


def _source_id(d: Desk, name: str) -> int | None:
    with d.sessions() as s:
        return s.scalar(select(Source.id).where(Source.name == name))


# ---------------------------------------------------------------- role and CSRF boundaries

@pytest.mark.parametrize("path", ["/admin/sources", "/admin/topics"])
@pytest.mark.parametrize("who", ["wang", "li"])
def test_admin_pages_are_403_for_officers_and_approvers(desk: Desk, path: str,
                                                        who: str) -> None:
    csrf = login(desk.client, who)
    assert desk.client.get(path).status_code == 403
    r = desk.client.post(path, data={"csrf_token": csrf, "name": "x",
                                     "url": "https://a.example/rss", "yaml": TOPICS})
    assert r.status_code == 403
    assert _source_id(desk, "x") is None
    assert not edited_path(desk.client.app.state.desk.settings.home).exists()


def test_admin_pages_need_login(desk: Desk) -> None:
    r = desk.client.get("/admin/sources", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/sources", {"name": "x", "url": "https://a.example/rss"}),
    ("put", "/api/v1/topics", {"yaml": TOPICS}),
    ("delete", "/api/v1/sources/1", None),
    ("get", "/api/v1/topics", None),
])
def test_admin_api_is_403_for_an_officer_token(desk: Desk, method: str, path: str,
                                               body: dict[str, str] | None) -> None:
    kw = {"json": body} if body is not None else {}
    r = desk.client.request(method.upper(), path, headers=desk.bearer("wang"), **kw)
    assert r.status_code == 403, r.text
    assert _source_id(desk, "河南法治网") is not None


def test_admin_writes_need_the_csrf_token(desk: Desk) -> None:
    login(desk.client, "admin")
    sid = _source_id(desk, "河南法治网")
    for path, data in [("/admin/sources", {"name": "新源", "url": "https://b.example/rss"}),
                       (f"/admin/sources/{sid}/remove", {"purge": "yes"}),
                       ("/admin/topics", {"yaml": TOPICS})]:
        assert desk.client.post(path, data=data).status_code == 403
        assert desk.client.post(path, data={**data, "csrf_token": "nope"}).status_code == 403
    assert _source_id(desk, "新源") is None and _source_id(desk, "河南法治网") == sid
    assert not edited_path(desk.client.app.state.desk.settings.home).exists()
    assert _audit(desk, "source") == [] and _audit(desk, "taxonomy") == []


# ---------------------------------------------------------------- sources

def test_sources_page_shows_health(desk: Desk) -> None:
    with desk.sessions() as s:
        src = s.scalars(select(Source)).one()
        src.failure_count, src.last_error = 3, "HTTP 503 Service Unavailable"
        src.last_success_at = NOW - timedelta(hours=5)
        src.next_check_at = NOW + timedelta(minutes=40)
        s.commit()
    login(desk.client, "admin")
    page = desk.client.get("/admin/sources").text
    assert "河南法治网" in page and "HTTP 503 Service Unavailable" in page
    assert "2024-05-06 12:00" in page      # last success, in Shanghai time
    assert "2024-05-06 17:40" in page      # next check
    assert 'class="failing">3<' in page
    assert "错误：</span>HTTP 503" in page and "最近错误" not in page
    # a healthy source's repair notes are notes, not errors
    with desk.sessions() as s:
        src = s.scalars(select(Source)).one()
        src.failure_count, src.last_error = 0, None
        src.last_warning = ("replaced 2 HTML entity reference(s) that XML does not define; "
                            "escaped 1 bare '&' that began no entity reference; a note no "
                            "table knows")
        s.commit()
    page = desk.client.get("/admin/sources").text
    assert "提示（已处理）：</span>替换了 2 个 XML 未定义的 HTML 实体引用；转义了 1 个" in page
    assert "；a note no table knows" in page and "错误：" not in page   # unknown: as it came
    assert "replaced 2 HTML entity" in desk.client.get("/admin/sources?lang=en").text


def test_add_source_validates_then_adds_audits_and_polls(desk: Desk) -> None:
    csrf = login(desk.client, "admin")
    bad = {"csrf_token": csrf, "name": "大河网", "url": "ftp://dahe.example/rss",
           "kind": "news", "interval": "600"}
    r = desk.client.post("/admin/sources", data=bad)
    assert r.status_code == 400
    assert "网址须为带主机名的 http:// 或 https:// 地址" in r.text  # the reason in Chinese
    assert 'value="ftp://dahe.example/rss"' in r.text      # what was typed is kept
    assert _source_id(desk, "大河网") is None
    r = desk.client.post("/admin/sources", data={**bad, "url": "https://dahe.example/rss",
                                                 "interval": "10"})
    assert r.status_code == 400 and "抓取间隔不能少于 60 秒" in r.text
    r = desk.client.post("/admin/sources", data={**bad, "url": "https://dahe.example/rss"},
                         follow_redirects=False)
    assert r.status_code == 303
    sid = _source_id(desk, "大河网")
    assert sid is not None
    assert desk.enqueued[-1] == ("monitor.poll_source", [sid])
    assert [(e.action, e.entity_id, e.actor) for e in _audit(desk, "source")] == [
        ("create", sid, "user:admin")]
    # the same name again is refused, not silently re-pointed
    r = desk.client.post("/admin/sources", data={**bad, "url": "https://other.example/rss"})
    assert r.status_code == 400 and "名为 &#39;大河网&#39; 的信息源已存在" in r.text
    with desk.sessions() as s:
        assert s.get(Source, sid).url == "https://dahe.example/rss"


def test_remove_source_refuses_stored_items_unless_purge_confirmed(desk: Desk) -> None:
    csrf = login(desk.client, "admin")
    sid = _source_id(desk, "河南法治网")
    r = desk.client.post(f"/admin/sources/{sid}/remove", data={"csrf_token": csrf})
    assert r.status_code == 400 and "3 stored items" in r.text
    with desk.sessions() as s:
        assert s.get(Source, sid) is not None
        assert len(s.scalars(select(Alert)).all()) == 3
    r = desk.client.post(f"/admin/sources/{sid}/remove",
                         data={"csrf_token": csrf, "purge": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    with desk.sessions() as s:
        assert s.get(Source, sid) is None
        assert s.scalars(select(Item)).all() == [] and s.scalars(select(Alert)).all() == []
    [entry] = _audit(desk, "source")
    assert entry.action == "delete" and entry.detail["items_deleted"] == 3


def test_api_remove_source_and_health(desk: Desk) -> None:
    sid = _source_id(desk, "河南法治网")
    [health] = desk.client.get("/api/v1/sources/health", headers=desk.bearer("wang")).json()
    assert health["items"] == 3 and health["failure_count"] == 0
    r = desk.client.delete(f"/api/v1/sources/{sid}", headers=desk.bearer("admin"))
    assert r.status_code == 400 and "stored items" in r.json()["error"]
    r = desk.client.delete(f"/api/v1/sources/{sid}?purge=true", headers=desk.bearer("admin"))
    assert r.status_code == 200 and r.json() == {"removed": "河南法治网", "items_deleted": 3}


# ---------------------------------------------------------------- topics

def test_topics_page_shows_the_taxonomy(desk: Desk) -> None:
    login(desk.client, "admin")
    page = desk.client.get("/admin/topics").text
    assert "config/topics.yaml" in page
    assert "河南省司法厅" in page          # the watch list
    assert "community_corrections" in page and "社区矫正" in page
    assert "越狱游戏" in page              # an exclude term
    assert "缓刑 + (报到|外出审批" in page   # a rule


def test_topic_edit_is_validated_saved_audited_and_used(desk: Desk,
                                                        settings: Settings) -> None:
    csrf = login(desk.client, "admin")
    home = settings.home
    watch = TaxonomyWatch(home, Path(settings.config_dir))
    before = watch.current()
    assert "notary" in {t.id for t in before.topics}
    assert before.match("网友吐槽无人机黑飞扰民").topics == ()

    # a bad edit: refused with the reason, the text kept in the editor, nothing written
    broken = TOPICS.replace("- id: prisons\n", "- id: prisons\n    colour: red\n")
    r = desk.client.post("/admin/topics", data={"csrf_token": csrf, "yaml": broken})
    assert r.status_code == 400
    assert "话题 &#39;prisons&#39;：不认识的键 colour" in r.text
    assert "colour: red" in r.text
    r = desk.client.post("/admin/topics", data={"csrf_token": csrf, "yaml": "topics: [1"})
    assert r.status_code == 400 and "不是有效的 YAML：第 1 行" in r.text
    assert not edited_path(home).exists()
    assert _audit(desk, "taxonomy") == []

    # a good edit: a new topic and a watch-list name
    data = yaml.safe_load(TOPICS)
    data["watch"].append("河南省司法厅无人机队")
    data["topics"].append({"id": "drones", "name": "无人机", "keywords": ["无人机黑飞"],
                           "exclude": ["航模比赛"]})
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    r = desk.client.post("/admin/topics", data={"csrf_token": csrf, "yaml": text},
                         follow_redirects=False)
    assert r.status_code == 303
    assert yaml.safe_load(edited_path(home).read_text(encoding="utf-8")) == data
    assert (ROOT / "config" / "topics.yaml").read_text(encoding="utf-8") == TOPICS
    [entry] = _audit(desk, "taxonomy")
    assert entry.actor == "user:admin" and entry.detail["added"] == ["drones"]
    assert entry.detail["removed"] == []
    page = desk.client.get("/admin/topics?saved=1").text
    assert str(edited_path(home)) in page and "无人机黑飞" in page
    # the desk's labels follow, and a worker's taxonomy reloads on the new mtime
    assert desk.client.app.state.desk.topic_names["drones"] == "无人机"
    after = watch.current()
    assert after is not before
    assert after.match("网友吐槽无人机黑飞扰民").topics == ("drones",)
    assert watch.current() is after        # unchanged file: no reload


def test_api_topics_roundtrip(desk: Desk) -> None:
    r = desk.client.get("/api/v1/topics", headers=desk.bearer("admin"))
    assert r.status_code == 200 and r.json()["yaml"] == TOPICS
    r = desk.client.put("/api/v1/topics", json={"yaml": "topics: []\nwatch: 7\n"},
                        headers=desk.bearer("admin"))
    assert r.status_code == 400 and "watch" in r.json()["error"]
    r = desk.client.put("/api/v1/topics", json={"yaml": TOPICS}, headers=desk.bearer("admin"))
    assert r.status_code == 200 and r.json()["saved"] is True


# ---------------------------------------------------------------- the alert page

def test_alert_page_shows_reminders_and_the_event_chart(desk: Desk) -> None:
    a = alert_id(desk, "P1")
    with desk.sessions() as s:
        alert = s.get(Alert, a)
        first = alert.item
        event = Event(first_item_id=first.id, item_count=3, source_ids=[first.source_id],
                      reach=12000, first_seen_at=NOW - timedelta(hours=3),
                      last_seen_at=NOW, burst=True, burst_reason="近1小时12条，基线0.5条/小时")
        s.add(event)
        s.flush()
        first.event_id = event.id
        for n, (hours, label, score) in enumerate([(2.5, "negative", 0.1),
                                                   (0.5, "neutral", 0.5)]):
            s.add(Item(source_id=first.source_id, entry_id=f"ev{n}", content_hash=f"ev{n}",
                       title=f"转发：戒毒所学员死亡{n}", text="转发", fetched_at=NOW,
                       published_at=NOW - timedelta(hours=hours), sentiment_label=label,
                       sentiment_score=score, event_id=event.id))
        s.add(Reminder(alert_id=a, milestone="first_release", milestone_name="首次发布权威信息",
                       due_at=NOW + timedelta(hours=1), recipient="user:wang",
                       channel="email", state="sent", created_at=NOW, sent_at=NOW))
        s.add(Reminder(alert_id=a, milestone="first_release", milestone_name="首次发布权威信息",
                       due_at=NOW + timedelta(hours=1), recipient="webhook",
                       channel="webhook", state="failed", created_at=NOW,
                       error="webhook: 502 Bad Gateway"))
        # a worker that stopped mid-send leaves "sending": never resent, so say it is unsure
        s.add(Reminder(alert_id=a, milestone="first_release", milestone_name="首次发布权威信息",
                       due_at=NOW + timedelta(hours=1), recipient="user:li",
                       channel="email", state="sending", created_at=NOW))
        s.commit()
    login(desk.client, "wang")
    page = desk.client.get(f"/alerts/{a}").text
    assert "已提醒" in page and "提醒失败" in page and "502 Bad Gateway" in page
    assert "发送中，结果未确认" in page and "待发送" not in page
    assert 'id="event-chart"' in page and "<svg" in page
    assert "事件信息量与情感走势" in page
    assert "近1小时12条" in page and "12000" in page
    assert "转发：戒毒所学员死亡0" in page
    # another alert has neither
    other = desk.client.get(f"/alerts/{alert_id(desk, 'P2')}").text
    assert "尚未提醒" in other and 'id="event-chart"' not in other


def test_refusal_reasons_follow_the_page_language(desk: Desk) -> None:
    """Chinese in the Chinese desk (no English sentence inside the 未保存 frame), English on
    the English one (issue 16)."""
    csrf = login(desk.client, "admin")
    bad = {"csrf_token": csrf, "name": "大河网", "url": "https://dahe.example/rss",
           "kind": "tv", "interval": "600"}
    r = desk.client.post("/admin/sources", data=bad)
    assert r.status_code == 400
    assert "未保存，信息源设置有误：信息源 &#39;大河网&#39;：类型须为 news, government" in r.text
    assert "must be one of" not in r.text
    r = desk.client.post("/admin/topics", data={"csrf_token": csrf,
                                                "yaml": "watch: []\ntopics: []\n"})
    assert r.status_code == 400 and "未保存：topics 须为非空列表" in r.text
    desk.client.cookies.set("yq_lang", "en")
    r = desk.client.post("/admin/sources", data=bad)
    assert r.status_code == 400
    assert "Not saved: source &#39;大河网&#39;: kind must be one of" in r.text
    r = desk.client.post("/admin/topics", data={"csrf_token": csrf,
                                                "yaml": "watch: []\ntopics: []\n"})
    assert r.status_code == 400 and "Not saved: &#39;topics&#39; must be a non-empty list" in r.text
