"""The press-desk web app: `create_app(settings, enqueue)`.

Server-rendered Jinja2 pages (autoescaped) with htmx for partial updates, and a JSON API under
/api/v1 (OpenAPI at /api/docs). Only the request boundary commits. `enqueue(task_name, args)`
is handed in by tasks/ so this package never imports the runtime.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError

from monitor.db import make_engine, make_sessionmaker
from monitor.errors import InputError, YuqingError
from monitor.flagging import PRIORITY_NAMES
from monitor.settings import Settings
from responders.admin_topics import topic_names
from responders.auth import LoginThrottle, ThrottlePolicy
from responders.tone import label_figure, label_title
from responders.web.admin import api as admin_api
from responders.web.admin import router as admin_router
from responders.web.api import router as api_router
from responders.web.api_docs import mount_api_docs
from responders.web.deps import DeskContext, LoginRequired
from responders.web.errors import http_status, readable, validation_sentence
from responders.web.events_pages import router as events_router
from responders.web.evidence_views import router as evidence_router
from responders.web.ingest_api import router as ingest_router
from responders.web.ops import router as ops_router
from responders.web.overview import router as overview_router
from responders.web.pages import router as page_router
from responders.web.queue_views import api as bulk_api
from responders.web.queue_views import router as queue_router
from responders.web.register import router as register_router
from responders.web.rendering import render
from responders.web.roster import router as roster_router
from responders.web.search import api as search_api
from responders.web.search import pages as search_pages
from responders.web.security import (
    Enqueue,
    SecurityHeaders,
    clean_html,
    networks,
    safe_url,
)
from responders.web.sentiment_review_views import router as sentiment_review_router
from responders.web.warmup import thaw_heap, warm_up

HERE = Path(__file__).resolve().parent


def create_app(settings: Settings, enqueue: Enqueue) -> FastAPI:
    web = settings.web
    engine = make_engine(settings.database_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.autoescape = True
    tz = ZoneInfo(settings.timezone)

    def local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "-" if dt is None else dt.astimezone(tz).strftime(fmt)

    def iso_local(value: str | None) -> str:
        return "-" if not value else local(datetime.fromisoformat(value))

    env.filters["local"] = local
    env.filters["iso_local"] = iso_local
    env.filters["clean_html"] = clean_html
    env.filters["safe_url"] = safe_url
    env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False)
    env.filters["senti_figure"] = label_figure
    env.filters["senti_title"] = label_title
    env.globals["PRIORITY_NAMES"] = PRIORITY_NAMES

    ctx = DeskContext(
        settings=settings,
        sessions=make_sessionmaker(engine),
        templates=templates,
        enqueue=enqueue,
        throttle=LoginThrottle(ThrottlePolicy(
            free=web.login_attempts, address_free=web.login_address_attempts,
            window=timedelta(minutes=web.login_window_minutes),
            max_delay=timedelta(seconds=web.login_max_delay_seconds))),
        # The admins' edited taxonomy when there is one (responders.admin_topics).
        topic_names=topic_names(settings.home, Path(settings.config_dir)),
        templates_dir=Path(settings.config_dir) / "templates",
        idle=timedelta(minutes=web.session_idle_minutes),
        absolute=timedelta(hours=web.session_max_hours),
        secure_cookies=web.secure_cookies,
        office=settings.office,
        trusted_proxies=networks(web.trusted_proxies),
    )
    env.globals["topic_name"] = lambda t: ctx.topic_names.get(t, t)

    app = FastAPI(title="yuqing press desk", version="1", docs_url=None,
                  redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.state.desk = ctx
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    mount_api_docs(app)  # Swagger UI from a package, never a CDN

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login?next=" + request.url.path, status_code=303)

    async def _error(request: Request, exc: Exception) -> Response:
        status = http_status(exc) if isinstance(exc, YuqingError) else 500
        message = readable(str(exc) or exc.__class__.__name__)
        if request.url.path.startswith("/api/") or status == 401 and \
                request.headers.get("authorization"):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        return render(request, "error.html", {"message": message, "status": status},
                      status_code=status)

    # One handler for the whole tree (LoginRequired, registered above, is more specific and
    # wins for pages); the status comes from responders.web.errors.
    app.add_exception_handler(YuqingError, _error)

    @app.exception_handler(DataError)
    async def _refused_value(request: Request, exc: DataError) -> Response:
        # The last line of defence: the edges check what they take (responders.web.params,
        # monitor.importing), but a value the database cannot hold or compare (NUL in a
        # PostgreSQL text, a number out of a column's range) is the request's fault, not
        # ours; the request's transaction is rolled back as for any error.
        return await _error(request, InputError(
            "a value in the request cannot be stored or searched (a NUL character, or a "
            "number out of range); remove it and try again"))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer is a list of dicts echoing the input; the desk's errors are
        # one sentence (and the echo could hold a lone surrogate no JSON encoder takes).
        sentence = validation_sentence(exc.errors())
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": sentence}, status_code=422)
        return render(request, "error.html", {"message": sentence, "status": 422},
                      status_code=422)

    app.include_router(ops_router)  # /healthz, /readyz, /metrics (issue 15)
    app.include_router(api_router)
    app.include_router(ingest_router)
    app.include_router(admin_api)
    app.include_router(admin_router)
    app.include_router(roster_router)  # issue 17: /admin/roster and /ack/{token}
    app.include_router(queue_router)
    app.include_router(overview_router)
    app.include_router(events_router)
    app.include_router(search_pages)
    app.include_router(search_api)
    app.include_router(bulk_api)
    app.include_router(page_router)
    app.include_router(register_router)  # the disclosure register (issue 20)
    app.include_router(evidence_router)  # issue 18: snapshots, the 专报
    app.include_router(sentiment_review_router)  # issue 19: 情感判断有误

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    def _close() -> None:
        engine.dispose()
        thaw_heap()

    # Before the first request: templates compiled, the start-up heap frozen out of the
    # garbage collector's full passes (responders.web.warmup).
    app.router.on_startup.append(lambda: warm_up(env))
    app.router.on_shutdown.append(_close)
    return app

