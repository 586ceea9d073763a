"""The justice-topic taxonomy and the matcher: which topics, office names and sensitive terms
occur in a text.

Pure: a `Taxonomy` is built once (per worker process) from config/topics.yaml and
config/sensitive.yaml, and `match` is a function of the text alone. Every term of every role
(topic keywords, rule terms, excludes, watch names, sensitive terms) goes into ONE Aho–Corasick
automaton, so a text is scanned once whatever the size of the taxonomy; rules are then decided
from the set of terms found, touching only the topics one of those terms belongs to.

Matching is substring matching without word segmentation — the usual way Chinese monitoring
keyword lists work. Text and terms are NFKC-normalised and lower-cased first, which makes Latin
letters case-insensitive and full-width forms (１２３４８, ＤＮＡ) equal to half-width ones.
Overlapping terms all count: 律师事务所 also finds 律师 — except that a sensitive term found
only inside one of sensitive.yaml's `idioms` (跳楼价, 打死我也不信) is not a hit.

Besides topics and sensitive terms, sensitive.yaml lists *markers*: phrases that tell what kind
of post a text is (a debunk, an explainer, an official notice, praise, a complaint, a rumour
…). They go into the same automaton, so they cost no second scan; monitor.flagging reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import ahocorasick

from monitor.errors import ConfigError
from monitor.nfkc import nfkc
from monitor.yamlfile import read_yaml

Level = Literal["severe", "elevated"]
_T = TypeVar("_T")
_LEVELS: tuple[Level, ...] = ("severe", "elevated")

# The kinds of marker sensitive.yaml may list, in the order hits are reported. What each means
# (and why it is there) is documented next to its list in config/sensitive.yaml; how they
# combine into a priority is monitor.flagging.decide.
Genre = Literal[
    "debunk", "explainer", "notice", "handled", "praise", "support",
    "request", "complaint", "misconduct", "rumour",
]
GENRES: tuple[Genre, ...] = (
    "debunk", "explainer", "notice", "handled", "praise", "support",
    "request", "complaint", "misconduct", "rumour",
)

_TOPICS_FILE_KEYS = frozenset({"watch", "watch_exclude", "topics"})
_TOPIC_KEYS = frozenset({"id", "name", "keywords", "rules", "exclude"})
_RULE_KEYS = frozenset({"all", "any", "none"})


@dataclass(frozen=True)
class Rule:
    """Matches when every `all` term, at least one `any` term (if any are given) and no `none`
    term is present."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    keywords: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensitiveHit:
    term: str
    level: Level


@dataclass(frozen=True)
class MarkerHit:
    term: str
    genre: Genre


@dataclass(frozen=True)
class TopicMatch:
    topics: tuple[str, ...]  # matched topic ids, in taxonomy order
    watch_hits: tuple[str, ...]  # watch-list names found, in list order
    sensitive: tuple[SensitiveHit, ...]  # severe first, then elevated, each in config order
    keywords: tuple[str, ...]  # terms that made a topic match, for "reasons in words"
    # Genre/stance markers found, in GENRES order, each genre in config order.
    markers: tuple[MarkerHit, ...] = ()

    def marked(self, genre: Genre) -> tuple[str, ...]:
        """The terms of one marker genre found in the text (config order)."""
        return tuple(h.term for h in self.markers if h.genre == genre)

    @property
    def relevant(self) -> bool:
        return bool(self.topics or self.watch_hits)

    @property
    def severity(self) -> Level | None:
        """The highest sensitive level found, or None."""
        if any(hit.level == "severe" for hit in self.sensitive):
            return "severe"
        return "elevated" if self.sensitive else None


def normalize(text: str) -> str:
    """The form both terms and texts are compared in (NFKC, lower case)."""
    return nfkc(text).lower()


@dataclass
class _Roles:
    """What one normalised term means, wherever it appears in the config."""

    topics: set[int] = field(default_factory=set)  # topics whose keyword or rule uses it
    watch: bool = False
    sensitive: Level | None = None
    # (rank in Taxonomy.markers, hit) of the hits this term gives, if found
    markers: list[tuple[int, MarkerHit]] = field(default_factory=list)


