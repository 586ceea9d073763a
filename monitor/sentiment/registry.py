"""Versions of the `weibo` model under `$YUQING_HOME/models/sentiment/`, and which one is active.

    models/sentiment/
        current                         the active version's name, one line (absent: shipped)
        20261203T061500Z-3f9c0a1b2d/     one folder per version, never changed once there:
            weibo_sentiment.npz            the model files `yuqing sentiment train` writes
            weibo_sentiment.json
            card.json                      figures on the held-out splits, file hashes, how
            MODEL_CARD.md                  it was made (monitor.sentiment.card)

A version's name is its registration time (UTC) and the first hex digits of a hash of its
model files, so names sort by age and two different models never share one. The model
shipped in the package is the built-in version "shipped": always there, read-only, active
while no pointer names another.

Why a pointer file and whole folders: a worker reads one tiny file to learn what is active,
and a folder appears complete or not at all (written under a dot-name, then renamed), so
no reader ever sees half a version. The pointer is replaced the same way (temp file +
os.replace), which POSIX makes atomic: a reader sees the old name or the new one.
A folder damaged later (a file truncated, edited or lost) no longer matches the hashes its
card recorded at registration, and is refused with the reason before anything is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, InputError, NotFound
from monitor.sentiment.card import card_markdown, headline
from monitor.sentiment.weibo import MODEL_DIR, MODEL_NAME, WeiboModel

SHIPPED = "shipped"
POINTER = "current"
CARD_JSON = "card.json"
CARD_MD = "MODEL_CARD.md"
MODEL_FILES = (f"{MODEL_NAME}.npz", f"{MODEL_NAME}.json")
HASH_CHARS = 10
_NAME = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{10})$")  # 10: HASH_CHARS
_STAMP = "%Y%m%dT%H%M%SZ"


def registry_root(home: Path) -> Path:
    return home / "models" / "sentiment"


# --- pure ---------------------------------------------------------------------------------


def version_name(created: datetime, digest: str) -> str:
    """Pure: `<UTC time>-<hash prefix>`, e.g. 20261203T061500Z-3f9c0a1b2d."""
    return f"{created.astimezone(UTC).strftime(_STAMP)}-{digest[:HASH_CHARS]}"


def created_of(name: str) -> datetime | None:
    """Pure: the registration time a version's name carries (None for "shipped")."""
    m = _NAME.match(name)
    return datetime.strptime(m.group(1), _STAMP).replace(tzinfo=UTC) if m else None


def check_name(name: str) -> str:
    """Pure: `name` if it can name a version, else InputError. Names are checked before they
    become a path, so `use ../../etc` is refused, not looked up."""
    if name == SHIPPED or _NAME.match(name):
        return name
    raise NotFound(f"{name!r} is not a sentiment model version (expected {SHIPPED!r} or a "
                   "name like 20261203T061500Z-3f9c0a1b2d, as `yuqing sentiment models "
                   "list` shows them)")


def content_digest(file_hashes: dict[str, str]) -> str:
    """Pure: one hash over the model files' own hashes, in name order."""
    h = hashlib.sha256()
    for name in sorted(file_hashes):
        h.update(f"{name}\0{file_hashes[name]}\n".encode())
    return h.hexdigest()


# --- files --------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_hashes(folder: Path) -> dict[str, str]:
    try:
        return {name: _sha256(folder / name) for name in MODEL_FILES}
    except OSError as exc:
        raise ConfigError(f"cannot read the sentiment model in {folder}: {exc}") from exc


@dataclass(frozen=True)
class Version:
    """One version as `models list` shows it. `problem` says why a folder cannot be used
    (it is still listed, so people see it rather than wonder where it went)."""

    name: str
    path: Path
    created: datetime | None
    figures: dict[str, float]
    card: dict[str, Any]
    problem: str | None = None

    @property
    def builtin(self) -> bool:
        return self.name == SHIPPED


def read_pointer(root: Path) -> str | None:
    """The name the pointer holds (None: no pointer, so the shipped model is active)."""
    try:
        text = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {root / POINTER}: {exc}") from exc
    return text or None


def active_name(root: Path) -> str:
    return read_pointer(root) or SHIPPED


