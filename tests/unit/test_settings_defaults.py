"""One default each: the domain's settings objects keep no default of their own.

config/defaults.yaml is the one place a default lives. These tests would catch a default
creeping back into a domain class (a dataclass field default, an optional policy that
falls back to one) and a builder that reads a section wrongly (the shipped objects must
say what the YAML says).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from monitor.bursts import BurstPolicy, detect, escalate
from monitor.errors import ConfigError
from monitor.event_store import EventSettings
from monitor.events import ClusterPolicy, best_match, cluster
from monitor.fetch import FetchPolicy
from monitor.flagging import FlagPolicy
from monitor.polling import PollSettings
from monitor.sentiment.base import Thresholds
from monitor.stories import StoryPolicy
from monitor.yamlfile import read_yaml
from tests.support.settings import defaults

POLICIES = [FetchPolicy, FlagPolicy, ClusterPolicy, BurstPolicy, EventSettings, Thresholds]


@pytest.fixture(scope="module")
def yaml() -> dict[str, Any]:
    """The shipped file itself, read without the settings loader."""
    data = read_yaml(defaults().config_dir / "defaults.yaml")
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("cls", POLICIES, ids=lambda c: c.__name__)
def test_no_field_has_a_default_of_its_own(cls: type[Any]) -> None:
    with_default = [f.name for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING]
    assert with_default == [], f"{cls.__name__} restates defaults.yaml: {with_default}"


@pytest.mark.parametrize(("func", "param"), [
    (cluster, "policy"), (best_match, "policy"), (detect, "policy"), (escalate, "policy"),
], ids=lambda x: getattr(x, "__name__", x))
def test_no_policy_argument_falls_back_to_one(func: Callable[..., Any], param: str) -> None:
    # `policy or ClusterPolicy()` was a second home for every default.
    assert inspect.signature(func).parameters[param].default is inspect.Parameter.empty


def test_fetch_policy_is_the_fetch_section(yaml: dict[str, Any]) -> None:
    # One to one, the user agent too (the class once kept a different one).
    assert FetchPolicy.from_section(defaults().fetch) == FetchPolicy(**yaml["fetch"])


def test_flag_policy_is_the_flagging_section(yaml: dict[str, Any]) -> None:
    assert FlagPolicy.from_section(defaults().flagging) == FlagPolicy(**yaml["flagging"])


def test_event_settings_are_the_events_section(yaml: dict[str, Any]) -> None:
    events, bursts = yaml["events"], yaml["events"]["bursts"]
    expected = EventSettings(
        cluster=ClusterPolicy(threshold=events["similarity"],
                              min_shingles=events["min_shingles"]),
        bursts=BurstPolicy(
            window_s=bursts["window_s"],
            social_baseline_h=bursts["social_baseline_hours"],
            news_baseline_h=bursts["news_baseline_days"] * 24,
            min_count=bursts["min_count"],
            min_ratio=bursts["min_ratio"],
            max_p=bursts["max_p"],
            floor_rate=bursts["floor_rate"],
            reach_escalate=bursts["reach_escalate"],
            growth_escalate=bursts["growth_escalate"],
        ),
        window_days=events["window_days"],
        stories=StoryPolicy(threshold=events["story_similarity"],
                            min_shared=events["story_min_shared"], damp=events["story_damp"],
                            unanchored=events["story_unanchored"],
                            city_anchored=events["story_city_anchored"],
                            tagged=events["story_tagged"],
                            outage_hours=events["story_outage_hours"],
                            matter_hours=events["story_matter_hours"]),
        followup_days=events["story_followup_days"],
    )
    assert EventSettings.from_section(defaults().events) == expected


def test_thresholds_are_the_sentiment_section(yaml: dict[str, Any]) -> None:
    cut = yaml["sentiment"]
    assert Thresholds.from_section(defaults().sentiment) == Thresholds(
        negative_below=cut["negative_below"], positive_above=cut["positive_above"])


def test_runtime_poll_settings_take_every_field_from_the_settings(
        yaml: dict[str, Any]) -> None:
    cfg = PollSettings.from_settings(defaults())
    assert (cfg.min_interval_s, cfg.max_backoff_s) == (yaml["poll"]["min_interval"],
                                                       yaml["poll"]["max_backoff"])
    assert cfg.to_simplified is yaml["text"]["traditional_to_simplified"]
    assert dict(cfg.host_intervals) == yaml["social"]["host_interval"]
    assert cfg.default_host_interval == yaml["social"]["default_host_interval"]
    assert cfg.silent_after == yaml["social"]["silent_after"]
    # Given explicitly, not left to PollSettings' own defaults: a changed setting shows.
    from monitor.settings import load_settings

    changed = load_settings(env={"YUQING_SOCIAL_HOST_INTERVAL": "example.cn=2",
                                 "YUQING_SOCIAL_SILENT_AFTER": "9",
                                 "YUQING_SOCIAL_DEFAULT_HOST_INTERVAL": "0.25"})
    cfg = PollSettings.from_settings(changed)
    assert (dict(cfg.host_intervals), cfg.default_host_interval, cfg.silent_after) == (
        {"example.cn": 2.0}, 0.25, 9)


def test_celery_app_reads_its_sections() -> None:
    from monitor.settings import load_settings
    from tasks.celery_app import create_app

    app = create_app(load_settings(env={
        "YUQING_BROKER_URL": "memory://", "YUQING_CELERY_VISIBILITY_TIMEOUT": "900",
        "YUQING_POLL_TICK_SECONDS": "45", "YUQING_DIGEST_DAY_OF_WEEK": "7",
        "YUQING_DIGEST_HOUR": "17", "YUQING_DIGEST_MINUTE": "30"}))
    assert app.conf.broker_transport_options == {
        "visibility_timeout": 900, "unacked_restore_interval": 10,
        "unacked_restore_throttle": 10}
    beat = app.conf.beat_schedule
    assert beat["schedule-due-sources"]["schedule"].total_seconds() == 45
    assert beat["remind-due-alerts"]["schedule"].total_seconds() == 60
    # The digest is planned by the outbox tick (responders.outbox.digest_due, from the
    # digest section), not by a crontab entry whose firing a broker outage would lose.
    assert "weekly-digest" not in beat
    assert beat["drain-outbox"]["schedule"].total_seconds() == 15
    assert beat["schedule-due-sources"]["options"]["queue"] == "schedule"
    # Sized from the time limit (tasks.runtime.Recovery) unless given, as here.
    assert app.conf.task_time_limit == 120
