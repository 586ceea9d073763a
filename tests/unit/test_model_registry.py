"""The model registry (monitor.sentiment.registry) and the worker-side watch that follows
it (monitor.sentiment.active): versions registered whole, an atomic pointer, `use` that
refuses unknown and damaged versions without changing anything, and a scorer swap that
happens only between batches."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ConfigError, InputError, NotFound
from monitor.sentiment import build_scorer, registry
from monitor.sentiment.active import ModelWatch
from monitor.sentiment.card import headline, split_fingerprint
from monitor.sentiment.registry import SHIPPED
from tests.support.model_versions import COMPLAINT, PRAISE, train_toy
from tests.support.settings import defaults

NOW = datetime(2026, 12, 3, 6, 15, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 3, 7, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def toys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two disagreeing tiny models, trained once for the module (a few seconds)."""
    root = tmp_path_factory.mktemp("toys")
    return {kind: train_toy(root, kind) for kind in ("plain", "flipped")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "home" / "models" / "sentiment"


@pytest.fixture
def two(root: Path, toys: dict[str, Path]) -> tuple[str, str]:
    a, _ = registry.register(root, toys["plain"], NOW)
    b, _ = registry.register(root, toys["flipped"], LATER)
    return a.name, b.name


# --- pure ---------------------------------------------------------------------------------


def test_a_version_is_named_by_its_utc_time_and_content() -> None:
    from datetime import timedelta, timezone

    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    name = registry.version_name(shanghai, "3f9c0a1b2d4e" + "0" * 52)
    assert name == "20261203T061500Z-3f9c0a1b2d"
    assert registry.created_of(name) == NOW
    assert registry.created_of(SHIPPED) is None


@pytest.mark.parametrize("name", ["../../etc", "current", "", "20261203T061500Z-XYZ",
                                  "20261203T061500Z-3f9c0a1b2", ".incoming-x"])
def test_a_name_that_is_no_version_is_refused_before_it_becomes_a_path(name: str) -> None:
    with pytest.raises(NotFound, match="not a sentiment model version"):
        registry.check_name(name)


def test_content_digest_ignores_order_and_sees_every_byte() -> None:
    a = registry.content_digest({"x.npz": "11", "x.json": "22"})
    assert a == registry.content_digest({"x.json": "22", "x.npz": "11"})
    assert a != registry.content_digest({"x.npz": "11", "x.json": "23"})


def test_headline_takes_the_figures_present_and_guesses_none() -> None:
    metrics = {"smp_usual_eval": {"binary_macro_f1": 0.84, "three_class_macro_f1": 0.8},
               "auc_smp_usual_eval_test": 0.94, "smp_virus_eval": {"n": 3}}
    assert headline(metrics) == {"general_binary_f1": 0.84, "general_three_class_f1": 0.8,
                                 "general_auc": 0.94}


def test_split_fingerprint_tells_the_same_rows_from_other_rows() -> None:
    rows = [("好", "positive"), ("差", "negative")]
    same = split_fingerprint({"s": list(rows)})
    assert same == split_fingerprint({"s": list(rows)})
    assert same["s"]["rows"] == 2
    assert same != split_fingerprint({"s": [("好", "positive"), ("差", "neutral")]})


# --- registering and listing --------------------------------------------------------------


def test_register_writes_a_whole_version_with_its_card(root: Path, toys) -> None:
    version, created = registry.register(root, toys["plain"], NOW,
                                         provenance={"data": "/d", "held_out": {}})
    assert created and version.name.startswith("20261203T061500Z-")
    files = sorted(p.name for p in version.path.iterdir())
    assert files == ["MODEL_CARD.md", "card.json", "weibo_sentiment.json",
                     "weibo_sentiment.npz"]
    card = json.loads((version.path / "card.json").read_text(encoding="utf-8"))
    meta = json.loads((toys["plain"] / "weibo_sentiment.json").read_text(encoding="utf-8"))
    # The card's figures are train's held-out ones, unchanged.
    assert card["metrics"] == meta["metrics"]
    assert card["figures"]["general_binary_f1"] == meta["metrics"]["smp_usual_eval"][
        "binary_macro_f1"]
    assert card["data"] == "/d" and card["seed"] == 0
    md = (version.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert version.name in md and "| shipped |" in md
    # No trace of the folder it was written under before the rename.
    assert [p.name for p in root.iterdir()] == [version.name]
    # The same files again: the version they already are, nothing new.
    again, created_again = registry.register(root, toys["plain"], LATER)
    assert (again.name, created_again) == (version.name, False)
    assert len(list(root.iterdir())) == 1


def test_register_refuses_what_is_not_a_model_and_writes_nothing(root: Path,
                                                                 tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "weibo_sentiment.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="not registered"):
        registry.register(root, junk, NOW)
    assert not root.exists() or list(root.iterdir()) == []


def test_list_shows_shipped_first_then_versions_by_age(root: Path, two) -> None:
    a, b = two
    versions = registry.list_versions(root)
    assert [v.name for v in versions] == [SHIPPED, a, b]
    shipped = versions[0]
    assert shipped.builtin and shipped.figures["general_binary_f1"] > 0.8
    assert all(v.problem is None for v in versions)
    assert registry.active_name(root) == SHIPPED  # registering does not activate


def test_list_on_an_empty_home_is_the_shipped_model(root: Path) -> None:
    assert [v.name for v in registry.list_versions(root)] == [SHIPPED]
    assert registry.active_name(root) == SHIPPED


# --- the pointer and `use` ----------------------------------------------------------------


def test_use_swaps_and_the_previous_version_stays_selectable(root: Path, two) -> None:
    a, b = two
    assert registry.use(root, a) == (SHIPPED, a)
    assert registry.use(root, b) == (a, b)
    assert registry.use(root, a) == (b, a)  # back to the previous one
    assert registry.use(root, SHIPPED) == (a, SHIPPED)
    assert registry.active_name(root) == SHIPPED
    assert registry.use(root, SHIPPED) == (SHIPPED, SHIPPED)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_the_pointer_is_replaced_never_written_in_place(root: Path, two,
                                                        monkeypatch) -> None:
    """A process that dies after writing the new name but before the rename leaves the old
    pointer whole: readers see the old name, never a partial one."""
    a, b = two
    registry.use(root, a)
    stamp = registry.pointer_stamp(root)

    def crash(_src: object, _dst: object) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        registry.use(root, b)
    assert registry.read_pointer(root) == a
    assert registry.pointer_stamp(root) == stamp
    monkeypatch.undo()
    registry.use(root, b)
    assert registry.pointer_stamp(root) != stamp


def test_use_refuses_an_unknown_version_and_changes_nothing(root: Path, two) -> None:
    a, _b = two
    registry.use(root, a)
    before = (root / "current").read_bytes()
    for name in ("20991231T000000Z-0123456789", "../" + a, "latest"):
        with pytest.raises(NotFound):
            registry.use(root, name)
    assert (root / "current").read_bytes() == before


@pytest.mark.parametrize("damage", ["truncate", "drop_card", "edit_json", "rename"])
def test_a_damaged_version_is_refused_by_use_and_listed_with_the_reason(
        root: Path, two, damage: str) -> None:
    a, b = two
    registry.use(root, a)
    folder = root / b
    if damage == "truncate":  # a copy cut short
        npz = folder / "weibo_sentiment.npz"
        npz.write_bytes(npz.read_bytes()[:100])
        reason = "changed since it was registered"
    elif damage == "drop_card":  # a folder copied in by hand, half of it
        (folder / "card.json").unlink()
        reason = "card.json is missing"
    elif damage == "edit_json":
        js = folder / "weibo_sentiment.json"
        js.write_text(js.read_text(encoding="utf-8").replace('"seed": 0', '"seed": 1'),
                      encoding="utf-8")
        reason = "changed since it was registered"
    else:  # someone else's files under this name
        folder.rename(root / (b[:-10] + "0123456789"))
        b = b[:-10] + "0123456789"
        reason = "not the ones its name was made from"
    with pytest.raises(ConfigError, match=reason):
        registry.use(root, b)
    assert registry.read_pointer(root) == a
    listed = {v.name: v for v in registry.list_versions(root)}
    assert listed[b].problem is not None and reason in listed[b].problem
    assert listed[a].problem is None


def test_a_half_written_folder_is_not_a_version(root: Path, two) -> None:
    """What register leaves while it copies (a dot-name) is neither listed nor usable."""
    a, _b = two
    (root / f".incoming-{a}-99").mkdir()
    assert ".incoming" not in " ".join(v.name for v in registry.list_versions(root))
    with pytest.raises(NotFound):
        registry.use(root, f".incoming-{a}-99")


# --- the worker's watch -------------------------------------------------------------------


def _scores(scorer) -> list[float]:
    return [r.score for r in scorer.score_many([PRAISE, COMPLAINT])]


def test_the_scorer_swaps_at_the_batch_boundary_only(root: Path, two, monkeypatch) -> None:
    a, b = two
    registry.use(root, a)
    loads: list[str] = []
    real = registry.load_version

    def counted(r: Path, name: str):
        loads.append(name)
        return real(r, name)

    monkeypatch.setattr("monitor.sentiment.active.load_version", counted)
    watch = ModelWatch(root, max_chars=500)
    batch_one = watch.current()
    assert batch_one.version == a
    before = _scores(batch_one)
    assert before[0] > 0.5 > before[1]  # plain: praise is positive
    assert watch.current() is batch_one  # pointer unchanged: one stat, no reload
    assert loads == [a]

    registry.use(root, b)  # swapped while batch one is being scored …
    assert _scores(batch_one) == before  # … which goes on with the model it started with
    batch_two = watch.current()  # the next batch gets the new model, whole
    assert batch_two.version == b and batch_two is not batch_one
    after = _scores(batch_two)
    assert after[0] < 0.5 < after[1]  # flipped: praise reads negative
    assert loads == [a, b]

    registry.use(root, a)  # the previous version, selected again
    assert watch.current().version == a
    assert _scores(watch.current()) == before


def test_a_damaged_version_is_refused_and_the_worker_keeps_its_model(
        root: Path, two, caplog) -> None:
    a, b = two
    registry.use(root, a)
    watch = ModelWatch(root, max_chars=500)
    kept = watch.current()
    # Damaged after `use` checked it (or the pointer edited by hand): refused, old kept.
    (root / b / "weibo_sentiment.npz").write_bytes(b"PK\x03\x04 half a file")
    registry.write_pointer(root, b)
    with caplog.at_level(logging.ERROR, logger="monitor.sentiment.active"):
        assert watch.current() is kept
        assert watch.current() is kept  # said once, not at every batch
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"keeping sentiment model {a}" in errors[0]
    assert "changed since it was registered" in errors[0]
    registry.write_pointer(root, "no-such-version")
    assert watch.current() is kept
    # A process starting now has no model to keep: it stops, saying why.
    with pytest.raises(ConfigError, match="cannot load the active sentiment model"):
        ModelWatch(root, max_chars=500).current()


def test_an_empty_registry_scores_with_the_shipped_model(root: Path) -> None:
    scorer = ModelWatch(root, max_chars=500).current()
    assert scorer.version == SHIPPED
    shipped = build_scorer(defaults().sentiment, "weibo")
    assert scorer.score_many([PRAISE]) == shipped.score_many([PRAISE])


def test_build_scorer_with_a_registry_scores_with_the_active_version(root: Path,
                                                                     two) -> None:
    _a, b = two
    registry.use(root, b)
    scorer = build_scorer(defaults().sentiment, "weibo", models=root)
    assert getattr(scorer, "version", None) == b
    assert _scores(scorer)[0] < 0.5
    # Engines without versions are untouched by the registry.
    snow = build_scorer(defaults().sentiment, "snownlp", models=root)
    assert getattr(snow, "version", None) is None
