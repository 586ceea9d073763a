"""Reading a YAML file people edit (settings, sources, topics, deadlines), with one set of
clear errors: the file is named, and unreadable, non-UTF-8 or malformed input never becomes
a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError, MonitorError


def read_yaml(path: Path, error: type[MonitorError] = ConfigError) -> Any:
    """The parsed document (None for an empty file), or `error` saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from None
