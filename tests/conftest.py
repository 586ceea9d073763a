"""Shared fixtures: a database per test (SQLite file, or a fresh PostgreSQL database when
YUQING_TEST_DATABASE_URL is set) and settings pointing at it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import make_engine, make_sessionmaker
from monitor.settings import Settings, load_settings
from responders.schema import migrate
from tests.support.fake_web import fake_web  # noqa: F401  (fixture for every test)

PG_URL = os.environ.get("YUQING_TEST_DATABASE_URL", "")
BROKER_URL = os.environ.get("YUQING_TEST_BROKER_URL", "")


def _pg_admin_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


@pytest.fixture
def empty_databases(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty (unmigrated) databases: SQLite files, or new PostgreSQL
    databases when YUQING_TEST_DATABASE_URL is set, dropped after the test."""
    made: list[str] = []
    count = iter(range(1000))
    admin_url = _pg_admin_url(PG_URL) if PG_URL else ""

    def make() -> str:
        if not PG_URL:
            return f"sqlite:///{tmp_path / f'yuqing-{next(count)}.db'}"
        name = f"yq_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        made.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    if made:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(empty_databases: Callable[[], str]) -> str:
    """A fresh, empty, migrated database for one test."""
    url = empty_databases()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(db_url: str, home: Path) -> Settings:
    return load_settings(env={"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()
