"""What every request handler shares: the per-app context, the request's unit of work (its
database session, responders.web.unit_of_work), and who is asking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from monitor.settings import Settings
from responders.auth import LoginThrottle, Principal
from responders.drafting import DraftSettings
from responders.errors import DeskError
from responders.queue import PastDays
from responders.web.security import (
    UNSAFE_METHODS,
    AuthError,
    Enqueue,
    Network,
    check_csrf,
    now_utc,
    resolve_principal,
)
from responders.web.unit_of_work import UnitOfWork, attach
from responders.workflow import RoleForbidden


@dataclass
class DeskContext:
    settings: Settings
    sessions: sessionmaker[Session]
    templates: Jinja2Templates
    enqueue: Enqueue
    throttle: LoginThrottle
    topic_names: dict[str, str]
    templates_dir: Path
    idle: timedelta
    absolute: timedelta
    secure_cookies: bool
    office: str
    trusted_proxies: tuple[Network, ...] = ()
    clock: Any = field(default=now_utc)
    # the chart's past days, read again at most every few minutes (responders.queue.PastDays)
    past_days: PastDays = field(default_factory=PastDays)

    def now(self) -> datetime:
        value: datetime = self.clock()
        return value

    def drafting(self) -> DraftSettings:
        return DraftSettings(templates_dir=self.templates_dir, tz=self.settings.timezone,
                             office=self.office, topic_names=self.topic_names)


def desk(request: Request) -> DeskContext:
    ctx: DeskContext = request.app.state.desk
    return ctx


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """The request's session as one unit of work, ended by DeskRoute. Its exit closes the
    session (rolling back whatever was not committed); declared with scope "function" (see
    UoW below) so that exit comes before the response is sent, and a unit no route ended —
    a router made without DeskRoute — is a 500 instead of a change silently dropped."""
    with desk(request).sessions() as session:
        uow = UnitOfWork(session, writes=request.method in UNSAFE_METHODS)
        attach(request, uow)
        yield uow
        if not uow.ended:
            raise RuntimeError(f"{request.method} {request.url.path}: the unit of work was "
                               "never ended; the router needs route_class=DeskRoute")


UoW = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


def db(uow: UoW) -> Session:
    return uow.session


class LoginRequired(DeskError):
    """A page asked for without a session: redirect to /login (the API answers 401)."""


def _principal(request: Request, session: Session) -> Principal | None:
    ctx = desk(request)
    principal = resolve_principal(request, session, idle=ctx.idle, absolute=ctx.absolute,
                                  now=ctx.now())
    # Resolving may write: a session's or token's last-use time, at most once a minute
    # (responders.auth.TOUCH_EVERY), or the deletion of an expired session. That records
    # the visit rather than anything the request asked for, so it is its own short commit,
    # here: kept when the request's own change then fails (as it always was), and the only
    # write a GET ever makes. GETs do touch the session: most of a press officer's day is
    # reading the queue, and a session that slid only on POSTs would log a reader out after
    # `idle` minutes of work.
    if session.dirty or session.deleted:
        session.commit()
    request.state.principal = principal
    return principal


def api_reader(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = _principal(request, session)
    if principal is None:
        raise AuthError("login or an API token is required")
    return principal


async def api_writer(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    # Async for check_csrf (it may read the form); the database work goes to the thread pool.
    principal = await run_in_threadpool(api_reader, request, session)
    if principal.user_id is None:
        # Every rule of the desk is about a person (nobody approves their own text); a
        # token acting for nobody would escape them all, so it may only read.
        raise RoleForbidden("this API token acts for no user, so it may read but not act; "
                            "an admin makes one that acts for a person with `yuqing tokens "
                            "create NAME --role ROLE --user USER`")
    await check_csrf(request, principal)
    return principal


def page_reader(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = _principal(request, session)
    if principal is None or principal.kind != "user":
        raise LoginRequired()
    return principal


async def page_writer(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = await run_in_threadpool(page_reader, request, session)
    await check_csrf(request, principal)
    return principal


# Parameter types for handlers (FastAPI reads the dependency from the annotation). DB is
# the unit of work's session, for handlers with nothing to do after the commit.
DB = Annotated[Session, Depends(db)]
ApiReader = Annotated[Principal, Depends(api_reader)]
ApiWriter = Annotated[Principal, Depends(api_writer)]
PageReader = Annotated[Principal, Depends(page_reader)]
PageWriter = Annotated[Principal, Depends(page_writer)]