class Taxonomy:
    """Topics, watch list and sensitive terms, compiled into one automaton."""

    def __init__(
        self,
        topics: Iterable[Topic],
        watch: Iterable[str] = (),
        severe: Iterable[str] = (),
        elevated: Iterable[str] = (),
        *,
        markers: Mapping[str, Iterable[str]] | None = None,
        idioms: Iterable[str] = (),
        watch_exclude: Iterable[str] = (),
    ) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self.watch: tuple[str, ...] = tuple(watch)
        self.sensitive_terms: tuple[SensitiveHit, ...] = tuple(
            [SensitiveHit(t, "severe") for t in severe]
            + [SensitiveHit(t, "elevated") for t in elevated]
        )
        self._names: dict[str, str] = {}
        for topic in self.topics:
            if topic.id in self._names:
                raise ConfigError(f"topic {topic.id!r}: duplicate id")
            self._names[topic.id] = topic.name

        roles: dict[str, _Roles] = {}

        def role(term: str) -> _Roles:
            return roles.setdefault(normalize(term), _Roles())

        for index, topic in enumerate(self.topics):
            for term in topic.keywords:
                role(term).topics.add(index)
            for rule in topic.rules:
                # Only terms that can make a rule true point at the topic; `none` terms and
                # excludes are only consulted once the topic is a candidate.
                for term in rule.all + rule.any:
                    role(term).topics.add(index)
                for term in rule.none:
                    role(term)
            for term in topic.exclude:
                role(term)
        for term in self.watch:
            role(term).watch = True
        for hit in self.sensitive_terms:
            entry = role(hit.term)
            # A term listed under both levels counts as the graver one.
            if entry.sensitive != "severe":
                entry.sensitive = hit.level
        unknown = sorted(set(markers or {}) - set(GENRES))
        if unknown:
            raise ConfigError(f"unknown marker kind(s) {', '.join(unknown)}")
        self.markers: tuple[MarkerHit, ...] = tuple(dict.fromkeys(
            MarkerHit(term, genre) for genre in GENRES for term in (markers or {}).get(genre, ())
        ))
        for rank, marker in enumerate(self.markers):
            role(marker.term).markers.append((rank, marker))
        self.idioms: tuple[str, ...] = tuple(idioms)
        self.watch_exclude: tuple[str, ...] = tuple(watch_exclude)
        # sensitive term / watch name (normalised) -> the phrases that carry it in another
        # sense (idioms; other offices' names in watch_exclude)
        self._idioms_of = _carriers({normalize(h.term) for h in self.sensitive_terms},
                                    self.idioms)
        self._others_of = _carriers({normalize(w) for w in self.watch}, self.watch_exclude)
        for phrase in self.idioms + self.watch_exclude:
            role(phrase)
        self._roles = roles
        # Normalised once here, not once per text: match() only looks terms up.
        self._topic_forms = tuple(_TopicForms.of(topic) for topic in self.topics)
        self._watch_of = _positions((normalize(w), w) for w in self.watch)
        # A form listed under both levels only reports the entries of its graver level.
        self._sensitive_of = _positions(
            (form, hit) for hit in self.sensitive_terms
            if roles[form := normalize(hit.term)].sensitive == hit.level)

        self._automaton: Any = ahocorasick.Automaton()
        for term in roles:
            self._automaton.add_word(term, term)
        if roles:
            self._automaton.make_automaton()

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, topics: Mapping[str, Any], sensitive: Mapping[str, Any]) -> Taxonomy:
        """Validate the parsed YAML of topics.yaml and sensitive.yaml and build the taxonomy.

        Raises ConfigError naming the place (topic id, rule number, key) and what is wrong.
        """
        parsed, watch, others = _parse_topics_file(topics)
        lists = _parse_sensitive_file(sensitive)
        return cls(parsed, watch, lists.severe, lists.elevated,
                   markers=lists.markers, idioms=lists.idioms, watch_exclude=others)

    @classmethod
    def from_files(cls, topics_path: Path, sensitive_path: Path) -> Taxonomy:
        """Read and validate both files; a ConfigError names the file and the place in it."""
        topics_raw, sensitive_raw = read_yaml(topics_path), read_yaml(sensitive_path)
        try:
            parsed, watch, others = _parse_topics_file(topics_raw)
        except ConfigError as exc:
            raise ConfigError(f"{topics_path}: {exc}") from None
        try:
            lists = _parse_sensitive_file(sensitive_raw)
        except ConfigError as exc:
            raise ConfigError(f"{sensitive_path}: {exc}") from None
        return cls(parsed, watch, lists.severe, lists.elevated,
                   markers=lists.markers, idioms=lists.idioms, watch_exclude=others)

    # -- matching -------------------------------------------------------------------------

    def found_terms(self, text: str) -> set[str]:
        """Every configured term (normalised) that occurs in `text`, overlaps included."""
        if not text or not self._roles:
            return set()
        return {term for _end, term in self._automaton.iter(normalize(text))}

    def match(self, text: str) -> TopicMatch:
        found = self.found_terms(text)
        candidates: set[int] = set()
        for term in found:
            candidates |= self._roles[term].topics

        matched: list[str] = []
        reasons: list[str] = []
        for index in sorted(candidates):
            why = self._topic_forms[index].reasons(found)
            if why:
                matched.append(self.topics[index].id)
                reasons += why

        # Walk the found terms, not the lists; the positions put the hits back in list order.
        watch_hits = tuple(w for _position, w in sorted(
            (entry for form in found if form in self._watch_of
             and not _only_inside(form, self._others_of, text, found)
             for entry in self._watch_of[form]), key=_first))
        sensitive = tuple(hit for _position, hit in sorted(
            (entry for form in found if form in self._sensitive_of
             and not _only_inside(form, self._idioms_of, text, found)
             for entry in self._sensitive_of[form]), key=_first))
        # Markers come from the found terms, not from a walk over every marker: the cost
        # follows what the text holds, not the size of the lists.
        markers = [hit for _rank, hit in sorted(
            (entry for term in found for entry in self._roles[term].markers), key=_first)]
        return TopicMatch(
            topics=tuple(matched),
            watch_hits=watch_hits,
            sensitive=sensitive,
            keywords=tuple(dict.fromkeys(reasons + list(watch_hits))),
            markers=tuple(markers),
        )

    def topic_name(self, topic_id: str) -> str:
        """Display name of a topic. An id no longer in the config (items stored before a topic
        was removed) comes back unchanged, so old alerts still render."""
        return self._names.get(topic_id, topic_id)


