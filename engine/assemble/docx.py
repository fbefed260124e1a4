"""The proposal: an assembled document written into the brand's Word template.

Everything is laid out with the template's named styles (`masters.REQUIRED_STYLES`), so a
customer's own template restyles the whole proposal, and Word's own machinery does the rest:
real bullets and numbering, a table of contents field, page numbers in the footer.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.shared import Emu, Inches
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from engine.assemble import docx_xml
from engine.assemble.document import AssembledDocument
from engine.assemble.masters import REQUIRED_STYLES, TABLE_STYLE, TemplateError, template_bytes
from engine.assemble.safety import resolve_picture, safe_href, xml_text
from engine.markdown import Heading, Image, ListBlock, Node, Quote, Spans, Table
from engine.markdown import Paragraph as TextParagraph

TOC_LEVELS = "1-2"  # slots and blocks; headings inside a block stay out of the contents
MAX_LIST_LEVEL = 8  # Word lists have nine levels
PX_PER_INCH = 96


def render_proposal(doc: AssembledDocument, template: Path | None = None) -> bytes:
    """The proposal as .docx bytes: cover, contents, a heading per slot and per block."""
    proposal = _Proposal.open(template)
    proposal.cover(doc)
    headings = outline(doc)
    proposal.contents(headings)
    blocks = iter(doc.sections)  # the outline follows the sections: each level 2 is the next
    for number, (level, text) in enumerate(headings):
        proposal.heading(text, level, number)
        if level == 2:
            for node in next(blocks).nodes:
                proposal.node(node, doc.assets)
    proposal.header_and_footer(doc.prospect.company)
    properties = proposal.document.core_properties
    properties.title = xml_text(doc.title)
    properties.subject = xml_text(doc.prospect.company)
    properties.author = xml_text(doc.rep.name or "")
    out = io.BytesIO()
    proposal.document.save(out)
    return out.getvalue()


def outline(doc: AssembledDocument) -> list[tuple[int, str]]:
    """The proposal's headings in order: (1, slot title) when a slot starts, (2, block title)."""
    headings: list[tuple[int, str]] = []
    slot: str | None = None
    for section in doc.sections:
        if section.slot != slot:
            headings.append((1, section.slot_title))
            slot = section.slot
        headings.append((2, section.title))
    return headings


