"""The desk's start-up step (responders.web.warmup): before the first request every template is
compiled and the start-up heap is out of the garbage collector's full passes (issue 15: those
passes, over ~180,000 start-up objects, were the slow requests of the queue page and the
API)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from monitor.settings import Settings
from responders.web import create_app
from responders.web.warmup import freeze_heap

TEMPLATES = Path(__file__).resolve().parents[2] / "responders" / "web" / "templates"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the next tests' objects back under the collector


def test_startup_compiles_every_template_and_freezes_until_shutdown(settings: Settings,
                                                     unfrozen: None) -> None:
    gc.unfreeze()
    app = create_app(settings, lambda _name, _args: None)
    env = app.state.desk.templates.env
    assert len(env.cache) == 0 and gc.get_freeze_count() == 0
    with TestClient(app) as client:
        names = {key[1] for key in env.cache.keys()}
        assert names == {p.name for p in TEMPLATES.iterdir() if p.suffix in (".html", ".txt")}
        assert gc.get_freeze_count() > 10_000   # FastAPI, SQLAlchemy, the app's routes
        assert client.get("/login").status_code == 200
    assert gc.get_freeze_count() == 0   # the shutdown step thawed it


def test_frozen_objects_are_left_out_of_collections(unfrozen: None) -> None:
    before = [["a list in a list"]]
    assert any(o is before for o in gc.get_objects())
    assert freeze_heap() > 0
    assert not any(o is before for o in gc.get_objects())   # no pass walks it again
    after = [["made after the freeze"]]
    assert any(o is after for o in gc.get_objects())
