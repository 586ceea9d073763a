"""What every `yuqing` command module shares: the parser class, the usage error, output in
the office's zone, the per-process runtime.

`tasks.cli` imports the command groups (`cli_desk`, `cli_events`, `cli_digest`) to register
them; these helpers live here so that the groups need not import `tasks.cli` back. (Run as
`python -m tasks.cli`, that import also loaded a second copy of the module, whose UsageError
`main` did not catch.)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from monitor.errors import ConfigError, InputError, YuqingError
from monitor.settings import Settings
from responders.errors import DeskError


class UsageError(InputError):
    """Bad command-line usage that argparse cannot see (a malformed --week, say)."""


# Exit codes by error class, the one place they are written: a class not listed takes its
# nearest listed ancestor's (by the MRO), so every YuqingError has exactly one code.
EXIT_CODES: dict[type[YuqingError], int] = {
    YuqingError: 1,    # something went wrong that the person cannot fix by retyping
    InputError: 2,     # bad input or usage: the sentence says what to change
    ConfigError: 2,    # a settings or config file (or the database) to fix first
    DeskError: 2,      # the desk refused the request (a role, a state, a missing reason)
}


def exit_code(exc: YuqingError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"yuqing: error: {message}\n")


def _emit(obj: Any, tz: str = "Asia/Shanghai") -> None:
    """One JSON document on stdout; times in the office's zone, ISO 8601 with the offset."""
    zone = ZoneInfo(tz)

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(zone).isoformat()
        return str(value)

    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=default) + "\n")


def _local(dt: datetime | None, settings: Settings) -> str:
    if dt is None:
        return "-"
    return dt.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")


def _runtime(settings: Settings) -> Any:
    from tasks.runtime import build_runtime

    return build_runtime(settings)
