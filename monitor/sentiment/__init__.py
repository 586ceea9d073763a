"""Sentiment engines behind one interface; `build_scorer` picks one by name from settings.

Engines register in `_ENGINES` with a factory taking the typed `settings.sentiment` section
(a `SentimentConfig`).
No factory keeps a fallback value: config/defaults.yaml gives every key its default, and the
section was checked when the settings were loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.errors import ConfigError
from monitor.sentiment.base import Scorer, Sentiment, SentimentConfig, Thresholds, prepare

__all__ = ["Scorer", "Sentiment", "SentimentConfig", "Thresholds", "prepare", "build_scorer",
           "engine_names"]


def _snownlp(section: SentimentConfig) -> Scorer:
    from monitor.sentiment.snownlp_engine import SnowNLPScorer

    return SnowNLPScorer(Thresholds.from_section(section), section.max_chars)


def _snownlp_fast(section: SentimentConfig) -> Scorer:
    from monitor.sentiment.fastsnow import FastSnowNLPScorer

    model = section.snownlp_model or None  # empty: SnowNLP's stock model
    return FastSnowNLPScorer(
        Thresholds.from_section(section), section.max_chars, model_path=model
    )


def _weibo(section: SentimentConfig) -> Scorer:
    # Imported here so that processes which never score do not load numpy or the weights.
    from monitor.sentiment.weibo import WeiboScorer

    return WeiboScorer(max_chars=section.max_chars)


def _weibo_e5(section: SentimentConfig) -> Scorer:
    # Optional (the `e5` extra): the module names the package when it is missing.
    from monitor.sentiment import second

    return second.build(_weibo(section), section.max_chars)


_ENGINES: dict[str, Callable[[SentimentConfig], Scorer]] = {
    "snownlp": _snownlp,
    "snownlp-fast": _snownlp_fast,
    "weibo": _weibo,
    "weibo+e5": _weibo_e5,
}


def engine_names() -> list[str]:
    return sorted(_ENGINES)


def build_scorer(section: SentimentConfig, engine: str | None = None, *,
                 models: Path | None = None) -> Scorer:
    """Build the engine `settings.sentiment` names, or `engine` (a command's --engine).
    Call once per process: loading a model takes seconds. With `models` (a model registry,
    monitor.sentiment.registry), the `weibo` engine scores with the version active there;
    without it, with the package's shipped model; `weibo+e5` wraps that `weibo` scorer
    (monitor.sentiment.second)."""
    name = engine or section.engine
    if name in ("weibo", "weibo+e5") and models is not None:
        from monitor.sentiment.active import ModelWatch

        first = ModelWatch(models, section.max_chars).current()
        if name == "weibo":
            return first
        from monitor.sentiment import second

        return second.build(first, section.max_chars)
    factory = _ENGINES.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown sentiment engine {name!r}; choose one of: {', '.join(engine_names())}"
        )
    return factory(section)
