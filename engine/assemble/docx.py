"""The proposal: an assembled document written into the brand's Word template.

Everything is laid out with the template's named styles (`masters.REQUIRED_STYLES`), so a
customer's own template restyles the whole proposal, and Word's own machinery does the rest:
real bullets and numbering, a table of contents field, page numbers in the footer.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from copy import deepcopy
from functools import lru_cache
from pathlib import Path
from typing import cast

from docx import Document
from docx.blkcntnr import BlockItemContainer
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.styles import CT_Style
from docx.oxml.text.paragraph import CT_P
from docx.oxml.text.parfmt import CT_PPr
from docx.oxml.text.run import CT_R
from docx.shared import Emu, Inches
from docx.styles import BabelFish
from docx.styles.style import BaseStyle, ParagraphStyle, StyleFactory
from docx.text.font import Font
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from engine.assemble import docx_xml
from engine.assemble.document import AssembledDocument
from engine.assemble.masters import REQUIRED_STYLES, TABLE_STYLE, TemplateError, template_bytes
from engine.assemble.safety import OFFICE_PROPERTY_MAX, resolve_picture, safe_href, xml_text
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
    properties.title = xml_text(doc.title)[:OFFICE_PROPERTY_MAX]
    properties.subject = xml_text(doc.prospect.company)[:OFFICE_PROPERTY_MAX]
    properties.author = xml_text(doc.rep.name or "")[:OFFICE_PROPERTY_MAX]
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
    def __init__(self, name: str, document: DocumentType, by_name: _ByName) -> None:
        self.name = name
        self.document = document
        # Looked up once: python-docx finds a style by name by scanning every style, and
        # scans them all again for the default style each time a paragraph is given one.
        self.styles = {
            s.name: s for s in document.styles if isinstance(s, ParagraphStyle) and s.name
        }
        defaults = _defaults(document)
        # What python-docx writes for each: no id for the default style, as it does.
        default = defaults.get(WD_STYLE_TYPE.PARAGRAPH)
        self.style_ids = {
            name: None if s.element is default else s.style_id for name, s in self.styles.items()
        }
        self.link_style = _link_style(by_name, defaults)
        self.bullets = self._list_id(by_name, "List Bullet")
        self.numbers = self._list_id(by_name, "List Number")

    @classmethod
    def open(cls, template: Path | None) -> _Proposal:
        """The template emptied of content, every required style checked, or an error."""
        name, content = template_bytes(template)
        try:
            document = Document(io.BytesIO(content))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise TemplateError(name, f"is not a Word document ({error})") from error
        by_name = _by_name(document)
        _check_styles(by_name, name)
        body = document.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
        docx_xml.ask_to_update_fields(document.settings.element)
        return cls(name, document, by_name)

    def _list_id(self, by_name: _ByName, style: str) -> int:
        found = _named(by_name, style)  # a required style: there, as checked
        num_id = docx_xml.style_num_id(found) if found is not None else None
        if num_id is None:
            raise TemplateError(self.name, f"style {style!r} has no list numbering")
        return num_id

    def style(self, name: str, fallback: str = "Body Text") -> str | None:
        """A template paragraph style's id; optional ones fall back to a required style."""
        return self.style_ids[name if name in self.styles else fallback]

    def add(
        self,
        style: str,
        container: BlockItemContainer | None = None,
        numbering: tuple[int, int] | None = None,
    ) -> Paragraph:
        """A new paragraph in a template style (and list, at a level), at the end of the body
        (or `container`): what python-docx's `add_paragraph(style=...)` and then
        `set_numbering` write, from a copy of the properties they write."""
        target = self.document if container is None else container
        paragraph = target.add_paragraph()
        paragraph._p.append(deepcopy(_paragraph_props(self.style(style), numbering)))
        return paragraph

    def paragraph(self, text: str, style: str) -> Paragraph:
        paragraph = self.add(style)
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
        entries = [self.add(f"toc {level}") for level, _ in headings] or [self.add("Body Text")]
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
        paragraph = self.add(style)
        add_spans(paragraph, spans, self.link_style)
        return paragraph

    def list_items(self, block: ListBlock) -> None:
        """Items as real Word list paragraphs; each ordered list counts from 1."""
        style = "List Number" if block.ordered else "List Bullet"
        numbering = self.document.part.numbering_part.element
        num_id = docx_xml.restarted_list(numbering, self.numbers) if block.ordered else self.bullets
        for item in block.items:
            paragraph = self.add(style, numbering=(num_id, min(item.level, MAX_LIST_LEVEL)))
            add_spans(paragraph, item.spans, self.link_style)

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
        self.add("Body Text")  # air below the table

    def picture(self, image: Image, assets: Path | None) -> None:
        """Embedded only when it is a real image inside the library's assets; else skipped."""
        picture = resolve_picture(assets, image.src)
        if picture is None:
            return
        width = min(Inches(picture.width_px / PX_PER_INCH), Emu(self.text_width()))
        paragraph = self.add("Body Text")
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
                line = self.add("Footer", footer)
                line.add_run("Page ")
                docx_xml.add_field(line, "PAGE", "1")


