"""Transactions of the press desk: a lost race on the state-checked UPDATE (409, nothing
written), and one unit of work per web request — a GET writes nothing (the session's
last-seen time at most once a minute, on its own), a failing request leaves nothing
behind, a successful change commits once and enqueues only after its commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from monitor.settings import Settings
from responders import desk as desk_ops
from responders.auth import Principal
from responders.models import Alert, AuditEntry, Output, User, WebSession
from responders.web.deps import DB, UoW
from responders.web.unit_of_work import DeskRoute
from responders.workflow import StateConflict
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401
from tests.integration.test_ingest_api import POSTS
from tests.integration.test_ingest_api import _client as push_client


def _principal(s: Session, name: str) -> Principal:
    user = s.scalars(select(User).where(User.name == name)).one()
    return Principal("user", user.id, user.name, user.role, user.id)


def _audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return len(s.scalars(select(AuditEntry)).all())


def _output(sessions: sessionmaker[Session], state: str, author: str = "zhao") -> int:
    with sessions() as s:
        author_id = s.scalars(select(User.id).where(User.name == author)).one()
        out = Output(alert_id=None, kind="回应", title="t", body="正文", state=state,
                     author_id=author_id, created_at=NOW, updated_at=NOW)
        s.add(out)
        s.commit()
        return out.id


# ---------------------------------------------------------------- a lost race

def _set(sessions: sessionmaker[Session], model: Any, ident: int, state: str) -> None:
    with sessions() as s:
        s.execute(update(model).where(model.id == ident).values(state=state))
        s.commit()


RACES: list[tuple[str, str, str, str, Callable[..., Any]]] = [
    # (entity, state read, state the other request left, who, the change)
    ("alert", "new", "escalated", "wang",
     lambda s, who, i: desk_ops.alert_action(s, who, i, "assign", NOW, assignee="wang")),
    ("alert", "assigned", "dismissed", "wang",
     lambda s, who, i: desk_ops.start_draft(s, who, i, desk_ops.DraftInput("回应", "t", "正文"),
                                            NOW)),
    ("output", "draft", "submitted", "wang",
     lambda s, who, i: desk_ops.edit_output(s, who, i, NOW, title="新", body="新正文",
                                            cited_policy_ids=[])),
    ("output", "submitted", "returned", "li",
     lambda s, who, i: desk_ops.output_action(s, who, i, "approve", NOW)),
    ("output", "approved", "draft", "wang",
     lambda s, who, i: desk_ops.publish_output(
         s, who, i, [desk_ops.PublicationInput("门户网站", None, NOW)], NOW)),
]


@pytest.mark.parametrize(("entity", "read", "moved", "who", "change"), RACES,
                         ids=[f"{r[0]}-{r[1]}" for r in RACES])
def test_a_lost_race_is_a_conflict_and_writes_nothing(desk: Desk, entity: str, read: str,
                                                      moved: str, who: str,
                                                      change: Callable[..., Any]) -> None:
    """The row is read in one state; another request moves it before this one's UPDATE.
    The state-checked UPDATE matches no row: StateConflict, and with the rollback neither
    the change nor its audit entry remains."""
    model = Alert if entity == "alert" else Output
    ident = alert_id(desk, "P2") if entity == "alert" else _output(desk.sessions, read)
    _set(desk.sessions, model, ident, read)
    audits = _audit_count(desk.sessions)
    with desk.sessions() as s:
        me = _principal(s, who)
        # This request has read the row (the identity map keeps what it read) …
        row = s.get(model, ident)
        assert row is not None and row.state == read
        # … when another request moves it and commits.
        _set(desk.sessions, model, ident, moved)
        with pytest.raises(StateConflict, match="changed meanwhile"):
            change(s, me, ident)
        s.rollback()
    with desk.sessions() as s:
        assert s.scalar(select(model.state).where(model.id == ident)) == moved
    assert _audit_count(desk.sessions) == audits


# ---------------------------------------------------------------- one unit of work per request

class Writes:
    """What the app's engine is asked to write: INSERT/UPDATE/DELETE statements, commits."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(" ".join(statement.split())[:60])

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def clear(self) -> None:
        self.statements.clear()
        self.commits = 0

    def tables(self) -> list[str]:
        """'UPDATE alerts', 'INSERT INTO audit_log', … in the order they ran."""
        return [" ".join(s.split()[:3 if s.startswith(("INSERT", "DELETE")) else 2])
                for s in self.statements]

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


def _engine(d: Desk) -> Engine:
    engine = d.client.app.state.desk.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


