"""The proposal, reopened with python-docx and read as a prospect would see it in Word."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentType
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph

from engine.assemble.document import AssembledDocument
from engine.assemble.docx import render_proposal
from engine.assemble.masters import TemplateError
from engine.errors import PitchmapError
from engine.markdown import ListBlock, ListItem, Span
from tests.engine.document_factory import (
    HOSTILE,
    document,
    expected_texts,
    section,
    with_sections,
)
from tests.engine.office import page_count, to_pdf

STYLES = [
    "Cover Title",
    "Cover Subtitle",
    "Heading 1",
    "Heading 2",
    "Body Text",
    "List Bullet",
    "List Number",
    "Quote",
    "Proposal Table",
]
SHIPPED = Path(__file__).resolve().parents[2] / "templates" / "brand" / "proposal.docx"


@pytest.fixture
def doc(tmp_path: Path) -> AssembledDocument:
    return document(tmp_path / "library")


@pytest.fixture
def proposal(doc: AssembledDocument) -> DocumentType:
    return reopen(render_proposal(doc))


def reopen(data: bytes) -> DocumentType:
    return Document(io.BytesIO(data))


def body_texts(proposal: DocumentType) -> list[tuple[str, str]]:
    """(style, text) of every paragraph and table cell in reading order."""
    texts: list[tuple[str, str]] = []
    for item in proposal.iter_inner_content():
        if isinstance(item, DocxParagraph):
            texts.append((item.style.name if item.style else "", item.text))
        elif isinstance(item, DocxTable):
            texts.extend(("cell", c.text) for row in item.rows for c in row.cells)
    return texts


def paragraphs_with(proposal: DocumentType, style: str) -> list[DocxParagraph]:
    return [p for p in proposal.paragraphs if p.style is not None and p.style.name == style]


def test_slots_and_blocks_are_headings_with_their_text_in_order(
    proposal: DocumentType, doc: AssembledDocument
) -> None:
    texts = body_texts(proposal)
    position = texts.index(("Heading 1", "Why now"))
    slot = None
    for sec in doc.sections:
        wanted = [("Heading 2", sec.title)] + [(None, t) for t in expected_texts(sec)]
        if sec.slot != slot:
            wanted.insert(0, ("Heading 1", sec.slot_title))
            slot = sec.slot
        for style, text in wanted:
            found = next((i for i in range(position, len(texts)) if text in texts[i][1]), None)
            assert found is not None, f"{sec.block_id}: {text[:60]!r} missing or out of order"
            assert style is None or texts[found][0] == style
            position = found + 1


def test_cover_names_title_company_contact_rep_and_date(proposal: DocumentType) -> None:
    texts = [p.text for p in proposal.paragraphs[:8]]
    assert paragraphs_with(proposal, "Cover Title")[0].text == "A plan for Northwind <Freight>"
    assert paragraphs_with(proposal, "Cover Subtitle")[0].text == (
        "Prepared for Northwind <Freight> {{ x }}"
    )
    assert "Dana Lee, CFO" in texts
    assert "Riley Chen, Account Executive, riley@pitchmap.example" in texts
    assert "24 November 2026" in texts


def test_hostile_text_comes_out_verbatim_as_text(proposal: DocumentType) -> None:
    assert any(HOSTILE in p.text for p in proposal.paragraphs)
    assert any(p.text == f"Why now {HOSTILE}" for p in paragraphs_with(proposal, "Heading 2"))


def test_bullets_and_numbers_are_real_word_lists_with_levels(proposal: DocumentType) -> None:
    items = [
        (p.style.name, p.text, numbering(p))
        for p in proposal.paragraphs
        if p.style is not None and p.style.name.startswith("List")
    ]
    bullets = [(text, level) for style, text, (level, _) in items if style == "List Bullet"]
    assert bullets == [
        ("Fewer manual steps", 0),
        ("Dispatch records reconcile themselves", 1),
        ("Depots see the same numbers", 2),
        ("Faster close", 0),
        ("Audit trail by default", 0),
    ]
    numbers = [(text, level) for style, text, (level, _) in items if style == "List Number"]
    assert numbers == [
        ("Connect the depots", 0),
        ("Switch on alerts", 0),
        ("Review in week two", 1),
    ]
    assert len({num for style, _, (_, num) in items if style == "List Bullet"}) == 1


def numbering(paragraph: DocxParagraph) -> tuple[int, int]:
    """(level, list id) from the paragraph's own w:numPr: fails if it is not a real list."""
    num_pr = paragraph._p.pPr.numPr
    assert num_pr is not None, f"{paragraph.text!r} has no w:numPr"
    return num_pr.ilvl.val, num_pr.numId.val


def test_each_ordered_list_counts_from_one(doc: AssembledDocument) -> None:
    steps = ListBlock(True, (ListItem((Span("First"),)), ListItem((Span("Second"),))))
    twice = section("value", "val-twice", "Two lists", (steps, steps))
    proposal = reopen(render_proposal(with_sections(doc, twice)))
    ids = [numbering(p)[1] for p in paragraphs_with(proposal, "List Number")]
    assert ids[0] == ids[1] != ids[2] == ids[3]
    numbering_xml = proposal.part.numbering_part.element
    for num_id in {ids[0], ids[2]}:
        starts = numbering_xml.xpath(
            f"./w:num[@w:numId='{num_id}']/w:lvlOverride[@w:ilvl='0']/w:startOverride/@w:val"
        )
        assert starts == ["1"]


