"""情感判断有误: an officer's correction of an item's sentiment, from the alert and event pages
(issue 19). POST /items/{id}/sentiment-review with the desk's CSRF token; officers,
approvers and admins only, checked on the server (responders.sentiment_reviews). The pages
show the officers' verdict beside the model's label (templates/_sentiment_review.html)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from monitor.models import Item
from responders import sentiment_reviews as reviews_ops
from responders.auth import Principal
from responders.web.deps import DB, PageWriter, desk
from responders.web.params import PathId
from responders.web.unit_of_work import DeskRoute
from responders.workflow import ANYONE

router = APIRouter(include_in_schema=False, route_class=DeskRoute)


def _back(target: str, item_id: int) -> str:
    # Only a same-site path: "//evil.example" or "https://…" would be an open redirect.
    if not (target.startswith("/") and not target.startswith("//")):
        target = "/"
    return f"{target.split('#', 1)[0]}#item-{item_id}"


@router.post("/items/{item_id}/sentiment-review")
def sentiment_review(item_id: PathId, request: Request, me: PageWriter, session: DB,
                     label: Annotated[str, Form()] = "",
                     next: Annotated[str, Form()] = "/",
                     alert_id: Annotated[int | None, Form()] = None,
                     event_id: Annotated[int | None, Form()] = None) -> Response:
    # The page the form was on, for the audit entry (the forms send one of the two).
    page = (("alert", alert_id) if alert_id is not None
            else ("event", event_id) if event_id is not None else None)
    reviews_ops.record_review(session, me, item_id, label, desk(request).now(), page)
    return RedirectResponse(_back(next, item_id), status_code=303)


def review_context(session: Session, me: Principal, items: Sequence[Item]) -> dict[str, Any]:
    """What the pages' sentiment lines need: the verdicts on `items`, the reader's own
    labels (their button is marked), and whether the reader may review at all."""
    mine = (reviews_ops.own_labels(session, me.user_id, [i.id for i in items])
            if me.user_id is not None else {})
    return {"reviews": reviews_ops.verdicts(session, items), "my_reviews": mine,
            "can_review": me.role in ANYONE, "review_labels": reviews_ops.LABELS}
