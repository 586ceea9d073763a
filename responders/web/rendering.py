"""Pages in the request's language: `render` and `request_lang`.

A module of its own so the views (pages, admin) and the app's error handler share it while
app.py alone imports the views: nothing here imports a view or the app.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from responders.web.deps import DeskContext
from responders.web.i18n import LANGS, note, translate

LANG_COOKIE = "yq_lang"


def request_lang(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return wanted if wanted in LANGS else "zh"


def render(request: Request, name: str, context: dict[str, Any],
           status_code: int = 200) -> HTMLResponse:
    """A page in the request's language; ?lang=xx is remembered in a cookie."""
    ctx: DeskContext = request.app.state.desk
    lang = request_lang(request)
    me = getattr(request.state, "principal", None)
    full = {"t": lambda k, **v: translate(lang, k, **v), "lang": lang, "me": me,
            "note": lambda text: note(lang, text),
            "csrf": me.csrf_token if me is not None else "", "now": ctx.now(), **context}
    response = ctx.templates.TemplateResponse(request, name, full, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                            samesite="lax")
    return response