def test_contents_is_a_word_toc_field_listing_every_heading(
    proposal: DocumentType, doc: AssembledDocument
) -> None:
    body = proposal.element.body
    codes = [t.text for t in body.iter(qn("w:instrText"))]
    assert any(code.strip().startswith('TOC \\o "1-2"') for code in codes)
    entries = [p.text for p in proposal.paragraphs if p.style and p.style.name.startswith("toc")]
    headings = [
        p.text
        for p in proposal.paragraphs
        if p.style and p.style.name in ("Heading 1", "Heading 2")
    ]
    assert entries == headings
    assert len(headings) == len(doc.sections) + 3
    assert proposal.settings.element.find(qn("w:updateFields")) is not None


def test_header_names_the_company_and_footer_numbers_pages(proposal: DocumentType) -> None:
    section = proposal.sections[0]
    assert section.header.paragraphs[0].text == "Northwind <Freight> {{ x }}"
    codes = [t.text.strip() for t in section.footer._element.iter(qn("w:instrText"))]
    assert "PAGE" in codes


def test_table_uses_the_template_table_style_with_a_repeating_header(
    proposal: DocumentType,
) -> None:
    (table,) = proposal.tables
    assert table.style is not None and table.style.name == "Proposal Table"
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["Metric", "Before", "After"]
    assert cells[1:] == [[f"Metric {i}", f"{10 * i} h", f"{2 * i} h"] for i in range(1, 6)]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(run.bold for run in table.rows[0].cells[0].paragraphs[0].runs)


def test_marks_are_runs_and_only_safe_links_are_hyperlinks(proposal: DocumentType) -> None:
    (paragraph,) = [p for p in proposal.paragraphs if p.text.startswith(HOSTILE)]
    runs = {r.text.strip(): r for r in paragraph.runs}
    assert runs["bold words"].bold and runs["italic words"].italic
    assert [(h.text.strip(), h.url) for h in paragraph.hyperlinks] == [
        ("our site", "https://example.com/northwind")
    ]
    assert "bad link" in paragraph.text
    targets = [rel.target_ref for rel in proposal.part.rels.values() if rel.is_external]
    assert not any("javascript" in t for t in targets)


def test_quote_uses_the_quote_style(proposal: DocumentType) -> None:
    assert [p.text for p in paragraphs_with(proposal, "Quote")] == [
        "We closed the month in two days instead of nine."
    ]


def test_only_pictures_inside_the_assets_folder_are_embedded(
    proposal: DocumentType, doc: AssembledDocument, tmp_path: Path
) -> None:
    (shape,) = proposal.inline_shapes
    assert doc.assets is not None
    image = proposal.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed]
    assert image.blob == (doc.assets / "chart.png").read_bytes()
    assert shape._inline.docPr.get("descr") == "Weekly hours chart"
    secret = (tmp_path / "library" / "secret.png").read_bytes()
    assert secret not in [part.blob for part in proposal.part.package.iter_parts()]


def test_missing_style_is_an_error_naming_the_template_and_the_style(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    template = Document(str(SHIPPED))
    style = template.styles["List Number"].element
    style.getparent().remove(style)
    path = tmp_path / "customer.docx"
    template.save(str(path))
    with pytest.raises(TemplateError) as raised:
        render_proposal(doc, template=path)
    assert isinstance(raised.value, PitchmapError)
    assert str(path) in str(raised.value) and "'List Number'" in str(raised.value)


def test_a_list_style_without_numbering_is_an_error(doc: AssembledDocument, tmp_path: Path) -> None:
    template = Document(str(SHIPPED))
    props = template.styles["List Bullet"].element.pPr
    props.remove(props.numPr)
    path = tmp_path / "flat-lists.docx"
    template.save(str(path))
    with pytest.raises(TemplateError, match="'List Bullet' has no list numbering"):
        render_proposal(doc, template=path)


def test_a_file_that_is_not_a_word_document_is_an_error(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    path = tmp_path / "proposal.docx"
    path.write_bytes(b"PK not really")
    with pytest.raises(TemplateError, match=r"proposal\.docx"):
        render_proposal(doc, template=path)


def test_template_sample_content_is_replaced_not_kept(
    doc: AssembledDocument, tmp_path: Path
) -> None:
    template = Document(str(SHIPPED))
    template.add_paragraph("Lorem ipsum from the brand team")
    path = tmp_path / "with-sample.docx"
    template.save(str(path))
    proposal = reopen(render_proposal(doc, template=path))
    assert all("Lorem ipsum" not in p.text for p in proposal.paragraphs)


def test_proposals_on_the_same_template_come_out_the_same(doc: AssembledDocument) -> None:
    """Paragraph and run properties are built once and copied: every copy must match."""

    def parts(data: bytes) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return {name: package.read(name) for name in package.namelist()}

    assert parts(render_proposal(doc)) == parts(render_proposal(doc))


def test_shipped_template_defines_every_required_style() -> None:
    template = Document(str(SHIPPED))
    names = {style.name for style in template.styles}
    assert set(STYLES) <= names
    assert template.styles["Proposal Table"].type == 3  # WD_STYLE_TYPE.TABLE


@pytest.mark.office
def test_libreoffice_lays_the_proposal_out_on_several_pages(
    proposal: DocumentType, tmp_path: Path
) -> None:
    path = tmp_path / "proposal.docx"
    proposal.save(str(path))
    assert page_count(to_pdf(path, tmp_path)) >= 2
