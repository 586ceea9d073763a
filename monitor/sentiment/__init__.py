"""Sentiment engines behind one interface; `build_scorer` picks one by name from settings.

Engines register in `_ENGINES` with a factory taking the typed `settings.sentiment` section.
No factory keeps a fallback value: config/defaults.yaml gives every key its default, and the
section was checked when the settings were loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from monitor.errors import ConfigError
from monitor.sentiment.base import Scorer, Sentiment, Thresholds, prepare

if TYPE_CHECKING:
    # For annotations only: monitor.settings_schema imports this package (engine_names),
    # so importing it back at import time would be a cycle.
    from monitor.settings_schema import SentimentSection

__all__ = ["Scorer", "Sentiment", "Thresholds", "prepare", "build_scorer", "engine_names"]


def _snownlp(section: SentimentSection) -> Scorer:
    from monitor.sentiment.snownlp_engine import SnowNLPScorer

    return SnowNLPScorer(Thresholds.from_section(section), section.max_chars)


def _snownlp_fast(section: SentimentSection) -> Scorer:
    from monitor.sentiment.fastsnow import FastSnowNLPScorer

    model = section.snownlp_model or None  # empty: SnowNLP's stock model
    return FastSnowNLPScorer(
        Thresholds.from_section(section), section.max_chars, model_path=model
    )


def _weibo(section: SentimentSection) -> Scorer:
    # Imported here so that processes which never score do not load numpy or the weights.
    from monitor.sentiment.weibo import WeiboScorer

    return WeiboScorer(max_chars=section.max_chars)


_ENGINES: dict[str, Callable[[SentimentSection], Scorer]] = {
    "snownlp": _snownlp,
    "snownlp-fast": _snownlp_fast,
    "weibo": _weibo,
}


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def build_scorer(
    section: SentimentSection | Mapping[str, Any], engine: str | None = None
) -> Scorer:
    """Build the engine `settings.sentiment` names, or `engine` (a command's --engine).
    Call once per process: loading a model takes seconds."""
    typed = _from_mapping(section) if isinstance(section, Mapping) else section
    name = engine or typed.engine
    factory = _ENGINES.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown sentiment engine {name!r}; choose one of: {', '.join(engine_names())}"
        )
    return factory(typed)


def _from_mapping(section: Mapping[str, Any]) -> SentimentSection:
    """Deprecated: pass `settings.sentiment`. Kept only while tasks/cli.py still passes
    `settings.section("sentiment")`; the mapping is read through the settings' own schema,
    so a key it lacks is an error rather than a default kept here."""
    from monitor.settings_schema import SentimentSection, build

    typed, problems = build(SentimentSection, section)
    if typed is None:
        raise ConfigError("sentiment settings: " + "; ".join(
            f"sentiment.{p.key}: {p.message}" for p in problems))
    return typed
