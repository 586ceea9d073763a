from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.settings import CONFIG_DIR, Settings, load_settings
from monitor.settings_schema import (
    AnalyzeSection,
    BurstsSection,
    CelerySection,
    DigestSection,
    EventsSection,
    EvidenceSection,
    FetchSection,
    FlaggingSection,
    LoggingSection,
    MetricsSection,
    NotifySection,
    OfficeSection,
    PollSection,
    RetentionSection,
    SentimentSection,
    SettingsTree,
    SmtpSection,
    SocialSection,
    TextSection,
    WebSection,
    env_fields,
    yaml_key,
)


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
    assert s.poll.per_host == 5
    assert s.fetch.allow_private is True
    assert s.fetch.connect_timeout == 1.5
    assert s.database_url == "postgresql://x@h/db"


def test_config_file_then_env(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("poll:\n  per_host: 7\n  batch_size: 9\n", encoding="utf-8")
    s = load_settings(env={"YUQING_CONFIG": str(f), "YUQING_POLL_BATCH_SIZE": "3"})
    assert s.poll.per_host == 7
    assert s.poll.batch_size == 3
    assert s.poll.tick_seconds == 5  # untouched defaults stay


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


# ---------------------------------------------------------------- typed sections

def _leaves(section, prefix=""):
    """(dotted key, value) for every field of a section, nested sections flattened."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        key = f"{prefix}{yaml_key(f)}"
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, key + ".")
        else:
            yield key, value


def _yaml_leaves(node, prefix=""):
    for key, value in node.items():
        # Mapping-typed settings (names → values) are leaves, not sections.
        if isinstance(value, dict) and key not in ("host_interval", "channels", "ack_minutes"):
            yield from _yaml_leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_every_section_is_typed_and_frozen():
    s = load_settings(env={})
    sections = {
        "fetch": FetchSection, "poll": PollSection, "text": TextSection,
        "sentiment": SentimentSection, "analyze": AnalyzeSection,
        "flagging": FlaggingSection, "celery": CelerySection, "notify": NotifySection,
        "events": EventsSection, "social": SocialSection, "web": WebSection,
        "smtp": SmtpSection, "digest": DigestSection, "office": OfficeSection,
        "evidence": EvidenceSection,
        "retention": RetentionSection,
    }
    sections |= {"logging": LoggingSection, "metrics": MetricsSection}  # read as s.tree.X
    assert set(sections) | {"home", "timezone", "database_url", "broker_url"} == set(s.raw)
    for name, cls in sections.items():
        # `office` is web.office (the signing name); the section is `office_voice`.
        section = getattr(s, "office_voice" if name == "office" else name, None) or \
            getattr(s.tree, name)
        assert type(section) is cls
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(section, dataclasses.fields(section)[0].name, None)
    assert type(s.events.bursts) is BurstsSection
    # The values have the annotated types, whatever YAML made of them (notify.timeout: 10).
    assert s.poll.batch_size == 2000 and type(s.poll.batch_size) is int
    assert s.notify.timeout == 10.0 and type(s.notify.timeout) is float
    assert s.fetch.allow_private is False
    assert s.digest.to == () and s.digest.from_ == ""
    assert s.social.host_interval == {"m.weibo.cn": 0.5, "weibo.com": 0.5, "api.weibo.com": 0.5}
    assert s.events.bursts.news_baseline_days == 14.0
    assert s.office == "河南省司法厅"


def test_no_field_has_a_default_of_its_own():
    """defaults.yaml is the one place for defaults: a dataclass default would be a second."""
    def sections(obj):
        yield type(obj)
        for f in dataclasses.fields(obj):
            if dataclasses.is_dataclass(getattr(obj, f.name)):
                yield from sections(getattr(obj, f.name))

    found = list(sections(load_settings(env={}).tree))
    assert len(found) == 20  # the tree, 16 sections, events.bursts, logging and metrics (ops)
    for cls in found:
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING, f"{cls.__name__}.{f.name}"
            assert f.default_factory is dataclasses.MISSING, f"{cls.__name__}.{f.name}"


def test_typed_values_are_the_yaml_values():
    """The typed tree says what defaults.yaml says, key for key (no key left out or added)."""
    s = load_settings(env={})
    raw = yaml.safe_load((CONFIG_DIR / "defaults.yaml").read_text(encoding="utf-8"))
    typed = dict(_leaves(s.tree))
    assert set(typed) == set(dict(_yaml_leaves(raw)))
    for key, value in _yaml_leaves(raw):
        want = tuple(value) if isinstance(value, list) else value
        assert typed[key] == want, key


def test_every_value_has_its_annotated_type():
    def check(obj, prefix=""):
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            value, tp = getattr(obj, f.name), hints[f.name]
            if dataclasses.is_dataclass(value):
                check(value, f"{prefix}{f.name}.")
            elif typing.get_origin(tp) is tuple:
                assert type(value) is tuple, prefix + f.name
            elif typing.get_origin(tp) is Mapping:
                assert all(type(v) is float for v in value.values()), prefix + f.name
            elif tp == int | None:  # retention.items_days: null keeps everything
                assert value is None or type(value) is int, prefix + f.name
            else:
                assert type(value) is tp, prefix + f.name

    check(load_settings(env={}).tree)


def test_top_level_properties_read_the_typed_tree(tmp_path):
    s = load_settings(env={"YUQING_HOME": str(tmp_path), "YUQING_TIMEZONE": "UTC",
                           "YUQING_BROKER_URL": "redis://h:6379/0"})
    assert s.tree.home == str(tmp_path)
    assert s.timezone == "UTC"
    assert s.broker_url == "redis://h:6379/0"
    # Empty shortcuts are "not set", as before (docker-compose passes ${X:-}).
    assert load_settings(env={"YUQING_TIMEZONE": ""}).timezone == "Asia/Shanghai"


# ---------------------------------------------------------------- environment

def test_env_is_read_by_the_field_type():
    s = load_settings(env={
        "YUQING_POLL_BATCH_SIZE": "12",
        "YUQING_NOTIFY_TIMEOUT": "3",
        "YUQING_NOTIFY_REMIND_EMAIL": "off",
        "YUQING_DIGEST_TO": "a@x.example, b@x.example,",
        "YUQING_DIGEST_FROM": "舆情 <yq@x.example>",
        "YUQING_SOCIAL_HOST_INTERVAL": "weibo.com=1, example.cn=0.25",
        "YUQING_EVENTS_BURSTS_MIN_COUNT": "20",
        "YUQING_SMTP_SECURITY": "STARTTLS",
    })
    assert s.poll.batch_size == 12
    assert s.notify.timeout == 3.0 and type(s.notify.timeout) is float
    assert s.notify.remind_email is False
    assert s.digest.to == ("a@x.example", "b@x.example")
    assert s.digest.from_ == "舆情 <yq@x.example>"
    # The variable replaces the mapping: m.weibo.cn is not kept from the defaults.
    assert s.social.host_interval == {"weibo.com": 1.0, "example.cn": 0.25}
    assert s.events.bursts.min_count == 20
    assert s.smtp.security == "starttls"  # its reader always lower-cased it
    # The untyped reads see the same values while the callers move over.
    assert s.poll.batch_size == 12
    assert s.digest.to == ("a@x.example", "b@x.example")
    assert s.social.host_interval == {"weibo.com": 1.0, "example.cn": 0.25}
    assert s.events.bursts.min_count == 20


def test_env_names_are_unique_and_cover_every_value():
    names = env_fields()
    assert len(names) == len({path for path, _ in names.values()})
    assert names["YUQING_POLL_BATCH_SIZE"][0] == ("poll", "batch_size")
    assert names["YUQING_DIGEST_FROM"][0] == ("digest", "from")
    assert names["YUQING_EVENTS_BURSTS_WINDOW_S"][0] == ("events", "bursts", "window_s")
    raw = yaml.safe_load((CONFIG_DIR / "defaults.yaml").read_text(encoding="utf-8"))
    below_top = {k for k in dict(_yaml_leaves(raw)) if "." in k}
    assert {".".join(path) for path, _ in names.values()} == below_top


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"YUQING_POLL_BATCH_SIZE": "-3"},
         "YUQING_POLL_BATCH_SIZE: must be at least 1, not -3 (setting poll.batch_size)"),
        ({"YUQING_POLL_BATCH_SIZE": "lots"},
         "YUQING_POLL_BATCH_SIZE: expected a whole number, got 'lots' (setting poll.batch_size)"),
        ({"YUQING_POLL_MIN_INTERVAL": "-1"}, "YUQING_POLL_MIN_INTERVAL: must be at least 0"),
        ({"YUQING_WEB_PORT": "70000"}, "YUQING_WEB_PORT: must be between 1 and 65535"),
        ({"YUQING_SMTP_PORT": "0"}, "YUQING_SMTP_PORT: must be between 1 and 65535, not 0"),
        ({"YUQING_SMTP_SECURITY": "ssl"},
         "YUQING_SMTP_SECURITY: must be one of none, starttls, tls, not 'ssl'"),
        ({"YUQING_SENTIMENT_ENGINE": "bert"}, "YUQING_SENTIMENT_ENGINE: must be one of "),
        ({"YUQING_FETCH_READ_TIMEOUT": "0"}, "YUQING_FETCH_READ_TIMEOUT: must be greater than 0"),
        ({"YUQING_FETCH_READ_TIMEOUT": "nan"}, "expected a finite number"),
        ({"YUQING_DIGEST_DAY_OF_WEEK": "0"}, "must be between 1 and 7"),
        ({"YUQING_SOCIAL_HOST_INTERVAL": "weibo.com"}, "name=value,name=value"),
        ({"YUQING_SOCIAL_HOST_INTERVAL": "weibo.com=soon"},
         r"expected a number, got 'soon' \(setting social.host_interval\['weibo.com'\]\)"),
        ({"YUQING_SENTIMENT_NEGATIVE_BELOW": "0.8"},
         "must not be above sentiment.positive_above"),
        ({"YUQING_TIMEZONE": "Asia/Nowhere"}, "YUQING_TIMEZONE: expected an IANA time zone"),
        ({"YUQING_WEB_OFFICE": " "}, "YUQING_WEB_OFFICE: must not be empty"),
        ({"YUQING_NOTIFY_REMIND_EMAIL": ""}, "expected true/false, got ''"),
    ],
)
def test_a_bad_env_value_names_the_variable_and_the_key(env, message):
    with pytest.raises(ConfigError, match=message if "\\" in message else re.escape(message)):
        load_settings(env=env)


# ---------------------------------------------------------------- files and overrides

def test_a_bad_file_value_names_the_key_and_the_file(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("poll:\n  batch_size: many\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"YUQING_CONFIG": str(f)})
    assert str(caught.value) == (f"poll.batch_size in {f}: expected a whole number, "
                                 f"got 'many'")


def test_an_unknown_key_in_the_config_file_is_refused(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("poll:\n  batchsize: 9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"YUQING_CONFIG": str(f)})
    assert str(caught.value) == (f"poll.batchsize in {f} is not a setting "
                                 f"(did you mean poll.batch_size?)")
    f.write_text("mail:\n  host: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"mail in {f} is not a setting")):
        load_settings(env={"YUQING_CONFIG": str(f)})


def test_every_problem_is_listed_with_its_source(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text(
        "smtp:\n  security: ssl\n  password: 0123\n"
        "social:\n  host_interval:\n    example.cn: fast\n"
        "web:\n  secure_cookies: 1\n",
        encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"YUQING_CONFIG": str(f), "YUQING_CELERY_CONCURRENCY": "0"})
    text = str(caught.value)
    assert text.startswith("5 problems in the settings:\n")
    assert f"smtp.security in {f}: must be one of none, starttls, tls, not 'ssl'" in text
    # YAML reads 0123 as the octal number 83: the message says why it is not text.
    assert f"smtp.password in {f}: expected text, got 83, which YAML read as a int" in text
    assert f"social.host_interval['example.cn'] in {f}: expected a number, got 'fast'" in text
    assert f"web.secure_cookies in {f}: expected true/false, got 1" in text
    assert "YUQING_CELERY_CONCURRENCY: must be at least 1, not 0 (setting celery.concurrency)" \
        in text


def test_a_file_value_then_env_names_the_env(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("web:\n  port: 8080\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="^YUQING_WEB_PORT: must be between"):
        load_settings(env={"YUQING_CONFIG": str(f), "YUQING_WEB_PORT": "0"})


def test_file_mappings_merge_and_empty_values(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text(
        "social:\n  host_interval:\n    example.cn: 2\n"
        "digest:\n  to: press@x.example, chief@x.example\n  from:\n"
        "poll:\n",  # every key commented out: the section changes nothing
        encoding="utf-8")
    s = load_settings(env={"YUQING_CONFIG": str(f)})
    assert s.social.host_interval == {"m.weibo.cn": 0.5, "weibo.com": 0.5, "api.weibo.com": 0.5,
                                      "example.cn": 2.0}
    assert s.digest.to == ("press@x.example", "chief@x.example")  # not a list of characters
    assert s.digest.from_ == ""
    assert s.poll.batch_size == 2000


def test_a_section_that_is_not_a_mapping(tmp_path):
    f = tmp_path / "site.yaml"
    f.write_text("poll: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"poll in {f}: expected a section")):
        load_settings(env={"YUQING_CONFIG": str(f)})


def test_overrides_are_checked_too():
    s = load_settings(env={}, overrides={"fetch": {"read_timeout": 7, "max_bytes": 1000}})
    assert s.fetch.read_timeout == 7.0 and s.fetch.max_bytes == 1000
    assert s.fetch.connect_timeout == 5.0
    with pytest.raises(ConfigError, match=re.escape(
            "poll.nope in the overrides given to load_settings is not a setting")):
        load_settings(env={}, overrides={"poll": {"nope": 1}})


def test_settings_made_by_hand_are_checked():
    base = load_settings(env={})
    small = Settings(raw={**base.raw, "web": {**base.raw["web"], "ingest_max_bytes": 2000}},
                     config_dir=base.config_dir)
    assert small.web.ingest_max_bytes == 2000
    with pytest.raises(ConfigError, match=r"^web\.port: expected a whole number"):
        Settings(raw={**base.raw, "web": {**base.raw["web"], "port": "80"}})


def test_a_key_missing_from_the_defaults_names_the_defaults_file(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    text = (CONFIG_DIR / "defaults.yaml").read_text(encoding="utf-8")
    (config / "defaults.yaml").write_text(text.replace("  top: 8", "  # top: 8"),
                                          encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(
            f"digest.top is missing: {config / 'defaults.yaml'} must give every setting")):
        load_settings(env={"YUQING_CONFIG_DIR": str(config)})

