"""The digest as a person sees it: the seeded week's HTML part (charts inlined) in Debian's
chromium. The images load, nothing overflows the 680 px mail column, and the screenshot goes
to tmp_path — or to docs/digest.png with YUQING_UPDATE_DOCS=1 (the README's picture)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from responders.digest import digest_for, preview_html
from tests.integration.test_digest import W47, seed_week
from tests.support.desk import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_digest_renders_in_chromium(sessions: Any, settings: Any, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    with sessions() as s:
        seed_week(s)
        s.commit()
        page_html = preview_html(digest_for(s, W47, settings))
    path = tmp_path / "digest.html"
    path.write_text(page_html, encoding="utf-8")
    shot = (DOCS / "digest.png" if os.environ.get("YUQING_UPDATE_DOCS") == "1"
            else tmp_path / "digest.png")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 760, "height": 900})
            page.goto(path.as_uri())
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert widths == [1200, 1200]   # both charts decoded (drawn at 2×)
            shown = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.getBoundingClientRect().width)")
            assert all(0 < w <= 680 for w in shown)
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 760
            assert "舆情周报 2026年第47周" in page.inner_text("body")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
