"""Settings: config/defaults.yaml, then a YAML file named by YUQING_CONFIG, then YUQING_* env.

Built by `load_settings()` at the edges (CLI, worker start, tests) and handed down; nothing
reads settings at import time. The merged tree is checked once, when `Settings` is made,
against the typed sections of monitor.settings_schema: read `settings.poll.batch_size`.
Every default is in config/defaults.yaml and nowhere else, so a wrong or unknown key stops
the process at start with a sentence naming the key and the file or variable that set it.

`raw` is the merged tree the sections were built from (what a test edits to make variants);
code reads the sections.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from monitor.errors import ConfigError
from monitor.settings_schema import (
    AnalyzeSection,
    CelerySection,
    DigestSection,
    EventsSection,
    EvidenceSection,
    FetchSection,
    FlaggingSection,
    NotifySection,
    OfficeSection,
    PollSection,
    Problem,
    RetentionSection,
    SentimentSection,
    SettingsTree,
    SmtpSection,
    SocialSection,
    TextSection,
    WebSection,
    build,
    env_fields,
    parse_env,
)
from monitor.yamlfile import read_yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "config"

# Top-level shortcuts documented in the README.
_SHORTCUTS = {
    "YUQING_HOME": ("home",),
    "YUQING_DATABASE_URL": ("database_url",),
    "YUQING_BROKER_URL": ("broker_url",),
    "YUQING_TIMEZONE": ("timezone",),
}


class Origin(NamedTuple):
    """Who set a key: a settings file (by path), an environment variable, or the caller."""

    kind: Literal["file", "env", "overrides"]
    name: str


Origins = Mapping[tuple[str, ...], Origin]


@dataclass(frozen=True)
class Settings:
    """The merged settings tree, checked and typed. `raw` is the merged mapping; `origins`
    says which file or variable set each key (for error messages; empty when made by hand)."""

    raw: Mapping[str, Any]
    config_dir: Path = field(default=CONFIG_DIR)
    origins: Origins = field(default_factory=dict, repr=False, compare=False)
    tree: SettingsTree = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tree, problems = build(SettingsTree, self.raw)
        if tree is None:
            raise ConfigError(_explain(problems, self.origins, self.config_dir))
        object.__setattr__(self, "tree", tree)

    @property
    def home(self) -> Path:
        return Path(self.tree.home).expanduser().resolve()

    @property
    def database_url(self) -> str:
        # Empty is documented in defaults.yaml as "the embedded database under home".
        return self.tree.database_url or f"sqlite:///{self.home / 'yuqing.db'}"

    @property
    def broker_url(self) -> str:
        """Empty means: the embedded broker (tasks.embedded) decides the URL."""
        return self.tree.broker_url

    @property
    def timezone(self) -> str:
        return self.tree.timezone

    @property
    def office(self) -> str:
        """The press office's name, on the desk, the digest and the reports (`web.office`)."""
        return self.tree.web.office

    # One property per section; mypy checks each against SettingsTree.
    @property
    def fetch(self) -> FetchSection:
        return self.tree.fetch

    @property
    def poll(self) -> PollSection:
        return self.tree.poll

    @property
    def text(self) -> TextSection:
        return self.tree.text

    @property
    def sentiment(self) -> SentimentSection:
        return self.tree.sentiment

    @property
    def analyze(self) -> AnalyzeSection:
        return self.tree.analyze

    @property
    def flagging(self) -> FlaggingSection:
        return self.tree.flagging

    @property
    def celery(self) -> CelerySection:
        return self.tree.celery

    @property
    def notify(self) -> NotifySection:
        return self.tree.notify

    @property
    def events(self) -> EventsSection:
        return self.tree.events

    @property
    def social(self) -> SocialSection:
        return self.tree.social

    @property
    def web(self) -> WebSection:
        return self.tree.web

    @property
    def office_voice(self) -> OfficeSection:
        """The office's own accounts (`office:`); `office` is web.office, the signing name."""
        return self.tree.office

    @property
    def smtp(self) -> SmtpSection:
        return self.tree.smtp

    @property
    def digest(self) -> DigestSection:
        return self.tree.digest

    @property
    def evidence(self) -> EvidenceSection:
        return self.tree.evidence

    @property
    def retention(self) -> RetentionSection:
        return self.tree.retention


