"""The shape of the settings: one frozen dataclass per section of config/defaults.yaml.

No field has a default of its own. config/defaults.yaml is the one place a default lives, and
a key it lacks is an error at load time rather than a fallback somewhere in the code. Each
field's annotation says its type and, through `Annotated`, what values make sense; `build`
checks a merged settings tree against it and lists every problem by dotted key (which file
or environment variable set the key is monitor.settings' business: it keeps the origins).

A field's YAML key is its name, less a trailing underscore (`from_` is `digest.from`: `from`
is a Python keyword). Its environment variable is YUQING_<SECTION>_<KEY>, upper case, with
nested sections joined the same way (YUQING_EVENTS_BURSTS_MIN_COUNT).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError

# Only the registry's names: monitor.sentiment imports no engine until one is built.
from monitor.sentiment import engine_names

__all__ = [
    "AnalyzeSection", "BurstsSection", "CelerySection", "DigestSection", "EventsSection",
    "EvidenceSection", "FetchSection", "FlaggingSection", "NotifyRuleSection", "NotifySection",
    "PollSection", "Problem",
    "SentimentSection", "SettingsTree", "SmtpSection", "SocialSection", "TextSection",
    "WebSection", "build", "env_fields", "parse_env", "yaml_key",
]

T = TypeVar("T")


class Invalid(ConfigError):
    """What is wrong with one value, in words; the caller says which key and who set it (and
    raises the ConfigError a person sees)."""


# ---------------------------------------------------------------- checks

@dataclass(frozen=True)
class AtLeast:
    low: float

    def __call__(self, value: float) -> float:
        if value < self.low:
            raise Invalid(f"must be at least {_num(self.low)}, not {_num(value)}")
        return value


@dataclass(frozen=True)
class Positive:
    def __call__(self, value: float) -> float:
        if value <= 0:
            raise Invalid(f"must be greater than 0, not {_num(value)}")
        return value


@dataclass(frozen=True)
class Between:
    low: float
    high: float

    def __call__(self, value: float) -> float:
        if not self.low <= value <= self.high:
            raise Invalid(f"must be between {_num(self.low)} and {_num(self.high)}, "
                          f"not {_num(value)}")
        return value


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def __call__(self, value: str) -> str:
        # Case and spaces never mattered to the readers of these keys (smtp.security was
        # lower-cased by its reader), so they do not matter here either.
        norm = value.strip().lower()
        if norm not in self.choices:
            raise Invalid(f"must be one of {', '.join(self.choices)}, not {value!r}")
        return norm


@dataclass(frozen=True)
class NonEmpty:
    def __call__(self, value: str) -> str:
        if not value.strip():
            raise Invalid("must not be empty")
        return value


@dataclass(frozen=True)
class ZoneName:
    def __call__(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise Invalid(f"expected an IANA time zone name such as Europe/Berlin, "
                          f"got {value!r}") from None
        return value


@dataclass(frozen=True)
class IpNetwork:
    """An IP address or network in CIDR form (web.trusted_proxies)."""

    def __call__(self, value: str) -> str:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise Invalid(f"expected an IP address or network such as 10.0.0.0/8, "
                          f"got {value!r}") from None
        return value.strip()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


Count = Annotated[int, AtLeast(1)]
NonNegative = Annotated[int, AtLeast(0)]
Seconds = Annotated[int, AtLeast(1)]
Duration = Annotated[float, Positive()]     # a length of time that must not be zero
Share = Annotated[float, Between(0, 1)]
Port = Annotated[int, Between(1, 65535)]


class Section:
    """A settings section. `invariants` names fields whose values disagree with each other."""

    def invariants(self) -> Iterator[tuple[str, str]]:
        return iter(())


# ---------------------------------------------------------------- sections

@dataclass(frozen=True)
class FetchSection(Section):
    connect_timeout: Duration
    read_timeout: Duration
    total_timeout: Duration
    max_bytes: Count
    max_redirects: NonNegative
    allow_private: bool
    user_agent: Annotated[str, NonEmpty()]


@dataclass(frozen=True)
class PollSection(Section):
    default_interval: Seconds
    min_interval: NonNegative        # 0: Cache-Control alone decides (monitor.schedule)
    max_backoff: Seconds
    batch_size: Count
    per_host: Count
    tick_seconds: Seconds
    likely_gone_days: Count
    # Issue 15 (polling that scales with hosts): per-host batches, fetched concurrently.
    host_batch: Count        # sources of one host per poll message (one task)
    fetch_threads: Count     # requests in flight at once inside one poll task
    host_connections: Count  # of which at most this many to one host (keep-alive)
    slots: bool              # healthy sources keep to their slot in their interval
    max_queued: Count        # a tick claims no more than fills the poll queue to this many batches


@dataclass(frozen=True)
class TextSection(Section):
    traditional_to_simplified: bool


@dataclass(frozen=True)
class SentimentSection(Section):
    engine: Annotated[str, OneOf(tuple(engine_names()))]
    max_chars: Count
    snownlp_model: str
    negative_below: Share
    positive_above: Share

    def invariants(self) -> Iterator[tuple[str, str]]:
        if self.negative_below > self.positive_above:
            yield ("negative_below", f"must not be above sentiment.positive_above "
                                     f"({self.negative_below} > {self.positive_above})")


@dataclass(frozen=True)
class AnalyzeSection(Section):
    batch_size: Count


@dataclass(frozen=True)
class FlaggingSection(Section):
    strong_negative: Share
    strong_negative_probability: Share


@dataclass(frozen=True)
class CelerySection(Section):
    concurrency: Count
    visibility_timeout: NonNegative  # 0: derived from the time limits (tasks.runtime)
    restore_interval: Seconds
    restore_throttle: Count
    poll_lease: NonNegative          # 0: derived likewise
    sweep_after: Seconds
    task_time_limit: Seconds


# ---- issue 17: reaching the duty officer (responders.notify reads these)

_PRIORITIES = ("P1", "P2", "P3")
_CHAIN_ROLES = ("duty", "leader", "head")
# The URL forms responders.notify.channels reads (tests/unit/test_notify.py keeps the two
# lists equal).
_CHANNEL_SCHEMES = ("wecombot", "wecom", "dingtalk", "feishu", "lark", "http", "https",
                    "smsgw+http", "smsgw+https", "mailto")


def _hhmm(text: str) -> int | None:
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    h, m = int(parts[0]), int(parts[1])
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return h * 60 + m


@dataclass(frozen=True)
class TimeRange:
    """ "HH:MM-HH:MM" in the office's zone; an end at or before the start runs past midnight;
    empty: all day."""

    def __call__(self, value: str) -> str:
        text = value.strip()
        if not text:
            return ""
        start, sep, end = text.partition("-")
        if not sep or _hhmm(start) is None or _hhmm(end) is None:
            raise Invalid(f"expected a time range such as 22:00-08:00, got {value!r}")
        return text


@dataclass(frozen=True)
class NotifyRuleSection(Section):
    """One routing rule: what it matches (empty: anything) and whom it reaches."""

    name: Annotated[str, NonEmpty()]
    priorities: tuple[Annotated[str, OneOf(("p1", "p2", "p3"))], ...]
    topics: tuple[str, ...]
    source_kinds: tuple[str, ...]
    hours: Annotated[str, TimeRange()]        # when the rule applies (time of day)
    channels: tuple[Annotated[str, NonEmpty()], ...]
    people: tuple[Annotated[str, NonEmpty()], ...]  # duty | leader | head | assignee | a name
    quiet_hours: Annotated[str, TimeRange()]  # P2/P3 wait until its end; P1 never waits


@dataclass(frozen=True)
class NotifySection(Section):
    webhook_url: str
    timeout: Duration
    remind_before_hours: Annotated[float, AtLeast(0)]
    remind_before_share: Share
    remind_tick_seconds: Seconds
    remind_email: bool
    outbox_tick_seconds: Seconds
    # Issue 17 (responders.notify): named channels in URL form, routing rules, the
    # escalation chain, acknowledgement links, cooldown.
    channels: Mapping[str, Annotated[str, NonEmpty()]]
    rules: tuple[NotifyRuleSection, ...]
    allow_private: bool
    ack_minutes: Mapping[str, Annotated[float, Positive()]]
    ack_link_hours: Duration
    ack_secret: str
    chain: tuple[Annotated[str, OneOf(_CHAIN_ROLES)], ...]
    cooldown_minutes: Annotated[float, AtLeast(0)]

    def invariants(self) -> Iterator[tuple[str, str]]:
        for name, url in self.channels.items():
            scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
            if scheme not in _CHANNEL_SCHEMES:
                yield ("channels", f"channel {name!r}: expected a URL such as "
                                   f"wecombot://KEY, dingtalk://TOKEN, feishu://TOKEN, "
                                   f"lark://TOKEN, smsgw+https://…, mailto: or https://…, "
                                   f"got {url!r}")
        for i, rule in enumerate(self.rules):
            for ch in rule.channels:
                if ch not in self.channels:
                    yield ("rules", f"rule {i} ({rule.name}): no channel {ch!r} in "
                                    f"notify.channels")
        for p in self.ack_minutes:
            if p not in _PRIORITIES:
                yield ("ack_minutes", f"expected priorities P1/P2/P3, got {p!r}")


@dataclass(frozen=True)
class BurstsSection(Section):
    window_s: Seconds
    social_baseline_hours: Duration
    news_baseline_days: Duration
    min_count: NonNegative
    min_ratio: Annotated[float, AtLeast(0)]
    max_p: Share
    floor_rate: Duration             # divides: a zero floor and a new story's zero baseline
    reach_escalate: NonNegative
    growth_escalate: NonNegative


@dataclass(frozen=True)
class EventsSection(Section):
    similarity: Share
    min_shingles: NonNegative
    window_days: Duration
    story_similarity: Share
    story_min_shared: Count
    story_unanchored: Share
    story_city_anchored: Share
    story_damp: Share
    story_tagged: Share
    story_outage_hours: Duration
    story_matter_hours: Duration
    story_followup_days: Duration
    bursts: BurstsSection


@dataclass(frozen=True)
class SocialSection(Section):
    host_interval: Mapping[str, Annotated[float, AtLeast(0)]]
    default_host_interval: Annotated[float, AtLeast(0)]
    silent_after: Count


@dataclass(frozen=True)
class WebSection(Section):
    port: Port
    base_url: str
    office: Annotated[str, NonEmpty()]
    session_idle_minutes: Duration
    session_max_hours: Duration
    secure_cookies: bool
    login_attempts: Count
    login_window_minutes: Duration
    ingest_max_bytes: Count
    # Issue 14: per-address failures before delays (far above login_attempts, one office
    # shares an address), the longest delay, and who may set X-Forwarded-For/-Proto.
    login_address_attempts: Count
    login_max_delay_seconds: Duration
    trusted_proxies: tuple[Annotated[str, IpNetwork()], ...]
    # Issue 16: the desk's address as people reach it (behind a proxy); "" for
    # http://127.0.0.1:{port}. The digest's links use it.
    public_url: str


@dataclass(frozen=True)
class OfficeSection(Section):
    # The office's own accounts and sites (monitor.office.OwnVoice reads them).
    accounts: tuple[Annotated[str, NonEmpty()], ...]
    effect_hours: Annotated[int, Between(1, 168)]  # 回应效果's window (responders.effect)


@dataclass(frozen=True)
class SmtpSection(Section):
    host: Annotated[str, NonEmpty()]
    port: Port
    security: Annotated[str, OneOf(("none", "starttls", "tls"))]
    user: str
    password: str
    timeout: Duration


@dataclass(frozen=True)
class DigestSection(Section):
    from_: str
    to: tuple[str, ...]
    day_of_week: Annotated[int, Between(1, 7)]
    hour: Annotated[int, Between(0, 23)]
    minute: Annotated[int, Between(0, 59)]
    desk_url: str   # empty: the desk's public address (responders.digest.desk_link)
    top: Count


# ---------------------------------------------------------------- ops (issue 15: operator view)

@dataclass(frozen=True)
class LoggingSection(Section):
    format: Annotated[str, OneOf(("text", "json"))]
    level: Annotated[str, OneOf(("debug", "info", "warning", "error"))]
    task_lines: bool                 # Celery's per-task "received/succeeded" lines at INFO


@dataclass(frozen=True)
class MetricsSection(Section):
    token: str                       # bearer token for /metrics; empty: loopback clients only
    redis_url: str                   # where workers count polls; empty: the broker when Redis


__all__ += ["LoggingSection", "MetricsSection"]


@dataclass(frozen=True)
class EvidenceSection(Section):
    # Issue 18 (responders.evidence, monitor.coverage): where snapshots are kept ("" = the
    # local store under YUQING_HOME/evidence), how many items of one alert are snapshotted,
    # which source kinds get their link's page fetched, the deletion re-check of alerted
    # items, the shortest blind spot reported, and the CJK font of the PDF 专报.
    store_url: str
    max_items: Count
    page_kinds: tuple[Annotated[str, NonEmpty()], ...]
    recheck_minutes: Count
    recheck_days: Count
    recheck_batch: Count
    coverage_min_gap_minutes: Count
    pdf_font: str
    # An s3:// store_url's server and credentials (monitor.evidence_s3); empty = boto3's
    # own defaults (AWS itself, AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
    s3_endpoint: str
    s3_region: str
    s3_access_key: str
    s3_secret_key: str


@dataclass(frozen=True)
class RetentionSection(Section):
    # Issue 15: items first seen more than this many days ago, which no alert, output or
    # evidence refers to, are pruned (monitor.retention); null keeps everything.
    items_days: int | None
    batch_size: Count          # items deleted per transaction
    tick_hours: Duration       # how often beat runs the prune

    def invariants(self) -> Iterator[tuple[str, str]]:
        if self.items_days is not None and self.items_days < 1:
            yield "items_days", "must be at least 1 day, or null to keep everything"


@dataclass(frozen=True)
class SettingsTree(Section):
    """The whole tree: four top-level values, then the sections in defaults.yaml's order."""

    home: Annotated[str, NonEmpty()]
    timezone: Annotated[str, ZoneName()]
    database_url: str
    broker_url: str
    fetch: FetchSection
    poll: PollSection
    text: TextSection
    sentiment: SentimentSection
    analyze: AnalyzeSection
    flagging: FlaggingSection
    celery: CelerySection
    notify: NotifySection
    events: EventsSection
    social: SocialSection
    web: WebSection
    office: OfficeSection
    smtp: SmtpSection
    digest: DigestSection
    logging: LoggingSection
    metrics: MetricsSection
    evidence: EvidenceSection
    retention: RetentionSection


