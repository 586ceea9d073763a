"""A real desk: `yuqing web` as a uvicorn process on a free port, over a seeded database,
and Debian's chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.desk import CHROMIUM, CHROMIUM_ARGS, served_desk


@pytest.fixture
def desk_url(db_url: str, home: Path, sessions: sessionmaker[Session]) -> Iterator[str]:
    from tests.integration.test_desk_api import seed

    with sessions() as session:
        seed(session, datetime.now(UTC) - timedelta(hours=1))
        session.commit()
    with served_desk(db_url, home) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                    "(apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