@pytest.fixture
def writes(desk: Desk) -> Iterator[Writes]:  # noqa: F811 (the desk fixture, imported)
    w = Writes(_engine(desk))
    yield w
    w.remove()


def _state(d: Desk, model: Any, ident: int) -> str | None:
    with d.sessions() as s:
        return s.scalar(select(model.state).where(model.id == ident))


def test_a_get_within_the_minute_writes_nothing(desk: Desk, writes: Writes) -> None:
    a = alert_id(desk, "P1")
    login(desk.client, "wang")  # at NOW: the session was last seen at NOW
    writes.clear()
    for path in ("/", "/queue/rows?priority=P1", f"/alerts/{a}", "/log", "/log.csv",
                 "/log.json", "/api/v1/alerts", f"/api/v1/alerts/{a}"):
        assert desk.client.get(path).status_code == 200, path
    desk.clock[0] = NOW + timedelta(seconds=59)
    assert desk.client.get("/").status_code == 200
    assert (writes.statements, writes.commits) == ([], 0)


def test_the_last_use_is_written_at_most_once_a_minute_in_its_own_commit(
        desk: Desk, writes: Writes) -> None:
    login(desk.client, "wang")
    writes.clear()
    desk.clock[0] = NOW + timedelta(minutes=2)
    for _ in range(3):
        assert desk.client.get("/").status_code == 200
    assert (writes.tables(), writes.commits) == (["UPDATE web_sessions"], 1)
    with desk.sessions() as s:
        assert s.scalars(select(WebSession.last_seen_at)).one() == NOW + timedelta(minutes=2)
    # A token: its first use is recorded, then nothing within the minute.
    writes.clear()
    for _ in range(3):
        assert desk.client.get("/api/v1/alerts", headers=desk.bearer("li")).status_code == 200
    assert (writes.tables(), writes.commits) == (["UPDATE api_tokens"], 1)


def test_a_refused_post_writes_nothing(desk: Desk, writes: Writes) -> None:
    """The first publication is pending in the session when the second is refused: a
    commit at the end of a failed request would store it."""
    out = _output(desk.sessions, "approved")
    desk.client.get("/api/v1/alerts", headers=desk.bearer("wang"))  # the token's first use
    writes.clear()
    r = desk.client.post(f"/api/v1/outputs/{out}/publications", headers=desk.bearer("wang"),
                         json={"publications": [{"channel": "门户网站"}, {"channel": " "}]})
    assert r.status_code == 400
    assert (writes.statements, writes.commits) == ([], 0)
    with desk.sessions() as s:
        assert s.get(Output, out).publications == []  # type: ignore[union-attr]
    assert _state(desk, Output, out) == "approved"


