"""The desk's branch of the project's error tree (monitor.errors.YuqingError): what a person
using the desk can get wrong or may not do. The HTTP status of each is in
responders.web.errors, the CLI's exit code in tasks.cli_common; neither lives here."""

from __future__ import annotations

from monitor.errors import YuqingError


class DeskError(YuqingError):
    """Root of the desk's own errors."""
