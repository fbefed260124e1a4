"""Building the assembled document from a selection: the one model every renderer reads."""

from __future__ import annotations

import datetime as dt
from importlib.resources import as_file, files
from pathlib import Path

import pytest

import engine.assemble
from engine import (
    Embedder,
    InputError,
    Section,
    Selection,
    Selector,
    index_library,
    load_library,
    load_prospects,
    parse_prospect,
)
from engine.assemble import Rep, assemble, render_html
from engine.markdown import Paragraph, spans_text
from tests.factories import write_library

AS_OF = dt.date(2026, 11, 24)
REP = Rep("Sam Rivera", "sam@vendor.example")


def test_the_public_surface_is_named_in_all_and_importable() -> None:
    names = ["AssembledDocument", "AssembledSection", "FilledBlock", "Placeholders", "Rep"]
    names += ["assemble", "fill", "render_html"]
    for name in names:
        assert name in engine.assemble.__all__
        assert getattr(engine.assemble, name) is not None


def test_sections_follow_the_selection_with_slot_titles_versions_and_reasons(
    tmp_path: Path,
) -> None:
    root = write_library(
        tmp_path / "lib",
        [
            {"id": "o-now", "slot": "opening", "title": "Now, {{ prospect.company }}"},
            {"id": "v-cost", "slot": "value", "body": "Save for {{ contact.name }}."},
            {"id": "v-time", "slot": "value"},
        ],
    )
    (root / "assets").mkdir()
    library = load_library(root)
    selection = Selection(
        "p-acme",
        (
            Section("opening", "o-now", 0.91, "matches industry banking"),
            Section("value", "v-time", 0.8, "general message"),
            Section("value", "v-cost", 0.7, "answers: cost"),
        ),
        (),
        (),
    )
    prospect = parse_prospect({"id": "p-acme", "company": "Acme", "contact": {"name": "Dana"}})

    doc = assemble(library, selection, prospect, AS_OF, REP)

    assert doc.title == "Test pitch for Acme"
    assert (doc.library_name, doc.as_of, doc.rep, doc.prospect) == (
        "Test pitch",
        AS_OF,
        REP,
        prospect,
    )
    assert doc.assets == root / "assets"
    assert [(s.slot, s.slot_title, s.block_id) for s in doc.sections] == [
        ("opening", "Why now", "o-now"),
        ("value", "What changes for you", "v-time"),
        ("value", "What changes for you", "v-cost"),
    ]
    assert [(s.score, s.why) for s in doc.sections] == [
        (0.91, "matches industry banking"),
        (0.8, "general message"),
        (0.7, "answers: cost"),
    ]
    assert [s.block_version for s in doc.sections] == [
        library.block(b).content_hash for b in ("o-now", "v-time", "v-cost")
    ]
    assert doc.sections[0].title == "Now, Acme"
    body = doc.sections[2].nodes[0]
    assert isinstance(body, Paragraph) and spans_text(body.spans) == "Save for Dana."


def test_a_placeholder_without_value_in_any_chosen_block_stops_assembly(tmp_path: Path) -> None:
    root = write_library(
        tmp_path / "lib",
        [
            {"id": "o-now", "slot": "opening", "body": "Hi {{ contact.name }}."},
            {"id": "v-cost", "slot": "value", "title": "From {{ rep.title }}"},
        ],
    )
    library = load_library(root)
    sections = (Section("opening", "o-now", 1.0, ""), Section("value", "v-cost", 1.0, ""))
    prospect = parse_prospect({"id": "p-acme", "company": "Acme"})
    with pytest.raises(InputError) as caught:
        assemble(library, Selection("p-acme", sections, (), ()), prospect, AS_OF, REP)
    assert [(Path(p.file).name, p.field) for p in caught.value.problems] == [
        ("o-now.md", "body"),
        ("v-cost.md", "title"),
    ]


@pytest.mark.slow
def test_the_demo_library_assembles_for_every_demo_prospect_with_nothing_left_unfilled(
    tmp_path: Path, embedder: Embedder
) -> None:
    with as_file(files("fixtures") / "bastion") as folder:
        indexed = index_library(load_library(folder / "library"), embedder, tmp_path / "data")
        prospects = load_prospects(folder / "prospects")
    selector = Selector(indexed, embedder)
    for prospect in prospects:
        selection = selector.select(prospect, AS_OF)
        doc = assemble(indexed.library, selection, prospect, AS_OF, REP)
        assert [s.block_id for s in doc.sections] == [s.block_id for s in selection.sections]
        html = render_html(doc)
        assert "{{" not in html and "{%" not in html
        assert html.count("<section data-block-id=") == len(selection.sections)
        assert prospect.company.replace("&", "&amp;").replace("'", "&#39;") in html
