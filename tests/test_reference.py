"""The construct reference's props and context tables are generated from the parts: the committed page is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from synth_helpers import REPO


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_reference", REPO / "scripts" / "generate_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_props_page_is_what_the_parts_generate() -> None:
    module = generator()
    assert (REPO / "docs" / "reference" / "props.md").read_text() == module.render(), (
        "docs/reference/props.md is stale: run python scripts/generate_reference.py"
    )


def test_every_field_of_every_part_has_a_row() -> None:
    import dataclasses

    from mistral_endpoint.props import PARTS

    page = generator().render()
    for part in PARTS:
        for field in dataclasses.fields(part):
            assert f"| `{field.name}` |" in page, f"{part.__name__}.{field.name}"


def test_every_context_key_has_a_row() -> None:
    from stacks.config import StackConfig

    page = generator().render()
    for key in StackConfig.context_keys():
        assert f"| `{key}` |" in page, key


def test_the_check_mode_fails_on_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = generator()
    stale = tmp_path / "props.md"
    stale.write_text("# Props\n")
    monkeypatch.setattr(module, "PAGE", stale)
    assert module.main(["--check"]) == 1