# ---------------------------------------------------------------- error messages

def _origin(origins: Origins, path: tuple[str, ...]) -> Origin | None:
    """Who set `path`: the last source that named it, or the nearest enclosing key."""
    for end in range(len(path), 0, -1):
        found = origins.get(path[:end])
        if found is not None:
            return found
    return None


def _sentence(problem: Problem, origins: Origins, config_dir: Path) -> str:
    if problem.kind == "missing":
        return (f"{problem.key} is missing: {config_dir / 'defaults.yaml'} must give every "
                f"setting its default")
    where = _origin(origins, problem.path)
    if where is not None and where.kind == "env":
        # The variable first: it is what the person typed.
        return f"{where.name}: {problem.message} (setting {problem.key})"
    place = (f" in {where.name}" if where is not None and where.kind == "file"
             else " in the overrides given to load_settings" if where is not None else "")
    if problem.kind == "unknown":
        return f"{problem.key}{place} {problem.message}"
    return f"{problem.key}{place}: {problem.message}"


def _explain(problems: list[Problem], origins: Origins, config_dir: Path) -> str:
    lines = [_sentence(p, origins, config_dir) for p in problems]
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems in the settings:\n" + "\n".join(f"  - {x}" for x in lines)


# ---------------------------------------------------------------- merging the sources

def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict):
            if value is None:
                # A section whose every key is commented out reads as null in YAML: it
                # changes nothing, as it looks.
                continue
            if isinstance(value, Mapping):
                out[key] = _merge(out[key], value)
                continue
        out[key] = value
    return out


def _mark(origins: dict[tuple[str, ...], Origin], node: Mapping[str, Any], origin: Origin,
          prefix: tuple[str, ...] = ()) -> None:
    """Record `origin` for every key `node` names, at any depth."""
    for key, value in node.items():
        path = prefix + (str(key),)
        origins[path] = origin
        if isinstance(value, Mapping):
            _mark(origins, value, origin, path)


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping at the top")
    return data


def _apply_env(tree: dict[str, Any], env: Mapping[str, str],
               origins: dict[tuple[str, ...], Origin]) -> dict[str, Any]:
    out = copy.deepcopy(tree)  # the caller's tree stays as it was
    for name, (key,) in _SHORTCUTS.items():
        if env.get(name):
            out[key] = env[name]
            origins[(key,)] = Origin("env", name)
    for name, (path, tp) in env_fields().items():
        if name not in env:
            continue
        node = out
        for key in path[:-1]:
            # A file may have replaced a section with something else; `build` says so.
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = parse_env(tp, env[name])
        # The variable replaces the whole value (a mapping too): forget who set its parts.
        for known in [p for p in origins if p[:len(path)] == path]:
            del origins[known]
        origins[path] = Origin("env", name)
    return out


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the YUQING_CONFIG file, environment and explicit overrides, and check
    the result (ConfigError naming the key and its source if anything is wrong)."""
    env = os.environ if env is None else env
    config_dir = Path(env.get("YUQING_CONFIG_DIR") or CONFIG_DIR)
    origins: dict[tuple[str, ...], Origin] = {}
    defaults = config_dir / "defaults.yaml"
    tree = _read_yaml(defaults)
    _mark(origins, tree, Origin("file", str(defaults)))
    if env.get("YUQING_CONFIG"):
        site = Path(env["YUQING_CONFIG"])
        layer = _read_yaml(site)
        tree = _merge(tree, layer)
        _mark(origins, layer, Origin("file", str(site)))
    tree = _apply_env(tree, env, origins)
    if overrides:
        tree = _merge(tree, overrides)
        _mark(origins, overrides, Origin("overrides", "load_settings"))
    return Settings(raw=tree, config_dir=config_dir, origins=origins)
