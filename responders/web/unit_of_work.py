"""One unit of work per web request (DESIGN principle 3: only the boundary commits).

Handlers, and the domain code they call, only flush. The request's session is opened by the
`unit_of_work` dependency (responders.web.deps) and ended by `DeskRoute`, the route class of
every desk router, once the handler's response is ready and before any of it is sent:

* a state-changing request (POST, PUT, PATCH, DELETE) answered below 400 is committed, once,
  and then the work registered with `after_commit` runs (enqueueing a task, which must find
  the rows it is about);
* anything else is rolled back: a GET never writes, and a refused change, whether raised
  (an exception the app turns into a 4xx/5xx) or answered (a page re-rendered with the
  reason, a 4xx body), leaves nothing behind.

Why the route and not the dependency's exit: the installed FastAPI runs the code after a
yield dependency's `yield` once the response has been sent (scope "request"), or, with
scope "function", before it is sent but seeing only raised exceptions, never the status of
a returned response. A commit after the answer went out could fail after the client was
told "done"; the route sees both the exception and the status, before the first byte.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

_STATE_KEY = "unit_of_work"


class UnitOfWork:
    """One request's transaction: its session, and what must wait for its commit."""

    def __init__(self, session: Session, *, writes: bool) -> None:
        self.session = session
        self.writes = writes  # a state-changing method: only such a request commits
        self._after_commit: list[Callable[[], None]] = []
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def after_commit(self, work: Callable[[], None]) -> None:
        """Run `work` once this request's changes are committed, never after a rollback:
        a task enqueued before the commit could run before its rows exist (principle 2)."""
        self._after_commit.append(work)

    def commit(self) -> None:
        """The request's one commit, then the after-commit work. DeskRoute calls it; a
        handler calls it only when its answer depends on what happens after the commit
        (the push API reports whether the analysis was queued)."""
        if self._ended:
            raise RuntimeError("this request's unit of work has ended already")
        self._ended = True  # a failed commit is not retried: the session rolls back on close
        self.session.commit()
        work, self._after_commit = self._after_commit, []
        for do in work:
            do()

    def end(self, *, succeeded: bool) -> None:
        """Commit a successful state-changing request, roll back anything else. Does
        nothing when the handler committed already."""
        if self._ended:
            return
        if succeeded and self.writes:
            self.commit()
            return
        self._ended = True
        self._after_commit.clear()
        self.session.rollback()


def attach(request: Request, uow: UnitOfWork) -> None:
    setattr(request.state, _STATE_KEY, uow)


def attached(request: Request) -> UnitOfWork | None:
    uow = getattr(request.state, _STATE_KEY, None)
    return uow if isinstance(uow, UnitOfWork) else None


class DeskRoute(APIRoute):
    """Ends the request's unit of work when the handler's response is ready (see above).
    An exception raised by the handler or a dependency passes through untouched: the
    dependency's exit closes the session, which rolls back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_then_end(request: Request) -> Response:
            response = await handle(request)
            uow = attached(request)
            if uow is not None:
                # Database I/O, so in the thread pool like the handlers' own.
                await run_in_threadpool(lambda: uow.end(succeeded=response.status_code < 400))
            return response

        return handle_then_end