def test_a_post_failing_after_its_update_is_rolled_back(desk: Desk, writes: Writes,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The alert's UPDATE has run when the audit entry fails: nothing may remain."""
    a = alert_id(desk, "P1")
    csrf = login(desk.client, "wang")

    def audit_fails(*args: Any, **kw: Any) -> None:
        raise StateConflict("the audit entry could not be written")

    monkeypatch.setattr(desk_ops, "audit", audit_fails)
    audits = _audit_count(desk.sessions)
    writes.clear()
    r = desk.client.post(f"/alerts/{a}/assign", data={"csrf_token": csrf, "assignee": "wang"},
                         follow_redirects=False)
    assert r.status_code == 409
    assert writes.tables() == ["UPDATE alerts"] and writes.commits == 0
    assert _state(desk, Alert, a) == "new"
    assert _audit_count(desk.sessions) == audits


def test_a_successful_post_commits_once(desk: Desk, writes: Writes) -> None:
    a = alert_id(desk, "P2")
    csrf = login(desk.client, "wang")
    writes.clear()
    r = desk.client.post(f"/alerts/{a}/assign", data={"csrf_token": csrf, "assignee": "zhao"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert (writes.tables(), writes.commits) == (["UPDATE alerts", "INSERT INTO audit_log"], 1)
    assert _state(desk, Alert, a) == "assigned"
    # Edit and submit in one form: one unit of work, one commit.
    out = _output(desk.sessions, "draft", author="wang")
    writes.clear()
    r = desk.client.post(f"/outputs/{out}/edit", data={"csrf_token": csrf, "title": "标题",
                                                       "body": "新的正文", "then": "submit"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert writes.commits == 1
    assert _state(desk, Output, out) == "submitted"


def test_enqueue_runs_after_the_commit(desk: Desk, writes: Writes) -> None:
    seen: list[tuple[str, bool, int]] = []

    def enqueue(name: str, args: list[Any]) -> None:
        with desk.sessions() as s:  # another connection: sees only what is committed
            seen.append((name, s.get(Source, args[0]) is not None, writes.commits))

    desk.client.app.state.desk.enqueue = enqueue
    desk.client.get("/api/v1/alerts", headers=desk.bearer("admin"))  # the token's first use
    writes.clear()
    r = desk.client.post("/api/v1/sources", headers=desk.bearer("admin"),
                         json={"name": "新来源", "url": "https://news.example/feed.xml"})
    assert r.status_code == 201
    csrf = login(desk.client, "admin")
    writes.clear()
    r = desk.client.post("/admin/sources", data={"csrf_token": csrf, "name": "大河网",
                                                 "url": "https://dahe.example/rss"},
                         follow_redirects=False)
    assert r.status_code == 303
    assert seen == [("monitor.poll_source", True, 1)] * 2


def test_a_failed_commit_is_an_error_answer_and_enqueues_nothing(desk: Desk) -> None:
    """The commit runs before the response is sent: when it fails the client gets a 500,
    never the 201 of a source that was not stored, and nothing is enqueued."""
    desk.client.get("/api/v1/alerts", headers=desk.bearer("admin"))  # the token's first use

    def refuse(conn: Any) -> None:
        raise RuntimeError("the database refused the commit")

    engine = _engine(desk)
    event.listen(engine, "commit", refuse)
    try:
        client = TestClient(desk.client.app, raise_server_exceptions=False)
        r = client.post("/api/v1/sources", headers=desk.bearer("admin"),
                        json={"name": "新来源", "url": "https://news.example/feed.xml"})
    finally:
        event.remove(engine, "commit", refuse)
    assert r.status_code == 500
    assert desk.enqueued == []
    with desk.sessions() as s:
        assert s.scalar(select(Source.id).where(Source.name == "新来源")) is None


def test_the_push_api_enqueues_after_its_commit(settings: Settings,
                                                sessions: sessionmaker[Session]) -> None:
    seen: list[int] = []

    def enqueue(name: str, args: list[Any]) -> None:
        with sessions() as s:
            seen.append(len(s.scalars(select(Item.id).where(Item.id.in_(args[0]))).all()))

    for push in push_client(settings, sessions):
        push.client.app.state.desk.enqueue = enqueue
        r = push.post({"posts": POSTS})
        assert r.status_code == 200 and r.json()["analysis"] == "queued"
        assert seen == [len(POSTS)]


# ---------------------------------------------------------------- the mechanism alone

def _probe(session: Session, n: int) -> None:
    session.add(AuditEntry(at=NOW, actor="test", entity="probe", entity_id=n, action="probe"))
    session.flush()


def _probes(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as s:
        return sorted(s.scalars(select(AuditEntry.entity_id)
                                .where(AuditEntry.entity == "probe")))


def test_desk_route_commits_only_a_successful_write(sessions: sessionmaker[Session]) -> None:
    after: list[int] = []
    routed = APIRouter(route_class=DeskRoute)
    plain = APIRouter()

    @routed.post("/done")
    def done(uow: UoW) -> dict[str, str]:
        _probe(uow.session, 1)
        uow.after_commit(lambda: after.append(_probes(sessions).count(1)))
        return {}

    @routed.post("/answered-400")
    def answered(uow: UoW) -> Response:
        _probe(uow.session, 2)
        uow.after_commit(lambda: after.append(-2))
        return JSONResponse({"error": "no"}, status_code=400)

    @routed.post("/raised")
    def raised(session: DB) -> dict[str, str]:
        _probe(session, 3)
        raise HTTPException(409, "moved meanwhile")

    @routed.get("/read")
    def read(session: DB) -> dict[str, str]:
        _probe(session, 4)
        return {}

    @plain.post("/no-desk-route")
    def forgotten(session: DB) -> dict[str, str]:
        _probe(session, 5)
        return {}

    app = FastAPI()
    app.state.desk = SimpleNamespace(sessions=sessions)  # all that unit_of_work reads
    app.include_router(routed)
    app.include_router(plain)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.post("/done").status_code == 200
    assert client.post("/answered-400").status_code == 400
    assert client.post("/raised").status_code == 409
    assert client.get("/read").status_code == 200
    assert client.post("/no-desk-route").status_code == 500  # not a silent loss
    assert _probes(sessions) == [1]
    assert after == [1]  # ran once, after the commit; never for the refused request
