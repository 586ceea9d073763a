"""The shipped settings, for tests that need a policy or a section "as configured".

Domain objects keep no defaults of their own (config/defaults.yaml is the one place a
default lives), so a test builds them from these: `FetchPolicy.from_section(defaults().fetch)`,
and `dataclasses.replace(...)` for a field the test changes.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from monitor.office import OwnVoice
from monitor.polling import PollSettings
from monitor.settings import Settings, load_settings


@cache
def defaults() -> Settings:
    """config/defaults.yaml alone: no YUQING_* variable of the machine running the tests.
    Loaded once and shared: the sections are frozen (social.host_interval is a plain dict,
    so copy it before changing it)."""
    return load_settings(env={})


def own_voice() -> OwnVoice:
    """The office's own accounts as shipped (`office.accounts`)."""
    return OwnVoice.from_section(defaults().office_voice)


def poll_settings(**changes: Any) -> PollSettings:
    """The poll's settings as shipped, with the fields a test changes."""
    return replace(PollSettings.from_settings(defaults()), **changes)
