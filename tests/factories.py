"""Small factories that write real library and prospect files for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
