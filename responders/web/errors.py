"""HTTP statuses by error class, the one place they are written. A class not listed answers
with its nearest listed ancestor's status (by the MRO), so every YuqingError has exactly one;
the CLI's exit codes are the same idea in tasks.cli_common."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.errors import ConfigError, InputError, NotFound, YuqingError
from monitor.importing import BatchTooLarge
from responders.errors import DeskError
from responders.web.deps import LoginRequired
from responders.web.security import AuthError, CsrfError
from responders.workflow import RoleForbidden, StateConflict, UnknownAction

HTTP_STATUS: dict[type[YuqingError], int] = {
    YuqingError: 500,     # ours to fix: the sentence is shown, the request changed nothing
    ConfigError: 500,     # the server's configuration, not the request
    InputError: 400,
    DeskError: 400,       # the desk refused the request; its subclasses say how
    BatchTooLarge: 413,   # the push API: split the batch
    NotFound: 404,
    UnknownAction: 404,   # /actions/<name> that does not exist
    AuthError: 401,
    LoginRequired: 401,   # pages redirect to /login instead (responders.web.app)
    CsrfError: 403,
    RoleForbidden: 403,
    StateConflict: 409,   # someone else moved it, or a stale page
}


def readable(text: str) -> str:
    """An error sentence safe to send: a lone surrogate echoed from the request (JSON's
    "\\ud800") cannot be encoded as UTF-8, and the answer would become a 500 of its own."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def http_status(exc: YuqingError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def validation_sentence(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as one sentence: where, and what is wrong, for each (the
    input itself is not repeated: it may be huge, or unencodable)."""
    parts = []
    for err in list(errors)[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = " ".join(loc) or "the request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(errors) - 5
    return readable("; ".join(parts) + (f"; and {more} more" if more > 0 else ""))
