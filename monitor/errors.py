"""One root exception for the domain core; boundaries turn these into words for people."""

from __future__ import annotations


class MonitorError(Exception):
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
