"""Web security pieces: who is asking (session cookie or bearer token), CSRF, headers,
and the HTML allow-list for post text."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from responders.auth import Principal, principal_for_session, principal_for_token
from responders.errors import DeskError

SESSION_COOKIE = "yq_session"
LOGIN_CSRF_COOKIE = "yq_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Scripts and styles only from the app itself; htmx is vendored under /static. No eval
# (htmx is configured with allowEval=false), no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        # Every page and answer may carry what only a logged-in person may see (the queue,
        # the admin pages, the API): no browser or proxy keeps a copy. Only the static
        # assets, the same for everybody, may be cached.
        if not request.url.path.startswith(("/static/", "/api/docs/assets/")):
            response.headers["Cache-Control"] = "no-store"
        return response


class AuthError(DeskError):
    """401: no or bad credentials."""


class CsrfError(DeskError):
    """403: a state-changing browser request without the session's CSRF token."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def resolve_principal(request: Request, session: Any, *, idle: timedelta,
                      absolute: timedelta, now: datetime) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        # A bad token is an error, never a silent fall-back to the cookie.
        principal = principal_for_token(session, header[7:].strip(), now)
        if principal is None:
            raise AuthError("invalid or revoked API token")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return principal_for_session(session, cookie, now, idle=idle, absolute=absolute)
    return None


async def check_csrf(request: Request, principal: Principal) -> None:
    """Bearer-token requests carry no ambient credentials, so they need no CSRF token; a
    browser session must send its token in the form or the X-CSRF-Token header."""
    if request.method not in UNSAFE_METHODS or principal.kind == "token":
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not secrets.compare_digest(
            sent, principal.csrf_token):
        raise CsrfError("missing or wrong CSRF token")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


# The post-text allow-list: structure and plain links only. Everything else (script, style,
# img, iframe, event handlers, javascript:/data: URLs) is dropped.
_TAGS = {"p", "br", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote", "a"}
_ATTRS = {"a": {"href", "title"}}


def clean_html(text: str) -> Markup:
    cleaned = nh3.clean(text, tags=_TAGS, attributes=_ATTRS, url_schemes={"http", "https"},
                        link_rel="noopener noreferrer nofollow")
    return Markup(cleaned.replace("\n", "<br>"))


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are rendered as links; a javascript: or data: URL shows as text."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(values: Sequence[str]) -> tuple[Network, ...]:
    """web.trusted_proxies as networks (each was checked when the settings loaded)."""
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _trusted(host: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The address a request came from, for the login throttle. X-Forwarded-For is believed
    only when the connection comes from a proxy named in web.trusted_proxies, and then only
    up to the first hop (from the right) that is not itself a trusted proxy: anything left
    of it was written by the client and may be anything. From anyone else the header is
    ignored, so nobody spreads their failures over made-up addresses, or pins them on a
    colleague's."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    hops = [h for h in hops if h]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:100]
    return hops[0][:100] if hops else peer


def secure_cookie_flag(request: Request, forced: bool) -> bool:
    """Secure when served over HTTPS (uvicorn --proxy-headers maps X-Forwarded-Proto from
    a trusted proxy), or when the settings say so."""
    return forced or request.url.scheme == "https"


Enqueue = Callable[[str, list[Any]], None]
