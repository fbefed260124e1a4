"""Small factories that write real library and prospect files for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import LibraryError, ProspectError, load_library, load_prospects

SLOTS = [
    {"id": "opening", "title": "Why now"},
    {"id": "value", "title": "What changes for you", "count": 2},
    {"id": "proof", "title": "Proof"},
]


def write_library(
    root: Path, blocks: list[dict[str, Any]], slots: list[dict[str, Any]] | None = None
) -> Path:
    """A library folder with a message map and one file per block (`body` becomes the body)."""
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    message_map = {"name": "Test pitch", "slots": slots if slots is not None else SLOTS}
    (root / "message_map.yaml").write_text(yaml.safe_dump(message_map, sort_keys=False))
    for block in blocks:
        write_block(root, block)
    return root


def write_block(root: Path, block: dict[str, Any]) -> Path:
    meta = {k: v for k, v in block.items() if k != "body"}
    meta.setdefault("status", "approved")
    meta.setdefault("title", f"Title of {meta['id']}")
    body = block.get("body", f"Body of {meta['id']}.")
    path = root / "blocks" / f"{meta['id']}.md"
    path.write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}\n")
    return path


def write_prospect(folder: Path, **fields: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fields.setdefault("company", "Northwind Bank")
    path = folder / f"{fields['id']}.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def library_problems(root: Path) -> list[tuple[str, str, str]]:
    """The problems loading the library at `root` raises: (file name, field, message) each."""
    with pytest.raises(LibraryError) as caught:
        load_library(root)
    return [(Path(p.file).name, p.field, p.message) for p in caught.value.problems]


def prospect_problems(path: Path) -> list[tuple[str, str, str]]:
    """The problems loading the prospects at `path` raises: (file name, field, message) each."""
    with pytest.raises(ProspectError) as caught:
        load_prospects(path)
    return [(Path(p.file).name, p.field, p.message) for p in caught.value.problems]
