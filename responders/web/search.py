"""Search: the page `/search?q=` and `GET /api/v1/search?q=` (responders.search)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from responders.search import SHORT_SCAN, SearchHits, search
from responders.web.deps import DB, ApiReader, PageReader, desk
from responders.web.params import Text
from responders.web.rendering import render
from responders.web.unit_of_work import DeskRoute

pages = APIRouter(include_in_schema=False, route_class=DeskRoute)
api = APIRouter(prefix="/api/v1", tags=["desk"], route_class=DeskRoute)


@pages.get("/search", response_class=HTMLResponse)
def search_page(request: Request, me: PageReader, session: DB, q: str = "") -> Response:
    hits = search(session, q) if q.strip() else None
    return render(request, "search.html", {"hits": hits, "search_q": q,
                                           "short_scan": SHORT_SCAN})


def _as_json(hits: SearchHits, tz: str) -> dict[str, Any]:
    def when(dt: Any) -> str | None:
        return dt.isoformat() if dt is not None else None

    return {
        "query": hits.query, "terms": hits.terms, "short_only": hits.short_only,
        "items": [{"id": h.item.id, "title": h.item.title, "link": h.item.link,
                   "author": h.item.author, "source": h.item.source.name,
                   "published_at": when(h.item.published_at), "event_id": h.item.event_id,
                   "snippet": h.snippet.before + h.snippet.hit + h.snippet.after}
                  for h in hits.items],
        "events": [{"id": e.event.id, "title": e.title, "items": e.event.item_count,
                    "hits": e.hits, "priority": e.event.priority,
                    "last_seen_at": when(e.event.last_seen_at)} for e in hits.events],
        "outputs": [{"id": o.id, "kind": o.kind, "title": o.title, "state": o.state,
                     "alert_id": o.alert_id} for o in hits.outputs],
    }


@api.get("/search")
def search_api(request: Request, me: ApiReader, session: DB,
               q: Annotated[Text, Query(min_length=1, max_length=200)],
               limit: Annotated[int, Query(ge=1, le=200)] = 30) -> Response:
    """Items, events and outputs holding every word of `q` (substrings: Chinese needs no
    spaces). `short_only` true: every word is shorter than three characters, and only the
    newest items were searched."""
    hits = search(session, q, limit=limit)
    return JSONResponse(_as_json(hits, desk(request).settings.timezone))
