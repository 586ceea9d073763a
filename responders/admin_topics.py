"""The topic taxonomy as admins edit it: $YUQING_HOME/topics.yaml, preferred over the shipped
config/topics.yaml once it exists.

An edit is validated by monitor.topics.Taxonomy.from_mapping before anything is written, and
written atomically (temporary file, then rename), so a bad edit changes nothing and a crash
mid-write never leaves half a file. Workers notice a saved edit by the file's mtime and size,
checked once per analysis batch (`TaxonomyWatch.current`): one stat() call, no reload unless
it changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError, InputError
from monitor.topics import Taxonomy
from monitor.yamlfile import parse_yaml

log = logging.getLogger("yuqing.topics")

EDITED_NAME = "topics.yaml"
MAX_BYTES = 1_000_000


def edited_path(home: Path) -> Path:
    return home / EDITED_NAME


def topics_path(home: Path, config_dir: Path) -> Path:
    """The taxonomy in force: the admins' edited copy when there is one."""
    edited = edited_path(home)
    return edited if edited.is_file() else config_dir / "topics.yaml"


def _load_sensitive(config_dir: Path) -> Any:
    try:
        return parse_yaml((config_dir / "sensitive.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read sensitive.yaml: {exc}") from exc


def parse(text: str, config_dir: Path) -> Taxonomy:
    """The taxonomy an edited topics.yaml would give, or InputError saying what is wrong
    (YAML syntax with its line, or the topic/rule/key Taxonomy.from_mapping names)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError(f"topics.yaml is larger than {MAX_BYTES // 1000} kB")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError("topics.yaml must be a mapping with 'topics' (and 'watch')")
    try:
        return Taxonomy.from_mapping(data, _load_sensitive(config_dir) or {})
    except ConfigError as exc:
        raise InputError(str(exc)) from exc


@dataclass(frozen=True)
class Saved:
    path: Path
    before_sha256: str
    after_sha256: str
    topic_ids: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save(text: str, home: Path, config_dir: Path) -> Saved:
    """Validate, then atomically replace $YUQING_HOME/topics.yaml. Raises InputError (and
    writes nothing) when the text is not a valid taxonomy."""
    new = parse(text, config_dir)
    current = topics_path(home, config_dir)
    before = current.read_text(encoding="utf-8")
    try:
        old_ids = {t.id for t in parse(before, config_dir).topics}
    except InputError:
        old_ids = set()  # the old file was broken by hand; the edit repairs it
    target = edited_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".topics-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    ids = tuple(t.id for t in new.topics)
    return Saved(target, sha256(before), sha256(text), ids,
                 added=tuple(i for i in ids if i not in old_ids),
                 removed=tuple(sorted(old_ids - set(ids))))


def topic_names(home: Path, config_dir: Path) -> dict[str, str]:
    """id → name of the taxonomy in force (for the desk's labels and filters)."""
    path = topics_path(home, config_dir)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return {str(t["id"]): str(t.get("name", t["id"])) for t in data.get("topics", [])
            if isinstance(t, dict) and "id" in t}


@dataclass
class TaxonomyWatch:
    """The taxonomy in force, reloaded when its file changes (path, mtime or size)."""

    home: Path
    config_dir: Path
    _stamp: tuple[str, int, int] | None = field(default=None, repr=False)
    _taxonomy: Taxonomy | None = field(default=None, repr=False)

    def current(self) -> Taxonomy:
        path = topics_path(self.home, self.config_dir)
        try:
            st = path.stat()
        except OSError as exc:
            if self._taxonomy is not None:
                return self._taxonomy
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        stamp = (str(path), st.st_mtime_ns, st.st_size)
        if stamp != self._stamp or self._taxonomy is None:
            try:
                taxonomy = Taxonomy.from_files(path, self.config_dir / "sensitive.yaml")
            except ConfigError as exc:
                if self._taxonomy is None:
                    raise
                # A hand-edited file gone bad: keep matching with the last good taxonomy
                # rather than stopping analysis; say so loudly.
                log.error("keeping the previous taxonomy: %s", exc)
                self._stamp = stamp
                return self._taxonomy
            if self._taxonomy is not None:
                log.info("taxonomy reloaded from %s (%d topics)", path, len(taxonomy.topics))
            self._stamp, self._taxonomy = stamp, taxonomy
        return self._taxonomy
