"""The whole flow on a customer's own deck: import it, approve the drafts, select, assemble."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from docx import Document
from pptx import Presentation

from engine import Embedder, Selector, index_library, load_library, parse_prospect
from engine.assemble import Rep, assemble, render_html
from engine.assemble.docx import render_proposal
from engine.assemble.pptx import render_deck
from engine.importer import import_file, write_drafts
from tests.factories import write_library

pytestmark = pytest.mark.slow
AS_OF = dt.date(2026, 11, 24)
SLIDES = {
    "Diesel costs under control": ["Idle alerts cut fuel burn", "Routes avoid congestion"],
    "Safer drivers every week": ["Coaching after harsh braking", "Fewer accident claims"],
}


def customer_deck(path: Path) -> Path:
    deck = Presentation()
    for title, bullets in SLIDES.items():
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        body.add_paragraph().text = bullets[1]
    deck.save(str(path))
    return path


def approve_all(root: Path) -> None:
    for path in (root / "blocks").glob("*.md"):
        path.write_text(path.read_text().replace("status: draft", "status: approved", 1))


def test_an_imported_deck_becomes_approved_blocks_that_are_selected_and_assembled(
    tmp_path: Path, embedder: Embedder
) -> None:
    root = write_library(tmp_path / "lib", [])
    drafts = import_file(customer_deck(tmp_path / "old.pptx"), load_library(root), "value")
    write_drafts(drafts, root)
    approve_all(root)
    library = load_library(root)
    assert {b.title for b in library.blocks} == set(SLIDES)

    indexed = index_library(library, embedder, tmp_path / "data")
    prospect = parse_prospect(
        {"id": "p-haul", "company": "Haul & Co", "needs": "Our diesel bill keeps growing."}
    )
    selection = Selector(indexed, embedder).select(prospect, AS_OF)
    assert [s.slot for s in selection.sections] == ["value", "value"]
    assert selection.gaps == ("opening", "proof")

    document = assemble(library, selection, prospect, AS_OF, Rep("Sam Rivera"))
    deck_text = " ".join(
        shape.text_frame.text
        for slide in Presentation(io.BytesIO(render_deck(document))).slides
        for shape in slide.shapes
        if shape.has_text_frame
    )
    proposal_text = " ".join(
        p.text for p in Document(io.BytesIO(render_proposal(document))).paragraphs
    )
    html = render_html(document)
    for title, bullets in SLIDES.items():
        for text in (title, *bullets):
            assert text in deck_text
            assert text in proposal_text
            assert text in html
    assert "Haul &amp; Co" in html
