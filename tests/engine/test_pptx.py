"""The deck, reopened with python-pptx and read as a presenter would see it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.presentation import Presentation as PresentationType
from pptx.slide import Slide

from engine.assemble import fit
from engine.assemble.document import AssembledDocument
from engine.assemble.masters import TemplateError
from engine.assemble.pptx import MIN_PT, render_deck
from engine.errors import PitchmapError
from engine.markdown import ListBlock, ListItem, Paragraph, Span, Table
from tests.engine.document_factory import (
    HOSTILE,
    document,
    expected_texts,
    section,
    with_sections,
)
from tests.engine.office import page_count, to_pdf

LAYOUTS = ["Title", "Section", "Title and Bullets", "Two Columns", "Quote", "Closing"]
SHIPPED = Path(__file__).resolve().parents[2] / "templates" / "brand" / "master.pptx"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
EMU_PER_PT = 12700


@pytest.fixture
def doc(tmp_path: Path) -> AssembledDocument:
    return document(tmp_path / "library")


@pytest.fixture
def deck(doc: AssembledDocument) -> PresentationType:
    return reopen(render_deck(doc))


def reopen(data: bytes) -> PresentationType:
    return Presentation(io.BytesIO(data))


def paragraphs(slide: Slide) -> Iterator[str]:
    """Every paragraph on the slide, text frames and table cells alike, in shape order."""
    for shape in slide.shapes:
        if shape.has_text_frame:
            yield from (p.text.replace("\v", "\n") for p in shape.text_frame.paragraphs)
        if shape.has_table:
            for row in shape.table.rows:
                yield from (cell.text for cell in row.cells)


def notes(slide: Slide) -> str:
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def slides_of(deck: PresentationType, block_id: str) -> list[Slide]:
    return [s for s in deck.slides if f"block: {block_id}\n" in notes(s)]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_section_title_and_body_text_appear_in_order(
    deck: PresentationType, doc: AssembledDocument
) -> None:
    # A paragraph split across slides reads on after the "(cont.)" title of the next one.
    texts = (t for s in deck.slides for t in paragraphs(s) if not t.endswith(" (cont.)"))
    stream = squash(" ".join(texts))
    position = 0
    for sec in doc.sections:
        for text in [sec.title, *expected_texts(sec)]:
            found = stream.find(squash(text), position)
            assert found >= 0, f"{sec.block_id}: {text[:60]!r} missing or out of order"
            position = found + len(squash(text))


def test_hostile_text_comes_out_verbatim_as_text(deck: PresentationType) -> None:
    texts = [t for s in deck.slides for t in paragraphs(s)]
    assert any(HOSTILE in t for t in texts)
    assert "Prepared for Northwind <Freight> {{ x }}" in texts


def test_deck_opens_and_closes_with_slot_dividers_between(deck: PresentationType) -> None:
    layouts = [s.slide_layout.name for s in deck.slides]
    assert set(layouts) <= set(LAYOUTS)
    assert layouts[0] == "Title" and layouts[-1] == "Closing"
    dividers = [s.shapes.title.text for s in deck.slides if s.slide_layout.name == "Section"]
    assert dividers == ["Why now", "What changes for you", "Proof"]
    title_slide = list(paragraphs(deck.slides[0]))
    assert title_slide[0] == "A plan for Northwind <Freight>"
    assert {"Dana Lee, CFO", "24 November 2026"} <= set(title_slide)
    closing = list(paragraphs(deck.slides[-1]))
    assert {"Riley Chen", "riley@pitchmap.example"} <= set(closing)


def test_each_block_gets_the_layout_its_shape_asks_for(deck: PresentationType) -> None:
    def layouts(block_id: str) -> list[str]:
        return [s.slide_layout.name for s in slides_of(deck, block_id)]

    assert layouts("val-bullets") == ["Title and Bullets"]
    assert layouts("proof-quote") == ["Quote"]
    assert layouts("proof-figure") == ["Quote"]
    assert layouts("proof-picture") == ["Two Columns"]
    (table_slide,) = slides_of(deck, "proof-table")
    (table,) = [shape.table for shape in table_slide.shapes if shape.has_table]
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["Metric", "Before", "After"]
    assert cells[1:] == [[f"Metric {i}", f"{10 * i} h", f"{2 * i} h"] for i in range(1, 6)]
    assert "Measured over one quarter:" in list(paragraphs(table_slide))


def test_bullets_keep_their_levels_and_kinds(deck: PresentationType) -> None:
    (slide,) = slides_of(deck, "val-bullets")
    body = slide.placeholders[1].text_frame.paragraphs
    seen = [(p.text, p.level, bullet(p._p)) for p in body]
    assert seen == [
        ("Three changes on day one:", 0, "buNone"),
        ("Fewer manual steps", 0, "buChar"),
        ("Dispatch records reconcile themselves", 1, "buChar"),
        ("Depots see the same numbers", 2, "buChar"),
        ("Faster close", 0, "buChar"),
        ("Audit trail by default", 0, "buChar"),
        ("Connect the depots", 0, "buAutoNum"),
        ("Switch on alerts", 0, "buAutoNum"),
        ("Review in week two", 1, "buAutoNum"),
    ]


def bullet(paragraph: object) -> str:
    props = paragraph.pPr  # type: ignore[attr-defined]
    kinds = [c.tag.removeprefix(A) for c in props if c.tag.removeprefix(A).startswith("bu")]
    return kinds[-1]


def test_runs_keep_bold_italic_and_only_safe_links(deck: PresentationType) -> None:
    (slide,) = slides_of(deck, "open-hostile")
    runs = {r.text.strip(): r for p in slide.placeholders[1].text_frame.paragraphs for r in p.runs}
    assert runs["bold words"].font.bold and not runs["bold words"].font.italic
    assert runs["italic words"].font.italic
    assert runs["our site"].hyperlink.address == "https://example.com/northwind"
    assert runs["bad link"].hyperlink.address is None


def test_speaker_notes_name_block_version_and_why(
    deck: PresentationType, doc: AssembledDocument
) -> None:
    for sec in doc.sections:
        slides = slides_of(deck, sec.block_id)
        assert slides, sec.block_id
        for slide in slides:
            assert f"version: {sec.block_version}" in notes(slide)
            assert f"why: {sec.why}" in notes(slide)
    structural = [s for s in deck.slides if s.slide_layout.name in ("Title", "Section", "Closing")]
    assert all("block:" not in notes(s) for s in structural)


def test_long_block_continues_on_cont_slides(deck: PresentationType) -> None:
    titles = [s.shapes.title.text for s in slides_of(deck, "val-long")]
    assert len(titles) >= 2
    assert titles == ["The long story"] + ["The long story (cont.)"] * (len(titles) - 1)


def test_no_text_frame_overflows_and_text_stays_readable(deck: PresentationType) -> None:
    frames = 0
    for slide in deck.slides:
        for shape in slide.shapes:
            if not shape.has_text_frame or not shape.text_frame.text:
                continue
            frames += 1
            size, needed, room = measure(shape)
            assert needed <= room, f"{shape.name} on {slide.shapes.title.text!r} overflows"
            if not shape.is_placeholder or shape.placeholder_format.idx != 0:
                assert size >= MIN_PT, f"{shape.name} text at {size} pt"
    assert frames > 20


def measure(shape: object) -> tuple[float, float, float]:
    """(font size, height the estimator says the text needs, height the frame has) in pt."""
    frame = shape.text_frame  # type: ignore[attr-defined]
    sizes = {r.font.size.pt for p in frame.paragraphs for r in p.runs}
    assert len(sizes) == 1, "one size per frame"
    width = shape.width - frame.margin_left - frame.margin_right  # type: ignore[attr-defined]
    height = shape.height - frame.margin_top - frame.margin_bottom  # type: ignore[attr-defined]
    texts = [
        (p.text.replace("\v", "\n"), int(p._p.pPr.get("marL", "0")) / EMU_PER_PT)
        for p in frame.paragraphs
    ]
    (size,) = sizes
    needed = fit.text_height_pt(texts, width / EMU_PER_PT, size)
    return size, needed, height / EMU_PER_PT


def test_tables_fit_above_the_bottom_of_the_body_area(deck: PresentationType) -> None:
    layout = deck.slide_layouts.get_by_name("Title and Bullets")
    body = layout.placeholders.get(idx=1)
    bottom = body.top + body.height
    for slide in deck.slides:
        for shape in (s for s in slide.shapes if s.has_table):
            rows = [[c.text for c in row.cells] for row in shape.table.rows]
            widths = [c.width / EMU_PER_PT for c in shape.table.columns]
            size = shape.table.cell(0, 0).text_frame.paragraphs[0].runs[0].font.size.pt
            needed = fit.table_height_pt(rows, widths, size) * EMU_PER_PT
            assert shape.top + needed <= bottom
            assert size >= MIN_PT


def test_a_table_too_long_for_one_slide_repeats_its_header(doc: AssembledDocument) -> None:
    header = ((Span("Step"),), (Span("Owner"),))
    rows = tuple(((Span(f"Step {i} of the rollout plan"),), (Span("Ops"),)) for i in range(40))
    long_table = section("proof", "proof-long-table", "Rollout", (Table(header, rows),))
    deck = reopen(render_deck(with_sections(doc, long_table)))
    tables = [s.table for slide in deck.slides for s in slide.shapes if s.has_table]
    assert len(tables) >= 2
    assert all(t.cell(0, 0).text == "Step" for t in tables)
    body_rows = [t.cell(r, 0).text for t in tables for r in range(1, len(t.rows))]
    assert body_rows == [f"Step {i} of the rollout plan" for i in range(40)]


def test_only_pictures_inside_the_assets_folder_are_embedded(
    deck: PresentationType, doc: AssembledDocument, tmp_path: Path
) -> None:
    pictures = [s for slide in deck.slides for s in slide.shapes if s.shape_type == 13]
    assert len(pictures) == 1
    assert doc.assets is not None
    assert pictures[0].image.blob == (doc.assets / "chart.png").read_bytes()
    secret = (tmp_path / "library" / "secret.png").read_bytes()
    blobs = [part.blob for part in deck.part.package.iter_parts()]
    assert secret not in blobs


def test_a_picture_fits_inside_its_column(deck: PresentationType) -> None:
    (slide,) = slides_of(deck, "proof-picture")
    (picture,) = [s for s in slide.shapes if s.shape_type == 13]
    right = slide.slide_layout.placeholders.get(idx=2)
    assert right.left <= picture.left and picture.left + picture.width <= right.left + right.width
    assert right.top <= picture.top and picture.top + picture.height <= right.top + right.height
    assert picture.width / picture.height == pytest.approx(2.0, rel=0.01)


def test_an_empty_block_still_gets_its_titled_slide(doc: AssembledDocument) -> None:
    empty = section("opening", "open-empty", "Nothing to add", ())
    deck = reopen(render_deck(with_sections(doc, empty)))
    (slide,) = slides_of(deck, "open-empty")
    assert slide.shapes.title.text == "Nothing to add"
    assert [s for s in slide.placeholders if s.placeholder_format.idx != 0] == []


def test_deep_nesting_is_capped_at_the_deepest_level_a_slide_shows(
    doc: AssembledDocument,
) -> None:
    items = tuple(ListItem((Span(f"Level {n}"),), n) for n in range(8))
    deep = section("value", "val-deep", "Deep", (ListBlock(False, items),))
    deck = reopen(render_deck(with_sections(doc, deep)))
    (slide,) = slides_of(deck, "val-deep")
    levels = [p.level for p in slide.placeholders[1].text_frame.paragraphs]
    assert levels == [0, 1, 2, 3, 4, 4, 4, 4]


def test_a_paragraph_longer_than_a_slide_is_split_between_lines(doc: AssembledDocument) -> None:
    words = " ".join(f"word{n}" for n in range(900))
    huge = section("value", "val-huge", "Huge", (Paragraph((Span(words),)),))
    deck = reopen(render_deck(with_sections(doc, huge)))
    slides = slides_of(deck, "val-huge")
    assert len(slides) >= 2
    body = " ".join(p for s in slides for p in list(paragraphs(s))[1:])
    assert squash(body) == words


def test_missing_layout_is_an_error_naming_the_master_and_the_layout(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    master = Presentation(str(SHIPPED))
    master.slide_layouts.get_by_name("Quote").name = "Big Quote"
    path = tmp_path / "customer.pptx"
    master.save(str(path))
    with pytest.raises(TemplateError) as raised:
        render_deck(doc, master=path)
    assert isinstance(raised.value, PitchmapError)
    assert str(path) in str(raised.value) and "'Quote'" in str(raised.value)


def test_a_layout_without_the_placeholders_it_needs_is_an_error(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    master = Presentation(str(SHIPPED))
    right_column = master.slide_layouts.get_by_name("Two Columns").placeholders.get(idx=2)
    right_column.element.getparent().remove(right_column.element)
    path = tmp_path / "one-column.pptx"
    master.save(str(path))
    with pytest.raises(TemplateError, match="'Two Columns' needs a title and 2 text"):
        render_deck(doc, master=path)


def test_a_file_that_is_not_a_deck_is_an_error(doc: AssembledDocument, tmp_path: Path) -> None:
    path = tmp_path / "master.pptx"
    path.write_text("not a deck")
    with pytest.raises(TemplateError, match=r"master\.pptx"):
        render_deck(doc, master=path)


def test_a_customer_master_with_example_slides_yields_only_our_slides(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    master = Presentation(str(SHIPPED))
    master.slides.add_slide(master.slide_layouts.get_by_name("Title")).shapes.title.text = "X"
    path = tmp_path / "with-example.pptx"
    master.save(str(path))
    ours = reopen(render_deck(doc, master=path))
    assert [s.shapes.title.text for s in ours.slides] == [
        s.shapes.title.text for s in reopen(render_deck(doc)).slides
    ]


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_later_decks_on_a_master_come_out_as_the_first_did(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    """The first deck on a master works out its layouts' slides and notes the slow way;
    later decks on the same master reuse that work and must not differ by a byte."""
    master = Presentation(str(SHIPPED))
    master.core_properties.title = "A master no deck has been built on yet"
    path = tmp_path / "fresh.pptx"
    master.save(str(path))
    first = render_deck(doc, master=path)
    assert parts(render_deck(doc, master=path)) == parts(first)


def test_every_slide_has_a_notes_slide_of_its_own(deck: PresentationType) -> None:
    notes_parts = [slide.notes_slide.part for slide in deck.slides]
    assert len({part.partname for part in notes_parts}) == len(deck.slides)
    for slide, part in zip(deck.slides, notes_parts, strict=True):
        assert part.part_related_by(RT.SLIDE) is slide.part


def test_shipped_master_is_16_by_9_with_every_required_layout() -> None:
    master = Presentation(str(SHIPPED))
    assert master.slide_width * 9 == master.slide_height * 16
    assert [layout.name for layout in master.slide_layouts] == LAYOUTS


@pytest.mark.office
def test_libreoffice_shows_one_page_per_slide(deck: PresentationType, tmp_path: Path) -> None:
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    assert page_count(to_pdf(path, tmp_path)) == len(deck.slides)


def test_a_closing_sentence_after_a_small_table_stays_on_the_table_slide(
    doc: AssembledDocument,
) -> None:
    intro = Paragraph((Span("Here is how the costs compare for a 1,500-employee firm:"),))
    header = ((Span(""),), (Span("In-house"),), (Span("Bastion"),))
    rows = tuple(
        ((Span(f"Line {i}"),), (Span(f"{10 * i} units"),), (Span(f"{2 * i} units"),))
        for i in range(1, 6)
    )
    closing = Paragraph((Span("That means one number in the budget, fixed for the term."),))
    block = section("proof", "proof-cost", "Cost", (intro, Table(header, rows), closing))
    deck = reopen(render_deck(with_sections(doc, block)))
    (slide,) = slides_of(deck, "proof-cost")
    (table,) = [s for s in slide.shapes if s.has_table]
    (below,) = [s for s in slide.shapes if s.has_text_frame and "one number" in s.text_frame.text]
    assert below.top >= table.top + sum(row.height for row in table.table.rows)
    assert squash(below.text_frame.text) == squash(closing.spans[0].text)
    assert list(paragraphs(slide))[-1] == closing.spans[0].text
    layout_body = slide.slide_layout.placeholders.get(idx=1)
    assert layout_body is not None
    assert below.top + below.height <= layout_body.top + layout_body.height
    size, needed, room = measure(below)
    assert needed <= room and size >= MIN_PT
    width = sum(column.width for column in table.table.columns)
    assert width == pytest.approx(layout_body.width, rel=0.01)
