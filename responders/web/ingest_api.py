"""`POST /api/v1/ingest`: posts pushed by a crawler or vendor, in batches of up to 1,000.

Authentication is a push token of one source (`yuqing sources token NAME`), sent as
`Authorization: Bearer …`; the token alone names the source. It is not a desk login, so the
desk's principals and CSRF check do not apply: a bearer header is no ambient credential a
browser could be tricked into sending (the same reasoning as responders.web.security).

A batch is all or nothing (monitor.importing.store_batch): when any post is invalid, every
error is reported with the post's index and nothing is stored, so the client fixes the batch
and sends it again whole. A replayed batch stores nothing twice (the items' unique keys) and
answers 200 with the posts counted as duplicates. Only new items are handed to the analysis
workers, after the commit, through the app's `enqueue` callable (this package never imports
tasks/). The batch is the request's unit of work (responders.web.unit_of_work): an error
answer rolls it back.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from monitor.errors import InputError
from monitor.importing import (
    MAX_BATCH,
    ImportResult,
    loads,
    source_for_token,
    store_batch,
)
from monitor.models import Source
from responders.auth import hash_secret
from responders.board_replies import close_answered
from responders.models import ApiToken
from responders.web.deps import DeskContext, UoW, desk
from responders.web.errors import http_status, readable
from responders.web.unit_of_work import DeskRoute

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["ingest"], route_class=DeskRoute)

_POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": ["string", "integer"], "description": "the platform's post id"},
        "text": {"type": "string", "maxLength": 20000},
        "title": {"type": "string"},
        "author": {"type": "string"},
        "created_at": {"type": "string", "description": "ISO 8601, RFC 822 or Weibo's format"},
        "url": {"type": "string", "format": "uri"},
        "reposts": {"type": ["integer", "string"], "description": "12, \"12\", \"1.2万\""},
        "comments": {"type": ["integer", "string"]},
        "likes": {"type": ["integer", "string"]},
        "repost_of": {"type": ["string", "integer"], "description": "the original's id"},
        # A message board's fields (monitor.importing.BOARD_FIELDS): for a source of kind
        # board only, kept as the board parser keeps them.
        "state": {"type": "string", "description": "board: 已回复 / 未回复 / 办理中; "
                  "without it, answered when there is a reply"},
        "reply": {"type": "string", "description": "board: the official reply's text"},
        "reply_time": {"type": "string", "description": "board: when it was answered"},
        "region": {"type": "string", "description": "board: the region (地区)"},
        "domain": {"type": "string", "description": "board: the domain (领域)"},
        "reply_unit": {"type": "string", "description": "board: the unit that replied"},
    },
}
_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [
            {"type": "object", "required": ["posts"], "properties": {"posts": {
                "type": "array", "maxItems": MAX_BATCH, "items": _POST_SCHEMA}}},
            {"type": "array", "maxItems": MAX_BATCH, "items": _POST_SCHEMA},
        ]}}}},
    "responses": {
        "200": {"description": '{"imported": n, "duplicates": n, "item_ids": [...], '
                              '"answered": n (board messages this batch brought the reply to), '
                              '"analysis": "queued" | "deferred"}'},
        "400": {"description": "not JSON, or not a list of posts"},
        "401": {"description": "no push token, or not a valid one"},
        "403": {"description": "a desk API token: it may read the desk, not push posts"},
        "413": {"description": f"more than {MAX_BATCH} posts, or the body is too large"},
        "422": {"description": '{"error": …, "errors": [{"index": i, "error": …}]}; '
                              "nothing stored"},
    },
}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="ingest"'} if status == 401 else None
    if "errors" in extra:  # the posts' errors may quote what was sent
        extra["errors"] = [{**e, "error": readable(e["error"])} for e in extra["errors"]]
    return JSONResponse({"error": readable(message), **extra}, status_code=status,
                        headers=headers)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (stops reading there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _authenticate(request: Request, token: str) -> tuple[int, str] | JSONResponse:
    """The push source's (id, name) for this token, or the 401/403 answer. Read in a short
    session of its own, closed before the body is read: no transaction stays open while
    megabytes arrive over the network (DESIGN principle 11)."""
    with desk(request).sessions() as session:
        source = source_for_token(session, token)
        if source is not None:
            return source.id, source.name
        desk_token = session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == hash_secret(token), ApiToken.revoked_at.is_(None)))
    if desk_token is not None:
        # A valid credential, but for reading and working the desk, not for filing posts
        # under a source: authenticated, not authorised.
        return _error(403, "this is a desk API token; pushing posts needs the source's "
                           "push token (`yuqing sources token NAME`)")
    return _error(401, "invalid or replaced push token")


def _store(ctx: DeskContext, session: Session, source_id: int,
           batch: Any) -> ImportResult | JSONResponse:
    """Validate and store (flush) the batch, or the error answer, which rolls it back."""
    source = session.get(Source, source_id)
    if source is None:  # removed between the two steps
        return _error(401, "invalid or replaced push token")
    try:
        result = store_batch(session, source, batch, ctx.now())
    except InputError as exc:  # BatchTooLarge among them: 413 (responders.web.errors)
        return _error(http_status(exc), str(exc))
    if result.errors:
        return _error(422, f"{len(result.errors)} of {len(_posts(batch))} posts are "
                           "invalid; nothing was stored — fix them and send the batch "
                           "again", errors=[{"index": e.line - 1, "error": e.error}
                                            for e in result.errors])
    # Replies to stored messages close their open alerts in this same transaction.
    close_answered(session, result.answered_ids, ctx.now())
    return result


@router.post("/ingest", openapi_extra=_OPENAPI, response_model=None)
async def ingest(request: Request, uow: UoW) -> JSONResponse:
    ctx = desk(request)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token:
        return _error(401, "a push token is required: Authorization: Bearer <token> "
                           "(create one with `yuqing sources token NAME`)")
    # Database work runs in the thread pool (sessions are synchronous), and the body is
    # read only after the token is known good.
    who = await run_in_threadpool(_authenticate, request, token)
    if isinstance(who, JSONResponse):
        return who
    source_id, source_name = who
    # 1,000 posts of a few thousand characters each fit easily; a body far beyond that is a
    # mistake or an attack and is refused before it is read whole.
    limit = ctx.settings.web.ingest_max_bytes
    body = await _read_body(request, limit)
    if body is None:
        return _error(413, f"the request body is larger than {limit} bytes; "
                           f"send at most {MAX_BATCH} posts per batch")
    try:
        batch = loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _error(400, "the body is not UTF-8")
    except InputError as exc:  # not JSON, NaN/1e999, 4,300+ digits, nested too deeply
        return _error(400, f"the body is {exc}")
    result = await run_in_threadpool(_store, ctx, uow.session, source_id, batch)
    if isinstance(result, JSONResponse):
        return result
    # The answer says whether the analysis was queued, which is known only once the posts
    # are committed and handed over; so this request commits here, before enqueueing,
    # rather than when its route ends the unit of work.
    await run_in_threadpool(uow.commit)
    analysis = "none"
    if result.item_ids:
        analysis = "queued"
        size = ctx.settings.analyze.batch_size
        try:
            for i in range(0, len(result.item_ids), size):
                ctx.enqueue("monitor.analyze_items", [result.item_ids[i:i + size]])
        except Exception:  # noqa: BLE001 - the items are committed whatever went wrong
            # A broker outage must not make the client resend: the posts are stored, and
            # the beat's sweep of never-analysed items (monitor.ingest.unanalyzed_ids)
            # hands them to the workers once the broker is back.
            log.exception("ingest: could not enqueue analysis of %d items from %s",
                          len(result.item_ids), source_name)
            analysis = "deferred"
    return JSONResponse({"source": source_name, "imported": result.imported,
                         "duplicates": result.duplicates, "item_ids": result.item_ids,
                         "answered": len(result.answered_ids), "analysis": analysis})


def _posts(batch: Any) -> list[Any]:
    """The posts of a batch that store_batch's shape check accepted."""
    posts = batch.get("posts") if isinstance(batch, dict) else batch
    return posts if isinstance(posts, list) else []