class _Proposal:
    def __init__(self, name: str, document: DocumentType) -> None:
        self.name = name
        self.document = document
        # Looked up once: python-docx finds a style by name by scanning every style.
        self.styles = {
            s.name: s for s in document.styles if isinstance(s, ParagraphStyle) and s.name
        }
        self.link_style = _link_style(document)
        self.bullets = self._list_id("List Bullet")
        self.numbers = self._list_id("List Number")

    @classmethod
    def open(cls, template: Path | None) -> _Proposal:
        """The template emptied of content, every required style checked, or an error."""
        name, content = template_bytes(template)
        try:
            document = Document(io.BytesIO(content))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise TemplateError(name, f"is not a Word document ({error})") from error
        _check_styles(document, name)
        body = document.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
        docx_xml.ask_to_update_fields(document.settings.element)
        return cls(name, document)

    def _list_id(self, style: str) -> int:
        num_id = docx_xml.style_num_id(self.document.styles[style])
        if num_id is None:
            raise TemplateError(self.name, f"style {style!r} has no list numbering")
        return num_id

    def style(self, name: str, fallback: str = "Body Text") -> ParagraphStyle:
        """A template paragraph style; optional ones fall back to a required style."""
        return self.styles.get(name) or self.styles[fallback]

    def paragraph(self, text: str, style: str) -> Paragraph:
        paragraph = self.document.add_paragraph(style=self.style(style))
        _text_runs(paragraph, text)
        return paragraph

    def cover(self, doc: AssembledDocument) -> None:
        contact = doc.prospect.contact
        rep = doc.rep
        self.paragraph(doc.title, "Cover Title")
        self.paragraph(f"Prepared for {doc.prospect.company}", "Cover Subtitle")
        for line in (
            ", ".join(v for v in (contact.name, contact.title) if v),
            ", ".join(v for v in (rep.name, rep.title, rep.email) if v),
            f"{doc.as_of.day} {doc.as_of:%B %Y}",
        ):
            if line:
                self.paragraph(line, "Body Text")
        self.page_break()

    def contents(self, headings: Sequence[tuple[int, str]]) -> None:
        """A Word table-of-contents field, its result already written: one linked entry per
        heading. Word rebuilds it on opening; LibreOffice shows it as written."""
        self.paragraph("Contents", "TOC Heading")
        entries = [
            self.document.add_paragraph(style=self.style(f"toc {level}")) for level, _ in headings
        ] or [self.document.add_paragraph(style=self.style("Body Text"))]
        docx_xml.begin_field(entries[0], f'TOC \\o "{TOC_LEVELS}" \\h \\z \\u')
        for number, (paragraph, (_, text)) in enumerate(zip(entries, headings, strict=False)):
            docx_xml.toc_entry(paragraph, xml_text(text), _bookmark(number))
        docx_xml.end_field(entries[-1])
        self.page_break()

    def heading(self, text: str, level: int, number: int) -> None:
        paragraph = self.paragraph(text, f"Heading {level}")
        docx_xml.add_bookmark(paragraph, _bookmark(number), number)

    def text_width(self) -> int:
        section = self.document.sections[-1]
        return (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)

    def page_break(self) -> None:
        paragraphs = self.document.paragraphs
        paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)

    def node(self, node: Node, assets: Path | None) -> None:
        if isinstance(node, TextParagraph):
            self.runs(node.spans, "Body Text")
        elif isinstance(node, Heading):
            self.runs(node.spans, "Heading 3")
        elif isinstance(node, Quote):
            self.runs(node.spans, "Quote")
        elif isinstance(node, ListBlock):
            self.list_items(node)
        elif isinstance(node, Table):
            self.table(node)
        else:
            self.picture(node, assets)

    def runs(self, spans: Spans, style: str) -> Paragraph:
        paragraph = self.document.add_paragraph(style=self.style(style))
        add_spans(paragraph, spans, self.link_style)
        return paragraph

    def list_items(self, block: ListBlock) -> None:
        """Items as real Word list paragraphs; each ordered list counts from 1."""
        style = "List Number" if block.ordered else "List Bullet"
        numbering = self.document.part.numbering_part.element
        num_id = docx_xml.restarted_list(numbering, self.numbers) if block.ordered else self.bullets
        for item in block.items:
            paragraph = self.runs(item.spans, style)
            docx_xml.set_numbering(paragraph, num_id, min(item.level, MAX_LIST_LEVEL))

    def table(self, table: Table) -> None:
        """A real table in the template's table style; the line before it stays with it."""
        columns = max([len(table.header), *(len(r) for r in table.rows)])  # rows may differ
        if columns == 0:
            return
        last = self.document.element.body[-2]  # the body ends with its section properties
        if last.tag == qn("w:p"):
            self.document.paragraphs[-1].paragraph_format.keep_with_next = True
        grid = self.document.add_table(rows=1 + len(table.rows), cols=columns)
        grid.style = self.document.styles[TABLE_STYLE]
        docx_xml.keep_rows_whole(grid)
        for number, row in enumerate((table.header, *table.rows)):
            for column, spans in enumerate(row):
                cell = grid.cell(number, column).paragraphs[0]
                add_spans(cell, spans, self.link_style, bold=number == 0)
        self.document.add_paragraph(style=self.style("Body Text"))  # air below the table

    def picture(self, image: Image, assets: Path | None) -> None:
        """Embedded only when it is a real image inside the library's assets; else skipped."""
        picture = resolve_picture(assets, image.src)
        if picture is None:
            return
        width = min(Inches(picture.width_px / PX_PER_INCH), Emu(self.text_width()))
        paragraph = self.document.add_paragraph(style=self.style("Body Text"))
        shape = paragraph.add_run().add_picture(str(picture.path), width=width)
        shape._inline.docPr.set("descr", xml_text(image.alt))

    def header_and_footer(self, company: str) -> None:
        """The prospect's company in every page header; page numbers in every footer."""
        for section in self.document.sections:
            header = section.header.paragraphs
            paragraph = header[0] if header else section.header.add_paragraph()
            _clear(paragraph)
            _text_runs(paragraph, company)
            footer = section.footer
            if not docx_xml.has_page_field(footer._element):
                line = footer.add_paragraph(style=self.style("Footer"))
                line.add_run("Page ")
                docx_xml.add_field(line, "PAGE", "1")


def _link_style(document: DocumentType) -> str | None:
    """The template's character style for links, if it has one."""
    styles = document.styles
    if "Hyperlink" in styles and styles["Hyperlink"].type == WD_STYLE_TYPE.CHARACTER:
        return "Hyperlink"
    return None


def _bookmark(number: int) -> str:
    """Hidden bookmark names (a leading underscore), as Word names its own TOC targets."""
    return f"_Toc_pitchmap_{number:05d}"


def _check_styles(document: DocumentType, name: str) -> None:
    styles = document.styles
    for style in REQUIRED_STYLES:
        wanted = WD_STYLE_TYPE.TABLE if style == TABLE_STYLE else WD_STYLE_TYPE.PARAGRAPH
        if style not in styles:
            raise TemplateError(name, f"has no style named {style!r}")
        if styles[style].type != wanted:
            raise TemplateError(name, f"style {style!r} is not a {wanted.name.lower()} style")


def add_spans(
    paragraph: Paragraph, spans: Spans, link_style: str | None, bold: bool = False
) -> None:
    """Spans as runs with their marks; safe links become real Word hyperlinks."""
    for span in spans:
        href = safe_href(span.href)
        target = docx_xml.add_hyperlink(paragraph, href) if href else paragraph
        for run in _text_runs(target, span.text):
            run.bold = span.bold or bold or None
            run.italic = span.italic or None
            if href:
                docx_xml.style_link(run, link_style)


def _text_runs(paragraph: Paragraph, text: str) -> list[Run]:
    """The text as runs, a line break where it has a newline (verbatim otherwise)."""
    runs = []
    for number, line in enumerate(xml_text(text).split("\n")):
        run = paragraph.add_run()
        if number:
            run.add_break()
        run.add_text(line)
        runs.append(run)
    return runs


def _clear(paragraph: Paragraph) -> None:
    """Remove a paragraph's content, keeping its properties (style, alignment)."""
    for child in list(paragraph._p):
        if child.tag != qn("w:pPr"):
            paragraph._p.remove(child)
