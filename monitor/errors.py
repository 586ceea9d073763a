"""The project's error tree: one root, `YuqingError`, for every error yuqing raises on
purpose, and the domain core's branch of it. Boundaries turn these into words for people: the
CLI into an exit code and a sentence (tasks.cli_common.exit_code), the web app into an HTTP
status and `{"error": …}` (responders.web.errors.http_status), each mapping written once, by
class, so a subclass inherits its parent's answer.

    YuqingError
    ├── MonitorError                the domain core (this module)
    │   ├── ConfigError             settings, config files, a database we cannot upgrade
    │   ├── FetchError              a source could not be fetched (its last_error)
    │   ├── ParseError              a fetched document is not a feed we can read safely
    │   └── InputError              bad input from a person or a file
    │       ├── NotFound            the thing asked for does not exist
    │       ├── BatchTooLarge       (monitor.importing) a push batch over the limit
    │       └── UsageError          (tasks.cli_common) bad command-line usage
    └── DeskError                   (responders.errors) the press desk
        ├── AuthError, CsrfError, LoginRequired
        └── WorkflowError ▸ UnknownAction, RoleForbidden, StateConflict, ReasonRequired
"""

from __future__ import annotations


class YuqingError(Exception):
    """Root of every error yuqing raises on purpose (anything else is a bug)."""


class MonitorError(YuqingError):
    """Root of every error the domain core raises on purpose."""


class ConfigError(MonitorError):
    """A settings or config file is missing, malformed or inconsistent."""


class FetchError(MonitorError):
    """Fetching a source failed. `message` is a sentence fit for a source's last_error.

    `retry_after_s` carries a server's Retry-After (429/503) so the scheduler can honour it;
    `status` is the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "network",
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s


class ParseError(MonitorError):
    """A fetched document is not a feed we can read safely (not XML, hostile, truncated…)."""


class InputError(MonitorError):
    """Bad input from a person or a file (CLI arguments, JSONL lines, source definitions)."""


class NotFound(InputError):
    """The thing asked for (an alert, an output, a source, a user) does not exist."""