_ByName = dict[str | None, CT_Style]


def _by_name(document: DocumentType) -> _ByName:
    """Styles by (internal) name, the first of a name winning, as python-docx finds them by
    name; built in one pass, where each of its look-ups scans every style."""
    found: _ByName = {}
    for element in document.styles.element.style_lst:
        found.setdefault(element.name_val, element)
    return found


def _named(by_name: _ByName, name: str) -> BaseStyle | None:
    """`document.styles[name]`, or None where that raises."""
    element = by_name.get(BabelFish.ui2internal(name))
    return None if element is None else StyleFactory(element)


def _defaults(document: DocumentType) -> dict[WD_STYLE_TYPE, CT_Style]:
    """Each style type's default style, the last of a type winning, as python-docx's
    `styles.default(type)` finds it."""
    found: dict[WD_STYLE_TYPE, CT_Style] = {}
    for element in document.styles.element.style_lst:
        kind = element.type
        if kind is not None and element.default:
            found[kind] = element
    return found


def _link_style(
    by_name: _ByName, defaults: dict[WD_STYLE_TYPE, CT_Style]
) -> docx_xml.LinkStyle | None:
    """The template's character style for links, if it has one."""
    style = _named(by_name, "Hyperlink")
    if style is not None and style.type == WD_STYLE_TYPE.CHARACTER:
        default = defaults.get(WD_STYLE_TYPE.CHARACTER)
        return docx_xml.LinkStyle(None if style.element is default else style.style_id)
    return None


def _bookmark(number: int) -> str:
    """Hidden bookmark names (a leading underscore), as Word names its own TOC targets."""
    return f"_Toc_pitchmap_{number:05d}"


def _check_styles(by_name: _ByName, name: str) -> None:
    for style in REQUIRED_STYLES:
        wanted = WD_STYLE_TYPE.TABLE if style == TABLE_STYLE else WD_STYLE_TYPE.PARAGRAPH
        found = _named(by_name, style)
        if found is None:
            raise TemplateError(name, f"has no style named {style!r}")
        if found.type != wanted:
            raise TemplateError(name, f"style {style!r} is not a {wanted.name.lower()} style")


@lru_cache(maxsize=256)
def _paragraph_props(style_id: str | None, numbering: tuple[int, int] | None) -> CT_PPr:
    """The paragraph properties python-docx writes for a new paragraph given this style
    (and list numbering): built once, copied into each paragraph like it."""
    paragraph = cast("CT_P", OxmlElement("w:p"))
    paragraph.style = style_id
    if numbering is not None:
        docx_xml.set_numbering(paragraph, *numbering)
    props = paragraph.pPr
    assert props is not None, "setting a style adds paragraph properties"
    return props


def add_spans(
    paragraph: Paragraph, spans: Spans, link_style: docx_xml.LinkStyle | None, bold: bool = False
) -> None:
    """Spans as runs with their marks; safe links become real Word hyperlinks."""
    for span in spans:
        href = safe_href(span.href)
        if not href:  # copies of a run marked once, given each line's text
            for number, line in enumerate(xml_text(span.text).split("\n")):
                run = deepcopy(_marked_run(bool(span.bold or bold), span.italic, number > 0))
                run.add_t(line)
                paragraph._p.append(run)  # where python-docx's `add_run` puts it
            continue
        target = docx_xml.add_hyperlink(paragraph, href)
        for run_ in _text_runs(target, span.text):
            run_.bold = span.bold or bold or None
            run_.italic = span.italic or None
            docx_xml.style_link(run_, link_style)


@lru_cache(maxsize=16)
def _marked_run(bold: bool, italic: bool, broken: bool) -> CT_R:
    """An empty run as `_text_runs` adds it (after a line break, for a later line) and
    `add_spans` marks it: its text goes last."""
    run = cast("CT_R", OxmlElement("w:r"))
    if broken:
        run.add_br()
    font = Font(run)
    font.bold = bold or None
    font.italic = italic or None
    return run


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