# ---------------------------------------------------------------- building

@dataclass(frozen=True)
class Problem:
    path: tuple[str, ...]   # the keys as in the tree, to find who set them
    key: str                # the same for people: poll.batch_size, social.host_interval['x']
    message: str
    kind: Literal["value", "unknown", "missing"] = "value"


def yaml_key(field: dataclasses.Field[Any]) -> str:
    return field.name.removesuffix("_")


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    # Evaluated once per class: the annotations are strings (PEP 563) until asked for.
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Section) and dataclasses.is_dataclass(tp)


def build(cls: type[T], tree: Mapping[str, Any]) -> tuple[T | None, list[Problem]]:
    """The typed tree, or None and every problem found (not just the first)."""
    problems: list[Problem] = []
    built = _section(cls, tree, (), "", problems)
    return (built if not problems else None), problems


def _section(cls: type[T], node: Any, path: tuple[str, ...], key: str,
             problems: list[Problem]) -> T | None:
    if not isinstance(node, Mapping):
        problems.append(Problem(path, key, f"expected a section of settings, got {node!r}"))
        return None
    hints = _hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    ok = True
    for name in node:
        if name not in fields:
            near = difflib.get_close_matches(str(name), list(fields), n=1)
            hint = f" (did you mean {_join(key, near[0])}?)" if near else ""
            problems.append(Problem(path + (str(name),), _join(key, str(name)),
                                    f"is not a setting{hint}", kind="unknown"))
            ok = False
    for name, f in fields.items():
        sub_path, sub_key = path + (name,), _join(key, name)
        if name not in node:
            problems.append(Problem(sub_path, sub_key, "is missing", kind="missing"))
            ok = False
            continue
        before = len(problems)
        value = _value(hints[f.name], node[name], sub_path, sub_key, problems)
        if len(problems) > before:
            ok = False
        values[f.name] = value
    if not ok:
        return None
    built = cls(**values)
    if isinstance(built, Section):
        for name, message in built.invariants():
            problems.append(Problem(path + (name,), _join(key, name), message))
    return built


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _value(tp: Any, value: Any, path: tuple[str, ...], key: str,
           problems: list[Problem]) -> Any:
    """`value` as type `tp`, checked; a problem is recorded (and None returned) if not."""
    checks: tuple[Any, ...] = ()
    if get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        checks = tuple(extra)
    if _is_section(tp):
        return _section(tp, value, path, key, problems)
    try:
        if get_origin(tp) is tuple:
            return tuple(_value(get_args(tp)[0], v, path, f"{key}[{i}]", problems)
                         for i, v in enumerate(_as_list(value)))
        if get_origin(tp) is Mapping:
            return _mapping(get_args(tp)[1], value, path, key, problems)
        out = _scalar(tp, value)
        for check in checks:
            out = check(out)
        return out
    except Invalid as exc:
        problems.append(Problem(path, key, str(exc)))
        return None


