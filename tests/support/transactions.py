"""Watch an engine's open transactions, so a stand-in for the outside world (an HTTP route on
the loopback server, an SMTP transport) can record whether the code under test holds one
while it talks to the network (DESIGN principle 11).

    with TransactionWatch(Engine) as watch:  # every engine in this process, or one engine
        fake_web.route("/feed.xml", watch.noting(handler))
        ...  # run the poll
        assert watch.during == [0]   # one request, no transaction open while it was served

It counts SQLAlchemy's own begin / commit / rollback events on the engines' connections (the
Engine class watches engines the code under test builds itself, e.g. a CLI command), so it
sees an ORM session's autobegun transaction as soon as it has run a statement, on SQLite and
PostgreSQL alike (on SQLite the driver may not lock the file for a read, but the transaction
is open all the same and would be on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, event

T = TypeVar("T")
R = TypeVar("R")


class TransactionWatch:
    def __init__(self, engine: Engine | type[Engine]) -> None:
        self.engine = engine
        self._open: set[int] = set()
        self._lock = threading.Lock()
        self.during: list[int] = []  # open transactions each time the stand-in ran

    def _begin(self, conn: Any) -> None:
        with self._lock:
            self._open.add(id(conn))

    def _end(self, conn: Any) -> None:
        with self._lock:
            self._open.discard(id(conn))

    def open_now(self) -> int:
        with self._lock:
            return len(self._open)

    def note(self) -> None:
        """Record how many transactions are open right now."""
        self.during.append(self.open_now())

    def noting(self, func: Callable[[T], R]) -> Callable[[T], R]:
        """`func` that first records the open transactions (for one-argument handlers)."""

        def wrapped(arg: T) -> R:
            self.note()
            return func(arg)

        return wrapped

    def __enter__(self) -> TransactionWatch:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)
