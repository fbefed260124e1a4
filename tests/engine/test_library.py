"""Loading and validating a content library folder (contract §1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import LibraryError, load_library
from engine.markdown import Image, ListBlock, Paragraph, Table
from tests.factories import write_block, write_library


def problems_of(root: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(LibraryError) as caught:
        load_library(root)
    return [(Path(p.file).name, p.field, p.message) for p in caught.value.problems]


def test_a_valid_library_loads_blocks_in_id_order_with_lowercased_tags(tmp_path: Path) -> None:
    write_library(
        tmp_path,
        [
            {"id": "val-b", "slot": "value", "tags": {"Industry": ["Banking", "retail"]}},
            {"id": "val-a", "slot": "value", "expires": "2027-06-30"},
        ],
    )
    library = load_library(tmp_path)
    assert [b.id for b in library.blocks] == ["val-a", "val-b"]
    assert library.block("val-b").tags == {"industry": ("banking", "retail")}
    assert library.block("val-a").expires == dt.date(2027, 6, 30)
    assert [s.id for s in library.slots] == ["opening", "value", "proof"]
    assert library.message_map.slot("value").count == 2


def test_missing_status_means_draft(tmp_path: Path) -> None:
    write_library(tmp_path, [])
    (tmp_path / "blocks" / "x.md").write_text("---\nid: x\nslot: value\ntitle: X\n---\nText.\n")
    assert load_library(tmp_path).block("x").status == "draft"


def test_every_problem_is_reported_at_once_naming_file_and_field(tmp_path: Path) -> None:
    write_library(
        tmp_path,
        [
            {"id": "a", "slot": "nowhere"},
            {"id": "b", "slot": "value", "status": "published"},
            {"id": "c", "slot": "value", "expires": "2027-13-45"},
            {"id": "d", "slot": "value", "tags": ["banking"]},
            {"id": "e", "slot": "value", "tags": {"industry": "banking"}},
        ],
    )
    write_block(tmp_path, {"id": "g", "slot": "value"}).rename(tmp_path / "blocks" / "f.md")
    (tmp_path / "blocks" / "h.md").write_text("id: h\nno front matter here\n")
    (tmp_path / "blocks" / "i.md").write_text("---\nid: i\nslot: [unclosed\n---\nbody\n")
    (tmp_path / "blocks" / "j.md").write_bytes(b"---\nid: j\n\xff\xfe---\n")
    (tmp_path / "blocks" / "k.md").write_text("---\nid: k\nslot: value\n---\nbody\n")
    found = problems_of(tmp_path)
    fields = {(file, field) for file, field, _ in found}
    assert fields == {
        ("a.md", "slot"),
        ("b.md", "status"),
        ("c.md", "expires"),
        ("d.md", "tags"),
        ("e.md", "tags.industry"),
        ("f.md", "id"),
        ("h.md", "front matter"),
        ("i.md", "front matter"),
        ("j.md", "file"),
        ("k.md", "title"),
    }
    assert any("unknown slot 'nowhere'" in message for _, _, message in found)
    assert any("must equal the file name 'f'" in message for _, _, message in found)


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    write_library(tmp_path, [{"id": "a", "slot": "value"}])
    (tmp_path / "blocks" / "b.md").write_text("---\nid: a\nslot: value\ntitle: B\n---\nbody\n")
    found = problems_of(tmp_path)
    assert ("b.md", "id") in {(f, field) for f, field, _ in found}


def test_message_map_problems_name_the_slot_field(tmp_path: Path) -> None:
    write_library(
        tmp_path,
        [],
        slots=[
            {"id": "Bad Id", "title": "x"},
            {"id": "ok", "title": "x", "count": 0},
            {"id": "dup", "title": "x"},
            {"id": "dup", "title": "y"},
            {"id": "no-title"},
        ],
    )
    found = {(f, field) for f, field, _ in problems_of(tmp_path)}
    assert found == {
        ("message_map.yaml", "slots[0].id"),
        ("message_map.yaml", "slots[1].count"),
        ("message_map.yaml", "slots[3].id"),
        ("message_map.yaml", "slots[4].title"),
    }


def test_missing_message_map_and_blocks_folder(tmp_path: Path) -> None:
    tmp_path.joinpath("x").mkdir()
    found = {(f, field) for f, field, _ in problems_of(tmp_path / "x")}
    assert found == {("message_map.yaml", "file"), ("blocks", "blocks")}


def test_not_a_folder(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "missing") == [("missing", "library", "is not a folder")]


def test_body_is_parsed_once_into_structured_nodes(tmp_path: Path) -> None:
    body = (
        "Cut **fuel** spend for {{ prospect.company }}, see [report](https://example.com).\n\n"
        "- first *point*\n- second\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    write_library(tmp_path, [{"id": "v", "slot": "value", "body": body}])
    nodes = load_library(tmp_path).block("v").nodes
    assert [type(n) for n in nodes] == [Paragraph, ListBlock, Table]
    paragraph = nodes[0]
    assert isinstance(paragraph, Paragraph)
    assert [(s.text, s.bold, s.href) for s in paragraph.spans] == [
        ("Cut ", False, None),
        ("fuel", True, None),
        (" spend for {{ prospect.company }}, see ", False, None),
        ("report", False, "https://example.com"),
        (".", False, None),
    ]
    table = nodes[2]
    assert isinstance(table, Table)
    assert [[c[0].text for c in row] for row in (table.header, *table.rows)] == [
        ["a", "b"],
        ["1", "2"],
    ]


def test_passages_are_title_paragraphs_items_and_rows_with_placeholders_named(
    tmp_path: Path,
) -> None:
    body = (
        "Hello {{ contact.name | default('you') }}.\n\n"
        "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    block = {"id": "v", "slot": "value", "title": "Hi {{ prospect.company }}", "body": body}
    write_library(tmp_path, [block])
    loaded = load_library(tmp_path).block("v")
    assert loaded.passages == ("Hi company", "Hello name.", "one", "two", "a | b", "1 | 2")


def test_an_image_alone_in_its_paragraph_becomes_an_image_node(tmp_path: Path) -> None:
    body = "Intro.\n\n![Fleet map](maps/fleet.png)\n\nText with ![inline](x.png) picture.\n"
    write_library(tmp_path, [{"id": "v", "slot": "value", "body": body}])
    nodes = load_library(tmp_path).block("v").nodes
    assert nodes[1] == Image("maps/fleet.png", "Fleet map")
    assert isinstance(nodes[2], Paragraph)
