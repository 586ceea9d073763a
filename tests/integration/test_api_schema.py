"""Schemathesis against the desk's OpenAPI document (issue 14, "Done when"): every operation
of /api/v1, with generated valid and invalid input, as an admin token acting for the admin,
on a real `uvicorn` serving the app on a loopback port over a real, seeded database. No
answer may be a 5xx. Bounded: a fixed number of examples per operation and a time budget,
so it stays in CI.

The run is schemathesis's own command (`st run`), the way an admin would run it; on a
failure its report, with a curl line to reproduce each 5xx, is the assertion message."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.importing import new_token, push_source
from monitor.settings import Settings
from responders.auth import create_token
from responders.models import Output, User
from tests.integration.test_desk_api import NOW, seed
from tests.support.desk import free_port

ST = Path(sys.executable).with_name("st")


@dataclass
class Served:
    url: str
    admin_token: str  # a desk token acting for the admin
    push_token: str  # the push source's token, for POST /api/v1/ingest
    output_id: int  # a draft of wang's on alert 1


@pytest.fixture
def served(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Served]:
    """The app under uvicorn on a free loopback port, over the desk tests' seed."""
    uvicorn = pytest.importorskip("uvicorn")
    from responders.web import create_app

    with sessions() as session:
        seed(session)
        token = create_token(session, "schemathesis", "admin", NOW, user="admin")
        push = new_token(push_source(session, "推送", NOW))
        wang = session.scalar(select(User.id).where(User.name == "wang"))
        draft = Output(alert_id=1, kind="回应", title="t", body="正文", state="draft",
                       author_id=wang, created_at=NOW, updated_at=NOW)
        session.add(draft)
        session.commit()
        output_id = draft.id
    enqueued: list[Any] = []
    app = create_app(settings, lambda name, args: enqueued.append((name, args)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("the desk did not start on loopback") from None
            time.sleep(0.1)
    try:
        yield Served(url, token, push, output_id)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def schemathesis(served: Served, token: str, where: Path, *args: str,
                 config: str = "") -> None:
    """`st run` against the served desk with the not_a_server_error check; fails with its
    report (a curl line per 5xx) when any answer was a 5xx."""
    st = ST if ST.exists() else shutil.which("st")
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    (where / "schemathesis.toml").write_text(config, encoding="utf-8")
    command = [str(st), "--config-file", str(where / "schemathesis.toml"), "run",
               f"{served.url}/api/v1/openapi.json", "--url", served.url,
               "--checks", "not_a_server_error",
               "--header", f"Authorization: Bearer {token}",
               "--max-examples", "15", "--max-time", "80", "--seed", "14",
               "--workers", "1", "--request-timeout", "30",
               "--phases", "examples,coverage,fuzzing",
               "--suppress-health-check", "all", "--no-color", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=where,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(where)})
    report = run.stdout[-12000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert re.search(r"Test cases:\s+\d+ generated, \d+ passed", run.stdout), report


@pytest.mark.timeout(600)
def test_no_operation_answers_5xx_to_any_generated_request(served: Served,
                                                           tmp_path: Path) -> None:
    """Every operation, ids and all generated: beyond 64 bits, negative, text for numbers."""
    schemathesis(served, served.admin_token, tmp_path)


@pytest.mark.timeout(600)
def test_no_5xx_when_the_ids_exist(served: Served, tmp_path: Path) -> None:
    """The same, with the path's ids pinned to rows that exist, so the generated bodies and
    queries reach the handlers' logic instead of a 404. DELETE is left out: removing the
    seeded source would cascade to the alert every other operation works on."""
    config = (f'[parameters]\n"path.alert_id" = 1\n"path.output_id" = {served.output_id}\n')
    schemathesis(served, served.admin_token, tmp_path, "--exclude-method", "DELETE",
                 config=config)


@pytest.mark.timeout(600)
def test_the_push_api_answers_no_5xx(served: Served, tmp_path: Path) -> None:
    """POST /api/v1/ingest with the push source's token: generated batches are stored or
    refused in words."""
    schemathesis(served, served.push_token, tmp_path, "--include-path", "/api/v1/ingest")
