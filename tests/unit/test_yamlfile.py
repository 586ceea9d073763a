"""parse_yaml: the shipped YAML reads the same through libyaml as through PyYAML's safe
loader, and it stays a safe loader (no Python objects from a document)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.yamlfile import parse_yaml

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize("path", sorted(CONFIG.rglob("*.yaml")), ids=lambda p: p.name)
def test_shipped_yaml_reads_as_safe_load_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_yaml(text) == yaml.safe_load(text)


def test_python_tags_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        parse_yaml("!!python/object/apply:os.system ['true']")


def test_a_refused_document_names_the_place_as_the_pure_loader_does() -> None:
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load("topics: [1")
    with pytest.raises(yaml.YAMLError) as ours:
        parse_yaml("topics: [1")
    assert str(ours.value) == str(pure.value) and "line 1, column 11" in str(ours.value)