def _mapping(tp: Any, value: Any, path: tuple[str, ...], key: str,
             problems: list[Problem]) -> dict[str, Any] | None:
    if value is None:  # YAML's empty value: no entries
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(f"expected a mapping of names to values (in the environment: "
                      f"name=value,name=value), got {value!r}")
    # A plain dict, not a read-only MappingProxyType: a proxy can be neither pickled nor
    # deep-copied, and Settings can be; the annotation (Mapping) keeps writers away.
    return {str(k): _value(tp, v, path + (str(k),), f"{key}[{str(k)!r}]", problems)
            for k, v in value.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        # One address written without brackets: read it as its environment variable would
        # be read, not as a list of characters.
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise Invalid(f"expected a list, got {value!r}")


def _scalar(tp: Any, value: Any) -> Any:
    # bool is a subclass of int in Python; YAML's true is no port number.
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise Invalid(f"expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise Invalid(f"expected a whole number, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise Invalid(f"expected a finite number, got {value!r}")
            return float(value)
        raise Invalid(f"expected a number, got {value!r}")
    if tp is str:
        if value is None:  # `key:` with nothing after it is YAML's null: empty text
            return ""
        if isinstance(value, str):
            return value
        # YAML reads 0123 as a number (83, octal) and 123456 as an int: quoting is the fix,
        # guessing the text back is not.
        raise Invalid(f"expected text, got {value!r}, which YAML read as a "
                      f"{type(value).__name__}: put the value in quotes")
    if tp == int | None:  # a whole number that may be left unset (YAML's null)
        return None if value is None else _scalar(int, value)
    raise TypeError(f"settings schema: no reader for {tp!r}")  # a bug in this module


# ---------------------------------------------------------------- environment

def env_fields(cls: type[Any] = SettingsTree, prefix: tuple[str, ...] = ()
               ) -> dict[str, tuple[tuple[str, ...], Any]]:
    """YUQING_<SECTION>_<KEY> → (path in the tree, annotated type), for every value below the
    top level (the top-level values have the README's shortcuts: YUQING_HOME …)."""
    out: dict[str, tuple[tuple[str, ...], Any]] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        path = prefix + (yaml_key(f),)
        tp = hints[f.name]
        if _is_section(tp):
            out.update(env_fields(tp, path))
        elif prefix:
            out["_".join(("YUQING",) + path).upper()] = (path, tp)
    return out


def parse_env(tp: Any, text: str) -> Any:
    """An environment string read as the field's type, in the tree's plain form (lists as
    lists). Text that does not parse is returned as it is, so that `build` reports it with
    the same words as a wrong value in a file."""
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    low = text.strip().lower()
    if tp is bool:
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        return text
    try:
        if tp == int | None:
            return None if low in {"", "null", "none"} else int(text)
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if get_origin(tp) is tuple:
            return [part.strip() for part in text.split(",") if part.strip()]
        if get_origin(tp) is Mapping:
            # host=seconds,host=seconds (social.host_interval)
            pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                return text
            return {k.strip(): parse_env(get_args(tp)[1], v.strip()) for k, v in pairs}
    except ValueError:
        return text
    return text