def _carriers(forms: set[str], phrases: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """For each term (normalised), the phrases that contain it."""
    out: dict[str, tuple[str, ...]] = {}
    normal = [normalize(p) for p in phrases]
    for form in forms:
        holding = tuple(dict.fromkeys(p for p in normal if form in p and p != form))
        if holding:
            out[form] = holding
    return out


def _only_inside(term: str, carriers_of: dict[str, tuple[str, ...]], text: str,
                 found: set[str]) -> bool:
    """Whether every occurrence of `term` lies inside a phrase that carries it in another
    sense (跳楼 in 跳楼价, 省司法厅 in 江苏省司法厅). Counted, not located: the term occurs no
    more often than the phrases holding it do. The text is only re-read when it has such a
    phrase, which is rare."""
    carriers = [form for form in carriers_of.get(term, ()) if form in found]
    if not carriers:
        return False
    body = normalize(text)
    inside = sum(body.count(form) * form.count(term) for form in carriers)
    return body.count(term) <= inside


@dataclass(frozen=True)
class _RuleForms:
    """One rule with its terms normalised (each `any` term kept beside its form: a reason
    names the term as configured)."""

    rule: Rule
    all: tuple[str, ...]
    any: tuple[tuple[str, str], ...]
    none: tuple[str, ...]

    @classmethod
    def of(cls, rule: Rule) -> _RuleForms:
        return cls(rule, tuple(normalize(t) for t in rule.all),
                   tuple((t, normalize(t)) for t in rule.any),
                   tuple(normalize(t) for t in rule.none))

    def reasons(self, found: set[str]) -> list[str] | None:
        """The terms that make the rule hold, or None when it does not."""
        if not all(form in found for form in self.all):
            return None
        named = [t for t, form in self.any if form in found]
        if self.any and not named:
            return None
        if any(form in found for form in self.none):
            return None
        return list(self.rule.all) + named


@dataclass(frozen=True)
class _TopicForms:
    """One topic's keywords, rules and excludes, normalised once per taxonomy."""

    keywords: tuple[tuple[str, str], ...]
    rules: tuple[_RuleForms, ...]
    exclude: tuple[str, ...]

    @classmethod
    def of(cls, topic: Topic) -> _TopicForms:
        return cls(tuple((k, normalize(k)) for k in topic.keywords),
                   tuple(_RuleForms.of(r) for r in topic.rules),
                   tuple(normalize(t) for t in topic.exclude))

    def reasons(self, found: set[str]) -> list[str]:
        """The terms that make the topic match (empty: it does not)."""
        if any(form in found for form in self.exclude):
            return []
        why = [k for k, form in self.keywords if form in found]
        for rule in self.rules:
            named = rule.reasons(found)
            if named is not None:
                why += named
        return why


def _positions(pairs: Iterable[tuple[str, _T]]) -> dict[str, list[tuple[int, _T]]]:
    """form -> the (list position, entry) pairs that have it: a list walked through the
    found terms can be put back in list order."""
    out: dict[str, list[tuple[int, _T]]] = {}
    for position, (form, entry) in enumerate(pairs):
        out.setdefault(form, []).append((position, entry))
    return out


def _first(entry: tuple[int, object]) -> int:
    return entry[0]


# -- validation helpers ---------------------------------------------------------------------


def _parse_topics_file(raw: Any) -> tuple[list[Topic], tuple[str, ...], tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError("expected a mapping with 'watch' and 'topics'")
    _no_unknown_keys(raw, _TOPICS_FILE_KEYS, "top level")
    watch = _terms(raw.get("watch", []), "watch")
    others = _terms(raw.get("watch_exclude", []), "watch_exclude")
    raw_topics = raw.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise ConfigError("'topics' must be a non-empty list")
    parsed = [_parse_topic(item, i) for i, item in enumerate(raw_topics)]
    seen: set[str] = set()
    for topic in parsed:
        if topic.id in seen:
            raise ConfigError(f"topic {topic.id!r}: duplicate id")
        seen.add(topic.id)
    return parsed, watch, others


@dataclass(frozen=True)
class _SensitiveLists:
    severe: tuple[str, ...]
    elevated: tuple[str, ...]
    markers: dict[str, tuple[str, ...]]
    idioms: tuple[str, ...]


def _parse_sensitive_file(raw: Any) -> _SensitiveLists:
    if not isinstance(raw, Mapping):
        raise ConfigError("expected a mapping with 'severe' and 'elevated'")
    _no_unknown_keys(raw, frozenset(_LEVELS) | frozenset(GENRES) | {"idioms"}, "top level")
    return _SensitiveLists(
        severe=_terms(raw.get("severe", []), "severe"),
        elevated=_terms(raw.get("elevated", []), "elevated"),
        markers={g: _terms(raw.get(g, []), g) for g in GENRES if g in raw},
        idioms=_terms(raw.get("idioms", []), "idioms"),
    )


def _no_unknown_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _terms(raw: Any, where: str) -> tuple[str, ...]:
    """A list of non-empty strings. Numbers are accepted as their text (YAML reads 12348 as
    an int), anything else is an error."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: expected a list of terms, got {type(raw).__name__}")
    terms: list[str] = []
    for i, term in enumerate(raw):
        if isinstance(term, bool) or not isinstance(term, str | int):
            raise ConfigError(f"{where}[{i}]: expected a term, got {term!r}")
        text = str(term).strip()
        if not text:
            raise ConfigError(f"{where}[{i}]: empty term")
        terms.append(text)
    return tuple(terms)


def _parse_topic(raw: Any, position: int) -> Topic:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"topics[{position}]: expected a mapping, got {raw!r}")
    topic_id = raw.get("id")
    if not isinstance(topic_id, str) or not topic_id.strip():
        raise ConfigError(f"topics[{position}]: missing 'id'")
    if not topic_id.isascii() or not topic_id.replace("_", "").isalnum():
        raise ConfigError(f"topic {topic_id!r}: id must be ascii letters, digits and _")
    where = f"topic {topic_id!r}"
    _no_unknown_keys(raw, _TOPIC_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: missing 'name'")
    keywords = _terms(raw.get("keywords"), f"{where}: keywords")
    exclude = _terms(raw.get("exclude"), f"{where}: exclude")
    raw_rules = raw.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{where}: 'rules' must be a list")
    rules = tuple(_parse_rule(r, f"{where}: rules[{i}]") for i, r in enumerate(raw_rules))
    if not keywords and not rules:
        raise ConfigError(f"{where}: has neither keywords nor rules, it could never match")
    return Topic(topic_id, name.strip(), keywords, rules, exclude)


def _parse_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with all/any/none")
    _no_unknown_keys(raw, _RULE_KEYS, where)
    rule = Rule(
        all=_terms(raw.get("all"), f"{where}.all"),
        any=_terms(raw.get("any"), f"{where}.any"),
        none=_terms(raw.get("none"), f"{where}.none"),
    )
    if not rule.all and not rule.any:
        # A rule of only `none` terms would match nearly every text in the stream.
        raise ConfigError(f"{where}: needs 'all' or 'any' terms")
    return rule
