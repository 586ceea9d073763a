"""What every request handler shares: the per-app context, a database session per request,
and who is asking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings
from responders.auth import LoginThrottle, Principal
from responders.drafting import DraftSettings
from responders.web.security import (
    AuthError,
    Enqueue,
    check_csrf,
    now_utc,
    resolve_principal,
)


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
    clock: Any = field(default=now_utc)

    def now(self) -> datetime:
        value: datetime = self.clock()
        return value

    def drafting(self) -> DraftSettings:
        return DraftSettings(templates_dir=self.templates_dir, tz=self.settings.timezone,
                             office=self.office, topic_names=self.topic_names)


def desk(request: Request) -> DeskContext:
    ctx: DeskContext = request.app.state.desk
    return ctx


def db(request: Request) -> Iterator[Session]:
    with desk(request).sessions() as session:
        yield session


class LoginRequired(Exception):
    """A page asked for without a session: redirect to /login (the API answers 401)."""


def _principal(request: Request, session: Session) -> Principal | None:
    ctx = desk(request)
    principal = resolve_principal(request, session, idle=ctx.idle, absolute=ctx.absolute,
                                  now=ctx.now())
    # Sliding idle expiry is a write (last_seen_at); it belongs to this request's boundary.
    session.commit()
    request.state.principal = principal
    return principal


def api_reader(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = _principal(request, session)
    if principal is None:
        raise AuthError("login or an API token is required")
    return principal


async def api_writer(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = api_reader(request, session)
    await check_csrf(request, principal)
    return principal


def page_reader(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = _principal(request, session)
    if principal is None or principal.kind != "user":
        raise LoginRequired()
    return principal


async def page_writer(request: Request, session: Annotated[Session, Depends(db)]) -> Principal:
    principal = page_reader(request, session)
    await check_csrf(request, principal)
    return principal


# Parameter types for handlers (FastAPI reads the dependency from the annotation).
DB = Annotated[Session, Depends(db)]
ApiReader = Annotated[Principal, Depends(api_reader)]
ApiWriter = Annotated[Principal, Depends(api_writer)]
PageReader = Annotated[Principal, Depends(page_reader)]
PageWriter = Annotated[Principal, Depends(page_writer)]
