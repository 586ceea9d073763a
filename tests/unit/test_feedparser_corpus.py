"""yuqing's feed parser on feedparser's own test corpus (github.com/kurtmckee/feedparser,
its tests/ directory), fetched by whoever runs this and never committed here. Skipped unless
YUQING_FEEDPARSER_CORPUS names that directory."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CORPUS = os.environ.get("YUQING_FEEDPARSER_CORPUS", "")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "feedparser_corpus.py"

pytestmark = pytest.mark.skipif(not CORPUS or not Path(CORPUS).is_dir(),
                                reason="set YUQING_FEEDPARSER_CORPUS to feedparser's tests/")


def test_refuses_only_on_purpose_and_keeps_every_entry_feedparser_finds() -> None:
    spec = importlib.util.spec_from_file_location("feedparser_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.run(Path(CORPUS))
    assert figures["feeds"] > 2000  # the whole corpus, not a stray subdirectory
    assert figures["unexpected"] == []
    assert figures["feeds_with_fewer_entries"] == []
    assert figures["entries_kept"] == figures["entries_feedparser_finds"] > 500
