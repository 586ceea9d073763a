"""The error tree: one root, every error class of the project under it, and each class's exit
code (CLI) and HTTP status (web) read from one table by the class's ancestry."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import monitor
import responders
import tasks
from monitor.errors import (
    ConfigError,
    FetchError,
    InputError,
    MonitorError,
    NotFound,
    ParseError,
    YuqingError,
)
from responders.errors import DeskError
from responders.workflow import ReasonRequired, RoleForbidden, StateConflict, UnknownAction
from tasks.cli_common import EXIT_CODES, UsageError, exit_code


def _project_error_classes() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for pkg in (monitor, responders, tasks):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, BaseException)
                        and value.__module__ == info.name):
                    found.add(value)
    return found


def test_every_error_the_project_defines_is_under_the_root():
    # Private control-flow exceptions (a leading underscore) never leave their module.
    strays = sorted(f"{c.__module__}.{c.__name__}" for c in _project_error_classes()
                    if not issubclass(c, YuqingError) and not c.__name__.startswith("_"))
    assert strays == []


@pytest.mark.parametrize(("exc", "code"), [
    (YuqingError("x"), 1),
    (MonitorError("x"), 1),
    (FetchError("x"), 1),
    (ParseError("x"), 1),
    (InputError("x"), 2),
    (NotFound("x"), 2),
    (UsageError("x"), 2),
    (ConfigError("x"), 2),
    (DeskError("x"), 2),
    (RoleForbidden("x"), 2),
    (StateConflict("x"), 2),
])
def test_exit_codes_by_class(exc, code):
    assert exit_code(exc) == code


def test_each_exit_code_is_written_once_per_class():
    assert all(issubclass(cls, YuqingError) for cls in EXIT_CODES)
    assert set(EXIT_CODES.values()) <= {1, 2}
    # ReasonRequired and UnknownAction have no line of their own: they inherit the desk's.
    assert ReasonRequired not in EXIT_CODES and UnknownAction not in EXIT_CODES


def test_http_statuses_by_class():
    from monitor.importing import BatchTooLarge
    from responders.web.deps import LoginRequired
    from responders.web.errors import HTTP_STATUS, http_status
    from responders.web.security import AuthError, CsrfError

    expected = {
        YuqingError("x"): 500, FetchError("x"): 500, ConfigError("x"): 500,
        InputError("x"): 400, UsageError("x"): 400, BatchTooLarge("x"): 413,
        NotFound("x"): 404, UnknownAction("x"): 404, AuthError("x"): 401,
        LoginRequired("x"): 401, CsrfError("x"): 403, RoleForbidden("x"): 403,
        ReasonRequired("x"): 400, StateConflict("x"): 409, DeskError("x"): 400,
    }
    assert {type(e).__name__: http_status(e) for e in expected} == {
        type(e).__name__: code for e, code in expected.items()}
    assert all(issubclass(cls, YuqingError) for cls in HTTP_STATUS)
