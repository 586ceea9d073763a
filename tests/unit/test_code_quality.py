"""The style and typing rules of DESIGN.md, kept by the test suite so CI catches a slip:
ruff over the tree, mypy --strict over the domain core (monitor/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_is_clean():
    r = subprocess.run([_tool("ruff"), "check", "monitor", "responders", "tasks", "tests",
                        "bench", "scripts"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


@pytest.mark.timeout(600)
def test_monitor_is_strictly_typed():
    r = subprocess.run([_tool("mypy"), "monitor"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
