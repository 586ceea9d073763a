from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.settings import load_settings


def test_defaults_embedded(tmp_path):
    s = load_settings(env={"YUQING_HOME": str(tmp_path)})
    assert s.home == tmp_path.resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'yuqing.db'}"
    assert s.broker_url == ""
    assert s.timezone == "Asia/Shanghai"


def test_env_overrides_are_typed(tmp_path):
    s = load_settings(env={
        "YUQING_POLL_PER_HOST": "5",
        "YUQING_FETCH_ALLOW_PRIVATE": "yes",
        "YUQING_FETCH_CONNECT_TIMEOUT": "1.5",
        "YUQING_SENTIMENT_ENGINE": "snownlp",
        "YUQING_DATABASE_URL": "postgresql://x@h/db",
    })
    assert s.get("poll", "per_host") == 5
    assert s.get("fetch", "allow_private") is True
    assert s.get("fetch", "connect_timeout") == 1.5
    assert s.database_url == "postgresql://x@h/db"


def test_config_file_then_env(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("poll:\n  per_host: 7\n  batch_size: 9\n", encoding="utf-8")
    s = load_settings(env={"YUQING_CONFIG": str(f), "YUQING_POLL_BATCH_SIZE": "3"})
    assert s.get("poll", "per_host") == 7
    assert s.get("poll", "batch_size") == 3
    assert s.get("poll", "tick_seconds") == 30  # untouched defaults stay


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"YUQING_POLL_PER_HOST": "many"}, "YUQING_POLL_PER_HOST: expected a whole number"),
        ({"YUQING_FETCH_ALLOW_PRIVATE": "perhaps"}, "expected true/false"),
    ],
)
def test_bad_env_is_explained(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_bad_config_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("poll: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(env={"YUQING_CONFIG": str(f)})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(env={"YUQING_CONFIG": str(tmp_path / "missing.yaml")})
