"""Typed task declarations: Celery ships no type information, so `@shared_task` would make
every task untyped for mypy --strict. `task(...)` is `shared_task(...)` with the decorated
function's signature kept, and `.delay`/`.apply_async` typed by it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from celery import shared_task

P = ParamSpec("P")
R = TypeVar("R", covariant=True)


class Task(Protocol[P, R]):
    name: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Any: ...

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any: ...


def task(**options: Any) -> Callable[[Callable[P, R]], Task[P, R]]:
    """`shared_task(**options)`, typed."""
    return cast(Callable[[Callable[P, R]], Task[P, R]], shared_task(**options))


def bound_task(**options: Any) -> Callable[[Callable[Concatenate[Any, P], R]], Task[P, R]]:
    """`shared_task(bind=True, **options)`, typed: the first argument is Celery's task
    instance (for self.retry), not part of what callers pass."""
    return cast(Callable[[Callable[Concatenate[Any, P], R]], Task[P, R]],
                shared_task(bind=True, **options))
