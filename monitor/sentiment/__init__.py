"""Sentiment engines behind one interface; `build_scorer` picks one by name from settings.

Engines register in `_ENGINES` with a factory taking the settings' `sentiment` section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.errors import ConfigError
from monitor.sentiment.base import Scorer, Sentiment, Thresholds, prepare

__all__ = ["Scorer", "Sentiment", "Thresholds", "prepare", "build_scorer", "engine_names"]


def _thresholds(section: Mapping[str, Any]) -> Thresholds:
    return Thresholds(
        negative_below=float(section.get("negative_below", 0.35)),
        positive_above=float(section.get("positive_above", 0.65)),
    )


def _snownlp(section: Mapping[str, Any]) -> Scorer:
    from monitor.sentiment.snownlp_engine import SnowNLPScorer

    return SnowNLPScorer(_thresholds(section), int(section.get("max_chars", 2000)))


def _snownlp_fast(section: Mapping[str, Any]) -> Scorer:
    from monitor.sentiment.fastsnow import FastSnowNLPScorer

    model = section.get("snownlp_model") or None  # empty: SnowNLP's stock model
    return FastSnowNLPScorer(
        _thresholds(section), int(section.get("max_chars", 2000)), model_path=model
    )


def _weibo(section: Mapping[str, Any]) -> Scorer:
    # Imported here so that processes which never score do not load numpy or the weights.
    from monitor.sentiment.weibo import WeiboScorer

    return WeiboScorer(max_chars=int(section.get("max_chars", 2000)))


_ENGINES: dict[str, Callable[[Mapping[str, Any]], Scorer]] = {
    "snownlp": _snownlp,
    "snownlp-fast": _snownlp_fast,
    "weibo": _weibo,
}


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def build_scorer(section: Mapping[str, Any], engine: str | None = None) -> Scorer:
    """Build the engine named in settings (or `engine`). Call once per process."""
    name = engine or str(section.get("engine", "snownlp"))
    factory = _ENGINES.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown sentiment engine {name!r}; choose one of: {', '.join(engine_names())}"
        )
    return factory(section)
