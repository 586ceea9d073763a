"""Settings: config/defaults.yaml, then a YAML file named by YUQING_CONFIG, then YUQING_* env.

Built by `load_settings()` at the edges (CLI, worker start, tests) and handed down; nothing
reads settings at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError
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


@dataclass(frozen=True)
class Settings:
    """The merged settings tree plus derived paths. `raw` is the merged mapping."""

    raw: Mapping[str, Any]
    config_dir: Path = field(default=CONFIG_DIR)

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.raw
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return node

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}

    @property
    def home(self) -> Path:
        return Path(str(self.raw.get("home") or "./var")).expanduser().resolve()

    @property
    def database_url(self) -> str:
        url = str(self.raw.get("database_url") or "")
        return url or f"sqlite:///{self.home / 'yuqing.db'}"

    @property
    def broker_url(self) -> str:
        """Empty means: the embedded broker (tasks.embedded) decides the URL."""
        return str(self.raw.get("broker_url") or "")

    @property
    def timezone(self) -> str:
        return str(self.raw.get("timezone") or "Asia/Shanghai")

    @property
    def office(self) -> str:
        """The press office's name, on the desk, the digest and the reports (`web.office`)."""
        return str(self.get("web", "office", default="") or "河南省司法厅")


def _coerce(text: str, like: Any) -> Any:
    """Turn an env string into the type of the default it overrides."""
    if isinstance(like, bool):
        low = text.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"expected true/false, got {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError as exc:
            raise ConfigError(f"expected a whole number, got {text!r}") from exc
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError as exc:
            raise ConfigError(f"expected a number, got {text!r}") from exc
    if isinstance(like, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping at the top")
    return data


def _apply_env(tree: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    out = _merge({}, tree)
    for name, path in _SHORTCUTS.items():
        if env.get(name):
            out[path[0]] = env[name]
    for section, values in tree.items():
        if not isinstance(values, dict):
            continue
        for key, default in values.items():
            name = f"YUQING_{section}_{key}".upper()
            if name in env:
                try:
                    out[section][key] = _coerce(env[name], default)
                except ConfigError as exc:
                    raise ConfigError(f"{name}: {exc}") from exc
    return out


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the YUQING_CONFIG file, environment and explicit overrides."""
    env = os.environ if env is None else env
    config_dir = Path(env.get("YUQING_CONFIG_DIR") or CONFIG_DIR)
    tree = _read_yaml(config_dir / "defaults.yaml")
    if env.get("YUQING_CONFIG"):
        tree = _merge(tree, _read_yaml(Path(env["YUQING_CONFIG"])))
    tree = _apply_env(tree, env)
    if overrides:
        tree = _merge(tree, overrides)
    return Settings(raw=tree, config_dir=config_dir)