def pointer_stamp(root: Path) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of the pointer: one stat() tells a worker whether to look
    again. os.replace gives the pointer a new inode, so a swap is seen even within the
    filesystem's mtime resolution."""
    try:
        st = (root / POINTER).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def write_pointer(root: Path, name: str) -> None:
    """Make `name` active: a temp file in the same folder, synced, then os.replace."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{POINTER}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)


def _shipped() -> Version:
    meta = _read_json(MODEL_DIR / f"{MODEL_NAME}.json")
    return Version(SHIPPED, MODEL_DIR, None, headline(meta.get("metrics", {})),
                   {"version": SHIPPED, "metrics": meta.get("metrics", {}),
                    "seed": meta.get("seed")})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} is missing") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def verify(root: Path, name: str) -> Version:
    """The version `name`, its files checked against the hashes its card recorded.

    NotFound for a version that is not there; ConfigError, with the reason, for a folder
    that is incomplete or changed since it was registered. Does not load the weights (see
    `load_version`)."""
    check_name(name)
    if name == SHIPPED:
        return _shipped()
    folder = root / name
    if not folder.is_dir():
        raise NotFound(f"no sentiment model version {name!r} in {root} (`yuqing sentiment "
                       "models list` shows the versions there)")
    card = _read_json(folder / CARD_JSON)
    recorded = card.get("files")
    if not isinstance(recorded, dict) or set(recorded) != set(MODEL_FILES):
        raise ConfigError(f"sentiment model {name}: {CARD_JSON} does not list its files")
    actual = _file_hashes(folder)
    changed = sorted(f for f in MODEL_FILES if actual[f] != recorded[f])
    if changed:
        raise ConfigError(f"sentiment model {name}: {', '.join(changed)} changed since it was "
                          "registered (truncated or overwritten?); register it again")
    if not name.endswith("-" + content_digest(actual)[:HASH_CHARS]):
        raise ConfigError(f"sentiment model {name}: its files are not the ones its name was "
                          "made from")
    return Version(name, folder, created_of(name), headline(card.get("metrics", {})), card)


def load_version(root: Path, name: str) -> WeiboModel:
    """The model of version `name`, fully loaded (verified first): what a swap installs."""
    version = verify(root, name)
    return WeiboModel.load(version.path)


def list_versions(root: Path) -> list[Version]:
    """"shipped", then the registered versions oldest first. A folder that fails
    verification is listed with its `problem`."""
    out = [_shipped()]
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)):
        try:
            out.append(verify(root, folder.name))
        except ConfigError as exc:
            out.append(Version(folder.name, folder, created_of(folder.name), {}, {},
                               problem=str(exc)))
    return out


def register(root: Path, staged: Path, now: datetime, *,
             provenance: dict[str, Any] | None = None) -> tuple[Version, bool]:
    """Copy the model files in `staged` into a new version folder; (version, created).

    The files must load as a model (refused otherwise, nothing written). Registering the
    same files again returns the version they already are (created False). The folder is
    written under a dot-name and renamed into place, so it appears whole or not at all.
    """
    try:
        WeiboModel.load(staged)
    except ConfigError as exc:
        raise InputError(f"not a sentiment model, not registered: {exc}") from exc
    hashes = _file_hashes(staged)
    digest = content_digest(hashes)
    for existing in sorted(root.glob(f"*-{digest[:HASH_CHARS]}")) if root.is_dir() else []:
        if _NAME.match(existing.name):
            return verify(root, existing.name), False
    name = version_name(now, digest)
    meta = _read_json(staged / f"{MODEL_NAME}.json")
    metrics = meta.get("metrics", {})
    card: dict[str, Any] = {
        "version": name,
        "created_at": now.astimezone(UTC).isoformat(),
        "engine": "weibo",
        "files": hashes,
        "figures": headline(metrics),
        "seed": meta.get("seed"),
        "options": meta.get("options", {}),
        **(provenance or {}),
        "metrics": metrics,
    }
    root.mkdir(parents=True, exist_ok=True)
    incoming = root / f".incoming-{name}-{os.getpid()}"
    try:
        incoming.mkdir()
        for f in MODEL_FILES:
            shutil.copyfile(staged / f, incoming / f)
        (incoming / CARD_JSON).write_text(
            json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (incoming / CARD_MD).write_text(card_markdown(card, _shipped().figures),
                                        encoding="utf-8")
        os.rename(incoming, root / name)
    finally:
        if incoming.exists():
            shutil.rmtree(incoming, ignore_errors=True)
    return verify(root, name), True


def use(root: Path, name: str) -> tuple[str, str]:
    """Make `name` the active version; (before, after). The version is verified and
    loaded in full first, so a pointer never names a model that cannot be used; an unknown
    or damaged one leaves the pointer as it was."""
    check_name(name)
    load_version(root, name)
    before = active_name(root)
    if before != name:
        write_pointer(root, name)
    return before, name
