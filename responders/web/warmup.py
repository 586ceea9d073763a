"""What a desk process does once, when the server starts and before its first request: compile
the page templates, then move everything alive into the garbage collector's permanent
generation (`gc.freeze`).

Why the freeze: a desk process holds some 180,000 long-lived objects after start-up (FastAPI,
SQLAlchemy, pydantic, the app's routes and templates). CPython's full (generation 2) collection
walks all of them — 100–150 ms of CPU on this machine — and it falls on whichever request
happens to allocate past the threshold, so one request in fifteen or so was the slowest of a
page's (issue 15: the queue page's and the API's p95). Frozen objects are never walked again;
a full collection then costs what the requests' own garbage does (about a millisecond).
Objects frozen are still freed by reference counting when their last reference goes; only
reference cycles among them wait for `gc.unfreeze`, which the shutdown step calls.

Why the templates: Jinja compiles a template on its first use (the queue page's three are
tens of milliseconds), which would fall on a user's first request, and compiled into the heap
before the freeze they are frozen with it.
"""

from __future__ import annotations

import gc

from jinja2 import Environment


def compile_templates(env: Environment) -> int:
    """Load (compile and cache) every template the environment's loader lists; how many."""
    names = env.list_templates(filter_func=lambda name: name.endswith((".html", ".txt")))
    for name in names:
        env.get_template(name)
    return len(names)


def freeze_heap() -> int:
    """Collect what is garbage now, then freeze the rest; the number of frozen objects."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw_heap() -> None:
    """The shutdown step: the frozen objects back under the collector, so an app stopped in
    a process that goes on (tests, an embedding server) leaves no cycles behind for good."""
    gc.unfreeze()


def warm_up(env: Environment) -> None:
    """The start-up step (registered by create_app): templates, then the freeze, last, so
    the compiled templates are frozen too."""
    compile_templates(env)
    freeze_heap()
